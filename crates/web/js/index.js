// pkg/ entry: `import init, { ReconnectingWebSocket } from 'ferrosocket-web'; await init();`
export { default, initSync } from './ferrosocket_web.js';
export { ReconnectingWebSocket } from './reconnecting-websocket.js';
