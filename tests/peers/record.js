'use strict';
// Plays a scripted session with the official socket.io-client (4.x, 2.x or 1.x) and
// prints one JSON line: everything the clients saw, in order, per client.  The
// differential tests run the same script against Flask-SocketIO and against Surge.
//   node record.js '{"url": "...", "version": 4, "clients": [{"name": "a", ...}], "steps": [...]}'
// A client: {name, namespace, auth, query, listen: [event names], answers: {event: [ack args]}}
// A step:   {client, emit: [event, ...args], ack: true}  |  {client, wait: n}  (n events seen in all)
//           (with opts.ackTimeout, an answer not come in that many ms is recorded as "no ack")
//           {client, disconnect: true}  |  {sleep: ms}
const opts = JSON.parse(process.argv[2]);
const version = opts.version || 4;
const pkg = version === 4 ? 'socket.io-client' : `socket.io-client-v${version}`;
const client = require(pkg);
const connect = version === 4 ? client.io : client;

const seen = {}; // client name -> list of what it saw
const sockets = {};
const counts = {};

function done(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}
setTimeout(() => done({ error: 'timed out', seen }), opts.timeout || 15000);

// Buffers as {"bytes": [...]} so both servers' recordings compare as JSON.
function plain(value) {
  if (Buffer.isBuffer(value) || value instanceof ArrayBuffer) return { bytes: Array.from(Buffer.from(value)) };
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value)) out[key] = plain(value[key]);
    return out;
  }
  return value;
}

// {"$bytes": [...]} in a step's emit is a Buffer (the options are JSON).
function binary(value) {
  if (Array.isArray(value)) return value.map(binary);
  if (value && typeof value === 'object') {
    if (Array.isArray(value.$bytes)) return Buffer.from(value.$bytes);
    const out = {};
    for (const key of Object.keys(value)) out[key] = binary(value[key]);
    return out;
  }
  return value;
}

function record(name, entry) {
  seen[name].push(entry);
  counts[name] = (counts[name] || 0) + 1;
}

function open(spec) {
  const name = spec.name;
  seen[name] = [];
  const options = { forceNew: true, reconnection: false };
  if (opts.transports) options.transports = opts.transports;
  if (spec.auth) options.auth = spec.auth;
  if (spec.query) options.query = spec.query;
  const url = opts.url + (spec.namespace || '');
  const socket = connect(url, options);
  sockets[name] = socket;
  return new Promise((resolve) => {
    socket.on('connect', () => {
      record(name, ['connect']);
      resolve();
    });
    socket.on('connect_error', (err) => {
      record(name, ['connect_error', err && err.message, plain(err && err.data)]);
      resolve();
    });
    socket.on('error', (err) => {
      // 1.x/2.x report a refused namespace connection as 'error' with the server's data.
      record(name, ['error', plain(err)]);
      resolve();
    });
    socket.on('disconnect', (reason) => record(name, ['disconnect', reason]));
    for (const event of spec.listen || []) {
      socket.on(event, (...args) => {
        const last = args[args.length - 1];
        if (typeof last === 'function') {
          args.pop();
          const answer = (spec.answers || {})[event] || [];
          last(...answer);
          record(name, ['event', event, plain(args), 'acked']);
        } else {
          record(name, ['event', event, plain(args)]);
        }
      });
    }
  });
}

function waitFor(name, n) {
  return new Promise((resolve) => {
    const check = () => (counts[name] >= n ? resolve() : setTimeout(check, 10));
    check();
  });
}

async function main() {
  for (const spec of opts.clients) await open(spec);
  for (const step of opts.steps) {
    if (step.sleep) {
      await new Promise((r) => setTimeout(r, step.sleep));
    } else if (step.wait) {
      await waitFor(step.client, step.wait);
    } else if (step.disconnect) {
      sockets[step.client].disconnect();
    } else if (step.emit) {
      const socket = sockets[step.client];
      step.emit = binary(step.emit);
      if (step.ack && opts.ackTimeout) {
        // No answer within ackTimeout ms is recorded too (a handler that raised answers nothing).
        const answer = await new Promise((resolve) => {
          const timer = setTimeout(() => resolve(null), opts.ackTimeout);
          socket.emit(...step.emit, (...args) => { clearTimeout(timer); resolve(args); });
        });
        record(step.client, answer === null ? ['no ack', step.emit[0]] : ['ack', step.emit[0], plain(answer)]);
      } else if (step.ack) {
        const answer = await new Promise((resolve) => socket.emit(...step.emit, (...args) => resolve(args)));
        record(step.client, ['ack', step.emit[0], plain(answer)]);
      } else {
        socket.emit(...step.emit);
      }
    }
  }
  await new Promise((r) => setTimeout(r, opts.settle || 200));
  for (const socket of Object.values(sockets)) socket.disconnect();
  done({ seen });
}

main().catch((err) => done({ error: String(err && err.stack), seen }));
