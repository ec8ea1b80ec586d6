'use strict';

const createWebSocketStream = require('./lib/stream');
const WebSocket = require('./lib/websocket');
const WebSocketServer = require('./lib/server');

WebSocket.createWebSocketStream = createWebSocketStream;
WebSocket.Server = WebSocketServer;
WebSocket.WebSocket = WebSocket;
WebSocket.WebSocketServer = WebSocketServer;

// Issue 4 adds `WebSocket.ReconnectingWebSocket` from ./lib/reconnecting.js here.

module.exports = WebSocket;
