'use strict';

// An 'error' with no listener: like ws, the process dies with the error
// (uncaught), and the message and code are the same. Runs in child processes
// that are killed by PID if they outlive the time bound.

const test = require('node:test');
const assert = require('node:assert');
const { spawn } = require('child_process');
const path = require('path');

const h = require('./helpers');

function runChild(libPath, port) {
  return new Promise((resolve) => {
    const code = `
      const WebSocket = require(${JSON.stringify(libPath)});
      const c = new WebSocket('ws://127.0.0.1:${port}');
      c.on('open', () => {});
    `;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 10000);
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      const m = /(RangeError|Error): (Invalid WebSocket frame[^\n]*)/.exec(stderr);
      const c = /code: '([A-Z_0-9]+)'/.exec(stderr);
      resolve({ exitCode, error: m && m[1], message: m && m[2], code: c && c[1] });
    });
  });
}

test('protocol error without an error listener crashes the process as in ws', async () => {
  const results = [];
  for (const libPath of [path.join(__dirname, '../../npm/node_modules/ws'), path.join(__dirname, '../../npm')]) {
    const srv = await h.rawServer(h.frame({ opcode: 5, payload: 'x', mask: false }));
    results.push(await runChild(libPath, srv.port));
    await srv.close();
  }
  assert.deepStrictEqual(results[1], results[0]);
  assert.strictEqual(results[0].exitCode, 1);
  assert.strictEqual(results[0].code, 'WS_ERR_INVALID_OPCODE');
});
