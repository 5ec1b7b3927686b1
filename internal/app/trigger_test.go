package app

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/laraveltest"
	"github.com/amusoft/tmsws/internal/server"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// rawSubscriber is a bare Pusher client subscribed to channels, to see what
// a trigger delivered.
func rawSubscriber(t *testing.T, ctx context.Context, wsBase, key, secret string, channels ...string) *soketitest.Client {
	t.Helper()
	c, err := soketitest.Dial(ctx, wsBase+"/app/"+key+"?protocol=7&client=test&version=1")
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	for _, ch := range channels {
		sig, cd := "", ""
		switch {
		case strings.HasPrefix(ch, "presence-"):
			cd = `{"user_id":"9","user_info":{"name":"Bob"}}`
			sig = laraveltest.SignChannel(key, secret, c.SocketID, ch, cd)
		case strings.HasPrefix(ch, "private-"):
			sig = laraveltest.SignChannel(key, secret, c.SocketID, ch, "")
		}
		require.NoError(t, c.Subscribe(ctx, ch, sig, cd))
		_, err := c.WaitFor(ctx, "pusher_internal:subscription_succeeded", ch)
		require.NoError(t, err)
	}
	return c
}

// nextEvent reads frames until one that is not pusher: or pusher_internal:.
func nextEvent(t *testing.T, ctx context.Context, c *soketitest.Client) soketitest.Frame {
	t.Helper()
	for {
		f, err := c.Read(ctx)
		require.NoError(t, err)
		if !strings.HasPrefix(f.Event, "pusher") {
			return f
		}
	}
}

func apiCLI(t *testing.T, addr string) *cli {
	c := newCLI(t).pointAt(addr)
	c.env["TMSWS_APP_ID"] = "app-id"
	c.env["TMSWS_APP_SECRET"] = "app-secret"
	return c
}

