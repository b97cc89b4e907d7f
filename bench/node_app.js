'use strict';
// Node's socket.io with the benchmark app, for bench/compare.py's extra scenarios: the shared
// harness's app (echo, join, bcast) plus `join` with a room name and `to_room`.
// socket.io comes from the shared harness's install (SOCKET_IO overrides the path).
const path = require('path');
const { Server } = require(process.env.SOCKET_IO || path.join(__dirname, '..', '..', 'shared', 'bench', 'node_modules', 'socket.io'));

const pingInterval = Number(process.env.PING_INTERVAL || 25) * 1000; // bench/idle.py: heartbeats every second
const io = new Server(require('http').createServer().listen(Number(process.env.PORT || 5000), '127.0.0.1'), {
  serveClient: false,
  pingInterval,
});
// REALISTIC=1 (bench/compare.py's "realistic"): a lookup of the client's profile and a join, each echo.
const realistic = process.env.REALISTIC === '1';
const profiles = new Map();
io.on('connection', (socket) => {
  socket.on('echo', (...args) => {
    const ack = args.pop();
    if (realistic) {
      let profile = profiles.get(socket.id);
      if (profile === undefined) {
        profile = { name: 'user', room: 'lobby' };
        profiles.set(socket.id, profile);
      }
      socket.join(profile.room);
    }
    if (typeof ack === 'function') ack(...args);
  });
  socket.on('join', (...args) => {
    const ack = args.pop();
    socket.join(args.length ? args[0] : 'r');
    if (typeof ack === 'function') ack();
  });
  socket.on('bcast', (data, ack) => {
    io.to('r').emit('msg', data);
    if (typeof ack === 'function') ack();
  });
  socket.on('to_room', (room, data, ack) => {
    io.to(room).emit('msg', data);
    if (typeof ack === 'function') ack();
  });
});
