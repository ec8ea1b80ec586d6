// Type declarations of `ferrosocket`: the `ws` 8.x API. Code written against
// `@types/ws` type-checks against these (tests/node/types.test.js checks it).
/// <reference types="node" />

import { EventEmitter } from "events";
import {
    Agent,
    ClientRequest,
    ClientRequestArgs,
    IncomingMessage,
    OutgoingHttpHeaders,
    Server as HTTPServer,
} from "http";
import { Server as HTTPSServer } from "https";
import { createConnection } from "net";
import { Duplex, DuplexOptions, Writable } from "stream";
import { SecureContextOptions } from "tls";
import { URL } from "url";
import { ZlibOptions } from "zlib";

type BufferLike =
    | string
    | Buffer
    | DataView
    | number
    | ArrayBufferView
    | Uint8Array
    | ArrayBuffer
    | SharedArrayBuffer
    | Blob
    | readonly any[]
    | readonly number[]
    | { valueOf(): ArrayBuffer }
    | { valueOf(): SharedArrayBuffer }
    | { valueOf(): Uint8Array }
    | { valueOf(): readonly number[] }
    | { valueOf(): string }
    | { [Symbol.toPrimitive](hint: string): string };

type WsListener<Args extends any[]> = (this: WebSocket, ...args: Args) => void;

interface WebSocketEvents {
    close: [code: number, reason: Buffer];
    error: [error: Error];
    upgrade: [request: IncomingMessage];
    message: [data: WebSocket.RawData, isBinary: boolean];
    open: [];
    ping: [data: Buffer];
    pong: [data: Buffer];
    redirect: [url: string, request: ClientRequest];
    "unexpected-response": [request: ClientRequest, response: IncomingMessage];
    /** send() said false and everything has been written since. */
    drain: [];
    /** maxBackpressure refused this message. */
    dropped: [data: Buffer, isBinary: boolean];
}

declare class WebSocket extends EventEmitter {
    static readonly CONNECTING: 0;
    static readonly OPEN: 1;
    static readonly CLOSING: 2;
    static readonly CLOSED: 3;

    binaryType: "nodebuffer" | "arraybuffer" | "fragments" | "blob";
    readonly bufferedAmount: number;
    readonly extensions: string;
    readonly isPaused: boolean;
    readonly protocol: string;
    readonly readyState: 0 | 1 | 2 | 3;
    readonly url: string;

    readonly CONNECTING: 0;
    readonly OPEN: 1;
    readonly CLOSING: 2;
    readonly CLOSED: 3;

    onopen: ((event: WebSocket.Event) => void) | null;
    onerror: ((event: WebSocket.ErrorEvent) => void) | null;
    onclose: ((event: WebSocket.CloseEvent) => void) | null;
    onmessage: ((event: WebSocket.MessageEvent) => void) | null;

    constructor(address: null);
    constructor(address: string | URL, options?: WebSocket.ClientOptions | ClientRequestArgs);
    constructor(
        address: string | URL,
        protocols?: string | string[],
        options?: WebSocket.ClientOptions | ClientRequestArgs,
    );

    close(code?: number, data?: string | Buffer): void;
    ping(data?: any, mask?: boolean, cb?: (err: Error) => void): void;
    pong(data?: any, mask?: boolean, cb?: (err: Error) => void): void;
    /** `false` once over `highWaterMark` ('drain' follows) or dropped by `maxBackpressure`. */
    send(data: BufferLike, cb?: (err?: Error) => void): boolean;
    send(
        data: BufferLike,
        options: {
            mask?: boolean | undefined;
            binary?: boolean | undefined;
            compress?: boolean | undefined;
            fin?: boolean | undefined;
        },
        cb?: (err?: Error) => void,
    ): boolean;
    /** Pub/sub (server connections): exact-match topics; `true` when it changed something. */
    subscribe(topic: string): boolean;
    unsubscribe(topic: string): boolean;
    isSubscribed(topic: string): boolean;
    readonly topics: string[];
    terminate(): void;
    pause(): void;
    resume(): void;

