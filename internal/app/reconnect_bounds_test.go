package app

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReconnectAttemptsBoundListen: --reconnect-attempts N gives up after
// N failed reconnects in a row, exit 4, each attempt on stderr.
func TestReconnectAttemptsBoundListen(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	addr := srv.Addr()
	r := newCLI(t).pointAt(addr).start("listen", "-c", "chat", "--reconnect-attempts", "2", "--reconnect-delay", "10ms")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat", 1))
	require.NoError(t, srv.Close())
	res := r.wait(t)
	assert.Equal(t, ExitConnection, res.code, res.stderr)
	assert.Contains(t, res.stderr, "(attempt 1/2)")
	assert.Contains(t, res.stderr, "(attempt 2/2)")
	assert.Equal(t, 2, strings.Count(res.stderr, "[connection] reconnecting in "))
	assert.Contains(t, res.stderr, "gave up after 2 reconnect attempts")
	assert.Contains(t, res.stderr, "hint: nothing accepts connections at "+addr)
}

// TestReconnectSubscribeStaysWithinTimeout: subscribe with
// --reconnect-attempts 0 retries a lost connection only until --timeout,
// then exits 5 saying the connection was lost.
func TestReconnectSubscribeStaysWithinTimeout(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	start := time.Now()
	r := newCLI(t).pointAt(srv.Addr()).start("subscribe", "-c", "chat", "--expect", "E", "--timeout", "2s",
		"--reconnect-attempts", "0", "--reconnect-delay", "100ms")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat", 1))
	require.NoError(t, srv.Close())
	res := r.wait(t)
	took := time.Since(start)
	assert.Equal(t, ExitTimeout, res.code, res.stderr)
	// Whether the confirmation got through before the server went or not,
	// the deadline is what ends it.
	assert.Regexp(t, `error: timed out: (0 of 1 E event|no subscription confirmation) within 2s .*\(the connection was lost: .*connection refused\)`, res.stderr)
	assert.GreaterOrEqual(t, strings.Count(res.stderr, "[connection] reconnecting in "), 3, res.stderr)
	assert.NotContains(t, res.stderr, "gave up")
	t.Logf("subscribe --timeout 2s with the server gone: exit %d after %s, %d reconnect attempts",
		res.code, took.Round(time.Millisecond), strings.Count(res.stderr, "[connection] reconnecting in "))
}
