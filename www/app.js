// The demo page: a chat room on ferrosocket's browser package (pkg/), showing what the
// reconnecting session does — state, reconnect countdown, heartbeat RTT, offline queue — and a
// live frame log.
import init, { ReconnectingWebSocket } from '/pkg/index.js';

const $ = (id) => document.getElementById(id);
const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/chat`;

await init();
const ws = new ReconnectingWebSocket(url, undefined, {
  minDelay: 500,
  maxDelay: 5000,
  connectionTimeout: 4000,
  // Browsers cannot send ping frames: the server answers this text with "__pong__".
  heartbeat: { interval: 2000, timeout: 3000, ping: '__ping__', pong: '__pong__' },
  maxQueuedMessages: 100,
  binaryType: 'arraybuffer',
});
window.demoSocket = ws; // for the page test and the curious

// ---- frame log ----
function log(dir, kind, len, data, cls = kind) {
  const tr = document.createElement('tr');
  tr.className = `${cls} ${dir === '↑' ? 'out' : dir === '↓' ? 'in' : ''}`;
  const time = new Date().toISOString().slice(11, 23);
  for (const [c, v] of [['time', time], ['dir', dir], ['kind', kind], ['len', len ?? ''], ['data', data ?? '']]) {
    const td = document.createElement('td');
    td.className = c;
    td.textContent = v;
    tr.append(td);
  }
  const body = $('frames');
  body.prepend(tr);
  while (body.children.length > 300) body.lastChild.remove();
}
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join(' ');

// ---- chat ----
const pending = [];
function showPending() {
  $('pending').replaceChildren(...pending.map((t) => Object.assign(document.createElement('li'), { textContent: t })));
  $('pending-box').classList.toggle('show', pending.length > 0);
}
function say(data) {
  const wasOpen = ws.readyState === ws.OPEN;
  ws.send(data);
  if (typeof data === 'string') {
    if (wasOpen) log('↑', 'text', data.length, data);
    else { pending.push(data); showPending(); log('·', 'queued', data.length, data, 'info'); }
  } else if (wasOpen) log('↑', 'binary', data.byteLength, hex(data));
  render();
}
$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value.trim();
  if (text) say(text);
  $('text').value = '';
});
$('send-binary').onclick = () => say(crypto.getRandomValues(new Uint8Array(8)).buffer);
$('drop').onclick = () => fetch('/control/drop', { method: 'POST' });
$('pause').onclick = async () => {
  await fetch('/control/pause?ms=8000', { method: 'POST' });
  log('·', 'server paused 8 s', null, 'replies and pongs held until then', 'info');
};
$('reconnect').onclick = () => ws.reconnect();

// ---- socket events ----
ws.addEventListener('open', () => {
  log('·', 'open', null, url, 'open');
  // The session flushed the offline queue, in order, as it opened.
  for (const t of pending.splice(0)) log('↑', 'text', t.length, `${t}  (from queue)`, 'text');
  showPending();
});
ws.addEventListener('message', (e) => {
  const li = document.createElement('li');
  if (typeof e.data === 'string') {
    li.textContent = e.data;
    log('↓', 'text', e.data.length, e.data);
  } else {
    li.textContent = `[binary] ${hex(e.data)}`;
    li.className = 'binary';
    log('↓', 'binary', e.data.byteLength, hex(e.data));
  }
  $('messages').append(li);
  li.scrollIntoView({ block: 'nearest' });
});
ws.addEventListener('close', (e) => log('↓', `close ${e.code}`, e.reason.length, e.reason || (e.wasClean ? 'clean' : 'abnormal'), 'close'));
ws.addEventListener('error', () => log('·', 'error', null, 'transport error', 'close'));
ws.addEventListener('connecting', (e) => log('·', 'connecting', null, `attempt ${e.detail.attempt}`, 'info'));
ws.addEventListener('reconnecting', (e) => log('·', 'reconnect', null, `attempt ${e.detail.attempt} in ${e.detail.delay} ms`, 'info'));
ws.addEventListener('ping', () => log('↑', 'ping', 8, '__ping__'));
ws.addEventListener('pong', (e) => log('↓', 'pong', 8, `__pong__  rtt ${e.detail.rtt} ms`));
ws.addEventListener('heartbeattimeout', () => log('·', 'heartbeat timeout', null, 'no pong in 3 s: link declared dead', 'timeout'));
ws.addEventListener('dropped', (e) => log('·', 'dropped', null, `${e.detail.reason}: ${e.detail.data}`, 'dropped'));
ws.addEventListener('end', (e) => log('·', 'end', null, e.detail.reason, 'close'));

// ---- status bar ----
function render() {
  const state = ws.state;
  $('state').textContent = state;
  $('state').className = `badge ${state}`;
  document.body.dataset.state = state;
  $('attempt').textContent = `attempt ${ws.retryCount}`;
  const at = ws.reconnectAt;
  $('countdown').textContent = at != null ? `reconnecting in ${Math.max(0, (at - Date.now()) / 1000).toFixed(1)} s` : '';
  $('rtt').textContent = `RTT ${ws.rtt != null ? `${ws.rtt} ms` : '–'}`;
  $('queued').textContent = `queued ${ws.queueLength}`;
}
setInterval(render, 100);
render();
for (const type of ['open', 'close', 'reconnecting', 'connecting', 'pong', 'end']) ws.addEventListener(type, render);
