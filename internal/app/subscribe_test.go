package app

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/laraveltest"
	"github.com/amusoft/tmsws/internal/server"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// joinPresence subscribes a second member (Bob, user 9) to a presence
// channel of the in-process server through his own connection.
func joinPresence(t *testing.T, srv *server.Server, channel string) {
	t.Helper()
	ctx := ctxT(t)
	bob, err := soketitest.Dial(ctx, srv.URL()+"/app/"+srv.AppKey()+"?protocol=7&client=test&version=0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = bob.Close() })
	cd := `{"user_id":"9","user_info":{"name":"Bob"}}`
	require.NoError(t, bob.Subscribe(ctx, channel, laraveltest.SignChannel(srv.AppKey(), srv.AppSecret(), bob.SocketID, channel, cd), cd))
	_, err = bob.WaitFor(ctx, "pusher_internal:subscription_succeeded", channel)
	require.NoError(t, err)
}

func TestSubscribeConfirmsEveryChannelAndReturnsAtOnce(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	joinPresence(t, srv, "presence-chat.42")
	c := newCLI(t).pointAt(srv.Addr())
	began := time.Now()
	res := c.run("subscribe", "-c", "chat", "-c", "private-chat.42", "-c", "presence-chat.42", "--app-secret", "app-secret")
	took := time.Since(began)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Less(t, took, 5*time.Second, "a plain subscribe returns once every channel is confirmed")
	assert.Empty(t, res.stdout, "without --expect and --json stdout stays empty")
	assert.Contains(t, res.stderr, "[channel] subscribed chat (")
	assert.Contains(t, res.stderr, "[channel] subscribed private-chat.42 (")
	assert.Contains(t, res.stderr, "since start")
	assert.Contains(t, res.stderr, "[channel] subscribed presence-chat.42 (")
	assert.Contains(t, res.stderr, "since start, 2 members)", "the presence line counts Bob and tmsws")
	assert.Contains(t, res.stderr, "[subscribe] ok: 3 channels subscribed")
	assert.Equal(t, 1, strings.Count(res.stderr, "subscribed presence-chat.42"), "one line per channel")
	assert.NotContains(t, res.stderr, "[stats]")
}

func TestSubscribeJSONSummary(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	joinPresence(t, srv, "presence-chat.42")
	c := newCLI(t).pointAt(srv.Addr())
	r := c.start("subscribe", "-c", "private-chat.42", "-c", "presence-chat.42", "--app-secret", "app-secret",
		"--expect", "MessageSent", "--where", "data.message.user_id=8", "--count", "2", "--json")
	ctx := ctxT(t)
	require.NoError(t, srv.WaitSubscribed(ctx, "private-chat.42", 1))
	require.NoError(t, srv.WaitSubscribed(ctx, "presence-chat.42", 2))
	srv.Publish("private-chat.42", `App\Events\UserIsTyping`, `{"user_id":8}`, "")
	srv.Publish("private-chat.42", `App\Events\MessageSent`, `{"message":{"user_id":9,"content":"bob's"}}`, "")
	srv.Publish("private-chat.42", `App\Events\MessageSent`, `{"message":{"user_id":8,"content":"first"}}`, "")
	srv.Publish("presence-chat.42", `App\Events\MessageSent`, `{"message":{"user_id":8,"content":"second <&>"}}`, "")
	srv.Publish("private-chat.42", `App\Events\MessageSent`, `{"message":{"user_id":8,"content":"third"}}`, "")
	res := r.wait(t)
	require.Equal(t, ExitOK, res.code, res.stderr)

	lines := jsonLines(t, res.stdout)
	require.Len(t, lines, 1, "--json prints one summary object")
	sum := lines[0]
	assert.True(t, sum.Get("ok").Bool())
	assert.False(t, sum.Get("error").Exists())
	assert.NotEmpty(t, sum.Get("socket_id").String())
	assert.True(t, sum.Get("connect_ms").Exists())
	assert.GreaterOrEqual(t, sum.Get("elapsed_ms").Int(), sum.Get("connect_ms").Int())

	chans := sum.Get("channels").Array()
	require.Len(t, chans, 2)
	assert.Equal(t, "private-chat.42", chans[0].Get("channel").String(), "channels in -c order")
	assert.True(t, chans[0].Get("subscribed").Bool())
	assert.True(t, chans[0].Get("ms").Exists())
	assert.False(t, chans[0].Get("members").Exists(), "members only for presence")
	assert.Equal(t, "presence-chat.42", chans[1].Get("channel").String())
	assert.True(t, chans[1].Get("subscribed").Bool())
	assert.Equal(t, int64(2), chans[1].Get("members").Int())

	assert.JSONEq(t, `{"pattern":"MessageSent","where":["data.message.user_id=8"],"count":2,"matched":2}`, sum.Get("expected").Raw)
	events := sum.Get("events").Array()
	require.Len(t, events, 2, "--count 2 stops at two")
	assert.Equal(t, "event", events[0].Get("type").String())
	assert.Equal(t, `App\Events\MessageSent`, events[0].Get("event").String())
	assert.Equal(t, "first", events[0].Get("data.message.content").String())
	assert.Equal(t, "presence-chat.42", events[1].Get("channel").String())
	assert.Equal(t, "second <&>", events[1].Get("data.message.content").String())
	assert.Contains(t, res.stdout, "second <&>", "no HTML escaping")
	assert.Equal(t, sum.Get("socket_id").String(), events[0].Get("socket_id").String())
	_, err := time.Parse(time.RFC3339Nano, events[0].Get("ts").String())
	assert.NoError(t, err)
	assert.Contains(t, res.stderr, "[expect] waiting up to")
	assert.Contains(t, res.stderr, "2 MessageSent events where data.message.user_id=8")
}

func TestSubscribeExpectPrintsRecordsAsTheyArrive(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t).pointAt(srv.Addr())
	r := c.start("subscribe", "-c", "chat", "--expect", "Message*", "--count", "3")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat", 1))
	srv.Publish("chat", `App\Events\MessageSent`, `{"n":1}`, "")
	waitFor(t, r, `"n":1`) // streamed before the command ends
	srv.Publish("chat", `App\Events\UserIsTyping`, `{"n":2}`, "")
	srv.Publish("chat", `App\Events\MessagesRead`, `{"n":3}`, "")
	srv.Publish("chat", `App\Events\MessageSent`, `{"n":4}`, "")
	srv.Publish("chat", `App\Events\MessageSent`, `{"n":5}`, "")
	res := r.wait(t)
	require.Equal(t, ExitOK, res.code, res.stderr)
	var ns []int64
	for _, rec := range jsonLines(t, res.stdout) {
		assert.Equal(t, "event", rec.Get("type").String())
		ns = append(ns, rec.Get("data.n").Int())
	}
	assert.Equal(t, []int64{1, 3, 4}, ns, "the full-name glob and the short name both match; --count 3 stops there")
}

