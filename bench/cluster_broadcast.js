'use strict';
// Cross-process broadcast: N clients on server B join room "r"; one client on server A (or B) sends
// "bcast" with an ack and waits until every copy arrived, then sends the next (closed loop).
//   node bench/cluster_broadcast.js <sender_port> <members_port> [clients=200] [seconds=10]
const WebSocket = require('ws');
const [senderPort, membersPort] = process.argv.slice(2, 4).map(Number);
const N = Number(process.argv[4] || 200);
const SECONDS = Number(process.argv[5] || 10);

function open(port) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
    ws.on('error', reject);
    ws.on('message', (raw) => {
      const text = raw.toString();
      if (text === '2') ws.send('3');
      else if (text.startsWith('0{')) ws.send('40');
      else if (text.startsWith('40{')) resolve(ws);
    });
  });
}

async function main() {
  const members = [];
  for (let i = 0; i < N; i++) members.push(await open(membersPort));
  await Promise.all(members.map((ws) => new Promise((resolve) => {
    ws.on('message', (raw) => { if (raw.toString() === '431[]') resolve(); });
    ws.send('421["join"]');
  })));
  const sender = await open(senderPort);
  let pending = 0;
  let delivered = 0;
  let next = null;
  members.forEach((ws) => ws.on('message', (raw) => {
    if (raw.toString().startsWith('42["msg"')) {
      delivered += 1;
      if (--pending === 0 && next) next();
    }
  }));
  const end = Date.now() + SECONDS * 1000;
  let seq = 0;
  const started = Date.now();
  while (Date.now() < end) {
    pending = N;
    await new Promise((resolve) => {
      next = resolve;
      sender.send(`42${seq}["bcast",{"seq":${seq},"pad":"${'x'.repeat(80)}"}]`);
      seq += 1;
    });
  }
  const elapsed = (Date.now() - started) / 1000;
  console.log(JSON.stringify({ clients: N, broadcasts: seq, deliveries_per_s: Math.round(delivered / elapsed) }));
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
