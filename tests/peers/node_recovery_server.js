'use strict';
// Node's socket.io with connection state recovery: tests/apps/recovery_app.py's events, written
// for Node, the reference of tests/differential/test_recovery_node.py.  Prints its port.
//   node node_recovery_server.js '{"maxDisconnectionDuration": 60000}'
const { Server } = require('socket.io');

const opts = JSON.parse(process.argv[2] || '{}');
const io = new Server({
  connectionStateRecovery: { maxDisconnectionDuration: opts.maxDisconnectionDuration || 60000, skipMiddlewares: true },
});
io.on('connection', (socket) => {
  socket.on('join', (room, ack) => { socket.join(room); ack(room); });
  socket.on('ping_me', (ack) => { socket.emit('before', 'the drop'); ack(true); });
  socket.on('push_later', (delay, ack) => {
    const sid = socket.id;
    setTimeout(() => {
      io.to(sid).emit('missed', 'to sid');
      io.to('r1').emit('missed', 'to room');
      io.emit('missed', 'to all');
      io.to('r1').except(sid).emit('missed', 'to the room but it');
      io.to('r2').emit('missed', 'to another room');
    }, delay * 1000);
    ack(true);
  });
  socket.on('whoami', (ack) => ack({ sid: socket.id, recovered: socket.recovered }));
  socket.on('push_now', (ack) => { io.to('r1').emit('now', 'after the reconnect'); ack(true); });
});
const httpServer = require('http').createServer();
io.attach(httpServer);
httpServer.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: httpServer.address().port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
