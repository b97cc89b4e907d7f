'use strict';
// Node's socket.io server (engine.io underneath), the reference for the Engine.IO
// differential tests: an echo handler and the given options; prints its port.
//   node node_server.js '{"pingInterval": 300, "pingTimeout": 250, "maxHttpBufferSize": 2000, "origin": "..."}'
const { Server } = require('socket.io');

const opts = JSON.parse(process.argv[2] || '{}');
const io = new Server({
  pingInterval: opts.pingInterval || 25000,
  pingTimeout: opts.pingTimeout || 20000,
  maxHttpBufferSize: opts.maxHttpBufferSize || 1e6,
  cors: opts.origin ? { origin: opts.origin, credentials: true } : undefined,
});
io.on('connection', (socket) => {
  socket.on('echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
});
const httpServer = require('http').createServer();
io.attach(httpServer);
httpServer.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: httpServer.address().port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
