import WebSocket from './index.js';

export const createWebSocketStream = WebSocket.createWebSocketStream;
export const WebSocketServer = WebSocket.WebSocketServer;
export const ReconnectingWebSocket = WebSocket.ReconnectingWebSocket;
export const Sender = WebSocket.Sender;
export const Receiver = WebSocket.Receiver;
export const PerMessageDeflate = WebSocket.PerMessageDeflate;
export const extension = WebSocket.extension;
export const subprotocol = WebSocket.subprotocol;
export const AckServer = WebSocket.AckServer;
export const createRedisAdapter = WebSocket.createRedisAdapter;
export { WebSocket };

export default WebSocket;
