// presence.js: two pusher-js clients, "a" then "b", join the presence
// channel TMSWS_CHANNEL, each authorized through TMSWS_AUTH_URL. It prints
// who each one is (members.me), the members each sees on joining, a's
// pusher:member_added for b, then b leaves (disconnects) and a's
// pusher:member_removed for b, and exits.
//
//   {"type":"subscribed","client":"a","me":"1","members":["1"]}
//   {"type":"subscribed","client":"b","me":"2","members":["1","2"]}
//   {"type":"member_added","client":"a","id":"2","info":{"name":"Guest 2"}}
//   {"type":"member_removed","client":"a","id":"2"}
'use strict';

const { settings, emit, fail, connect, describe, done } = require('./common');

if (!settings.channel.startsWith('presence-')) fail('TMSWS_CHANNEL must be a presence- channel');

function join(name, onSubscribed) {
  const pusher = connect(name);
  const channel = pusher.subscribe(settings.channel);
  channel.bind('pusher:subscription_succeeded', (members) => {
    const ids = [];
    members.each((m) => ids.push(m.id));
    emit({ type: 'subscribed', client: name, me: members.me && members.me.id, members: ids.sort() });
    onSubscribed(pusher, channel);
  });
  channel.bind('pusher:subscription_error', (err) => emit({ type: 'subscription_error', client: name, error: describe(err) }));
  return channel;
}

let bID = null;
const a = join('a', () => {
  join('b', (bPusher, bChannel) => {
    bID = bChannel.members.me.id;
    // b has joined: leave once a has heard about it (or at once if a
    // already has).
    if (a.members.get(bID)) bPusher.disconnect();
    else a.bind('pusher:member_added', (m) => m.id === bID && bPusher.disconnect());
  });
});
a.bind('pusher:member_added', (m) => emit({ type: 'member_added', client: 'a', id: m.id, info: m.info }));
a.bind('pusher:member_removed', (m) => {
  emit({ type: 'member_removed', client: 'a', id: m.id });
  if (m.id === bID) done();
});
