// ReconnectingWebSocket: shaped like the browser WebSocket (WHATWG HTML "WebSockets"), plus
// reconnect(), retryCount, rtt, queueLength, reconnectAt, state and the events `connecting`,
// `reconnecting`, `ping`, `pong`, `heartbeattimeout`, `dropped`, `end` (CustomEvents, data in
// `detail`). Every decision is made by the Rust session inside `Link`; this file only flattens
// the options and turns the session's reports into DOM events.
import { Link } from './ferrosocket_web.js';

const STATES = ['connecting', 'open', 'closing', 'closed', 'waiting'];
const OVERFLOW = ['drop-oldest', 'drop-newest', 'error'];

const bytes = (d) => (typeof d === 'string' ? d
  : d instanceof ArrayBuffer ? new Uint8Array(d)
  : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : undefined);
const num = (v) => (typeof v === 'number' && v >= 0 ? v : -1);
const provider = (v, norm) => (typeof v === 'function' ? (n) => norm(v(n)) : () => norm(v));
const protocolList = (p) => (p == null ? [] : typeof p === 'string' ? [p] : [...p]);

// The numeric layout options.rs reads (Slot order).
function flatten(o, hb) {
  const stop = Array.isArray(o.stopCodes) ? o.stopCodes : null;
  const mode = !hb ? 0 : hb.ping != null && hb.pong != null ? 1 : 2;
  if (hb && (hb.ping != null) !== (hb.pong != null)) throw new TypeError('heartbeat needs both `ping` and `pong`, or neither');
  if (o.overflow != null && !OVERFLOW.includes(o.overflow)) throw new TypeError(`overflow must be one of ${OVERFLOW.join(', ')}`);
  return new Float64Array([
    num(o.minDelay), num(o.maxDelay), num(o.growFactor), num(o.maxRetries), num(o.connectionTimeout),
    num(o.minUptime), mode, num(hb?.interval), num(hb?.timeout), num(o.maxQueuedMessages),
    num(o.maxQueuedBytes), o.overflow ? OVERFLOW.indexOf(o.overflow) : -1,
    typeof o.reconnectOnAppCodes === 'boolean' ? +o.reconnectOnAppCodes : -1,
    stop ? stop.length : -1, ...(stop || []),
  ]);
}

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
  #link;
  #url;
  #blob = true;

  /**
   * @param {string | ((attempt: number) => string)} url
   * @param {string | string[] | ((attempt: number) => string | string[])} [protocols]
   * @param {object} [options] see pkg/README.md
   */
  constructor(url, protocols, options = {}) {
    super();
    if (typeof url !== 'string' && typeof url !== 'function') throw new TypeError('url must be a string or a function');
    this.#url = url;
    if (options.binaryType) this.binaryType = options.binaryType;
    const hb = options.heartbeat || null;
    this.#link = new Link(
      provider(url, String), provider(protocols, protocolList), flatten(options, hb),
      bytes(hb?.ping), bytes(hb?.pong), (k, a, b) => this.#emit(k, a, b));
  }

  #emit(k, a, b) {
    let ev;
    switch (k) {
      case 0: ev = new CustomEvent('connecting', { detail: { attempt: a } }); break;
      case 1: ev = new Event('open'); break;
      case 2: ev = new MessageEvent('message', { data: this.#blob && typeof a !== 'string' ? new Blob([a]) : a }); break;
      case 3: case 4: ev = new CloseEvent('close', { code: a, reason: b, wasClean: k === 3 }); break;
      case 5: ev = new Event('error'); break;
      case 6: ev = new CustomEvent('reconnecting', { detail: { attempt: a, delay: b, at: Date.now() + b } }); break;
      case 7: ev = new CustomEvent('ping'); break;
      case 8: ev = new CustomEvent('pong', { detail: { rtt: a } }); break;
      case 9: ev = new CustomEvent('heartbeattimeout'); break;
      case 10: ev = new CustomEvent('dropped', { detail: { data: a, reason: b } }); break;
      default: ev = new CustomEvent('end', { detail: { reason: a, code: b } });
    }
    const handler = this[`on${ev.type}`];
    if (typeof handler === 'function') handler.call(this, ev);
    this.dispatchEvent(ev);
  }

  #status(i) { return this.#link.status()[i]; }

  get readyState() { const s = this.#status(0); return s === 4 ? 0 : s; }
  /** `connecting`, `open`, `closing`, `closed`, or `waiting` (backoff before the next attempt). */
  get state() { return STATES[this.#status(0)]; }
  get url() { return typeof this.#url === 'string' ? this.#url : (this.#link.socket()?.url ?? ''); }
  get protocol() { return this.#link.socket()?.protocol ?? ''; }
  get extensions() { return this.#link.socket()?.extensions ?? ''; }
  /** Bytes the socket has not sent yet plus bytes waiting in the offline queue. */
  get bufferedAmount() { return (this.#link.socket()?.bufferedAmount ?? 0) + this.#status(4); }
  get binaryType() { return this.#blob ? 'blob' : 'arraybuffer'; }
  set binaryType(t) { if (t === 'blob' || t === 'arraybuffer') this.#blob = t === 'blob'; }
  /** Failed attempts since the last stable link. */
  get retryCount() { return this.#status(1); }
  /** Last heartbeat round-trip time in ms, or null. */
  get rtt() { const r = this.#status(2); return r < 0 ? null : r; }
  get queueLength() { return this.#status(3); }
  /** When the next attempt starts (like Date.now()), or null when not waiting. */
  get reconnectAt() { const t = this.#status(5); return t < 0 ? null : t; }

  /** Sends now when open, queues while connecting or waiting; discarded after close(). */
  send(data) {
    const d = bytes(data);
    if (d === undefined) throw new TypeError('ReconnectingWebSocket: send() takes a string, an ArrayBuffer or a view');
    const r = typeof d === 'string' ? this.#link.sendText(d) : this.#link.sendBinary(d);
    if (r === 1) throw new Error('ReconnectingWebSocket: offline queue is full');
    if (r === 2) throw new Error('ReconnectingWebSocket: message is larger than the offline queue');
  }

  /** Closes for good (no reconnect). `code` must be 1000 or 3000-4999, as in browsers. */
  close(code = 1000, reason = '') {
    if (code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw new DOMException('close code must be 1000 or in 3000-4999', 'InvalidAccessError');
    }
    this.#link.close(code, reason);
  }

  /** Drops the current link, if any, and connects again at once with the backoff reset. */
  reconnect() { this.#link.reconnect(); }
}
