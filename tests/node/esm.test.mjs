// ESM entry (wrapper.mjs through the exports map): default and named exports.

import test from 'node:test';
import assert from 'node:assert';
import { createRequire } from 'node:module';

import WebSocket, {
  WebSocketServer,
  createWebSocketStream,
  WebSocket as Named,
  Sender,
  Receiver,
  PerMessageDeflate,
  extension,
  subprotocol
} from '../../npm/wrapper.mjs';

const require = createRequire(import.meta.url);

test('ESM default and named exports are the CommonJS ones', () => {
  const cjs = require('../../npm');
  assert.strictEqual(WebSocket, cjs);
  assert.strictEqual(Named, cjs);
  assert.strictEqual(WebSocketServer, cjs.WebSocketServer);
  assert.strictEqual(createWebSocketStream, cjs.createWebSocketStream);
  // ws 8's named exports (import { Receiver } from 'ws').
  assert.strictEqual(Sender, cjs.Sender);
  assert.strictEqual(Receiver, cjs.Receiver);
  assert.strictEqual(PerMessageDeflate, cjs.PerMessageDeflate);
  assert.strictEqual(extension, cjs.extension);
  assert.strictEqual(subprotocol, cjs.subprotocol);
  assert.strictEqual(typeof Receiver, 'function');
  assert.strictEqual(typeof extension.parse, 'function');
  const pkg = require('../../npm/package.json');
  assert.strictEqual(pkg.exports['.'].import, './wrapper.mjs');
  assert.strictEqual(pkg.exports['.'].require, './index.js');
  assert.strictEqual(pkg.exports['.'].types, './index.d.ts');
});
