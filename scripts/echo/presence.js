// presence.js: two Echo apps, "a" then "b", join the presence channel
// TMSWS_CHANNEL (the name given to Echo.join, e.g. chat.42) and report
// their here, joining and leaving callbacks; b leaves (Echo.leave) once a
// has seen it join, and the script ends when a sees it leave.
//
//   {"type":"here","client":"a","users":[{"name":"Guest 1"}]}
//   {"type":"here","client":"b","users":[{"name":"Guest 1"},{"name":"Guest 2"}]}
//   {"type":"joining","client":"a","user":{"name":"Guest 2"}}
//   {"type":"leaving","client":"a","user":{"name":"Guest 2"}}
'use strict';

const { settings, emit, fail, describe, done, run, echo } = require('./common');

if (!settings.channel) fail('TMSWS_CHANNEL is not set');

run(() => {
  const a = echo('a');
  let b = null;
  let bHere = false;
  let aSawB = false;
  const leaveWhenSeen = () => {
    if (bHere && aSawB) b.leave(settings.channel);
  };
  a.join(settings.channel)
    .here((users) => {
      emit({ type: 'here', client: 'a', users });
      b = echo('b');
      b.join(settings.channel)
        .here((users) => {
          emit({ type: 'here', client: 'b', users });
          bHere = true;
          leaveWhenSeen();
        })
        .error((err) => emit({ type: 'subscription_error', client: 'b', error: describe(err) }));
    })
    .joining((user) => {
      emit({ type: 'joining', client: 'a', user });
      aSawB = true;
      leaveWhenSeen();
    })
    .leaving((user) => {
      emit({ type: 'leaving', client: 'a', user });
      done();
    })
    .error((err) => emit({ type: 'subscription_error', client: 'a', error: describe(err) }));
});
