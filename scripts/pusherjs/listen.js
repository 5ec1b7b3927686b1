// listen.js: one pusher-js client subscribes to TMSWS_CHANNEL (authorized
// through TMSWS_AUTH_URL for private, presence and encrypted channels) and
// prints every event it receives on it, with its data as pusher-js hands it
// to the app, until TMSWS_EXPECT events have arrived. pusher-js gives a
// global callback no metadata, so each event's frame is also printed as the
// connection received it ("frame", with its user_id).
//
//   {"t":12,"type":"subscribed","channel":"private-chat.1"}
//   {"t":15,"type":"event","channel":"private-chat.1","event":"client-typing","data":{"typing":true}}
//   {"t":15,"type":"frame","channel":"private-chat.1","event":"client-typing","user_id":"7"}
//   {"t":40,"type":"done"}
'use strict';

const { settings, emit, fail, connect, describe, done } = require('./common');

if (!settings.channel) fail('TMSWS_CHANNEL is not set');
if (!(settings.expect > 0)) fail('TMSWS_EXPECT must be a positive number of events');

const pusher = connect('a');
const channel = pusher.subscribe(settings.channel);
let received = 0;

channel.bind('pusher:subscription_succeeded', () => emit({ type: 'subscribed', channel: settings.channel }));
channel.bind('pusher:subscription_error', (err) => emit({ type: 'subscription_error', channel: settings.channel, error: describe(err) }));
pusher.connection.bind('message', (msg) => {
  if (msg.channel !== settings.channel || msg.event.startsWith('pusher')) return;
  const line = { type: 'frame', channel: msg.channel, event: msg.event };
  if (msg.user_id !== undefined) line.user_id = msg.user_id;
  emit(line);
});
channel.bind_global((event, data) => {
  if (event.startsWith('pusher:')) return; // subscription_succeeded and errors are reported above
  emit({ type: 'event', channel: settings.channel, event, data });
  received++;
  if (received === settings.expect) done();
});
