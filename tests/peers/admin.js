'use strict';
// One Admin UI session as the official @socket.io/admin-ui page drives it, with socket.io-client
// 4.x: what the admin socket receives, normalised (ids by order of appearance, dates as
// "<date>"), and what the app's client saw.  Prints one JSON line.
//   node admin.js '{"url": "http://127.0.0.1:5000", "username": "admin", "password": "secret"}'
const { io } = require('socket.io-client');

const opts = JSON.parse(process.argv[2]);
const base = { forceNew: true, reconnection: false, transports: ['websocket'] };
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
setTimeout(() => done({ error: 'admin session timed out' }), opts.timeout || 20000);

function done(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

function connected(socket) {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(null));
    socket.once('connect_error', (err) => resolve(err.message));
  });
}

const ids = new Map();
function idOf(value) {
  if (!ids.has(value)) ids.set(value, `<id${ids.size + 1}>`);
  return ids.get(value);
}

const DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
// A value as the comparison sees it: ids replaced, dates and the handshake's per-request details
// reduced to their types.
function normal(value, key) {
  if (Array.isArray(value)) return value.map((v) => normal(v));
  if (value && typeof value === 'object') {
    const out = {};
    for (const k of Object.keys(value).sort()) {
      if (key === 'headers' || key === 'query') out[k] = typeof value[k];
      else out[k] = normal(value[k], k);
    }
    return out;
  }
  if (['issued', 'uptime', 'pid', 'time', 'address', 'hostname', 'clientId'].includes(key)) {
    return `<${typeof value}>`;
  }
  if (typeof value === 'string' && DATE.test(value)) return '<date>';
  if (typeof value === 'string' && ids.has(value)) return ids.get(value);
  return value;
}

async function main() {
  const url = opts.url.replace(/\/$/, '') + '/admin';
  const wrong = io(url, { ...base, auth: { username: opts.username, password: 'wrong' } });
  const refused = await connected(wrong);
  wrong.close();

  const admin = io(url, { ...base, auth: { username: opts.username, password: opts.password } });
  const got = [];
  let session = null;
  const stats = [];
  admin.onAny((event, ...args) => {
    if (event === 'session') session = args[0];
    else if (event === 'server_stats') stats.push(args[0]);
    else got.push([event, ...args]);
  });
  const error = await connected(admin);
  if (error) return done({ error: 'admin refused: ' + error });
  idOf(admin.id);
  await wait(300);

  const client = io(opts.url, base);
  const clientSaw = [];
  client.on('room_message', (text) => clientSaw.push(['room_message', text]));
  client.on('disconnect', (reason) => clientSaw.push(['disconnect', reason]));
  await connected(client);
  idOf(client.id);
  await client.emitWithAck('join', 'r1');
  await client.emitWithAck('to_room', 'r1', 'hi');
  await wait(300);
  admin.emit('emit', '/', 'r1', 'room_message', 'from the admin');
  await wait(300);
  admin.emit('join', '/', 'r2', client.id);
  await wait(300);
  admin.emit('leave', '/', 'r1', client.id);
  await wait(300);
  admin.emit('_disconnect', '/', false, client.id);
  await wait(2500);  // a server_stats after the traffic
  admin.close();

  const again = io(url, { ...base, auth: { sessionId: session } });
  const resumed = await connected(again);
  again.close();
  for (const s of stats) idOf(s.serverId);
  const { aggregatedEvents, ...last } = stats[stats.length - 1] || {};
  const traffic = new Set();
  for (const s of stats) for (const e of s.aggregatedEvents) traffic.add(e.type);
  done({
    refused,
    session: typeof session,
    resumed,
    got: got.map((args) => normal(args)),
    stats: normal(last),
    traffic: [...traffic].sort(),
    clientSaw,
  });
}
main().catch((err) => done({ error: String(err && err.stack) }));
