'use strict';
// Runs one scenario of the official socket.io-client against a Surge server and
// prints one JSON line with what happened; the Python tests assert on it.
//   node scenario.js '{"version":4,"url":"http://127.0.0.1:5000","transports":["websocket"],"scenario":"echo"}'
const assert = require('assert');

const opts = JSON.parse(process.argv[2]);
const version = opts.version;
const pkg = version === 4 ? 'socket.io-client' : `socket.io-client-v${version}`;
const client = require(pkg);
const connect = version === 4 ? client.io : client;
const clientOpts = { forceNew: true, reconnection: false };
if (opts.transports) clientOpts.transports = opts.transports;
if (opts.auth) clientOpts.auth = opts.auth;
if (opts.insecure) clientOpts.rejectUnauthorized = false; // the tests' self-signed certificate

function done(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}
setTimeout(() => done({ error: 'scenario timed out' }), opts.timeout || 10000);

function sameValue(a, b) {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch (e) {
    return false;
  }
}

function emitAck(socket, ...args) {
  return new Promise((resolve) => socket.emit(...args, (...answer) => resolve(answer)));
}

// Until every process of the cluster has `members` (and only them) in `room`, as fetch_sockets sees it:
// a change of rooms made from a handler travels through the queue, in its own time.
async function untilRoomHolds(socket, room, members) {
  const want = JSON.stringify([...members].sort());
  for (const deadline = Date.now() + 10000; Date.now() < deadline;) {
    if (JSON.stringify((await emitAck(socket, 'list_room', room))[0]) === want) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${room} never held ${want}`);
}

function onceConnected(socket) {
  return new Promise((resolve, reject) => {
    socket.on('connect', resolve);
    socket.on('connect_error', (err) => reject(new Error('connect_error: ' + (err && err.message))));
    socket.on('error', (err) => reject(new Error('error: ' + JSON.stringify(err))));
  });
}

const transportOf = (socket) => socket.io.engine.transport.name;

const VALUES = [
  'text',
  42,
  -3.25,
  true,
  null,
  { nested: { list: [1, 2, { deep: 'yes' }], empty: {} } },
  '中文',
  'emoji 😀🎉 and more',
  Buffer.from([0, 1, 2, 254, 255]),
  { bin: Buffer.from('xyz'), list: [Buffer.from([9]), 'text', { more: Buffer.from([7, 7]) }] },
];

const scenarios = {
  async echo() {
    const socket = connect(opts.url, clientOpts);
    await onceConnected(socket);
    const results = [];
    for (const value of VALUES) {
      const answer = await emitAck(socket, 'echo', value);
      results.push(answer.length === 1 && sameValue(answer[0], value));
    }
    const multi = await emitAck(socket, 'echo', 'a', 1, { b: [2] }, Buffer.from([3]));
    results.push(sameValue(multi, ['a', 1, { b: [2] }, Buffer.from([3])]));
    // Give an upgrade time to finish, then echo once more over the final transport.
    await new Promise((r) => setTimeout(r, 300));
    const late = await emitAck(socket, 'echo', 'after upgrade');
    results.push(sameValue(late, ['after upgrade']));
    const transport = transportOf(socket);
    socket.disconnect();
    return { results, transport };
  },

  async namespaces() {
    const main = connect(opts.url, Object.assign({}, clientOpts, { forceNew: true }));
    await onceConnected(main);
    const chatOpts = Object.assign({}, clientOpts);
    delete chatOpts.forceNew;
    const chat = version === 4 ? main.io.socket('/chat') : main.io.socket('/chat');
    if (version === 4) chat.connect(); else chat.open();
    const welcome = new Promise((resolve) => chat.on('chat_welcome', resolve));
    await onceConnected(chat);
    const chatWelcome = await welcome;
    const mainEcho = await emitAck(main, 'echo', 'main');
    const chatEcho = await emitAck(chat, 'echo', 'x', 2);
    const sameEngine = main.io.engine === chat.io.engine;
    main.disconnect();
    chat.disconnect();
    return { mainEcho, chatEcho, chatWelcome, sameEngine };
  },

  async server_ack() {
    const socket = connect(opts.url, clientOpts);
    await onceConnected(socket);
    socket.on('question', (q, cb) => cb('answer to ' + q, 42));
    const received = new Promise((resolve) => socket.on('answer_received', resolve));
    socket.emit('ask_client', 'life');
    const answer = await received;
    socket.disconnect();
    return { answer };
  },

  async welcome() {
    const socket = connect(opts.url, clientOpts);
    const welcome = new Promise((resolve) => socket.on('welcome', resolve));
    await onceConnected(socket);
    const data = await welcome;
    socket.disconnect();
    return { welcome: data };
  },

  async client_disconnect() {
    const socket = connect(opts.url, clientOpts);
    const welcome = new Promise((resolve) => socket.on('welcome', resolve));
    await onceConnected(socket);
    const sid = (await welcome).sid;
    socket.disconnect();
    await new Promise((r) => setTimeout(r, 300));
    return { sid };
  },

  async server_disconnect() {
    const socket = connect(opts.url, clientOpts);
    await onceConnected(socket);
    const reason = new Promise((resolve) => socket.on('disconnect', resolve));
    socket.emit('kick_me');
    return { reason: await reason };
  },

  async refused() {
    const socket = connect(opts.url, Object.assign({}, clientOpts, { auth: { refuse: 'nope' } }));
    const err = await new Promise((resolve) => socket.on('connect_error', resolve));
    return { message: err.message, data: err.data };
  },

  async invalid_namespace() {
    const socket = connect(opts.url + '/nope', clientOpts);
    const err = await new Promise((resolve) => {
      socket.on('connect_error', (e) => resolve(e.message));
      socket.on('error', resolve);
    });
    return { refusal: err };
  },

  async progress() {
    const socket = connect(opts.url, clientOpts);
    await onceConnected(socket);
    const arrivals = [];
    socket.on('step', (data) => arrivals.push({ step: data.step, at: Date.now() / 1000 }));
    const [answer] = await emitAck(socket, 'progress', 5, 0.3);
    const doneAt = Date.now() / 1000;
    socket.disconnect();
    return { arrivals, doneAt, serverDone: answer.done };
  },

  async forever() {
    const looping = connect(opts.url, clientOpts);
    const other = connect(opts.url, clientOpts);
    await Promise.all([onceConnected(looping), onceConnected(other)]);
    let ticks = 0;
    looping.on('tick', () => { ticks += 1; });
    looping.emit('forever');
    await new Promise((r) => setTimeout(r, 500));
    const latencies = [];
    for (let i = 0; i < 20; i++) {
      const start = process.hrtime.bigint();
      await emitAck(other, 'no_such_event', i);
      latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
      await new Promise((r) => setTimeout(r, 50));
    }
    const ticksBefore = ticks;
    await new Promise((r) => setTimeout(r, 600));
    looping.disconnect();
    other.disconnect();
    return { latencies, ticksBefore, ticksAfter: ticks };
  },

  async push() {
    const sockets = [0, 1, 2].map(() => connect(opts.url + '/test_conn', clientOpts));
    await Promise.all(sockets.map(onceConnected));
    const got = sockets.map(() => []);
    sockets.forEach((s, i) => s.on('number', (d) => got[i].push(d.n)));
    await new Promise((r) => setTimeout(r, 1500));
    sockets.forEach((s) => s.disconnect());
    return { got };
  },

  async stop_answering_pings() {
    const socket = connect(opts.url, clientOpts);
    const welcome = new Promise((resolve) => socket.on('welcome', resolve));
    await onceConnected(socket);
    const sid = (await welcome).sid;
    const disconnected = new Promise((resolve) => socket.on('disconnect', resolve));
    // From now on this client sends nothing at all, pongs (v4) and pings (v3) included.
    socket.io.engine.sendPacket = socket.io.engine._sendPacket = () => {};
    const stoppedAt = Date.now();
    const reason = await disconnected;
    return { sid, reason, elapsedMs: Date.now() - stoppedAt };
  },

  // Clients on several servers of a cluster (opts.urls).  Prints {"ready": ...} once joined, then
  // collects what arrives until a line comes on stdin, 600 ms more, and reports it.
  async cluster() {
    const urls = opts.urls;
    const clients = [connect(urls[0], clientOpts), connect(urls[1], clientOpts), connect(urls[1], clientOpts)];
    await Promise.all(clients.map(onceConnected));
    const sids = [];
    for (const c of clients) sids.push((await emitAck(c, 'join', 'room1'))[0]);
    const got = clients.map(() => ({ room_message: [], dm: [], notice: [], answered: [], disconnect: [] }));
    const stamp = (d) => (opts.stamp ? [d, Date.now()] : d); // with the arrival time (ms since the epoch)
    clients.forEach((c, i) => ['room_message', 'dm', 'notice', 'answered', 'disconnect'].forEach((ev) => c.on(ev, (d) => got[i][ev].push(stamp(d)))));
    if (opts.any) clients.forEach((c, i) => { got[i].any = []; c.onAny((...args) => got[i].any.push(args)); }); // every event, whole
    clients.forEach((c, i) => c.on('question', (q, cb) => cb('answer from ' + i, q)));
    const acks = {};
    process.stdout.write(JSON.stringify({ ready: sids }) + '\n');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    acks.go = Date.now();
    const [a, b1] = clients;
    if (opts.steps.includes('room')) a.emit('to_room', 'room1', { hello: 'cluster' });
    if (opts.steps.includes('burst')) a.emit('burst', 'room1', opts.count || 100);
    if (opts.steps.includes('dm')) a.emit('dm', sids[1], 'psst');
    if (opts.steps.includes('put')) { a.emit('put_in_room', sids[1], 'room2'); await untilRoomHolds(a, 'room2', [sids[1]]); a.emit('to_room', 'room2', 'only b1'); }
    if (opts.steps.includes('ask')) a.emit('ask_other', sids[1]);
    if (opts.steps.includes('call')) acks.call = await emitAck(a, 'call_other', sids[2]);
    if (opts.steps.includes('fetch')) acks.fetch = await emitAck(a, 'list_room', 'room1');
    if (opts.steps.includes('move')) { a.emit('move_room', 'room1', 'room3'); await untilRoomHolds(a, 'room3', sids); a.emit('to_room', 'room3', 'in room3'); }
    if (opts.steps.includes('kick')) a.emit('kick_room', 'room1');
    await new Promise((r) => setTimeout(r, opts.settle || 600));
    clients.forEach((c) => c.disconnect());
    return { sids, got, acks };
  },

  // One client per URL of opts.urls (on WebSocket once upgraded, unless polling only): the first
  // echoes with an ack, then broadcasts to a room every client joined.
  async matrix() {
    const clients = opts.urls.map((url) => connect(url, clientOpts));
    await Promise.all(clients.map(onceConnected));
    if (!opts.transports) {
      await Promise.all(clients.map((c) => transportOf(c) === 'websocket' || new Promise((r) => c.io.engine.once('upgrade', r))));
    }
    const echo = await emitAck(clients[0], 'echo', 'hello', { n: 1 }, Buffer.from([1, 2]));
    await Promise.all(clients.map((c, i) => emitAck(c, i ? 'join_twice' : 'join', 'matrix'))); // def and async def joins
    const got = clients.map(() => []);
    const all = new Promise((resolve) => clients.forEach((c, i) => c.on('room_message', (d) => {
      got[i].push(d);
      if (got.every((g) => g.length)) resolve();
    })));
    clients[0].emit('to_room', 'matrix', { hello: 'all' });
    await Promise.race([all, new Promise((r) => setTimeout(r, 3000))]);
    await new Promise((r) => setTimeout(r, 200)); // a second copy would arrive by now
    const transports = clients.map(transportOf);
    const builds = await Promise.all(clients.map(async (c) => (await emitAck(c, 'build'))[0]));
    clients.forEach((c) => c.disconnect());
    return { echo, got, transports, builds };
  },

  // Connection state recovery: the connection is cut under the client (its engine closed) while
  // the server has events for it in flight; the client reconnects opts.away ms later by itself.
  async recovery() {
    const away = opts.away || 500;
    const socket = connect(opts.url, { ...clientOpts, reconnection: true, reconnectionDelay: away, reconnectionDelayMax: away, randomizationFactor: 0 });
    await onceConnected(socket);
    const got = [];
    socket.onAny((...args) => got.push(args));
    const firstId = socket.id;
    await emitAck(socket, 'join', 'r1');
    if (opts.before) {
      // The handler emits "before" and returns: with a message queue the event comes back
      // through the queue, so its ack can arrive first (as with python-socketio's queue managers).
      const before = new Promise((resolve) => socket.once('before', resolve));
      await emitAck(socket, 'ping_me');
      await before;
    }
    await emitAck(socket, 'push_later', (opts.delay || 200) / 1000);
    const reconnected = new Promise((resolve) => socket.once('connect', resolve));
    if (opts.cutByTest) {
      // The test cuts the connection itself (a proxy that drops it without the server knowing).
      process.stdout.write(JSON.stringify({ ready: true, id: socket.id }) + '\n');
    } else {
      socket.io.engine.close();
    }
    await reconnected;
    const { id, recovered } = socket;
    const whoami = (await emitAck(socket, 'whoami'))[0];
    await emitAck(socket, 'push_now');
    await new Promise((r) => setTimeout(r, 300));
    socket.disconnect();
    return { firstId, id, recovered, whoami, got };
  },

  // Emit opts.event (with an ack), then report the arguments of every opts.listen event within 300 ms.
  async listen() {
    const socket = connect(opts.url, clientOpts);
    await onceConnected(socket);
    const got = [];
    socket.on(opts.listen, (...args) => got.push(args));
    const ack = await emitAck(socket, opts.event);
    await new Promise((r) => setTimeout(r, 300));
    socket.disconnect();
    return { ack, got };
  },

  async rooms() {
    const a = connect(opts.url, clientOpts);
    const b = connect(opts.url, clientOpts);
    const c = connect(opts.url, clientOpts);
    await Promise.all([onceConnected(a), onceConnected(b), onceConnected(c)]);
    await Promise.all([emitAck(a, 'join', 'blue'), emitAck(b, 'join', 'blue')]);
    const got = { a: [], b: [], c: [] };
    for (const [name, s] of [['a', a], ['b', b], ['c', c]]) s.on('room_message', (d) => got[name].push(d));
    c.emit('to_room', 'blue', { hello: 'blue' });
    await new Promise((r) => setTimeout(r, 400));
    [a, b, c].forEach((s) => s.disconnect());
    return got;
  },
};

scenarios[opts.scenario]()
  .then(done)
  .catch((err) => done({ error: String(err && err.stack || err) }));
