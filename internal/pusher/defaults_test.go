package pusher

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestNewAppliesTheDefaults: a zero (or negative) option gets the
// documented default; a set one is kept. The contract's figures: reconnect
// delay 3 s, activity at most 120 s, pong timeout 30 s, handshake 10 s.
func TestNewAppliesTheDefaults(t *testing.T) {
	t.Parallel()
	for _, zero := range []time.Duration{0, -time.Second} {
		o := New(Options{ReconnectDelay: zero, MaxActivity: zero, PongTimeout: zero, HandshakeTimeout: zero, WriteTimeout: zero}).opts
		assert.Equal(t, 3*time.Second, o.ReconnectDelay)
		assert.Equal(t, 120*time.Second, o.MaxActivity)
		assert.Equal(t, 30*time.Second, o.PongTimeout)
		assert.Equal(t, 10*time.Second, o.HandshakeTimeout)
		assert.Equal(t, 10*time.Second, o.WriteTimeout)
		assert.Equal(t, int64(DefaultMaxFrame), int64(New(Options{}).opts.MaxFrame))
		assert.Equal(t, int64(DefaultReadAhead), int64(New(Options{}).opts.ReadAhead))
	}
	one := time.Millisecond
	o := New(Options{ReconnectDelay: one, MaxActivity: one, PongTimeout: one, HandshakeTimeout: one, WriteTimeout: one, MaxFrame: 1, ReadAhead: 1}).opts
	assert.Equal(t, []time.Duration{one, one, one, one, one}, []time.Duration{o.ReconnectDelay, o.MaxActivity, o.PongTimeout, o.HandshakeTimeout, o.WriteTimeout})
	assert.EqualValues(t, 1, o.MaxFrame)
	assert.EqualValues(t, 1, o.ReadAhead)
}