func TestSubscribeKeepsWaitingThroughAReconnect(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t).pointAt(srv.Addr())
	r := c.start("subscribe", "-c", "chat", "--expect", "MessageSent", "--json")
	ctx := ctxT(t)
	require.NoError(t, srv.WaitSubscribed(ctx, "chat", 1))
	srv.CloseAll(4200, "Server is closing")
	conn2, err := srv.WaitConn(ctx, 2)
	require.NoError(t, err)
	require.NoError(t, conn2.WaitSubscribed(ctx, "chat"))
	srv.Publish("chat", `App\Events\MessageSent`, `{"after":"reconnect"}`, "")
	res := r.wait(t)
	require.Equal(t, ExitOK, res.code, res.stderr)
	sum := jsonLines(t, res.stdout)[0]
	assert.Equal(t, "reconnect", sum.Get("events.0.data.after").String())
	assert.Equal(t, conn2.SocketID(), sum.Get("socket_id").String(), "the summary names the socket that got the event")
	assert.Contains(t, res.stderr, "reconnecting")
}

func TestSubscribeInterruptedStillPrintsTheSummary(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t).pointAt(srv.Addr())
	r := c.start("subscribe", "-c", "chat", "--expect", "MessageSent", "--json", "--stats")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat", 1))
	r.cancel() // what SIGINT does in Main
	res := r.wait(t)
	assert.Equal(t, ExitInterrupted, res.code, res.stderr)
	sum := jsonLines(t, res.stdout)
	require.Len(t, sum, 1)
	assert.False(t, sum[0].Get("ok").Bool())
	assert.Equal(t, "interrupted", sum[0].Get("error").String())
	assert.Contains(t, res.stderr, "[stats]")
}

