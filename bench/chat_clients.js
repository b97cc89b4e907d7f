'use strict';
// A chat: N raw Socket.IO v5 WebSocket clients in R rooms (client i in room i % R), each sending
// one message to its room every INTERVAL seconds (spread evenly), for SECONDS; every member gets
// it (the sender too, as the bench apps' `to_room` emits to the whole room).  Prints a JSON line
// once everyone has joined, then one with the deliveries and their latency (send to receipt, one
// clock: every client lives in this process).
//   node bench/chat_clients.js '{"port": 5000, "n": 2000, "rooms": 200, "interval": 2, "seconds": 20}'
const path = require('path');
const { performance } = require('perf_hooks');
const WebSocket = require(path.join(__dirname, '..', 'node_modules', 'ws'));

const opts = JSON.parse(process.argv[2]);
const sockets = [];
let joined = 0;
let measuring = false;
const latencies = [];

function client(i) {
  const room = `room-${i % opts.rooms}`;
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${opts.port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    ws.on('message', (data) => {
      const text = data.toString();
      if (text[0] === '0') ws.send('40');
      else if (text.startsWith('40')) ws.send(`421${JSON.stringify(['join', room])}`);
      else if (text.startsWith('431')) { joined += 1; resolve(); }
      else if (text === '2') ws.send('3');
      else if (text.startsWith('42')) {
        const [, message] = JSON.parse(text.slice(2));
        if (message.w) latencies.push(performance.now() - message.t); // sent in the window
      }
    });
    ws.on('error', () => resolve());
    sockets.push({ ws, room });
  });
}

function send(i) {
  const { ws, room } = sockets[i];
  if (ws.readyState === WebSocket.OPEN) {
    ws.send(`42${JSON.stringify(['to_room', room, { t: performance.now(), w: measuring, text: 'hello from a chat user' }])}`);
  }
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : null;
}

async function main() {
  const batch = 200;
  for (let i = 0; i < opts.n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, opts.n - i) }, (_, k) => client(i + k)));
  }
  const timers = [];
  for (let i = 0; i < opts.n; i += 1) {
    const start = (i / opts.n) * opts.interval * 1000;
    timers.push(setTimeout(() => { send(i); timers.push(setInterval(() => send(i), opts.interval * 1000)); }, start));
  }
  process.stdout.write(JSON.stringify({ event: 'joined', joined }) + '\n');
  await new Promise((r) => setTimeout(r, 2000)); // the server's measuring window starts now too
  measuring = true;
  await new Promise((r) => setTimeout(r, opts.seconds * 1000));
  measuring = false;
  const sentPerS = opts.n / opts.interval;
  await new Promise((r) => setTimeout(r, 500)); // what is in flight arrives
  timers.forEach((t) => clearTimeout(t));
  const sorted = latencies.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({
    event: 'done',
    joined,
    deliveries: sorted.length,
    expected: Math.round(sentPerS * opts.seconds * (opts.n / opts.rooms)),
    p50_ms: percentile(sorted, 0.5),
    p99_ms: percentile(sorted, 0.99),
    max_ms: sorted.length ? sorted[sorted.length - 1] : null,
  }) + '\n');
  for (const { ws } of sockets) ws.terminate();
  process.exit(0);
}
main();
