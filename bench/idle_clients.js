'use strict';
// Opens N raw Engine.IO v4 / Socket.IO v5 WebSocket clients that answer every ping, keeps them
// idle for SECONDS, and prints one JSON line: how many stayed connected and the pings answered.
//   node bench/idle_clients.js '{"port": 5000, "n": 10000, "seconds": 20}'
const path = require('path');
const WebSocket = require(path.join(__dirname, '..', 'node_modules', 'ws'));

const opts = JSON.parse(process.argv[2]);
let open = 0;
let pings = 0;
let closed = 0;
const sockets = [];

function client() {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${opts.port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    ws.on('message', (data) => {
      const text = data.toString();
      if (text[0] === '0') ws.send('40');
      else if (text.startsWith('40')) { open += 1; resolve(); }
      else if (text === '2') { pings += 1; ws.send('3'); }
    });
    ws.on('close', () => { closed += 1; resolve(); });
    ws.on('error', () => resolve());
    sockets.push(ws);
  });
}

async function main() {
  const batch = 200;
  for (let i = 0; i < opts.n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, opts.n - i) }, client));
  }
  process.stdout.write(JSON.stringify({ event: 'open', open }) + '\n');
  const before = pings;
  await new Promise((r) => setTimeout(r, opts.seconds * 1000));
  process.stdout.write(JSON.stringify({ event: 'done', open, closed, pings: pings - before }) + '\n');
  for (const ws of sockets) ws.terminate();
  process.exit(0);
}
main();