// silentAfter makes the server stop talking to a connection when it
// subscribes to channel: that subscription, and everything after it, is
// never confirmed.
func silentAfter(channel string) func(*server.Server) {
	return func(s *server.Server) {
		s.SetSubscribeFault(func(_ int, ch string) *server.SubscribeRefusal {
			if ch == channel {
				s.SetSilent(true)
			}
			return nil
		})
	}
}

func TestSubscribeExitCodes(t *testing.T) {
	t.Parallel()
	deadAddr := hostiletest.ClosedAddr(t)

	tests := []struct {
		name      string
		setup     func(*server.Server)
		addr      string
		args      []string
		publish   func(*testing.T, *server.Server, *running) // after the channel "chat" is subscribed
		code      int
		stderr    []string
		notStderr []string
		json      func(*testing.T, gjson.Result)
	}{
		{name: "no channel", args: []string{"subscribe"}, code: ExitUsage, stderr: []string{"no channel", "hint: pass -c/--channel"}},
		{name: "where without expect", args: []string{"subscribe", "-c", "chat", "--where", "data.x=1"}, code: ExitUsage, stderr: []string{"--where needs --expect"}},
		{name: "count without expect", args: []string{"subscribe", "-c", "chat", "--count", "2"}, code: ExitUsage, stderr: []string{"--count needs --expect"}},
		{name: "empty expect", args: []string{"subscribe", "-c", "chat", "--expect", ""}, code: ExitUsage, stderr: []string{"--expect needs a pattern"}},
		{name: "zero count", args: []string{"subscribe", "-c", "chat", "--expect", "E", "--count", "0"}, code: ExitUsage},
		{name: "zero timeout", args: []string{"subscribe", "-c", "chat", "--timeout", "0s"}, code: ExitUsage, stderr: []string{"--timeout must be positive"}},
		{name: "malformed where", args: []string{"subscribe", "-c", "chat", "--expect", "E", "--where", "data.x=>3"}, code: ExitUsage, stderr: []string{"--where"}},
		{name: "argument instead of -c", args: []string{"subscribe", "chat"}, code: ExitUsage, stderr: []string{"tmsws subscribe -c chat"}},

		{name: "subscription refused by the server", setup: func(s *server.Server) {
			s.SetSubscribeFault(func(int, string) *server.SubscribeRefusal {
				return &server.SubscribeRefusal{Style: server.SoketiRefusal, Status: 403, Message: "Forbidden by test"}
			})
		}, args: []string{"subscribe", "-c", "private-chat.42", "--app-secret", "app-secret", "--json"}, code: ExitAuth,
			stderr: []string{"private-chat.42", "Forbidden by test"},
			json: func(t *testing.T, sum gjson.Result) {
				assert.False(t, sum.Get("ok").Bool())
				assert.False(t, sum.Get("channels.0.subscribed").Bool())
				assert.Equal(t, "Forbidden by test", sum.Get("channels.0.error").String())
			}},
		{name: "wrong app secret", args: []string{"subscribe", "-c", "presence-chat.42", "--app-secret", "nope"}, code: ExitAuth, stderr: []string{"Invalid signature", "hint:"}},

		{name: "dead server: the first connection is not retried", addr: deadAddr, args: []string{"subscribe", "-c", "chat", "--timeout", "1m", "--reconnect-delay", "10ms", "--json"},
			code: ExitConnection, stderr: []string{"connection refused", "hint: nothing accepts connections at " + deadAddr},
			notStderr: []string{"reconnecting", "gave up"},
			json: func(t *testing.T, sum gjson.Result) {
				assert.False(t, sum.Get("ok").Bool())
				assert.Contains(t, sum.Get("error").String(), "connection refused")
				assert.False(t, sum.Get("socket_id").Exists())
				assert.False(t, sum.Get("connect_ms").Exists())
			}},
		{name: "app key refused at handshake", setup: func(s *server.Server) {
			s.SetHandshakeFault(func(int) *server.Refusal {
				return &server.Refusal{Code: 4001, Message: "Application does not exist", Style: server.ErrorString, Then: server.ThenDrop}
			})
		}, args: []string{"subscribe", "-c", "chat"}, code: ExitConnection, stderr: []string{"4001 Application does not exist", "hint: the server does not know this app key"}},

		{name: "a confirmation never comes", setup: silentAfter("never"), args: []string{"subscribe", "-c", "chat", "-c", "never", "--timeout", "300ms", "--json"},
			code: ExitTimeout, stderr: []string{"timed out: no subscription confirmation within 300ms for never", "[channel] subscribed chat ("},
			notStderr: []string{"for chat", "hint:"},
			json: func(t *testing.T, sum gjson.Result) {
				assert.False(t, sum.Get("ok").Bool())
				assert.True(t, sum.Get("channels.0.subscribed").Bool())
				assert.False(t, sum.Get("channels.1.subscribed").Bool())
				assert.False(t, sum.Get("channels.1.ms").Exists())
				assert.NotEmpty(t, sum.Get("socket_id").String())
			}},
		{name: "the expected event never comes", args: []string{"subscribe", "-c", "chat", "--expect", "MessageSent", "--timeout", "300ms", "--json"},
			code: ExitTimeout, stderr: []string{"timed out: 0 of 1 MessageSent event within 300ms"},
			json: func(t *testing.T, sum gjson.Result) {
				assert.False(t, sum.Get("ok").Bool())
				assert.Equal(t, "timed out: 0 of 1 MessageSent event within 300ms", sum.Get("error").String())
				assert.Equal(t, int64(0), sum.Get("expected.matched").Int())
				assert.True(t, sum.Get("channels.0.subscribed").Bool())
				assert.Equal(t, "[]", sum.Get("events").Raw)
			}},
		{name: "some expected events come", args: []string{"subscribe", "-c", "chat", "--expect", "MessageSent", "--where", "data.ok=true", "--count", "3", "--timeout", "3s"},
			publish: func(t *testing.T, s *server.Server, r *running) {
				s.Publish("chat", `App\Events\MessageSent`, `{"ok":true,"n":1}`, "")
				s.Publish("chat", `App\Events\MessageSent`, `{"ok":false}`, "")
				s.Publish("chat", `App\Events\MessageSent`, `{"ok":true,"n":2}`, "")
				waitFor(t, r, `"n":2`)
			},
			code: ExitTimeout, stderr: []string{"timed out: 2 of 3 MessageSent events where data.ok=true within 3s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCLI(t)
			var srv *server.Server
			if tt.addr != "" {
				c.pointAt(tt.addr)
			} else {
				srv = startServer(t)
				if tt.setup != nil {
					tt.setup(srv)
				}
				c.pointAt(srv.Addr())
			}
			began := time.Now()
			r := c.start(tt.args...)
			if tt.publish != nil {
				require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat", 1))
				tt.publish(t, srv, r)
			}
			res := r.wait(t)
			took := time.Since(began)
			assert.Equal(t, tt.code, res.code, "stderr:\n%s", res.stderr)
			assert.Less(t, took, 8*time.Second, "every case ends at its timeout, not later")
			for _, s := range tt.stderr {
				assert.Contains(t, res.stderr, s)
			}
			for _, s := range tt.notStderr {
				assert.NotContains(t, res.stderr, s)
			}
			if tt.json == nil {
				if tt.publish == nil {
					assert.Empty(t, res.stdout, "nothing on stdout without --json")
				}
				return
			}
			sum := jsonLines(t, res.stdout)
			require.Len(t, sum, 1, "the summary is printed on failure too")
			tt.json(t, sum[0])
		})
	}
}

