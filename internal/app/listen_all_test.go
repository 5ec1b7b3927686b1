package app

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/pusherjstest"
	"github.com/amusoft/tmsws/internal/server"
)

// waitStderr waits until the command's stderr holds s.
func waitStderr(t *testing.T, r *running, s string) {
	t.Helper()
	waitStderrN(t, r, s, 1)
}

// waitStderrN waits until the command's stderr holds s n times.
func waitStderrN(t *testing.T, r *running, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for strings.Count(r.stderr.String(), s) < n {
		require.True(t, time.Now().Before(deadline), "%q did not show up %d times on stderr:\n%s", s, n, r.stderr.String())
		<-tick.C
	}
}

// listenAllScenario: listen --all with two globs is started first; a
// pusher-js client then subscribes to a private channel that matches, a
// presence channel that matches and a private one that does not. listen
// joins the two (+ lines), shows an event published on one, and leaves it
// (- line) once the pusher-js client has unsubscribed and the grace is
// over; the unmatched channel is never joined.
func listenAllScenario(t *testing.T, addr, authURL, key string, publish func(channel, event, data string)) {
	id := uniqueName(t)
	chat, pres, other := "private-"+id+".chat", "presence-"+id+".room", "private-x"+id
	c := apiCLI(t, addr)
	c.env["TMSWS_KEY"] = key
	r := c.start("listen", "--all", "private-"+id+".*", "presence-"+id+".*", "--discover-every", "100ms", "--json")
	waitStderr(t, r, "connected (socket")

	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	js := pusherjstest.Start(t, pusherjstest.Target{Host: host, Port: port, Key: key, AuthURL: authURL}, "pusherjs/channels")
	for _, cmd := range []string{"sub a " + chat, "sub b " + pres, "sub a " + other} {
		js.Command(cmd)
		f := strings.Fields(cmd)
		js.Next("subscribed "+cmd, func(l pusherjstest.Line) bool {
			return l.Type == "subscribed" && l.Client == f[1] && l.Channel == f[2]
		})
	}
	waitStderr(t, r, "+ "+chat+"\n")
	waitStderr(t, r, "+ "+pres+"\n")
	waitStderr(t, r, "subscribed "+chat+"\n")
	waitStderr(t, r, "subscribed "+pres+" (2 present") // b and the observer
	users := c.run("channels", "users", pres)
	require.Equal(t, 0, users.code, users.stderr)
	assert.Contains(t, strings.Fields(users.stdout), "tmsws-observer", "the presence member of listen --all")

	publish(chat, "MessageSent", `{"message":{"id":7}}`)
	waitFor(t, r, `"channel":"`+chat+`"`)

	js.Command("unsub a " + chat)
	waitStderr(t, r, "- "+chat+"\n")
	r.cancel()
	res := r.wait(t)
	assert.Equal(t, ExitInterrupted, res.code, res.stderr)
	assert.NotContains(t, res.stderr, other, "no glob matches it")
	assert.NotContains(t, res.stderr, "- "+pres, "b is still there")
	assert.Contains(t, res.stderr, "signed locally")
	events := 0
	for _, l := range jsonLines(t, res.stdout) {
		if l.Get("type").String() == "event" {
			events++
			assert.Equal(t, chat, l.Get("channel").String())
			assert.Equal(t, "MessageSent", l.Get("event").String())
			assert.Equal(t, int64(7), l.Get("data.message.id").Int())
		}
	}
	assert.Equal(t, 1, events, res.stdout)
	js.Command("done")
}

func TestListenAllEmbeddedServer(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	listenAllScenario(t, srv.Addr(), srv.AuthURL(), "app-key", func(channel, event, data string) {
		srv.Publish(channel, event, data, "")
	})
}

// A -c channel next to --all is authorized as always and never left; a
// channel that comes back after it was left is joined again.
func TestListenAllWithChannelAndComingBack(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := apiCLI(t, srv.Addr())
	id := uniqueName(t)
	mine, theirs := "mine-"+id, "theirs-"+id
	r := c.start("listen", "--all", "theirs-*", "-c", mine, "--discover-every", "50ms", "--json")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), mine, 1))

	js := pusherjstest.Start(t, pusherjstest.Target{Host: "127.0.0.1", Port: portOf(t, srv.Addr()), Key: "app-key"}, "pusherjs/channels")
	js.Command("sub a " + theirs)
	waitStderr(t, r, "+ "+theirs+"\n")
	js.Command("unsub a " + theirs)
	waitStderr(t, r, "- "+theirs+"\n")
	js.Command("sub a " + theirs)
	js.NextOf("a", "subscribed")
	waitStderrN(t, r, "+ "+theirs+"\n", 2)
	r.cancel()
	res := r.wait(t)
	assert.NotContains(t, res.stderr, "- "+mine)
	assert.NotContains(t, res.stderr, "+ "+mine)
	js.Command("done")
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	return port
}

func TestListenAllExitCodes(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(*server.Server) {})
	tests := []struct {
		name   string
		addr   string
		env    map[string]string
		unset  []string
		code   int
		stderr []string
	}{
		{name: "wrong secret", addr: srv.Addr(), env: map[string]string{"TMSWS_APP_SECRET": "not-the-secret"}, code: ExitAuth, stderr: []string{"--app-secret"}},
		{name: "no app id", addr: srv.Addr(), unset: []string{"TMSWS_APP_ID"}, code: ExitUsage, stderr: []string{"no app id", "--app-id"}},
		{name: "no app secret", addr: srv.Addr(), unset: []string{"TMSWS_APP_SECRET"}, code: ExitUsage, stderr: []string{"no app secret"}},
		{name: "API unreachable", addr: hostiletest.ClosedAddr(t), code: ExitConnection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := apiCLI(t, tt.addr)
			for k, v := range tt.env {
				c.env[k] = v
			}
			for _, k := range tt.unset {
				delete(c.env, k)
			}
			res := c.run("listen", "--all")
			assert.Equal(t, tt.code, res.code, res.stderr)
			for _, s := range tt.stderr {
				assert.Contains(t, res.stderr, s)
			}
			assert.NotContains(t, res.stderr, "not-the-secret")
			assert.NotContains(t, res.stderr, "connecting to", "the first poll comes before the connection")
		})
	}
}

// After a reconnect the channels are listed at once, not a --discover-every
// later.
func TestListenAllPollsAfterAReconnect(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := apiCLI(t, srv.Addr())
	id := uniqueName(t)
	r := c.start("listen", "--all", "--discover-every", "1h", "--json")
	waitStderr(t, r, "connected (socket")
	ours, err := srv.WaitConn(ctxT(t), 1)
	require.NoError(t, err)

	js := pusherjstest.Start(t, pusherjstest.Target{Host: "127.0.0.1", Port: portOf(t, srv.Addr()), Key: "app-key"}, "pusherjs/channels")
	js.Command("sub a late-" + id)
	js.NextOf("a", "subscribed")
	ours.Close(4200, "restart") // reconnect at once
	waitStderr(t, r, "+ late-"+id+"\n")
	r.cancel()
	r.wait(t)
	js.Command("done")
}
