package pusher

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestConnErrorCountsAttemptsInGoodEnglish(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		attempts int
		want     string
	}{
		{0, "connect ws://h/app/k: connection refused"},
		{1, "connect ws://h/app/k: gave up after 1 reconnect attempt: connection refused"},
		{2, "connect ws://h/app/k: gave up after 2 reconnect attempts: connection refused"},
		{11, "connect ws://h/app/k: gave up after 11 reconnect attempts: connection refused"},
	} {
		e := &ConnError{URL: "ws://h/app/k", Attempts: tc.attempts, Err: errors.New("connection refused")}
		assert.Equal(t, tc.want, e.Error())
	}
}