func TestSubscribeTimeoutEndsAtTheTimeout(t *testing.T) {
	t.Parallel()
	// The server greets but never confirms, and stops answering pings: only
	// the deadline can end this run.
	srv := startServer(t, silentAfter("chat"))
	began := time.Now()
	res := newCLI(t).pointAt(srv.Addr()).run("subscribe", "-c", "chat", "--timeout", "300ms")
	took := time.Since(began)
	assert.Equal(t, ExitTimeout, res.code, res.stderr)
	assert.GreaterOrEqual(t, took, 300*time.Millisecond)
	assert.Less(t, took, 5*time.Second)
}

func TestSubscribeSoketiPrivateChannelWithExpect(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	app := newLaravel(t, nil)
	c := soketiCLI(t, sk, app)
	c.env["TMSWS_TOKEN"] = app.TokenFor(t, "alice@example.com")
	priv := soketitest.UniqueChannel(t, "private-chat")
	pres := soketitest.UniqueChannel(t, "presence-chat")

	// The CI job: subscribe in the background, trigger through the app,
	// wait for the exit code.
	r := c.start("subscribe", "-c", priv, "-c", pres, "--expect", "MessageSent", "--timeout", "20s", "--json")
	ctx := ctxT(t)
	require.NoError(t, sk.WaitSubscribed(ctx, priv))
	require.NoError(t, sk.WaitSubscribed(ctx, pres))
	require.NoError(t, sk.Trigger(ctx, []string{priv}, `App\Events\UserIsTyping`, `{"user_id":8}`, ""))
	require.NoError(t, sk.Trigger(ctx, []string{priv}, `App\Events\MessageSent`, `{"message":{"id":1,"content":"from CI"}}`, ""))
	res := r.wait(t)
	require.Equal(t, ExitOK, res.code, res.stderr)

	sum := jsonLines(t, res.stdout)
	require.Len(t, sum, 1)
	assert.True(t, sum[0].Get("ok").Bool())
	assert.Equal(t, "from CI", sum[0].Get("events.0.data.message.content").String())
	assert.Len(t, sum[0].Get("events").Array(), 1)
	assert.Equal(t, int64(1), sum[0].Get("channels.1.members").Int(), "Alice alone in the presence channel")
	assert.Contains(t, res.stderr, "[auth] authorized "+priv)
	assert.Contains(t, res.stderr, "[channel] subscribed "+pres+" (")
	var authorized []string
	for _, a := range app.AuthRequests() {
		assert.Equal(t, 200, a.Status)
		authorized = append(authorized, a.Channel)
	}
	assert.ElementsMatch(t, []string{priv, pres}, authorized)
}

func TestSubscribeSoketiRefusedChannelExits3(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	app := newLaravel(t, func(u laraveltest.User, ch string) bool { return !strings.HasPrefix(ch, "chat.99") })
	c := soketiCLI(t, sk, app)
	c.env["TMSWS_TOKEN"] = app.TokenFor(t, "alice@example.com")
	res := c.run("subscribe", "-c", "private-chat.99", "--expect", "MessageSent", "--timeout", "20s")
	assert.Equal(t, ExitAuth, res.code, res.stderr)
	assert.Contains(t, res.stderr, "403")
	assert.Empty(t, res.stdout)
}