func TestTriggerPublishesThroughTheHTTPAPI(t *testing.T) {
	t.Parallel()
	pretty := "{\n  \"message\": {\n    \"content\": \"from a file\",\n    \"user_id\": 8\n  }\n}\n"
	file := filepath.Join(t.TempDir(), "event.json")
	require.NoError(t, os.WriteFile(file, []byte(pretty), 0o644))
	tests := []struct {
		name  string
		data  string
		stdin string
		want  string // the data string the subscriber gets
	}{
		{name: "literal", data: `{"message":{"content":"hi"}}`, want: `{"message":{"content":"hi"}}`},
		{name: "file", data: "@" + file, want: `{"message":{"content":"from a file","user_id":8}}`},
		{name: "stdin", data: "-", stdin: "  {\"n\": [1, 2]}\n", want: `{"n":[1,2]}`},
		{name: "a JSON string", data: `"plain text"`, want: `"plain text"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t)
			ctx := ctxT(t)
			sub := rawSubscriber(t, ctx, srv.URL(), "app-key", "app-secret", "chat", "private-chat.42")
			c := apiCLI(t, srv.Addr())
			c.stdin = tt.stdin
			res := c.run("trigger", "-c", "chat", "-c", "private-chat.42", "-e", `App\Events\MessageSent`, "-d", tt.data, "--json")
			require.Equal(t, 0, res.code, res.stderr)
			assert.Contains(t, res.stderr, `published App\Events\MessageSent on chat, private-chat.42`)

			out := gjson.Parse(strings.TrimSpace(res.stdout))
			assert.True(t, out.Get("ok").Bool(), res.stdout)
			assert.Equal(t, "http-api", out.Get("via").String())
			assert.Equal(t, int64(200), out.Get("status").Int())
			assert.Equal(t, `["chat","private-chat.42"]`, out.Get("channels").Raw)
			assert.Equal(t, int64(len(tt.want)), out.Get("bytes").Int())

			got := map[string]string{}
			for range 2 {
				f := nextEvent(t, ctx, sub)
				assert.Equal(t, `App\Events\MessageSent`, f.Event)
				assert.True(t, gjson.ValidBytes(f.Data) && gjson.ParseBytes(f.Data).Type == gjson.String, "data is sent as a string: %s", f.Raw)
				got[f.Channel] = f.DataString()
			}
			assert.Equal(t, map[string]string{"chat": tt.want, "private-chat.42": tt.want}, got)
		})
	}
}

func TestTriggerSocketIDLeavesOutThatConnection(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ctx := ctxT(t)
	me := rawSubscriber(t, ctx, srv.URL(), "app-key", "app-secret", "chat")
	c := apiCLI(t, srv.Addr())
	res := c.run("trigger", "-c", "chat", "-e", "first", "-d", "{}", "--socket-id", me.SocketID)
	require.Equal(t, 0, res.code, res.stderr)
	res = c.run("trigger", "-c", "chat", "-e", "second", "-d", "{}")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "second", nextEvent(t, ctx, me).Event, "the excluded connection must not get the first event")
	assert.Empty(t, res.stdout, "without --json stdout stays empty")
}

func TestTriggerLargeDataWarnsButIsSent(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{MaxEventData: 64 << 10})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	ctx := ctxT(t)
	sub := rawSubscriber(t, ctx, srv.URL(), "app-key", "app-secret", "chat")
	data := `{"blob":"` + strings.Repeat("x", 12000) + `"}`
	res := apiCLI(t, srv.Addr()).run("trigger", "-c", "chat", "-e", "big", "-d", data)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "the data is 12011 bytes, over the 10 KB (10240 bytes)")
	assert.Equal(t, data, nextEvent(t, ctx, sub).DataString())

	// Right at the limit there is no warning.
	at := `{"b":"` + strings.Repeat("y", 10240-8) + `"}`
	require.Len(t, at, 10240)
	res = apiCLI(t, srv.Addr()).run("trigger", "-c", "chat", "-e", "limit", "-d", at)
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotContains(t, res.stderr, "over the 10 KB")
}

func TestTriggerExitCodes(t *testing.T) {
	t.Parallel()
	deadAddr := hostiletest.ClosedAddr(t) // refuses connections, and no other test can take its port
	missing := filepath.Join(t.TempDir(), "nope.json")
	big := `{"blob":"` + strings.Repeat("x", 11000) + `"}`
	many := []string{"trigger", "-e", "x", "-d", "{}"}
	for i := range 101 {
		many = append(many, "-c", "ch"+strconv.Itoa(i))
	}

	tests := []struct {
		name   string
		addr   string
		env    map[string]string // on top of the app id and secret; "" unsets
		args   []string
		code   int
		stderr []string
		not    []string
	}{
		{name: "no channel", args: []string{"trigger", "-e", "x", "-d", "{}"}, code: ExitUsage, stderr: []string{"no channel given", "hint: pass -c/--channel"}},
		{name: "no event", args: []string{"trigger", "-c", "chat", "-d", "{}"}, code: ExitUsage, stderr: []string{"no event name given", "hint: pass -e/--event"}},
		{name: "no data", args: []string{"trigger", "-c", "chat", "-e", "x"}, code: ExitUsage, stderr: []string{"no data given", "hint: pass -d/--data"}},
		{name: "malformed JSON", args: []string{"trigger", "-c", "chat", "-e", "x", "-d", `{"a":1,}`}, code: ExitUsage,
			stderr: []string{"-d is not valid JSON: line 1, column 8 (byte 8)", "hint: -d takes a JSON document"}},
		{name: "unquoted shell JSON", args: []string{"trigger", "-c", "chat", "-e", "x", "-d", `{message:hi}`}, code: ExitUsage,
			stderr: []string{"line 1, column 2", "quote it for the shell"}},
		{name: "trailing garbage", args: []string{"trigger", "-c", "chat", "-e", "x", "-d", "{}\n{}"}, code: ExitUsage,
			stderr: []string{"line 2, column 1"}},
		{name: "missing file", args: []string{"trigger", "-c", "chat", "-e", "x", "-d", "@" + missing}, code: ExitUsage, stderr: []string{"-d @" + missing, "no such file"}},
		{name: "empty data", args: []string{"trigger", "-c", "chat", "-e", "x", "-d", "  "}, code: ExitUsage, stderr: []string{"the data is empty"}},
		{name: "too many channels", args: many, code: ExitUsage, stderr: []string{"101 channels given, the HTTP API takes at most 100"}},
		{name: "bad channel", args: []string{"trigger", "-c", "chat room", "-e", "x", "-d", "{}"}, code: ExitUsage, stderr: []string{"invalid channel name"}},
		{name: "bad socket id", args: []string{"trigger", "-c", "chat", "-e", "x", "-d", "{}", "--socket-id", "abc"}, code: ExitUsage, stderr: []string{"socket ids look like 123.456"}},
		{name: "no app id", env: map[string]string{"TMSWS_APP_ID": ""}, args: []string{"trigger", "-c", "chat", "-e", "x", "-d", "{}"}, code: ExitUsage,
			stderr: []string{"no app id given", "hint: pass --app-id ID or set TMSWS_APP_ID"}},
		{name: "no app secret", env: map[string]string{"TMSWS_APP_SECRET": ""}, args: []string{"trigger", "-c", "chat", "-e", "x", "-d", "{}"}, code: ExitUsage,
			stderr: []string{"no app secret given", "hint: pass --app-secret SECRET or set TMSWS_APP_SECRET"}},
		{name: "client event without client- prefix", args: []string{"trigger", "--client", "-c", "private-chat.42", "-e", "typing", "-d", "{}"}, code: ExitUsage,
			stderr: []string{`client event "typing" does not start with client-`}},
		{name: "client event on an encrypted channel", args: []string{"trigger", "--client", "-c", "private-encrypted-chat", "-e", "client-typing", "-d", "{}"}, code: ExitUsage,
			stderr: []string{"client events cannot be sent on the encrypted channel private-encrypted-chat"}},
		{name: "client event on two channels", args: []string{"trigger", "--client", "-c", "private-a", "-c", "private-b", "-e", "client-typing", "-d", "{}"}, code: ExitUsage,
			stderr: []string{"--client sends on one channel"}},
		{name: "wrong secret", env: map[string]string{"TMSWS_APP_SECRET": "not-the-secret"}, args: []string{"trigger", "-c", "chat", "-e", "x", "-d", "{}"}, code: ExitAuth,
			stderr: []string{"401 Unauthorized from http://", "/apps/app-id/events", "Invalid signature", "hint: the server refused the signature: check --app-secret"},
			not:    []string{"not-the-secret", "auth_signature="}},
		{name: "wrong key", env: map[string]string{"TMSWS_KEY": "other-key"}, args: []string{"trigger", "-c", "chat", "-e", "x", "-d", "{}"}, code: ExitAuth,
			stderr: []string{"Unknown auth_key", "hint: the server does not know this app key"}},
		{name: "unknown app id", args: []string{"trigger", "--app-id", "999", "-c", "chat", "-e", "x", "-d", "{}"}, code: ExitConnection,
			stderr: []string{"404 Not Found", "/apps/999/events", "hint: unknown app id", "--app-id"}},
		{name: "payload too large", args: []string{"trigger", "-c", "chat", "-e", "x", "-d", big}, code: ExitUsage,
			stderr: []string{"over the 10 KB", "413 Request Entity Too Large", "hint: the payload is too large for the server", "Soketi 100 KB"}},
		{name: "dead server", addr: deadAddr, args: []string{"trigger", "-c", "chat", "-e", "x", "-d", "{}"}, code: ExitConnection,
			stderr: []string{"cannot reach http://" + deadAddr + "/apps/app-id/events", "hint: the server cannot be reached"}},
		{name: "dead server with --client", addr: deadAddr, args: []string{"trigger", "--client", "-c", "private-chat.42", "-e", "client-typing", "-d", "{}"}, code: ExitConnection,
			stderr: []string{"connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := tt.addr
			if addr == "" {
				addr = startServer(t).Addr()
			}
			c := apiCLI(t, addr)
			for k, v := range tt.env {
				c.env[k] = v
			}
			res := c.run(tt.args...)
			assert.Equal(t, tt.code, res.code, "stderr:\n%s", res.stderr)
			assert.Empty(t, res.stdout)
			for _, s := range tt.stderr {
				assert.Contains(t, res.stderr, s)
			}
			for _, s := range tt.not {
				assert.NotContains(t, res.stderr, s)
			}
		})
	}
}

func TestTriggerJSONReportsAFailureToo(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := apiCLI(t, srv.Addr())
	c.env["TMSWS_APP_SECRET"] = "wrong-secret"
	res := c.run("trigger", "-c", "chat", "-e", "x", "-d", "{}", "--json")
	assert.Equal(t, ExitAuth, res.code, res.stderr)
	out := gjson.Parse(strings.TrimSpace(res.stdout))
	assert.False(t, out.Get("ok").Bool())
	assert.Equal(t, int64(401), out.Get("status").Int())
	assert.Contains(t, out.Get("error").String(), "Invalid signature")
}

func TestTriggerClientEventReachesTheOtherMember(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"auth endpoint with the token", "local signing"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t)
			ctx := ctxT(t)
			ch := "presence-chat.42"
			bob := rawSubscriber(t, ctx, srv.URL(), "app-key", "app-secret", ch)
			c := newCLI(t).pointAt(srv.Addr())
			wantUser := "8"
			if how == "local signing" {
				c.env["TMSWS_APP_SECRET"] = "app-secret"
				wantUser = "tmsws-"
			} else {
				app := laraveltest.New(t, laraveltest.Config{AppKey: "app-key", AppSecret: "app-secret",
					Users: map[string]laraveltest.User{"alice@example.com": alice}})
				c.env["TMSWS_API_URL"] = app.URL
				c.env["TMSWS_TOKEN"] = app.TokenFor(t, "alice@example.com")
			}
			res := c.run("trigger", "--client", "-c", ch, "-e", "client-typing", "-d", `{"typing":true}`, "--json", "--wait", "200ms")
			require.Equal(t, 0, res.code, res.stderr)
			assert.Contains(t, res.stderr, "sent client-typing on "+ch)

			out := gjson.Parse(strings.TrimSpace(res.stdout))
			assert.True(t, out.Get("ok").Bool())
			assert.Equal(t, "client", out.Get("via").String())
			assert.NotEmpty(t, out.Get("socket_id").String())

			var f soketitest.Frame
			for f.Event != "client-typing" {
				f = nextEvent(t, ctx, bob)
			}
			assert.Equal(t, ch, f.Channel)
			assert.JSONEq(t, `{"typing":true}`, f.DataString())
			assert.True(t, strings.HasPrefix(f.UserID, wantUser), "user_id %q", f.UserID)
		})
	}
}

func TestTriggerClientEventRefusedByTheServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame string
		code  int
		hint  string
	}{
		{"client events disabled (Soketi 4301)", `{"event":"pusher:error","channel":"private-chat.42","data":{"code":4301,"message":"The app does not have client messaging enabled."}}`,
			ExitError, "the app does not accept client events"},
		{"not a member (Reverb 4009)", `{"event":"pusher:error","data":"{\"code\":4009,\"message\":\"The client is not a member of the specified channel.\"}"}`,
			ExitAuth, "the server only takes client events from members"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t)
			c := newCLI(t).pointAt(srv.Addr())
			c.env["TMSWS_APP_SECRET"] = "app-secret"
			r := c.start("trigger", "--client", "-c", "private-chat.42", "-e", "client-typing", "-d", "{}", "--wait", "15s")
			f, err := srv.WaitFrame(ctxT(t), func(f server.Frame) bool { return f.Event() == "client-typing" })
			require.NoError(t, err)
			conn, err := srv.WaitConn(ctxT(t), f.Conn)
			require.NoError(t, err)
			conn.SendRaw(websocket.TextMessage, []byte(tt.frame))
			begin := time.Now()
			res := r.wait(t)
			assert.Less(t, time.Since(begin), 10*time.Second, "a refusal ends the wait at once")
			assert.Equal(t, tt.code, res.code, res.stderr)
			assert.Contains(t, res.stderr, "send client-typing on private-chat.42")
			assert.Contains(t, res.stderr, "hint: "+tt.hint)
		})
	}
}

func TestTriggerClientSubscriptionRefusedExits3(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(s *server.Server) {
		s.SetSubscribeFault(func(int, string) *server.SubscribeRefusal {
			return &server.SubscribeRefusal{Style: server.SoketiRefusal}
		})
	})
	c := newCLI(t).pointAt(srv.Addr())
	c.env["TMSWS_APP_SECRET"] = "app-secret"
	res := c.run("trigger", "--client", "-c", "private-chat.42", "-e", "client-typing", "-d", "{}")
	assert.Equal(t, ExitAuth, res.code, res.stderr)
	assert.Contains(t, res.stderr, "private-chat.42")
	assert.Zero(t, countFrames(srv, "client-typing"), "nothing is sent on a refused channel")
}

func countFrames(srv *server.Server, event string) int {
	n := 0
	for _, f := range srv.Received() {
		if f.Event() == event {
			n++
		}
	}
	return n
}

func TestSoketiTriggerReachesAListener(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	ch := soketitest.UniqueChannel(t, "private-chat")
	c := newCLI(t).pointAt(sk.Addr)
	c.env["TMSWS_APP_ID"] = sk.AppID
	c.env["TMSWS_APP_SECRET"] = sk.Secret
	l := c.start("listen", "-c", ch, "--count", "1", "--json")
	require.NoError(t, sk.WaitSubscribed(ctxT(t), ch))

	res := c.run("trigger", "-c", ch, "-e", `App\Events\MessageSent`, "-d", `{"message":{"id":1,"content":"via soketi"}}`, "--json")
	require.Equal(t, 0, res.code, res.stderr)
	assert.True(t, gjson.Get(res.stdout, "ok").Bool(), res.stdout)

	got := l.wait(t)
	require.Equal(t, 0, got.code, got.stderr)
	recs := jsonLines(t, got.stdout)
	require.Len(t, recs, 1)
	assert.Equal(t, `App\Events\MessageSent`, recs[0].Get("event").String())
	assert.Equal(t, "via soketi", recs[0].Get("data.message.content").String())
}

func TestSoketiTriggerRefusalsInA200(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	tests := []struct {
		name   string
		env    map[string]string
		data   string
		code   int
		stderr []string
	}{
		{name: "wrong secret", env: map[string]string{"TMSWS_APP_SECRET": "not-the-secret"}, code: ExitAuth,
			stderr: []string{"401 Unauthorized", "The secret authentication failed", "HTTP 200", "hint: the server refused the signature"}},
		{name: "unknown app id", env: map[string]string{"TMSWS_APP_ID": "nope"}, code: ExitConnection,
			stderr: []string{"404 Not Found", "could not be found", "hint: unknown app id"}},
		{name: "over 100 KB", data: `{"b":"` + strings.Repeat("z", 101<<10) + `"}`, code: ExitUsage,
			stderr: []string{"over the 10 KB", "413", "less than 100 KB", "hint: the payload is too large"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCLI(t).pointAt(sk.Addr)
			c.env["TMSWS_APP_ID"] = sk.AppID
			c.env["TMSWS_APP_SECRET"] = sk.Secret
			for k, v := range tt.env {
				c.env[k] = v
			}
			data := tt.data
			if data == "" {
				data = "{}"
			}
			res := c.run("trigger", "-c", soketitest.UniqueChannel(t, "chat"), "-e", "x", "-d", data)
			assert.Equal(t, tt.code, res.code, res.stderr)
			for _, s := range tt.stderr {
				assert.Contains(t, res.stderr, s)
			}
		})
	}
}

func TestSoketiTriggerClientEvent(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	ctx := ctxT(t)
	ch := soketitest.UniqueChannel(t, "presence-chat")
	bob := rawSubscriber(t, ctx, "ws://"+sk.Addr, sk.Key, sk.Secret, ch)
	c := newCLI(t).pointAt(sk.Addr)
	c.env["TMSWS_APP_SECRET"] = sk.Secret
	res := c.run("trigger", "--client", "-c", ch, "-e", "client-typing", "-d", `{"typing":true,"name":"tmsws"}`)
	require.Equal(t, 0, res.code, res.stderr)
	var f soketitest.Frame
	for f.Event != "client-typing" {
		f = nextEvent(t, ctx, bob)
	}
	assert.Equal(t, ch, f.Channel)
	assert.JSONEq(t, `{"typing":true,"name":"tmsws"}`, f.DataString())
	assert.True(t, strings.HasPrefix(f.UserID, "tmsws-"), "Soketi adds the sender's user_id: %s", f.Raw)
}
