'use strict';
// Node's socket.io instrumented by the official @socket.io/admin-ui: tests/apps/admin_app.py's
// events written for Node, the reference of tests/differential/test_admin_node.py.  Prints its port.
//   node node_admin_server.js '{"username": "admin", "hash": "$2b$...", "mode": "development"}'
const { Server } = require('socket.io');
const { instrument } = require('@socket.io/admin-ui');

const opts = JSON.parse(process.argv[2] || '{}');
const io = new Server({ cors: { origin: true, credentials: true } });
instrument(io, {
  auth: opts.hash ? { type: 'basic', username: opts.username, password: opts.hash } : false,
  mode: opts.mode || 'development',
  readonly: !!opts.readonly,
  serverId: 'the-server',
});
io.on('connection', (socket) => {
  socket.on('join', (room, ack) => { socket.join(room); ack(room); });
  socket.on('leave', (room, ack) => { socket.leave(room); ack(room); });
  socket.on('to_room', (room, text, ack) => { io.to(room).emit('room_message', text); ack(true); });
});
const httpServer = require('http').createServer();
io.attach(httpServer);
httpServer.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: httpServer.address().port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
