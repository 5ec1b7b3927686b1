// pusherjs-listen.js: the pusher-js peer of scripts/bench's live benchmark.
// A pusher-js client (npm, its Node build, from scripts/node_modules)
// subscribes to one private channel, authorized over HTTP the way a browser
// app is, and prints one JSON line per event as a Node listener would:
// {"event","channel","data"} with data as pusher-js hands it (parsed). It
// exits 0 after BENCH_N events, 1 on a usage or subscription error, 2 after
// 120 s.
//
//   BENCH_HOST=127.0.0.1 BENCH_PORT=41234 BENCH_KEY=bench-key BENCH_CHANNEL=private-bench \
//   BENCH_N=100000 BENCH_AUTH_URL=http://127.0.0.1:41234/broadcasting/auth node pusherjs-listen.js
'use strict';

const Pusher = require('pusher-js');

function fail(code, message) {
  process.stderr.write(`pusherjs-listen: ${message}\n`);
  process.exit(code);
}

function env(name) {
  const v = process.env[name];
  if (v === undefined || v === '') fail(1, `${name} is not set`);
  return v;
}

const host = env('BENCH_HOST');
const port = Number(env('BENCH_PORT'));
const key = env('BENCH_KEY');
const channelName = env('BENCH_CHANNEL');
const want = Number(env('BENCH_N'));
const authURL = env('BENCH_AUTH_URL');
if (!(want > 0)) fail(1, 'BENCH_N must be a positive number of events');

// exitWhenWritten exits once every line is out: on a pipe that the reader
// drains slower than we write, Node queues writes, and a plain
// process.exit would drop the queued lines.
function exitWhenWritten(code) {
  process.stdout.write('', () => process.exit(code));
}

let received = 0;
const timer = setTimeout(() => fail(2, `timed out after 120 s with ${received} of ${want} events`), 120000);

const pusher = new Pusher(key, {
  wsHost: host,
  wsPort: port,
  forceTLS: false,
  enabledTransports: ['ws'],
  cluster: 'local', // required by pusher-js; unused since wsHost is set
  enableStats: false,
  channelAuthorization: { endpoint: authURL, transport: 'ajax' },
});

const channel = pusher.subscribe(channelName);
channel.bind('pusher:subscription_error', (err) => fail(1, `subscription refused: ${JSON.stringify(err)}`));
channel.bind_global((event, data) => {
  if (event.startsWith('pusher:')) return;
  process.stdout.write(JSON.stringify({ event, channel: channelName, data }) + '\n');
  received++;
  if (received === want) {
    clearTimeout(timer);
    pusher.connection.bind('state_change', (s) => {
      if (s.current === 'disconnected') exitWhenWritten(0);
    });
    pusher.disconnect();
    setTimeout(() => exitWhenWritten(0), 1000).unref(); // in case the close never completes
  }
});
