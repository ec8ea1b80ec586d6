'use strict';

// npm/index.d.ts type-checks code written against @types/ws (TypeScript compiler API).

const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const fs = require('fs');
const os = require('os');

const npmDir = path.join(__dirname, '../../npm');

test('index.d.ts accepts code written for @types/ws', () => {
  const ts = require(path.join(npmDir, 'node_modules/typescript'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrosocket-types-'));
  const file = path.join(dir, 'usage.ts');
  fs.writeFileSync(
    file,
    `
import WebSocket = require(${JSON.stringify(npmDir)});
import { IncomingMessage } from 'http';

const wss = new WebSocket.Server({ port: 0, perMessageDeflate: { threshold: 10 }, maxPayload: 1024 });
const wss3 = new WebSocket.WebSocketServer({ port: 0, transport: 'native', handshakeTimeout: 5000 });
const wss2 = new WebSocket.WebSocketServer({ noServer: true, verifyClient: (info: { origin: string; secure: boolean; req: IncomingMessage }) => info.secure });
wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
  ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  ws.on('close', (code: number, reason: Buffer) => console.log(code, reason.toString()));
  ws.ping();
  ws.binaryType = 'arraybuffer';
  const n: number = ws.bufferedAmount + ws.readyState + WebSocket.OPEN;
  ws.addEventListener('message', (ev: WebSocket.MessageEvent) => ev.data, { once: true });
  ws.onclose = (ev: WebSocket.CloseEvent) => ev.wasClean;
  ws.close(1000, 'bye');
  ws.terminate();
  void n; void req;
});
wss2.handleUpgrade({} as IncomingMessage, {} as any, Buffer.alloc(0), (ws) => ws.send('x'));
const c = new WebSocket('ws://127.0.0.1', ['a'], { handshakeTimeout: 10, headers: { a: 'b' } });
c.on('unexpected-response', (req, res) => res.statusCode);
const s = WebSocket.createWebSocketStream(c, { encoding: 'utf8' });
s.end();
const x: WebSocket.WebSocket = new WebSocket.WebSocket('ws://x');
void x;
// The server additions.
const adapter = WebSocket.createRedisAdapter({ url: 'redis://127.0.0.1:1' });
adapter.on('up', (info) => info.duration);
const wss4 = new WebSocket.WebSocketServer({
  noServer: true,
  heartbeat: { interval: 30000, timeout: 10000 },
  idleTimeout: 60000,
  maxLifetime: 3600000,
  highWaterMark: 65536,
  maxBackpressure: 1 << 22,
  closeOnBackpressureLimit: true,
  adapter
});
wss4.on('connection', (ws) => {
  const subscribed: boolean = ws.subscribe('chat') && ws.isSubscribed('chat');
  const topics: string[] = ws.topics;
  const more: boolean = ws.send('x');
  ws.on('drain', () => ws.unsubscribe('chat'));
  ws.on('dropped', (data: Buffer, isBinary: boolean) => void [data, isBinary]);
  const r: WebSocket.PublishResult = wss4.publish('chat', 'hi', { binary: false, except: ws });
  void [subscribed, topics, more, r.reached + r.dropped + r.closed, wss4.subscribers('chat').length];
});
const c2 = new WebSocket('ws://127.0.0.1', { heartbeat: { interval: 1000 }, idleTimeout: 5000 });
void c2;
const r = new WebSocket.Receiver({ isServer: true, binaryType: 'fragments', maxPayload: 10 });
r.on('conclude', (code: number, reason: Buffer) => code + reason.length);
r.write(Buffer.alloc(0));
const pmd = new WebSocket.PerMessageDeflate({ serverMaxWindowBits: 10, isServer: true });
const offer: { [k: string]: number | true } = pmd.offer();
pmd.accept(WebSocket.extension.parse('permessage-deflate')['permessage-deflate']);
const h: string = WebSocket.extension.format({ 'permessage-deflate': offer });
const protocols: Set<string> = WebSocket.subprotocol.parse('a, b');
void h; void protocols; void WebSocket.PerMessageDeflate.extensionName;
`
  );
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    esModuleInterop: true,
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2020,
    types: ['node'],
    typeRoots: [path.join(npmDir, 'node_modules/@types')]
  });
  const diags = ts.getPreEmitDiagnostics(program).map((d) =>
    ts.flattenDiagnosticMessageText(d.messageText, '\n')
  );
  fs.rmSync(dir, { recursive: true, force: true });
  assert.deepStrictEqual(diags, []);
});
