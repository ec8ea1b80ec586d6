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
