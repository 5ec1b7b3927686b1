#!/usr/bin/env node
// soketi-server.js runs Soketi (npm @soketi/soketi) for tmsws tests and says
// exactly when it is ready, on which port, or why it failed.
//
// Soketi's own `soketi start` prints "Server is up" even when it could not
// bind its port, and always opens a second (usage/metrics) port, 9601 by
// default. This wrapper configures Soketi from the same SOKETI_* environment
// variables, defaults both listeners to 127.0.0.1 and to free ports (so two
// runs never collide), listens exclusively (see below), checks that both
// sockets really listen, and then prints one line to stdout:
//
//   TMSWS_SOKETI_READY {"port":40123,"metrics_port":40124,"pid":1234}
//
// or "TMSWS_SOKETI_FAILED <reason>" and exits 1 ("port in use" in the reason
// when the port was taken: pick another, or retry). To restart on the same
// port, set SOKETI_PORT to it.
//
// Options:
//   --exit-with-stdin   exit when stdin closes (the parent process died)
//   --parent-pid PID    exit when process PID no longer exists
'use strict';

const path = require('path');

function fail(reason) {
  process.stdout.write(`TMSWS_SOKETI_FAILED ${reason}\n`);
  process.exit(1);
}

// alive reports whether process pid exists and is not a zombie (a parent
// that was killed but not yet reaped still answers kill(pid, 0)).
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return false;
  }
  try {
    const stat = require('fs').readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (e) {
    return true; // no /proc: trust kill(pid, 0)
  }
}

const defaults = {
  SOKETI_HOST: '127.0.0.1',
  SOKETI_PORT: '0',
  SOKETI_METRICS_HOST: '127.0.0.1',
  SOKETI_METRICS_SERVER_PORT: '0',
  SOKETI_DEFAULT_APP_ID: 'app-id',
  SOKETI_DEFAULT_APP_KEY: 'app-key',
  SOKETI_DEFAULT_APP_SECRET: 'app-secret',
  SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES: 'true',
  // Shut down quickly on SIGTERM: clients get close code 4200, then the
  // process exits without Soketi's default 3 s grace period.
  SOKETI_SHUTDOWN_GRACE_PERIOD: '0',
};
for (const [name, value] of Object.entries(defaults)) {
  if (process.env[name] === undefined || process.env[name] === '') {
    process.env[name] = value;
  }
}

const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  switch (args[i]) {
    case '--exit-with-stdin':
      process.stdin.on('end', () => process.exit(0));
      process.stdin.on('error', () => process.exit(0));
      process.stdin.resume();
      break;
    case '--parent-pid': {
      const pid = Number(args[++i]);
      if (!Number.isInteger(pid) || pid <= 0) {
        fail(`--parent-pid needs a process id, got ${JSON.stringify(args[i])}`);
      }
      setInterval(() => {
        if (!alive(pid)) {
          shutdown();
        }
      }, 500).unref();
      break;
    }
    default:
      fail(`unknown argument ${JSON.stringify(args[i])}; use --exit-with-stdin or --parent-pid PID`);
  }
}

// The uWebSockets.js build under Soketi ships native binaries for a few
// Node.js ABIs only; say so plainly rather than with a loader stack trace.
(function checkNodeABI() {
  const fs = require('fs');
  const dir = path.join(__dirname, 'node_modules', 'uWebSockets.js', 'binaries');
  let files;
  try {
    files = fs.readdirSync(dir);
  } catch (e) {
    fail(`Soketi is not installed (${dir} is missing): run npm ci in ${__dirname}`);
  }
  const want = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  if (!files.includes(want)) {
    const abiToNode = { 93: '16', 108: '18', 115: '20' };
    const prefix = `uws_${process.platform}_${process.arch}_`;
    const have = files
      .filter((f) => f.startsWith(prefix))
      .map((f) => f.slice(prefix.length, -'.node'.length))
      .map((abi) => (abiToNode[abi] ? `Node.js ${abiToNode[abi]}` : `ABI ${abi}`));
    fail(`Soketi's uWebSockets.js has no build for Node.js ${process.version} on ${process.platform}-${process.arch}; ` +
      `it has: ${have.join(', ') || 'none for this platform'}. Install Node.js 20`);
  }
})();

let Cli;
let uWS;
try {
  uWS = require('uWebSockets.js');
  // Listen with LIBUS_LISTEN_EXCLUSIVE_PORT. By default uWebSockets.js sets
  // SO_REUSEPORT on a listener with a fixed port, so a second Soketi on the
  // same port starts "fine" and the kernel splits connections between the
  // two. Exclusive listeners fail instead, and still set SO_REUSEADDR, so a
  // restart on the same port works while old connections are in TIME_WAIT.
  const App = uWS.App;
  uWS.App = (...appArgs) => {
    const app = App(...appArgs);
    const listen = app.listen.bind(app);
    app.listen = (host, port, cb) => listen(host, port, uWS.LIBUS_LISTEN_EXCLUSIVE_PORT, cb);
    return app;
  };
  ({ Cli } = require('@soketi/soketi/dist/cli/cli'));
} catch (e) {
  fail(`cannot load Soketi from ${path.join(__dirname, 'node_modules')}: ${e.message}; run npm ci in ${__dirname}`);
}

// freePort asks the kernel for a free loopback port. Soketi must listen on a
// fixed port rather than port 0: only then does uWebSockets.js set
// SO_REUSEADDR, which a restart on the same port needs.
function freePort(host) {
  return new Promise((resolve, reject) => {
    const probe = require('net').createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const cli = new Cli();
const server = cli.server;

let stopping = false;
function shutdown() {
  if (stopping) {
    return;
  }
  stopping = true;
  const done = () => process.exit(0);
  if (!server.wsHandler) {
    done();
    return;
  }
  server.stop().then(done, done);
  // Never hang on shutdown.
  setTimeout(done, 5000).unref();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
process.on('SIGHUP', shutdown);
process.on('uncaughtException', (err) => {
  process.stderr.write(`soketi: uncaught exception: ${err && err.stack ? err.stack : err}\n`);
  shutdown();
});

const startDeadline = setTimeout(() => fail('Soketi did not finish starting within 30s'), 30000);

async function main() {
  if (process.env.SOKETI_PORT === '0') {
    process.env.SOKETI_PORT = String(await freePort(process.env.SOKETI_HOST));
  }
  cli.overwriteOptionsFromEnv();
  server.start(onStarted);
}

main().catch((e) => fail(`cannot start Soketi: ${e && e.message ? e.message : e}`));

function onStarted(s) {
  clearTimeout(startDeadline);
  const o = s.options;
  if (!s.serverProcess) {
    fail(`cannot listen on ${o.host}:${o.port} (port in use?)`);
  }
  if (!s.metricsServerProcess) {
    fail(`cannot listen on metrics/usage port ${o.metrics.host}:${o.metrics.port} (port in use?); set SOKETI_METRICS_SERVER_PORT`);
  }
  const ready = {
    host: o.host,
    port: uWS.us_socket_local_port(s.serverProcess),
    metrics_port: uWS.us_socket_local_port(s.metricsServerProcess),
    pid: process.pid,
  };
  process.stdout.write(`TMSWS_SOKETI_READY ${JSON.stringify(ready)}\n`);
}
