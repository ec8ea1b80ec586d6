'use strict';

// Echo server for the load benchmark: `node server.js ws|ferrosocket`.
// Talks to bench/run.js over IPC: sends { port } when listening, answers
// { cmd: 'rss' } with its resident set size (after a GC) and the client count,
// { cmd: 'cpu' } with the CPU time it has used (user + system, µs).

const path = require('path');

const impl = process.argv[2];
// Optional: the server's `perMessageDeflate` option, as JSON (the deflate scenarios).
const perMessageDeflate = process.argv[3] ? JSON.parse(process.argv[3]) : false;
const lib =
  impl === 'ws'
    ? require(path.join(__dirname, '../npm/node_modules/ws'))
    : require(path.join(__dirname, '../npm'));

const wss = new lib.WebSocketServer({ host: '127.0.0.1', port: 0, backlog: 4096, perMessageDeflate }, () => {
  process.send({ port: wss.address().port });
});

wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

process.on('message', (msg) => {
  if (msg.cmd === 'rss') {
    if (global.gc) {
      global.gc();
      global.gc();
    }
    setTimeout(() => {
      const m = process.memoryUsage();
      process.send({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, clients: wss.clients.size });
    }, 200);
  } else if (msg.cmd === 'cpu') {
    const c = process.cpuUsage();
    process.send({ cpuMicros: c.user + c.system });
  } else if (msg.cmd === 'exit') {
    process.exit(0);
  }
});
