// badauth.js: a pusher-js client whose custom channel authorizer returns
// a wrong signature ("KEY:" and 64 zeros) subscribes to the private channel
// TMSWS_CHANNEL. A faithful server refuses it: the client must see a
// pusher:subscription_error on the channel or a pusher:error on the
// connection. It prints what it saw and exits; a subscription that succeeds
// is printed too (and the script exits 3).
'use strict';

const { settings, emit, fail, connect, describe, done } = require('./common');

if (!settings.channel) fail('TMSWS_CHANNEL is not set');

const pusher = connect('a', {
  channelAuthorization: {
    customHandler: (params, callback) => {
      emit({ type: 'authorizing', socket_id: params.socketId, channel: params.channelName });
      callback(null, { auth: `${settings.key}:${'0'.repeat(64)}` });
    },
  },
});
const channel = pusher.subscribe(settings.channel);
channel.bind('pusher:subscription_succeeded', () => {
  emit({ type: 'subscribed', channel: settings.channel });
  pusher.disconnect();
  setTimeout(() => process.exit(3), 50);
});
channel.bind('pusher:subscription_error', (err) => {
  emit({ type: 'subscription_error', channel: settings.channel, error: describe(err) });
  done();
});
pusher.connection.bind('error', (err) => {
  if (err && err.type === 'PusherError') done(); // printed by common.js
});
