package app

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/server"
)

// statsLines returns the "[stats]" lines of stderr.
func statsLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "[stats]") {
			out = append(out, l)
		}
	}
	return out
}

func TestListenStatsAtExit(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t).pointAt(srv.Addr())
	r := c.start("listen", "-c", "chat", "-c", "other", "-e", "MessageSent", "-e", "Big", "--count", "3", "--stats")
	ctx := ctxT(t)
	require.NoError(t, srv.WaitSubscribed(ctx, "chat", 1))
	require.NoError(t, srv.WaitSubscribed(ctx, "other", 1))
	srv.Publish("chat", `App\Events\MessageSent`, `{"n":1}`, "")
	srv.Publish("chat", `App\Events\UserIsTyping`, `{"typing":true}`, "") // received, filtered out
	waitFor(t, r, `"n":1`)

	// The server restarts: the client reconnects at once (4200) and
	// subscribes again.
	srv.CloseAll(4200, "Server is closing")
	conn2, err := srv.WaitConn(ctx, 2)
	require.NoError(t, err)
	require.NoError(t, conn2.WaitSubscribed(ctx, "chat"))
	srv.Publish("chat", `App\Events\MessageSent`, `{"n":2}`, "")
	srv.Publish("chat", "Big", `{"body":"`+strings.Repeat("x", 12469)+`"}`, "")
	res := r.wait(t)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Len(t, jsonLines(t, res.stdout), 3, "stats never touch stdout")

	lines := statsLines(res.stderr)
	require.Len(t, lines, 4, res.stderr)
	assert.Regexp(t, `^\[stats\] \S+, 4 events \([0-9.,]+/s\), 3 shown, 1 reconnect \(closed with 4200 Server is closing\)$`, lines[0])
	assert.Equal(t, "[stats]   chat   MessageSent 2  Big 1  (1 filtered out)", lines[1])
	assert.Equal(t, "[stats]   other  no events", lines[2])
	assert.Equal(t, "[stats]   largest payload 12,480 bytes: Big on chat (over the 10 KB Pusher/Reverb limit)", lines[3])
	assert.True(t, strings.HasSuffix(strings.TrimRight(res.stderr, "\n"), lines[3]), "the summary comes last")
}

func TestStatsWhenAndWhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		setup     func(*server.Server)
		args      []string
		interrupt bool
		code      int
		want      bool
	}{
		{name: "listen without --stats", args: []string{"listen", "-c", "chat", "--duration", "100ms"}, code: ExitOK},
		{name: "listen -v", args: []string{"listen", "-c", "chat", "--duration", "100ms", "-v"}, code: ExitOK, want: true},
		{name: "listen interrupted", args: []string{"listen", "-c", "chat", "--stats"}, interrupt: true, code: ExitInterrupted, want: true},
		{name: "listen on an error", setup: func(s *server.Server) {
			s.SetSubscribeFault(func(int, string) *server.SubscribeRefusal { return &server.SubscribeRefusal{} })
		}, args: []string{"listen", "-c", "chat", "--stats"}, code: ExitAuth, want: true},
		{name: "subscribe --stats", args: []string{"subscribe", "-c", "chat", "--stats"}, code: ExitOK, want: true},
		{name: "subscribe -v", args: []string{"subscribe", "-c", "chat", "-v"}, code: ExitOK, want: true},
		{name: "subscribe on a timeout", args: []string{"subscribe", "-c", "chat", "--expect", "E", "--timeout", "200ms", "--stats"}, code: ExitTimeout, want: true},
		{name: "subscribe without --stats", args: []string{"subscribe", "-c", "chat"}, code: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t)
			if tt.setup != nil {
				tt.setup(srv)
			}
			r := newCLI(t).pointAt(srv.Addr()).start(tt.args...)
			if tt.interrupt {
				require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat", 1))
				r.cancel()
			}
			res := r.wait(t)
			assert.Equal(t, tt.code, res.code, res.stderr)
			lines := statsLines(res.stderr)
			if !tt.want {
				assert.Empty(t, lines, res.stderr)
				return
			}
			require.NotEmpty(t, lines, res.stderr)
			assert.Contains(t, lines[0], "0 events (0.0/s), no reconnects")
		})
	}
}
