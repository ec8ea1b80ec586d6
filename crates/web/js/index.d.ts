// Types of pkg/.

/** What init() takes: the wasm module's location or bytes (default: next to the JS files). */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;
/** The wasm module's exports (used by the class; not an API). */
export type InitOutput = WebAssembly.Exports;
/** Loads the wasm module; wait for it before creating sockets. */
export default function init(
  module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>,
): Promise<InitOutput>;
/** Loads the wasm module at once from its bytes or a compiled module. */
export function initSync(module: { module: BufferSource | WebAssembly.Module } | BufferSource | WebAssembly.Module): InitOutput;

export interface ReconnectingOptions {
  minDelay?: number; maxDelay?: number; growFactor?: number; maxRetries?: number;
  connectionTimeout?: number; minUptime?: number;
  /** `ping` + `pong`: app-level heartbeat; neither: expect any traffic within `timeout`. Off when absent. */
  heartbeat?: { mode?: 'message' | 'traffic' | 'off'; interval?: number; timeout?: number;
    ping?: string | ArrayBuffer | ArrayBufferView; pong?: string | ArrayBuffer | ArrayBufferView };
  maxQueuedMessages?: number; maxQueuedBytes?: number; overflow?: 'drop-oldest' | 'drop-newest' | 'error';
  reconnectOnAppCodes?: boolean; stopCodes?: number[]; binaryType?: 'blob' | 'arraybuffer';
  /** Acknowledged, resumable delivery (docs/acknowledged-delivery.md); needs a server that speaks it. */
  acknowledged?: boolean;
}

export class ReconnectingWebSocket extends EventTarget {
  constructor(url: string | ((attempt: number) => string),
    protocols?: string | string[] | ((attempt: number) => string | string[]), options?: ReconnectingOptions);
  static readonly CONNECTING: 0; static readonly OPEN: 1; static readonly CLOSING: 2; static readonly CLOSED: 3;
  readonly CONNECTING: 0; readonly OPEN: 1; readonly CLOSING: 2; readonly CLOSED: 3;
  readonly readyState: number;
  readonly state: 'connecting' | 'open' | 'closing' | 'closed' | 'waiting';
  readonly url: string; readonly protocol: string; readonly extensions: string; readonly bufferedAmount: number;
  binaryType: 'blob' | 'arraybuffer';
  readonly retryCount: number; readonly rtt: number | null; readonly queueLength: number; readonly reconnectAt: number | null;
  onopen: ((ev: Event) => void) | null; onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null; onerror: ((ev: Event) => void) | null;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  reconnect(): void;
}
