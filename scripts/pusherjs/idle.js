// idle.js: one pusher-js client connects, subscribes to TMSWS_CHANNEL and
// then sends nothing of its own; it prints each pusher:ping the server
// sends it (pusher-js answers with pusher:pong by itself) and exits after
// TMSWS_EXPECT of them, still connected.
//
//   {"t":210,"type":"ping","state":"connected"}
'use strict';

const { settings, emit, fail, connect, describe, done } = require('./common');

if (!settings.channel) fail('TMSWS_CHANNEL is not set');
if (!(settings.expect > 0)) fail('TMSWS_EXPECT must be a positive number of pings');

const pusher = connect('a');
const channel = pusher.subscribe(settings.channel);
channel.bind('pusher:subscription_succeeded', () => emit({ type: 'subscribed', channel: settings.channel }));
channel.bind('pusher:subscription_error', (err) => emit({ type: 'subscription_error', channel: settings.channel, error: describe(err) }));
let pings = 0;
pusher.connection.bind('message', (msg) => {
  if (msg.event !== 'pusher:ping') return;
  emit({ type: 'ping', state: pusher.connection.state });
  pings++;
  // pusher-js has answered already, but sends through a 0 ms timer
  // (Util.defer): a later 0 ms timer lets that pong go out before done
  // disconnects.
  if (pings === settings.expect) setTimeout(done, 0);
});
