'use strict';

const createWebSocketStream = require('./lib/stream');
const WebSocket = require('./lib/websocket');
const WebSocketServer = require('./lib/server');

WebSocket.createWebSocketStream = createWebSocketStream;
WebSocket.Server = WebSocketServer;
WebSocket.WebSocket = WebSocket;
WebSocket.WebSocketServer = WebSocketServer;

WebSocket.Sender = require('./lib/sender');

WebSocket.ReconnectingWebSocket = require('./lib/reconnecting');
WebSocket.AckServer = require('./lib/ack-server');
WebSocket.createRedisAdapter = require('./lib/redis-adapter').createRedisAdapter;

module.exports = WebSocket;
