// common.js: what the pusher-js proof scripts share. Each script drives the
// official Pusher client (npm pusher-js, its Node build) against a Pusher
// server on the loopback interface, writes what the client sees as JSON
// lines on stdout, and exits by itself: 0 when it saw what it waited for,
// 2 on its timeout, 1 on a usage error.
//
// Settings come from the environment:
//   TMSWS_WS_HOST      WebSocket host (default 127.0.0.1)
//   TMSWS_WS_PORT      WebSocket port (required)
//   TMSWS_KEY          app key (default app-key)
//   TMSWS_WS_PATH      a path prefix before /app/KEY (pusher-js wsPath; Reverb's REVERB_SERVER_PATH)
//   TMSWS_AUTH_URL     channel authorization endpoint, e.g. http://127.0.0.1:PORT/broadcasting/auth
//   TMSWS_CHANNEL      the channel to subscribe to
//   TMSWS_EXPECT       how many events to wait for (listen.js)
//   TMSWS_TIMEOUT_MS   give up after this long (default 10000)
//   TMSWS_PUSHER_DEBUG=1  pusher-js logs to stderr
'use strict';

const Pusher = require('pusher-js'); // package main: dist/node/pusher.js

const started = Date.now();

// emit writes one JSON line: {"t": ms since start, ...fields}.
function emit(fields) {
  process.stdout.write(JSON.stringify(Object.assign({ t: Date.now() - started }, fields)) + '\n');
}

function fail(message) {
  process.stderr.write(`${process.argv[1]}: ${message}\n`);
  process.exit(1);
}

function env(name, def) {
  const v = process.env[name];
  if (v === undefined || v === '') {
    if (def === undefined) fail(`${name} is not set`);
    return def;
  }
  return v;
}

const settings = {
  host: env('TMSWS_WS_HOST', '127.0.0.1'),
  port: Number(env('TMSWS_WS_PORT')),
  key: env('TMSWS_KEY', 'app-key'),
  wsPath: env('TMSWS_WS_PATH', ''),
  authURL: env('TMSWS_AUTH_URL', ''),
  channel: env('TMSWS_CHANNEL', ''),
  expect: Number(env('TMSWS_EXPECT', '0')),
  timeoutMs: Number(env('TMSWS_TIMEOUT_MS', '10000')),
};

if (process.env.TMSWS_PUSHER_DEBUG === '1') {
  Pusher.log = (msg) => process.stderr.write(`pusher-js: ${msg}\n`);
}

const clients = [];

// connectionOptions are the pusher-js options for the loopback server:
// plain ws only, no stats, no other host ever tried.
function connectionOptions() {
  const options = {
    wsHost: settings.host,
    wsPort: settings.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    enableStats: false,
  };
  if (settings.wsPath) options.wsPath = settings.wsPath;
  return options;
}

// connect makes a pusher-js client for the loopback server. extra
// overrides options (e.g. a custom channelAuthorization).
function connect(name, extra) {
  const options = Object.assign(
    connectionOptions(),
    {
      cluster: 'local', // required by pusher-js; unused since wsHost is set
      channelAuthorization: { endpoint: settings.authURL, transport: 'ajax' },
    },
    extra || {},
  );
  return track(name, new Pusher(settings.key, options));
}

// track reports a pusher-js client's connection (its states, socket id and
// errors) and disconnects it when the script finishes.
function track(name, pusher) {
  clients.push(pusher);
  pusher.connection.bind('state_change', (s) => emit({ client: name, type: 'state', from: s.previous, to: s.current }));
  pusher.connection.bind('connected', () => emit({ client: name, type: 'connected', socket_id: pusher.connection.socket_id }));
  pusher.connection.bind('error', (err) => emit({ client: name, type: 'error', error: describe(err) }));
  return pusher;
}

// describe makes an error event printable.
function describe(err) {
  if (!err) return err;
  const out = {};
  for (const k of ['type', 'data', 'status', 'error']) {
    if (err[k] !== undefined) out[k] = err[k] instanceof Error ? String(err[k]) : err[k];
  }
  return out;
}

// finish disconnects every client and exits; the short delay lets the close
// frames go out.
function finish(code) {
  for (const p of clients) p.disconnect();
  setTimeout(() => process.exit(code), 50);
}

const timer = setTimeout(() => {
  emit({ type: 'timeout', after_ms: settings.timeoutMs });
  finish(2);
}, settings.timeoutMs);
timer.unref();
// Keep the process alive until finish or the timeout even when no socket is
// open yet.
const keepAlive = setInterval(() => {}, 1 << 30);

function done() {
  emit({ type: 'done' });
  clearTimeout(timer);
  clearInterval(keepAlive);
  finish(0);
}

// commands calls handle with each line the test writes on stdin.
function commands(handle) {
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) handle(line);
    }
  });
}

module.exports = { Pusher, settings, emit, fail, env, connect, connectionOptions, track, describe, done, commands };
