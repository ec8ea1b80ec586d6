import WebSocket from './index.js';

export const createWebSocketStream = WebSocket.createWebSocketStream;
export const WebSocketServer = WebSocket.WebSocketServer;
export { WebSocket };

export default WebSocket;
