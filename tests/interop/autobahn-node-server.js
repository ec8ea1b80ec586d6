'use strict';

// Echo server of the npm package for the Autobahn|Testsuite (scripts/autobahn.sh,
// AUTOBAHN_ROLE=node). Limits as the suite needs them: 16 MiB messages and no fragment
// limit (cases 9.3.1/9.4.1 send 65,537 frames: one data frame and 65,536 continuations).
// `node autobahn-node-server.js PORT native`: on the native transport. permessage-deflate
// on both (sections 12 and 13).

const { WebSocketServer } = require('../../npm');

const port = Number(process.argv[2] || 0);
const transport = process.argv[3] === 'native' ? { transport: 'native' } : {};
const wss = new WebSocketServer(
  { host: '127.0.0.1', port, maxPayload: 64 << 20, maxFragments: 0, perMessageDeflate: true, ...transport },
  () => console.log(`listening on ws://127.0.0.1:${wss.address().port}`)
);
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {}); // the suite breaks the protocol on purpose; ws closes with the code
});
