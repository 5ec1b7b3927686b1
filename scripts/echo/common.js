// common.js: what the Laravel Echo proof scripts share. Each script drives
// Laravel Echo (npm laravel-echo, its CommonJS build) on pusher-js, as a
// Laravel app's resources/js/echo.js sets it up for Reverb, against a
// Pusher server on the loopback interface, and reports what the app's
// callbacks see as JSON lines on stdout (see ../pusherjs/common.js for the
// settings, the exit codes and the line format).
//
// Besides the pusher-js settings:
//   TMSWS_BROADCASTER  reverb (default: Echo passes cluster '' and needs wsHost) or pusher
'use strict';

const common = require('../pusherjs/common');

// Echo is a "type": "module" package whose CommonJS build Node cannot
// require, so it is imported: run(main) loads it, then calls main.
let Echo;
function run(main) {
  import('laravel-echo')
    .then((m) => {
      Echo = m.default;
      main();
    })
    .catch((err) => common.fail(`cannot load laravel-echo: ${err}`));
}

const { Pusher, settings, env, track } = common;
const broadcaster = env('TMSWS_BROADCASTER', 'reverb');

// echo makes an Echo instance the way the Laravel docs configure one
// (broadcasting.md, "Client Side Installation": broadcaster, key, wsHost,
// wsPort, forceTLS, enabledTransports), its channel authorization at the
// server's /broadcasting/auth. extra overrides options.
function echo(name, extra) {
  const options = Object.assign(
    common.connectionOptions(),
    {
      broadcaster,
      key: settings.key,
      authEndpoint: settings.authURL,
      Pusher, // no window.Pusher in Node
    },
    broadcaster === 'pusher' ? { cluster: 'local' } : {},
    extra || {},
  );
  const e = new Echo(options);
  track(name, e.connector.pusher);
  return e;
}

module.exports = Object.assign({}, common, { run, echo, broadcaster });
