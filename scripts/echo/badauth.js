// badauth.js: an Echo app whose authorizer hands out a wrong signature
// ("KEY:" and 64 zeros) joins Echo.private(TMSWS_CHANNEL). A faithful
// server refuses it: Reverb with a pusher:error 4009 on the connection,
// Pusher with a code-null "Invalid signature" error; neither names the
// channel, so Echo's .error() callback is not called. It prints what it saw
// and exits once the connection has the error; a subscription that
// succeeds is printed too (and the script exits 3).
'use strict';

const { settings, emit, fail, describe, done, run, echo } = require('./common');

if (!settings.channel) fail('TMSWS_CHANNEL is not set');

run(() => {
  const app = echo('a', {
    authorizer: (channel) => ({
      authorize: (socketId, callback) => {
        emit({ type: 'authorizing', socket_id: socketId, channel: channel.name });
        callback(null, { auth: `${settings.key}:${'0'.repeat(64)}` });
      },
    }),
  });
  const channel = app.private(settings.channel);
  channel.subscribed(() => {
    emit({ type: 'subscribed', channel: channel.name });
    setTimeout(() => process.exit(3), 50);
  });
  channel.error((err) => emit({ type: 'subscription_error', channel: channel.name, error: describe(err) }));
  app.connector.pusher.connection.bind('error', (err) => {
    if (err && err.type === 'PusherError') done(); // printed by common.js
  });
});
