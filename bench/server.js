'use strict';

// Echo server for the load benchmark: `node server.js ws|ferrosocket|native|native-server|uws`.
//   ws             ws from npm (with bufferutil if installed)
//   ferrosocket    ferrosocket, Node's sockets (transport: 'stream')
//   native         ferrosocket, transport: 'native', port mode (Rust listens and owns the sockets)
//   native-server  ferrosocket, transport: 'native', server mode (Node's HTTP server
//                  upgrades, then Rust takes each socket over)
//   uws          uWebSockets.js (the `uwebsockets` package, a benchmark peer only)
// Talks to bench/run.js over IPC: sends { port } when listening, answers
// { cmd: 'rss', gc } with its resident set size (after a GC when gc) and the client count.

const path = require('path');

const impl = process.argv[2];
let clients = () => 0;

if (impl === 'uws') {
  const uWS = require('uwebsockets');
  let open = 0;
  clients = () => open;
  uWS
    .App()
    .ws('/*', {
      maxPayloadLength: 100 * 1024 * 1024,
      maxBackpressure: 1024 * 1024 * 1024,
      idleTimeout: 0,
      open: () => open++,
      close: () => open--,
      message: (ws, message, isBinary) => ws.send(message, isBinary)
    })
    .listen('127.0.0.1', 0, (token) => {
      process.send({ port: uWS.us_socket_local_port(token) });
    });
} else {
  const lib =
    impl === 'ws'
      ? require(path.join(__dirname, '../npm/node_modules/ws'))
      : require(path.join(__dirname, '../npm'));
  const transport = impl === 'ws' ? {} : { transport: impl === 'ferrosocket' ? 'stream' : 'native' };
  // Optional: the server's `perMessageDeflate` option, as JSON (the deflate scenarios).
  const perMessageDeflate = process.argv[3] ? JSON.parse(process.argv[3]) : false;
  let wss;
  if (impl === 'native-server') {
    const server = require('http').createServer();
    wss = new lib.WebSocketServer({ server, perMessageDeflate, ...transport });
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
      process.send({ port: server.address().port });
    });
  } else {
    const options = { host: '127.0.0.1', port: 0, backlog: 4096, perMessageDeflate, ...transport };
    wss = new lib.WebSocketServer(options, () => {
      process.send({ port: wss.address().port });
    });
  }
  clients = () => wss.clients.size;
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
}

process.on('message', (msg) => {
  if (msg.cmd === 'rss') {
    if (msg.gc && global.gc) {
      global.gc();
      global.gc();
    }
    setTimeout(() => {
      const m = process.memoryUsage();
      const spaces = {};
      for (const s of require('v8').getHeapSpaceStatistics()) spaces[s.space_name] = s.physical_space_size;
      process.send({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, spaces, clients: clients() });
    }, 200);
  } else if (msg.cmd === 'cpu') {
    const c = process.cpuUsage();
    process.send({ cpuMicros: c.user + c.system });
  } else if (msg.cmd === 'exit') {
    process.exit(0);
  }
});
