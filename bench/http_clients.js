// Keep-alive HTTP clients for bench/routes.py: each asks for one path again as soon as it has the answer.
//   node bench/http_clients.js '{"port": 5000, "path": "/", "clients": 10, "seconds": 10}'
// Prints {"event": "ready"} once every client has had an answer, then, after 2 s (the server's
// measuring window starts there) and `seconds` of measuring, {"event": "done", ...}.
'use strict';
const http = require('http');

const opts = JSON.parse(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: opts.clients });
let measuring = false;
let answered = 0;
let bytes = 0;
let failed = 0;
let stopped = false;

function ask(first) {
  if (stopped) return;
  http.get({ host: '127.0.0.1', port: opts.port, path: opts.path, agent }, (res) => {
    let size = 0;
    res.on('data', (chunk) => { size += chunk.length; });
    res.on('end', () => {
      if (res.statusCode !== 200) failed += 1;
      else if (measuring) { answered += 1; bytes += size; }
      first();
      ask(() => {});
    });
  }).on('error', () => { failed += 1; first(); });
}

async function main() {
  await Promise.all(Array.from({ length: opts.clients }, () => new Promise((r) => ask(r))));
  process.stdout.write(JSON.stringify({ event: 'ready' }) + '\n');
  await new Promise((r) => setTimeout(r, 2000));
  measuring = true;
  await new Promise((r) => setTimeout(r, opts.seconds * 1000));
  measuring = false;
  stopped = true;
  process.stdout.write(JSON.stringify({
    event: 'done',
    requests_per_s: answered / opts.seconds,
    mib_per_s: bytes / opts.seconds / 1048576,
    failed,
  }) + '\n');
  process.exit(0);
}
main();
