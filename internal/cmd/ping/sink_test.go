package ping

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/record"
)

func TestSinkMatchesOnlyThisRunsProbes(t *testing.T) {
	t.Parallel()
	p := &prober{opts: &Options{Count: 3}, channel: "private-tmsws-ping-00000000", run: "r1", tally: newTally(),
		subscribed: make(chan struct{}), pongs: make(chan time.Time, 1)}
	base := time.Unix(1000, 0)
	for seq := range 3 {
		p.tally.sending(seq, base)
	}
	ev := func(channel, event, data string) *record.Record {
		return &record.Record{TS: base.Add(time.Millisecond), Type: record.TypeEvent, Channel: channel, Event: event, Data: []byte(data)}
	}
	for _, r := range []*record.Record{
		ev("other", ProbeEvent, `{"seq":0,"run":"r1"}`),                                                                    // another channel
		ev(p.channel, "MessageSent", `{"seq":0,"run":"r1"}`),                                                               // another event
		ev(p.channel, ProbeEvent, `{"seq":0,"run":"r2"}`),                                                                  // another run
		ev(p.channel, ProbeEvent, `{"seq":"0","run":"r1"}`),                                                                // seq not a number
		ev(p.channel, ProbeEvent, `{"seq":0.5,"run":"r1"}`),                                                                // not an integer
		ev(p.channel, ProbeEvent, `{"seq":3,"run":"r1"}`),                                                                  // beyond --count
		ev(p.channel, ProbeEvent, `{"seq":-1,"run":"r1"}`),                                                                 // negative
		ev(p.channel, ProbeEvent, `"text"`),                                                                                // not an object
		{TS: base, Type: record.TypeProtocol, Channel: p.channel, Event: ProbeEvent, Data: []byte(`{"seq":0,"run":"r1"}`)}, // not an event record
	} {
		require.NoError(t, p.Write(r))
	}
	assert.Equal(t, 0, p.tally.summary().Received, "none of them is a probe of this run")

	require.NoError(t, p.Write(ev(p.channel, ProbeEvent, `{"seq":1,"run":"r1","sent_ns":5}`)))
	s := p.tally.summary()
	assert.Equal(t, 1, s.Received)
	assert.Equal(t, []time.Duration{time.Millisecond}, s.Latencies)

	// The confirmation closes subscribed, once, even after a reconnect.
	sub := &record.Record{Type: record.TypeSubscribed, Channel: p.channel}
	require.NoError(t, p.Write(&record.Record{Type: record.TypeSubscribed, Channel: "other"}))
	select {
	case <-p.subscribed:
		require.Fail(t, "another channel's confirmation counted")
	default:
	}
	require.NoError(t, p.Write(sub))
	require.NoError(t, p.Write(sub))
	<-p.subscribed

	// A pong is passed on with its arrival time; a second one waiting is
	// dropped rather than blocking the socket.
	require.NoError(t, p.Write(&record.Record{TS: base, Type: record.TypeProtocol, Event: "pusher:pong"}))
	require.NoError(t, p.Write(&record.Record{TS: base.Add(time.Second), Type: record.TypeProtocol, Event: "pusher:pong"}))
	assert.Equal(t, base, <-p.pongs)
}
