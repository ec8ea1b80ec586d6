// ReconnectingWebSocket: shaped like the browser WebSocket (WHATWG HTML "WebSockets"), plus
// reconnect(), retryCount, rtt, queueLength, reconnectAt, state and the events `connecting`,
// `reconnecting`, `ping`, `pong`, `heartbeattimeout`, `dropped`, `end` (CustomEvents, data in
// `detail`). Every decision is made by the Rust session behind `Link` (crates/web/link, a wasm
// module with a plain numeric ABI and no imports); this file loads it, owns the socket and the
// one timer, tells the session what happened and carries out what it says.

let wasm; // the module's exports, once init() has run

/**
 * Loads the wasm module (by default `ferrosocket_web_bg.wasm` next to this file); call it, and
 * wait for it, before creating sockets. Takes what `WebAssembly.instantiate` takes, a URL,
 * a `Request`, a `Response`, a promise of one, or `{ module_or_path }` of one.
 */
export default function init(source) {
  return wasm ? Promise.resolve(wasm) : (loading ??= load(source).catch((e) => { loading = undefined; throw e; }));
}
let loading;
const ready = (r) => (wasm = (r.instance ?? r).exports);
const load = async (source) => {
  let s = await (source?.module_or_path ?? source ?? new URL('ferrosocket_web_bg.wasm', import.meta.url));
  if (typeof s === 'string' || s instanceof URL || (typeof Request === 'function' && s instanceof Request)) s = await fetch(s);
  if (typeof Response === 'function' && s instanceof Response) {
    if (!s.ok) throw new Error(`ferrosocket-web: fetching ${s.url} failed: ${s.status}`);
    // Streaming compilation needs the wasm MIME type; other servers get the bytes compiled.
    if (s.headers.get('Content-Type') === 'application/wasm') return ready(await WebAssembly.instantiateStreaming(s));
    s = await s.arrayBuffer();
  }
  return ready(await WebAssembly.instantiate(s));
};

/** Like init(), at once, from the module's bytes or a `WebAssembly.Module` (or `{ module }`). */
export function initSync(source) {
  const s = source?.module ?? source;
  return wasm ?? ready(new WebAssembly.Instance(s instanceof WebAssembly.Module ? s : new WebAssembly.Module(s)));
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { ignoreBOM: true });
const freed = new FinalizationRegistry((h) => wasm.link_free(h));

