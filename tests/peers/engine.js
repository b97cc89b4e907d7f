'use strict';
// The official engine.io-client (6.x for EIO4, 3.x for EIO3) against a raw Surge Engine.IO server.
//   node engine.js '{"version":6,"url":"ws://127.0.0.1:5000","transports":["websocket"]}'
const opts = JSON.parse(process.argv[2]);
const pkg = opts.version === 6 ? 'engine.io-client' : 'engine.io-client-v3';
const mod = require(pkg);
const Socket = mod.Socket || mod;
const socket = new Socket(opts.url, { path: '/engine.io', transports: opts.transports || ['polling', 'websocket'] });
const received = [];
const sent = ['text', 'ünïcode 😀', Buffer.from([1, 2, 3, 255])];
// One message at a time, each after the echo of the one before: the server's def handlers run in
// its elastic pool, which under load may run two messages sent together on two threads.
setTimeout(() => { console.log(JSON.stringify({ error: 'timed out', received })); process.exit(0); }, 10000);
socket.on('open', () => {
  socket.on('message', (data) => {
    received.push(typeof data === 'string' ? data : { binary: Array.from(new Uint8Array(data)) });
    if (received.length <= sent.length) socket.send(sent[received.length - 1]);
    if (received.length === sent.length + 1) {
      const finish = () => {
        const transport = socket.transport.name;
        socket.close();
        console.log(JSON.stringify({ received, transport }));
        process.exit(0);
      };
      // With both transports allowed, report the transport once the upgrade is done.
      if (socket.transport.name === 'polling' && !opts.transports) socket.on('upgrade', finish);
      else finish();
    }
  });
});
socket.on('error', (e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(0); });
