'use strict';
// Load generator for the scenarios the shared harness lacks: binary attachments, large
// messages, many rooms.  Speaks Engine.IO v4 / Socket.IO v5 over raw WebSockets (the `ws`
// package), so the generator stays cheap and measures the server, as ../shared/bench does.
//
//   node bench/extra_load.js binary|large|rooms      (BENCH_PORT, DURATION, WARMUP)
//
// binary: 50 clients, closed loop, echo with a 1 KiB binary attachment        -> acks/s
// large:  10 clients, closed loop, echo of a 64 KiB string                    -> acks/s
// rooms:  1000 clients in 100 rooms of 10; one sender, 50 emits in flight,
//         each to a random room (10 deliveries per emit)                      -> deliveries/s
// One JSON line goes to stdout.
const WebSocket = require('ws');

const PORT = Number(process.env.BENCH_PORT || process.env.PORT || 5000);
const DURATION = Number(process.env.DURATION || 10);
const WARMUP = Number(process.env.WARMUP || 1);
const URL = `ws://127.0.0.1:${PORT}/socket.io/?EIO=4&transport=websocket`;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Client {
  constructor() {
    this.acks = new Map();
    this.nextId = 1;
    this.binaryAck = null; // an ack whose attachment is still to come
    this.onEvent = null;
  }

  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(URL, { perMessageDeflate: false });
      this.ws = ws;
      const timer = setTimeout(() => reject(new Error('connect timeout')), 10000);
      ws.on('error', reject);
      ws.on('message', (data, isBinary) => {
        if (isBinary) {
          const pending = this.binaryAck;
          this.binaryAck = null;
          if (pending) pending.cb(pending.text, data);
          return;
        }
        const text = data.toString();
        if (text === '2') ws.send('3');
        else if (text.startsWith('0')) ws.send('40');
        else if (text.startsWith('40')) { clearTimeout(timer); resolve(this); }
        else if (text.startsWith('42')) { if (this.onEvent) this.onEvent(text); }
        else if (text.startsWith('43') || text.startsWith('461-')) this.ack(text);
      });
    });
  }

  ack(text) {
    const binary = text.startsWith('461-');
    let i = binary ? 4 : 2;
    let id = 0;
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) id = id * 10 + text.charCodeAt(i++) - 48;
    const cb = this.acks.get(id);
    if (!cb) return;
    this.acks.delete(id);
    if (binary) this.binaryAck = { cb, text: text.slice(i) };
    else cb(text.slice(i), null);
  }

  emit(json, cb, attachment) {
    const id = this.nextId++;
    this.acks.set(id, cb);
    if (attachment) {
      this.ws.send(`451-${id}${json}`);
      this.ws.send(attachment);
    } else {
      this.ws.send(`42${id}${json}`);
    }
  }

  close() { this.ws.terminate(); }
}

async function openMany(n) {
  const clients = [];
  for (let i = 0; i < n; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 50); j++) batch.push(new Client().open());
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

// Runs `start(onDone)` closed loops; counts completions inside the measured window.
async function measure(loops, start) {
  const windowStart = now() + WARMUP * 1000;
  const windowEnd = windowStart + DURATION * 1000;
  let counted = 0;
  let running = true;
  let bad = 0;
  const count = (n, ok) => {
    const t = now();
    if (t >= windowStart && t < windowEnd) counted += n;
    if (!ok) bad++;
    return running;
  };
  for (let i = 0; i < loops; i++) start(i, count);
  await sleep((WARMUP + DURATION) * 1000);
  running = false;
  await sleep(200);
  return { perSecond: +(counted / DURATION).toFixed(1), bad };
}

async function echoScenario(clients, body, attachment, check) {
  const r = await measure(clients.length, (i, count) => {
    const c = clients[i];
    const loop = () => c.emit(body, (text, data) => { if (count(1, check(text, data))) loop(); }, attachment);
    loop();
  });
  return { clients: clients.length, acks_per_s: r.perSecond, bad_payload: r.bad };
}

async function binary() {
  const clients = await openMany(50);
  const attachment = Buffer.alloc(1024, 7);
  const r = await echoScenario(clients, '["echo",{"_placeholder":true,"num":0}]', attachment,
    (text, data) => text === '[{"_placeholder":true,"num":0}]' && data && Buffer.compare(data, attachment) === 0);
  clients.forEach((c) => c.close());
  return { scenario: 'binary', attachment_bytes: attachment.length, ...r };
}

async function large() {
  const clients = await openMany(10);
  const payload = JSON.stringify('x'.repeat(64 * 1024));
  const r = await echoScenario(clients, `["echo",${payload}]`, null, (text) => text === `[${payload}]`);
  clients.forEach((c) => c.close());
  return { scenario: 'large', message_bytes: payload.length, mib_per_s: +((r.acks_per_s * payload.length * 2) / 2 ** 20).toFixed(1), ...r };
}

async function rooms() {
  const receivers = await openMany(1000);
  await Promise.all(receivers.map((c, i) => new Promise((resolve) => c.emit(`["join","room${i % 100}"]`, resolve))));
  const [sender] = await openMany(1);
  const data = JSON.stringify({ seq: 0, pad: 'x'.repeat(80) });
  const r = await measure(50, (i, count) => {
    if (i === 0) receivers.forEach((c) => { c.onEvent = () => count(1, true); }); // deliveries are what counts
    const loop = () => sender.emit(`["to_room","room${Math.floor(Math.random() * 100)}",${data}]`, () => { if (count(0, true)) loop(); });
    loop();
  });
  receivers.concat([sender]).forEach((c) => c.close());
  return { scenario: 'rooms', rooms: 100, clients: receivers.length, deliveries_per_s: r.perSecond };
}

const SCENARIOS = { binary, large, rooms };
const name = process.argv[2];
if (!SCENARIOS[name]) {
  console.error(`usage: node bench/extra_load.js ${Object.keys(SCENARIOS).join('|')}`);
  process.exit(2);
}
SCENARIOS[name]().then(
  (result) => { console.log(JSON.stringify({ ok: true, ...result })); process.exit(0); },
  (err) => { console.log(JSON.stringify({ ok: false, scenario: name, error: String(err && err.message) })); process.exit(1); },
);
