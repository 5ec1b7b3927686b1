// cache.js: Echo apps on the cache channel TMSWS_CHANNEL (the name given
// to Echo, e.g. cache-prices; TMSWS_ECHO_KIND channel or private), each
// listening for TMSWS_LISTEN (one name) and for pusher:cache_miss, as an
// app that wants the last event would. "a" joins; the test publishes; the
// test writes commands on stdin:
//   join NAME    a new app NAME joins and reports what it gets first
//   leave        every app leaves (Echo.leave), and "left" is printed
//   done         the script ends
//
//   {"type":"subscribed","client":"a"}
//   {"type":"cache_miss","client":"a"}
//   {"type":"event","client":"a","data":{"price":2}}
'use strict';

const { settings, emit, fail, env, describe, done, run, echo, commands } = require('./common');

const kind = env('TMSWS_ECHO_KIND', 'channel');
const name = env('TMSWS_LISTEN');
if (!settings.channel) fail('TMSWS_CHANNEL is not set');
const open = { channel: 'channel', private: 'private' }[kind];
if (!open) fail(`TMSWS_ECHO_KIND ${kind} is not channel or private`);

run(() => {
  const apps = [];
  const join = (client) => {
    const app = echo(client);
    apps.push(app);
    app[open](settings.channel)
      .subscribed(() => emit({ type: 'subscribed', client }))
      .error((err) => emit({ type: 'subscription_error', client, error: describe(err) }))
      .listen('.pusher:cache_miss', () => emit({ type: 'cache_miss', client }))
      .listen(name, (data) => emit({ type: 'event', client, data }));
  };
  join('a');
  commands((line) => {
    const [cmd, arg] = line.split(/\s+/);
    if (cmd === 'join') join(arg);
    else if (cmd === 'leave') {
      for (const app of apps.splice(0)) app.leave(settings.channel);
      emit({ type: 'left' });
    } else if (cmd === 'done') done();
    else fail(`unknown command ${line}`);
  });
});