    addEventListener<K extends keyof WebSocket.WebSocketEventMap>(
        type: K,
        listener:
            | ((event: WebSocket.WebSocketEventMap[K]) => void)
            | { handleEvent(event: WebSocket.WebSocketEventMap[K]): void },
        options?: WebSocket.EventListenerOptions,
    ): void;
    removeEventListener<K extends keyof WebSocket.WebSocketEventMap>(
        type: K,
        listener:
            | ((event: WebSocket.WebSocketEventMap[K]) => void)
            | { handleEvent(event: WebSocket.WebSocketEventMap[K]): void },
    ): void;

    on<K extends keyof WebSocketEvents>(event: K, listener: WsListener<WebSocketEvents[K]>): this;
    on(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
    once<K extends keyof WebSocketEvents>(event: K, listener: WsListener<WebSocketEvents[K]>): this;
    once(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
    off<K extends keyof WebSocketEvents>(event: K, listener: WsListener<WebSocketEvents[K]>): this;
    off(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;
    addListener<K extends keyof WebSocketEvents>(event: K, listener: (...args: WebSocketEvents[K]) => void): this;
    addListener(event: string | symbol, listener: (...args: any[]) => void): this;
    removeListener<K extends keyof WebSocketEvents>(event: K, listener: (...args: WebSocketEvents[K]) => void): this;
    removeListener(event: string | symbol, listener: (...args: any[]) => void): this;
}

declare const WebSocketAlias: typeof WebSocket;
interface WebSocketAlias extends WebSocket {}

declare namespace WebSocket {
    type RawData = Buffer | ArrayBuffer | Buffer[];
    type Data = string | Buffer | ArrayBuffer | Buffer[];
    type CertMeta = string | string[] | Buffer | Buffer[];

    type VerifyClientCallbackSync<Request extends IncomingMessage = IncomingMessage> = (info: {
        origin: string;
        secure: boolean;
        req: Request;
    }) => boolean;

    type VerifyClientCallbackAsync<Request extends IncomingMessage = IncomingMessage> = (
        info: { origin: string; secure: boolean; req: Request },
        callback: (res: boolean, code?: number, message?: string, headers?: OutgoingHttpHeaders) => void,
    ) => void;

    type FinishRequestCallback = (request: ClientRequest, websocket: WebSocket) => void;

    /** The opt-in additions (heartbeat, idle reaping, backpressure), on servers and clients. */
    interface ConnectionFeatureOptions {
        /** Ping a peer quiet for `interval` ms; terminate (1006) when nothing answers within `timeout`. */
        heartbeat?: { interval: number; timeout?: number } | false | undefined;
        /** Close with 1001 after this many ms without traffic either way. */
        idleTimeout?: number | undefined;
        /** Close with 1001 this many ms after the connection opened. */
        maxLifetime?: number | undefined;
        /** Bytes buffered past which `send()` returns false (default 16 KiB). */
        highWaterMark?: number | undefined;
        /** Bytes buffered past which messages are dropped ('dropped'); default: no limit. */
        maxBackpressure?: number | undefined;
        /** At `maxBackpressure`, close with 1008 instead of only dropping. */
        closeOnBackpressureLimit?: boolean | undefined;
    }

    interface ClientOptions extends SecureContextOptions, ConnectionFeatureOptions {
        protocol?: string | undefined;
        followRedirects?: boolean | undefined;
        generateMask?(mask: Buffer): void;
        handshakeTimeout?: number | undefined;
        maxRedirects?: number | undefined;
        perMessageDeflate?: boolean | PerMessageDeflateOptions | undefined;
        localAddress?: string | undefined;
        protocolVersion?: number | undefined;
        headers?: { [key: string]: string } | undefined;
        origin?: string | undefined;
        agent?: Agent | undefined;
        host?: string | undefined;
        family?: number | undefined;
        checkServerIdentity?(servername: string, cert: CertMeta): boolean;
        rejectUnauthorized?: boolean | undefined;
        allowSynchronousEvents?: boolean | undefined;
        autoPong?: boolean | undefined;
        closeTimeout?: number | undefined;
        maxPayload?: number | undefined;
        maxFragments?: number | undefined;
        maxBufferedChunks?: number | undefined;
        maxPendingAutoPongs?: number | undefined;
        skipUTF8Validation?: boolean | undefined;
        createConnection?: typeof createConnection | undefined;
        finishRequest?: FinishRequestCallback | undefined;
    }

    interface PerMessageDeflateOptions {
        serverNoContextTakeover?: boolean | undefined;
        clientNoContextTakeover?: boolean | undefined;
        serverMaxWindowBits?: number | undefined;
        clientMaxWindowBits?: number | undefined;
        zlibDeflateOptions?:
            | {
                  flush?: number | undefined;
                  finishFlush?: number | undefined;
                  chunkSize?: number | undefined;
                  windowBits?: number | undefined;
                  level?: number | undefined;
                  memLevel?: number | undefined;
                  strategy?: number | undefined;
                  dictionary?: Buffer | Buffer[] | DataView | undefined;
                  info?: boolean | undefined;
              }
            | undefined;
        zlibInflateOptions?: ZlibOptions | undefined;
        threshold?: number | undefined;
        concurrencyLimit?: number | undefined;
    }

    interface Event {
        type: string;
        target: WebSocket;
    }

    interface ErrorEvent {
        error: any;
        message: string;
        type: string;
        target: WebSocket;
    }

    interface CloseEvent {
        wasClean: boolean;
        code: number;
        reason: string;
        type: string;
        target: WebSocket;
    }

    interface MessageEvent {
        data: Data;
        type: string;
        target: WebSocket;
    }

    interface WebSocketEventMap {
        open: Event;
        error: ErrorEvent;
        close: CloseEvent;
        message: MessageEvent;
    }

    interface EventListenerOptions {
        once?: boolean | undefined;
    }

    interface ServerOptions<
        U extends typeof WebSocket = typeof WebSocket,
        V extends typeof IncomingMessage = typeof IncomingMessage,
    > extends ConnectionFeatureOptions {
        host?: string | undefined;
        port?: number | undefined;
        backlog?: number | undefined;
        server?: HTTPServer<V> | HTTPSServer<V> | undefined;
        verifyClient?:
            | VerifyClientCallbackAsync<InstanceType<V>>
            | VerifyClientCallbackSync<InstanceType<V>>
            | undefined;
        handleProtocols?: (protocols: Set<string>, request: InstanceType<V>) => string | false;
        path?: string | undefined;
        noServer?: boolean | undefined;
        allowSynchronousEvents?: boolean | undefined;
        autoPong?: boolean | undefined;
        clientTracking?: boolean | undefined;
        closeTimeout?: number | undefined;
        perMessageDeflate?: boolean | PerMessageDeflateOptions | undefined;
        maxPayload?: number | undefined;
        maxFragments?: number | undefined;
        maxBufferedChunks?: number | undefined;
        maxPendingAutoPongs?: number | undefined;
        skipUTF8Validation?: boolean | undefined;
        WebSocket?: U | undefined;
        /** Pub/sub across processes (createRedisAdapter()). */
        adapter?: PubSubAdapter | undefined;
        /**
         * ferrosocket: who owns the sockets. `'stream'`: Node's sockets, as ws. `'native'`:
         * Rust reads and writes them on Node's event loop (throws where it cannot serve
         * the options). `'auto'`: native where it can, stream elsewhere. Default: the
         * `FERROSOCKET_TRANSPORT` environment variable, else `'stream'`.
         */
        transport?: "auto" | "native" | "stream" | undefined;
        /**
         * ferrosocket, `transport: 'native'`: milliseconds for a request head to arrive
         * before the connection gets 408 and is closed (default 60000, Node's
         * `headersTimeout`).
         */
        handshakeTimeout?: number | undefined;
    }

    interface PublishOptions {
        binary?: boolean | undefined;
        /** Compress for subscribers that negotiated permessage-deflate (default false). */
        compress?: boolean | undefined;
        /** A subscriber not to deliver to (usually the sender). */
        except?: WebSocket | undefined;
    }

    interface PublishResult {
        reached: number;
        dropped: number;
        closed: number;
    }

    interface PubSubHub {
        deliver(topic: string, data: Buffer, binary: boolean): PublishResult;
    }

    interface PubSubAdapter {
        attach(hub: PubSubHub): void;
        subscribe(topic: string): void;
        unsubscribe(topic: string): void;
        publish(topic: string, data: Buffer, binary: boolean): void;
        close(): void;
    }

    interface RedisAdapterOptions {
        url?: string | undefined;
        client?: any;
        prefix?: string | undefined;
        sharded?: boolean | 'auto' | undefined;
        reconnectDelay?: number | undefined;
    }

    interface RedisAdapter extends PubSubAdapter, EventEmitter {
        readonly ready: Promise<RedisAdapter>;
        readonly connected: boolean;
        readonly stats: { published: number; received: number; lost: number; outages: number };
        on(event: 'down', listener: (info: { error: Error }) => void): this;
        on(event: 'up', listener: (info: { duration: number }) => void): this;
        on(event: string | symbol, listener: (...args: any[]) => void): this;
    }

    function createRedisAdapter(options?: RedisAdapterOptions): RedisAdapter;

    interface AddressInfo {
        address: string;
        family: string;
        port: number;
    }

    interface ServerEvents<T, R> {
        connection: [socket: T, request: R];
        error: [error: Error];
        headers: [headers: string[], request: R];
        close: [];
        listening: [];
        wsClientError: [error: Error, socket: Duplex, request: R];
    }

    class Server<
        T extends typeof WebSocket = typeof WebSocket,
        U extends typeof IncomingMessage = typeof IncomingMessage,
    > extends EventEmitter {
        options: ServerOptions<T, U>;
        path: string;
        clients: Set<InstanceType<T>>;

        constructor(options?: ServerOptions<T, U>, callback?: () => void);

        address(): AddressInfo | string | null;
        close(cb?: (err?: Error) => void): void;
        /** Publishes to every subscriber of `topic`, framed once (and via the adapter, beyond). */
        publish(topic: string, data: BufferLike, options?: PublishOptions): PublishResult;
        subscribers(topic: string): InstanceType<T>[];
        handleUpgrade(
            request: InstanceType<U>,
            socket: Duplex,
            upgradeHead: Buffer,
            callback: (client: InstanceType<T>, request: InstanceType<U>) => void,
        ): void;
        shouldHandle(request: InstanceType<U>): boolean | Promise<boolean>;

        on<K extends keyof ServerEvents<InstanceType<T>, InstanceType<U>>>(
            event: K,
            listener: (this: Server<T>, ...args: ServerEvents<InstanceType<T>, InstanceType<U>>[K]) => void,
        ): this;
        on(event: string | symbol, listener: (this: Server<T>, ...args: any[]) => void): this;
        once<K extends keyof ServerEvents<InstanceType<T>, InstanceType<U>>>(
            event: K,
            listener: (this: Server<T>, ...args: ServerEvents<InstanceType<T>, InstanceType<U>>[K]) => void,
        ): this;
        once(event: string | symbol, listener: (this: Server<T>, ...args: any[]) => void): this;
        off<K extends keyof ServerEvents<InstanceType<T>, InstanceType<U>>>(
            event: K,
            listener: (this: Server<T>, ...args: ServerEvents<InstanceType<T>, InstanceType<U>>[K]) => void,
        ): this;
        off(event: string | symbol, listener: (this: Server<T>, ...args: any[]) => void): this;
        addListener<K extends keyof ServerEvents<InstanceType<T>, InstanceType<U>>>(
            event: K,
            listener: (...args: ServerEvents<InstanceType<T>, InstanceType<U>>[K]) => void,
        ): this;
        addListener(event: string | symbol, listener: (...args: any[]) => void): this;
        removeListener<K extends keyof ServerEvents<InstanceType<T>, InstanceType<U>>>(
            event: K,
            listener: (...args: ServerEvents<InstanceType<T>, InstanceType<U>>[K]) => void,
        ): this;
        removeListener(event: string | symbol, listener: (...args: any[]) => void): this;
    }

    const WebSocketServer: typeof Server;
    interface WebSocketServer extends Server {}
    const WebSocket: typeof WebSocketAlias;
    interface WebSocket extends WebSocketAlias {}

    function createWebSocketStream(websocket: WebSocket, options?: DuplexOptions): Duplex;

    interface FrameOptions {
        fin: boolean; rsv1: boolean; opcode: number; mask: boolean;
        readOnly?: boolean; maskBuffer?: Buffer; generateMask?: (mask: Buffer) => void;
    }
    /** ws's Sender: `Sender.frame()` frames once (socket.io broadcasts); instances write frames to a raw stream, uncompressed. */
    class Sender {
        constructor(socket: Duplex, extensions?: object, generateMask?: (mask: Buffer) => void);
        static frame(data: Buffer | string, options: FrameOptions): Buffer[];
        sendFrame(list: Buffer[], cb?: (err?: Error) => void): void;
        send(data: Buffer | string, options: { binary?: boolean; fin?: boolean; mask?: boolean }, cb?: (err?: Error) => void): void;
        ping(data: Buffer | string, mask: boolean, cb?: (err?: Error) => void): void;
        pong(data: Buffer | string, mask: boolean, cb?: (err?: Error) => void): void;
    }

    interface ReceiverOptions {
        allowSynchronousEvents?: boolean | undefined;
        binaryType?: "nodebuffer" | "arraybuffer" | "fragments" | "blob" | undefined;
        extensions?: { [name: string]: PerMessageDeflate } | undefined;
        isServer?: boolean | undefined;
        maxBufferedChunks?: number | undefined;
        maxFragments?: number | undefined;
        maxPayload?: number | undefined;
        skipUTF8Validation?: boolean | undefined;
    }
    /** ws's Receiver: a Writable that parses frames (the core's reader) and emits 'message', 'ping', 'pong', 'conclude'. */
    class Receiver extends Writable {
        constructor(options?: ReceiverOptions);
        on(event: "message", listener: (data: RawData, isBinary: boolean) => void): this;
        on(event: "ping" | "pong", listener: (data: Buffer) => void): this;
        on(event: "conclude", listener: (code: number, reason: Buffer) => void): this;
        on(event: string | symbol, listener: (...args: any[]) => void): this;
    }

    /** Parameters of a permessage-deflate offer or response, as `extension.parse` gives them. */
    type ExtensionParams = { [param: string]: Array<string | true> };
    /** ws's PerMessageDeflate negotiation API (offer/accept); compression belongs to the connection. */
    class PerMessageDeflate {
        constructor(options?: PerMessageDeflateOptions & { isServer?: boolean; maxPayload?: number });
        static readonly extensionName: "permessage-deflate";
        params: { [param: string]: number | true } | null;
        offer(): { [param: string]: number | true };
        accept(configurations: ExtensionParams[]): { [param: string]: number | true };
        normalizeParams(configurations: ExtensionParams[]): Array<{ [param: string]: number | true }>;
        cleanup(): void;
    }

    /** ws's `Sec-WebSocket-Extensions` helpers. */
    const extension: {
        parse(header: string): { [name: string]: ExtensionParams[] };
        format(extensions: { [name: string]: object | object[] }): string;
    };
    /** ws's `Sec-WebSocket-Protocol` parser. */
    const subprotocol: {
        parse(header: string): Set<string>;
    };

    // ReconnectingWebSocket (issue 4): the core session (backoff, heartbeat, offline queue) in Node.
    interface ReconnectingOptions {
        minDelay?: number; maxDelay?: number; growFactor?: number; maxRetries?: number;
        connectionTimeout?: number; minUptime?: number;
        heartbeat?: { mode?: "ping" | "message" | "traffic" | "off"; interval?: number; timeout?: number;
            ping?: string | Buffer; pong?: string | Buffer };
        maxQueuedMessages?: number; maxQueuedBytes?: number; overflow?: "drop-oldest" | "drop-newest" | "error";
        reconnectOnAppCodes?: boolean; stopCodes?: number[];
        /** Acknowledged, resumable delivery (docs/acknowledged-delivery.md); needs an AckServer. */
        acknowledged?: boolean;
        binaryType?: "nodebuffer" | "arraybuffer" | "fragments"; wsOptions?: ClientOptions;
    }
    class ReconnectingWebSocket extends EventEmitter {
        constructor(url: string | URL | ((attempt: number) => string),
            protocols?: string | string[] | ((attempt: number) => string | string[]), options?: ReconnectingOptions);
        static readonly CONNECTING: 0; static readonly OPEN: 1; static readonly CLOSING: 2; static readonly CLOSED: 3;
        readonly readyState: number;
        readonly state: "connecting" | "open" | "closing" | "waiting" | "closed";
        readonly url: string; readonly protocol: string; readonly extensions: string; readonly bufferedAmount: number;
        binaryType: string;
        readonly retryCount: number; readonly rtt: number | null; readonly queueLength: number; readonly reconnectAt: number | null;
        onopen: ((ev: any) => void) | null; onmessage: ((ev: any) => void) | null;
        onclose: ((ev: any) => void) | null; onerror: ((ev: any) => void) | null;
        send(data: string | Buffer | ArrayBuffer | ArrayBufferView): void;
        close(code?: number, reason?: string): void;
        reconnect(): void;
        wake(): void;
        addEventListener(type: string, listener: (ev: any) => void, options?: { once?: boolean }): void;
        removeEventListener(type: string, listener: (ev: any) => void): void;
    }

    // AckServer: the server half of acknowledged delivery (docs/acknowledged-delivery.md).
    interface AckServerOptions {
        maxSessions?: number; sessionTimeout?: number; maxReplayMessages?: number; maxReplayBytes?: number;
        lastDelivered?: (id: string) => number | undefined;
    }
    class AckSession extends EventEmitter {
        readonly id: string;
        readonly socket: WebSocket | null;
        readonly lastDelivered: number;
        readonly pending: number;
        send(data: string | Buffer | ArrayBuffer | ArrayBufferView): void;
        on(event: "message", listener: (data: Buffer, isBinary: boolean, seq: number) => void): this;
        on(event: "text", listener: (text: string, socket: WebSocket) => void): this;
        on(event: "open", listener: (socket: WebSocket) => void): this;
        on(event: "dropped", listener: (seq: number) => void): this;
        on(event: "end", listener: () => void): this;
        on(event: string | symbol, listener: (...args: any[]) => void): this;
    }
    class AckServer extends EventEmitter {
        constructor(wss: WebSocketServer, options?: AckServerOptions);
        static readonly SUBPROTOCOL: string;
        static handleProtocols(protocols: Set<string>): string | false;
        readonly sessions: Map<string, AckSession>;
        on(event: "session", listener: (session: AckSession) => void): this;
        on(event: string | symbol, listener: (...args: any[]) => void): this;
    }
}

export = WebSocket;
