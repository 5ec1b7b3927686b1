// channels.js: pusher-js clients that subscribe as the test says, so that
// the HTTP API's channel endpoints (tmsws channels, channels info, channels
// users, connections) have something to report. It reads commands on stdin:
//
//   sub CLIENT CHANNEL     client CLIENT (made on first use) subscribes to CHANNEL
//                          (authorized through TMSWS_AUTH_URL when it needs it)
//   unsub CLIENT CHANNEL   it unsubscribes
//   quit CLIENT            it disconnects
//   done                   every client disconnects and the script exits
//
// and prints what the clients see:
//
//   {"type":"subscribed","client":"a","channel":"presence-chat.42","me":"1"}
//   {"type":"unsubscribed","client":"a","channel":"chat"}
//   {"type":"quit","client":"a"}
//   {"type":"subscription_error","client":"a","channel":"private-x","error":{...}}
'use strict';

const { emit, fail, connect, describe, done, commands } = require('./common');

const clients = new Map();

function client(name) {
  let p = clients.get(name);
  if (!p) {
    p = connect(name);
    clients.set(name, p);
  }
  return p;
}

commands((line) => {
  const [cmd, name, channel] = line.split(/\s+/);
  switch (cmd) {
    case 'sub': {
      if (!name || !channel) fail(`usage: sub CLIENT CHANNEL, got ${JSON.stringify(line)}`);
      const ch = client(name).subscribe(channel);
      ch.bind('pusher:subscription_succeeded', (members) => {
        const me = members && members.me ? members.me.id : undefined;
        emit({ type: 'subscribed', client: name, channel, me });
      });
      ch.bind('pusher:subscription_error', (err) => emit({ type: 'subscription_error', client: name, channel, error: describe(err) }));
      break;
    }
    case 'unsub':
      if (!name || !channel) fail(`usage: unsub CLIENT CHANNEL, got ${JSON.stringify(line)}`);
      client(name).unsubscribe(channel);
      emit({ type: 'unsubscribed', client: name, channel });
      break;
    case 'quit':
      if (!name) fail(`usage: quit CLIENT, got ${JSON.stringify(line)}`);
      client(name).disconnect();
      clients.delete(name);
      emit({ type: 'quit', client: name });
      break;
    case 'done':
      done();
      break;
    default:
      fail(`unknown command ${JSON.stringify(line)}: use sub, unsub, quit or done`);
  }
});
