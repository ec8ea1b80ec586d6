// pkg/ entry: `import init, { ReconnectingWebSocket } from 'ferrosocket-web'; await init();`
export { default, initSync, ReconnectingWebSocket } from './reconnecting-websocket.js';