// One session in the wasm module (crates/web/link/src/lib.rs): numbers cross as arguments,
// bytes through the link's buffer in the wasm memory.
class Link {
  #h = wasm.link_new();
  constructor() { freed.register(this, this.#h); }
  num(op, t, n) { return wasm.link_num(this.#h, op, t, n); }
  put(op, t, n, d) {
    const text = typeof d === 'string';
    return wasm.link_put(this.#h, op, t, n, this.#in(text ? enc.encode(d) : d), text);
  }
  text(op) { return this.#text(wasm.link_out(this.#h, op)); }
  data() { return this.#read(wasm.link_out(this.#h, DATA)); }
  /** Option `k` set to `v` (a number or flag, string, bytes or list of numbers); the error. */
  opt(k, v) {
    const key = enc.encode(k);
    const kind = typeof v === 'string' ? 1 : Array.isArray(v) ? 3 : view(v) ? 2 : 0;
    const value = kind === 1 ? enc.encode(v) : kind === 3 ? new Uint8Array(Float64Array.from(v).buffer) : view(v) ?? [];
    return this.#text(wasm.link_opt(this.#h, this.#in([...key, ...value]), key.length, kind, +v));
  }
  // The buffer is placed before the memory is viewed: making room may grow the memory.
  #in(b) {
    const at = wasm.link_buf(this.#h, b.length) >>> 0;
    new Uint8Array(wasm.memory.buffer, at, b.length).set(b);
    return b.length;
  }
  #text(n) { const b = this.#read(n); return b && dec.decode(b); }
  #read(n) {
    if (n < 0) return undefined;
    const at = wasm.link_buf(this.#h, n) >>> 0;
    return new Uint8Array(wasm.memory.buffer, at, n).slice();
  }
}

const view = (d) => (d instanceof ArrayBuffer ? new Uint8Array(d)
  : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : undefined);
const provider = (v) => (typeof v === 'function' ? v : () => v);
const list = (p) => (p == null ? [] : typeof p === 'string' ? [p] : [...p]);
// UTF-8 length without encoding (so an oversized message is refused before any copy).
const utf8Length = (s) => {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) n += c > 0x7ff && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
};
const detail = (type, d) => new CustomEvent(type, { detail: d });
// Link operation numbers (crates/web/link/src/link.rs, `op`).
const START = 0, CLOSING = 1, CLOSED = 2, RECONNECT = 3, WAKE = 4, CHECK = 5, TICK = 6, ADMIT = 7,
  DEADLINE = 8, NEXT = 9, A = 10, B = 11, PEEK = 12, STATUS = 13, OPENED = 20, IN = 21, SEND = 22,
  CLOSE = 23, ACK = 30, REASON = 31, REFUSAL = 32, TEXT = 33, STATE = 34, ERROR = 35, DATA = 36;

export class ReconnectingWebSocket extends EventTarget {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  CONNECTING = 0;
  OPEN = 1;
  CLOSING = 2;
  CLOSED = 3;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  #link = new Link();
  #ws = null;
  #timer = 0;
  #url;
  #protocols;
  #peek = 0;
  #blob = true;
  #events = [];
  #wake = (e) => this.#run((l, t) => (e.type === 'offline' ? l.num(CHECK, t) : e.type === 'online' || !document.hidden ? l.num(WAKE, t) : 0));

  /**
   * @param {string | ((attempt: number) => string)} url
   * @param {string | string[] | ((attempt: number) => string | string[])} [protocols]
   * @param {object} [options] see pkg/README.md
   */
  constructor(url, protocols, options = {}) {
    super();
    if (typeof url !== 'string' && typeof url !== 'function') throw new TypeError('url must be a string or a function');
    this.#url = url;
    this.#protocols = provider(protocols);
    if (options.binaryType) this.binaryType = options.binaryType;
    const l = this.#link;
    // Options go to the core by name (its one schema): heartbeat.interval and so on.
    const set = (k, v) => {
      const e = v == null ? null : l.opt(k, v);
      if (e) throw new TypeError(e);
    };
    for (const [k, v] of Object.entries(options)) {
      if (k === 'heartbeat' && v) for (const [h, w] of Object.entries(v)) set(`heartbeat.${h}`, w);
      else set(k, v);
    }
    // The acknowledged-mode session id (16 bytes) and the jitter's seed (8).
    if (this.#run((l, t) => l.put(START, t, 0, crypto.getRandomValues(new Uint8Array(24))))) throw new TypeError(l.text(ERROR));
    this.#peek = l.num(PEEK);
    for (const t of ['online', 'offline']) globalThis.addEventListener(t, this.#wake);
    globalThis.document?.addEventListener('visibilitychange', this.#wake);
  }

  // ---- the loop: report to the session, carry out its actions, re-arm the timer, then emit ----

  #run(f) {
    const l = this.#link;
    const now = Date.now();
    const r = f(l, now);
    for (let k; (k = l.num(NEXT));) this.#act(k, l, now);
    clearTimeout(this.#timer);
    const d = l.num(DEADLINE);
    if (d >= 0) this.#timer = setTimeout(() => this.#run((l, t) => l.num(TICK, t)), d - now);
    // Events go out last, with the session settled, so handlers may call back in.
    for (const ev of this.#events.splice(0)) this.#emit(ev);
    return r;
  }

  #act(k, l, now) {
    const ws = this.#ws;
    const ev = (e) => this.#events.push(e);
    const data = () => l.text(TEXT) ?? l.data();
    const a = l.num(A);
    const reason = l.text(REASON);
    switch (k) {
      case 1: ev(detail('connecting', { attempt: a })); this.#connect(a, now); break;
      case 2: ws?.send(data()); break;
      case 3: ws?.send(data()); ev(detail('ping')); break;
      case 4: ws?.close(a, reason); break;
      case 5: // the session has moved on: forget this socket, report its close ourselves
        this.#ws = null;
        if (ws) {
          ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
          try { ws.close(a, reason); } catch { ws.close(); } // browsers send 1000, 3000-4999 only
        }
        ev(new CloseEvent('close', { code: a, reason }));
        break;
      case 6: ev(detail('reconnecting', { attempt: a, delay: l.num(B), at: now + l.num(B) })); break;
      case 7: ev(detail('heartbeattimeout')); break;
      case 8: ev(detail('dropped', { data: this.#binary(data()), reason })); break;
      case 9:
        ev(detail('end', { reason, code: a < 0 ? null : a }));
        for (const t of ['online', 'offline']) globalThis.removeEventListener(t, this.#wake);
        globalThis.document?.removeEventListener('visibilitychange', this.#wake);
    }
  }

  #connect(attempt, now) {
    let ws;
    try {
      const protocols = list(this.#protocols(attempt));
      const ack = this.#link.text(ACK);
      if (ack) protocols.push(ack);
      ws = new WebSocket(provider(this.#url)(attempt), protocols);
    } catch {
      // Bad URL or provider failure: a failed attempt, like a refused connection.
      this.#events.push(new Event('error'));
      this.#link.num(CLOSED, now, -1);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    const on = (f) => (e) => this.#ws === ws && this.#run((l, t) => f(l, t, e));
    ws.onopen = on((l, t) => { this.#events.push(new Event('open')); l.put(OPENED, t, 0, ws.protocol); });
    ws.onerror = on(() => this.#events.push(new Event('error')));
    ws.onclose = on((l, t, e) => {
      this.#ws = null;
      this.#events.push(new CloseEvent('close', e));
      l.num(CLOSED, t, e.code);
    });
    ws.onmessage = on((l, t, { data: d }) => {
      const text = typeof d === 'string';
      const r = l.put(IN, t, 0, text ? (d.length > this.#peek ? '' : d) : new Uint8Array(d, 0, Math.min(d.byteLength, this.#peek)));
      if (r === 1) this.#events.push(new MessageEvent('message', { data: text ? d : this.#binary(d) }));
      else if (r === 2) this.#events.push(detail('pong', { rtt: this.rtt }));
      else if (r > 2) {
        // Acknowledged mode: a new message, its payload after the frame header.
        const p = d.slice(r >> 1);
        this.#events.push(new MessageEvent('message', { data: r & 1 ? new TextDecoder().decode(p) : this.#binary(p) }));
      }
    });
  }

  #binary(d) { return this.#blob && d instanceof ArrayBuffer ? new Blob([d]) : d instanceof Uint8Array ? d.buffer : d; }

  #emit(ev) {
    const handler = this[`on${ev.type}`];
    if (typeof handler === 'function') handler.call(this, ev);
    this.dispatchEvent(ev);
  }

  /** A socket that turned CLOSING (the server's close frame) closes the session's link too. */
  #sync() {
    if (this.#ws?.readyState === 2) this.#run((l, t) => l.num(CLOSING, t));
  }

  #status(i) { this.#sync(); return this.#link.num(STATUS + i); }

  get readyState() { return this.#status(0); }
  /** `connecting`, `open`, `closing`, `closed`, or `waiting` (backoff before the next attempt). */
  get state() { this.#sync(); return this.#link.text(STATE); }
  get url() { return typeof this.#url === 'string' ? this.#url : (this.#ws?.url ?? ''); }
  get protocol() { return this.#ws?.protocol ?? ''; }
  get extensions() { return this.#ws?.extensions ?? ''; }
  /** Bytes the socket has not sent yet plus bytes held by the session's queue. */
  get bufferedAmount() { return (this.#ws?.bufferedAmount ?? 0) + this.#status(4); }
  get binaryType() { return this.#blob ? 'blob' : 'arraybuffer'; }
  set binaryType(t) { if (t === 'blob' || t === 'arraybuffer') this.#blob = t === 'blob'; }
  /** Failed attempts since the last stable link. */
  get retryCount() { return this.#status(1); }
  /** Last heartbeat round-trip time in ms, or null. */
  get rtt() { const r = this.#status(2); return r < 0 ? null : r; }
  /** Messages held: waiting for a link, or (acknowledged mode) not yet acknowledged. */
  get queueLength() { return this.#status(3); }
  /** When the next attempt starts (like Date.now()), or null when not waiting. */
  get reconnectAt() { const t = this.#status(5); return t < 0 ? null : t; }

  /**
   * Sends now when open; queues while connecting, waiting or while the link closes; discarded
   * after close(). Acknowledged mode: kept until the server acknowledges it.
   */
  send(data) {
    const d = typeof data === 'string' ? data : view(data);
    if (d === undefined) throw new TypeError('ReconnectingWebSocket: send() takes a string, an ArrayBuffer or a view');
    this.#sync();
    const text = typeof d === 'string';
    const r = this.#run((l, t) => {
      const a = l.num(ADMIT, t, text ? utf8Length(d) : d.byteLength);
      if (a === 0) l.put(SEND, t, 0, d);
      return a;
    });
    if (r === 2) throw new Error(`ReconnectingWebSocket: ${this.#link.text(REFUSAL)}`);
    if (r === 3) this.#emit(detail('dropped', { data, reason: this.#link.text(REFUSAL) }));
  }

  /** Closes for good (no reconnect). `code` must be 1000 or 3000-4999, as in browsers. */
  close(code = 1000, reason = '') {
    if (code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw new DOMException('close code must be 1000 or in 3000-4999', 'InvalidAccessError');
    }
    this.#run((l, t) => l.put(CLOSE, t, code, String(reason)));
  }

  /** Drops the current link, if any, and connects again at once with the backoff reset. */
  reconnect() { this.#run((l, t) => l.num(RECONNECT, t)); }
}
