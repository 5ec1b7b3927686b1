// listen.js: one Echo app joins a channel and listens for events by the
// names an app writes, until TMSWS_EXPECT events have reached its
// callbacks (an event that matches two listeners counts twice).
//
//   TMSWS_ECHO_KIND    channel (Echo.channel), private (Echo.private),
//                      encrypted (Echo.encryptedPrivate) or join (Echo.join)
//   TMSWS_CHANNEL      the name as the app gives it to Echo, e.g. chat.42
//   TMSWS_LISTEN       a JSON array of the names given to .listen(), e.g.
//                      ["MessageSent", ".App\\Events\\MessageSent", ".message.sent"]
//
//   {"t":9,"type":"subscribed","channel":"private-chat.42"}
//   {"t":12,"type":"event","listen":"MessageSent","data":{"message":{"id":1}}}
'use strict';

const { settings, emit, fail, env, describe, done, run, echo } = require('./common');

const kind = env('TMSWS_ECHO_KIND', 'channel');
const names = JSON.parse(env('TMSWS_LISTEN'));
if (!settings.channel) fail('TMSWS_CHANNEL is not set');
if (!(settings.expect > 0)) fail('TMSWS_EXPECT must be a positive number of events');

run(() => {
  const app = echo('a');
  const open = { channel: 'channel', private: 'private', encrypted: 'encryptedPrivate', join: 'join' }[kind];
  if (!open) fail(`TMSWS_ECHO_KIND ${kind} is not channel, private, encrypted or join`);
  const channel = app[open](settings.channel);
  channel.subscribed(() => emit({ type: 'subscribed', channel: channel.name }));
  channel.error((err) => emit({ type: 'subscription_error', channel: channel.name, error: describe(err) }));
  let received = 0;
  for (const name of names) {
    channel.listen(name, (data) => {
      emit({ type: 'event', listen: name, data });
      received++;
      if (received === settings.expect) done();
    });
  }
});
