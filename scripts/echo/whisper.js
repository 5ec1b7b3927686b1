// whisper.js: two Echo apps on TMSWS_CHANNEL: "a" listens with
// listenForWhisper('typing'), "b" whispers TMSWS_WHISPER (JSON, default
// {"typing":true}) once both are subscribed. On a public channel
// (TMSWS_ECHO_KIND=channel) Echo has no whisper(), so b triggers
// client-typing through pusher-js, as an app would have to. Errors b's
// connection gets are reported; the test then publishes "marker" to the
// channel, and the script ends when a has it, so that a whisper relayed
// despite the error would show before it.
//
//   {"type":"whisper","client":"a","data":{"typing":true}}
//   {"type":"error","client":"b","error":{"type":"PusherError","data":{"code":4301,...}}}
//   {"type":"marker","client":"a"}
'use strict';

const { settings, emit, fail, env, describe, done, run, echo } = require('./common');

const kind = env('TMSWS_ECHO_KIND', 'private');
const payload = JSON.parse(env('TMSWS_WHISPER', '{"typing":true}'));
if (!settings.channel) fail('TMSWS_CHANNEL is not set');

run(() => {
  const open = { channel: 'channel', private: 'private', join: 'join' }[kind];
  if (!open) fail(`TMSWS_ECHO_KIND ${kind} is not channel, private or join`);
  const a = echo('a');
  const aChannel = a[open](settings.channel);
  aChannel
    .listenForWhisper('typing', (data) => emit({ type: 'whisper', client: 'a', data }))
    .listen('.marker', () => {
      emit({ type: 'marker', client: 'a' });
      done();
    })
    .error((err) => emit({ type: 'subscription_error', client: 'a', error: describe(err) }))
    .subscribed(() => {
      emit({ type: 'subscribed', client: 'a', channel: aChannel.name });
      const b = echo('b');
      const bChannel = b[open](settings.channel);
      bChannel.subscribed(() => {
        emit({ type: 'subscribed', client: 'b', channel: bChannel.name });
        if (kind === 'channel') b.connector.pusher.channel(bChannel.name).trigger('client-typing', payload);
        else bChannel.whisper('typing', payload);
        emit({ type: 'whispered', client: 'b' });
      });
    });
});
