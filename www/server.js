#!/usr/bin/env node
'use strict';
// The demo server: serves www/ and pkg/, and a WebSocket endpoint built on ferrosocket (../npm).
//   /chat  every text/binary message goes to everyone in the room
//   /echo  every message comes back to its sender (used by the wasm tests)
// Heartbeat: the text "__ping__" is answered with "__pong__" (browsers cannot send ping frames).
// Controls, so a visitor can watch detection and recovery:
//   POST /control/drop          drop every connection abruptly (no close frame → 1006)
//   POST /control/pause?ms=N    hold every reply (pongs, chat) for N ms, then send them
//   in-band on a socket: "__drop__" drops that socket, "__pause__:N" pauses it.
// Usage: node www/server.js [--port N] (default 8080; 0 = any free port). Prints the URL.

const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { WebSocketServer } = require('../npm');

const root = path.join(__dirname, '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const port = Number(arg('port', process.env.PORT || 8080));
const host = '127.0.0.1';

const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png',
};

// Static files: www/ at the root, the browser package under /pkg/.
function serveFile(req, res) {
  const url = new URL(req.url, 'http://x');
  let rel = decodeURIComponent(url.pathname);
  if (rel === '/') rel = '/index.html';
  const base = rel.startsWith('/pkg/') ? root : path.join(root, 'www');
  const file = path.normalize(path.join(base, rel));
  if (!file.startsWith(base + path.sep)) return send(res, 403, 'forbidden');
  fs.readFile(file, (err, body) => {
    if (err) return send(res, 404, 'not found');
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(body);
  });
}

function send(res, status, body, type = 'text/plain') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

let pausedUntil = 0; // whole server
// Replies (pongs, echoes, chat broadcasts) held while paused, in order, sent when the pause ends
// to whoever is still connected: a slow server, not a lossy one.
const held = [];
const clients = new Set();
const isPaused = (ws) => Date.now() < Math.max(pausedUntil, ws.pausedUntil || 0);

function pauseUntil(until) {
  setTimeout(() => {
    for (const reply of held.splice(0)) reply();
  }, Math.max(0, until - Date.now()) + 5).unref();
}

function pause(ms) {
  pausedUntil = Date.now() + ms;
  pauseUntil(pausedUntil);
}

function reply(ws, fn) {
  const send = () => {
    if (isPaused(ws)) held.push(send);
    else if (ws.readyState === 1 || ws.room === 'chat') fn();
  };
  send();
}

function broadcast(data, isBinary) {
  for (const c of clients) if (c.room === 'chat' && c.readyState === 1) c.send(data, { binary: isBinary });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'POST' && url.pathname === '/control/drop') {
    const n = clients.size;
    for (const c of clients) c.terminate();
    return send(res, 200, { dropped: n }, 'application/json');
  }
  if (req.method === 'POST' && url.pathname === '/control/pause') {
    const ms = Math.min(Number(url.searchParams.get('ms')) || 5000, 60_000);
    pause(ms);
    return send(res, 200, { pausedMs: ms }, 'application/json');
  }
  if (url.pathname === '/control/state') {
    return send(res, 200, { clients: clients.size, paused: Date.now() < pausedUntil }, 'application/json');
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
  serveFile(req, res);
});

const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  const room = new URL(req.url, 'http://x').pathname.slice(1);
  if (room !== 'chat' && room !== 'echo') return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.room = room;
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
  });
});

function onMessage(ws, data, isBinary) {
  const text = isBinary ? null : data.toString();
  if (text === '__drop__') return ws.terminate();
  if (text && text.startsWith('__pause__:')) {
    ws.pausedUntil = Date.now() + Number(text.slice(10));
    pauseUntil(ws.pausedUntil);
    return;
  }
  if (text === '__ping__') return reply(ws, () => ws.send('__pong__'));
  if (ws.room === 'echo') reply(ws, () => ws.send(data, { binary: isBinary }));
  else reply(ws, () => broadcast(data, isBinary));
}

server.listen(port, host, () => {
  console.log(`ferrosocket demo: http://${host}:${server.address().port}/`);
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
