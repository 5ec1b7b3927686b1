package app

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/server"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// objectOf is a JSON object of exactly n bytes.
func objectOf(n int) string { return `{"b":"` + strings.Repeat("x", n-8) + `"}` }

// The sizes: 9,949 and 20,008 bytes of data make frames over
// Reverb's 10,000-byte max_message_size. They are refused before anything
// connects, with the numbers.
func TestTriggerClientRefusesAnOversizeFrameBeforeConnecting(t *testing.T) {
	t.Parallel()
	for _, n := range []int{9949, 20008} {
		srv := startServer(t)
		c := newCLI(t).pointAt(srv.Addr())
		c.env["TMSWS_APP_SECRET"] = "app-secret"
		res := c.run("trigger", "--client", "-c", "private-chat.42", "-e", "client-typing", "-d", objectOf(n), "--json")
		assert.Equal(t, ExitUsage, res.code, res.stderr)
		frame := n + len(`{"event":"client-typing","channel":"private-chat.42","data":}`)
		assert.Contains(t, res.stderr, "error: the client event is "+strconv.Itoa(frame)+" bytes, over --max-message-size 10000: "+strconv.Itoa(n)+" of them are the -d data")
		assert.Contains(t, res.stderr, "hint: Reverb closes the connection with 1009 on a message over its max_message_size (REVERB_APP_MAX_MESSAGE_SIZE")
		assert.NotContains(t, res.stderr, "connected")
		assert.Empty(t, res.stdout)
		assert.Empty(t, srv.Received(), "nothing reached the server")
	}
}

// Reverb answers string (and number) data with 4200 "Invalid message
// format": such data is refused before connecting.
func TestTriggerClientRefusesDataThatIsNotAnObject(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	for _, data := range []string{`"typing"`, `1`, `[true]`, `null`} {
		c := newCLI(t).pointAt(srv.Addr())
		c.env["TMSWS_APP_SECRET"] = "app-secret"
		res := c.run("trigger", "--client", "-c", "private-chat.42", "-e", "client-typing", "-d", data)
		assert.Equal(t, ExitUsage, res.code, res.stderr)
		assert.Contains(t, res.stderr, "error: -d for a client event must be a JSON object", data)
		assert.Contains(t, res.stderr, "Reverb requires object data")
	}
	assert.Empty(t, srv.Received(), "nothing reached the server")
	// The HTTP API takes any JSON document.
	res := apiCLI(t, srv.Addr()).run("trigger", "-c", "chat", "-e", "x", "-d", `"plain"`)
	assert.Equal(t, 0, res.code, res.stderr)
}

// A server that closes the connection with 1009 after the event, as
// Reverb does above max_message_size, makes trigger fail with exit 4 and
// the hint, without a reconnect or a second subscription that would pass
// for a success.
func TestTriggerClientCloseWith1009AfterTheSendFails(t *testing.T) {
	t.Parallel()
	for _, limit := range []string{"0", "30000"} { // the check off, or a user who thinks the limit is higher
		t.Run("--max-message-size "+limit, func(t *testing.T) {
			t.Parallel()
			srv, err := server.Start(server.Config{MaxMessageSize: 10000})
			require.NoError(t, err)
			t.Cleanup(func() { srv.Close() })
			c := newCLI(t).pointAt(srv.Addr())
			c.env["TMSWS_APP_SECRET"] = "app-secret"
			begin := time.Now()
			res := c.run("trigger", "--client", "-c", "private-chat.42", "-e", "client-typing", "-d", objectOf(20008),
				"--max-message-size", limit, "--wait", "15s", "--json")
			assert.Less(t, time.Since(begin), 10*time.Second, "the close ends the wait at once")
			assert.Equal(t, ExitConnection, res.code, res.stderr)
			assert.Contains(t, res.stderr, "error: send client-typing on private-chat.42: the server closed the connection after it (closed with 1009")
			assert.Contains(t, res.stderr, "the event was most likely dropped")
			assert.Contains(t, res.stderr, "hint: the server refused a message this large (20069 bytes): Reverb closes the connection with 1009 above its max_message_size (REVERB_APP_MAX_MESSAGE_SIZE")
			assert.NotContains(t, res.stderr, "reconnecting")
			assert.NotContains(t, res.stderr, "sent client-typing")
			out := gjson.Parse(strings.TrimSpace(res.stdout))
			assert.False(t, out.Get("ok").Bool(), res.stdout)
			assert.Contains(t, out.Get("error").String(), "1009")
			assert.Equal(t, 1, srv.SubscribeCount("private-chat.42"), "no reconnect, no second subscription")
		})
	}
}

// Any other close or a dropped connection after the send fails the same
// way, exit 4.
func TestTriggerClientCloseAfterTheSendFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		close func(*server.Conn)
		err   string
		hint  string
	}{
		{"dropped", func(c *server.Conn) { c.Drop() }, "(connection lost (no close frame))",
			"the server closed the connection right after the event instead of relaying it"},
		{"closed with 1011", func(c *server.Conn) { c.Close(1011, "internal error") }, "(closed with 1011 internal error)",
			"the server closed the connection right after the event instead of relaying it"},
		// A code with a hint of its own keeps it (pusher.CodeHint).
		{"closed with 4201", func(c *server.Conn) { c.Close(4201, "Pong reply not received") }, "(closed with 4201 Pong reply not received)", ""},
		{"closed with 4001", func(c *server.Conn) { c.Close(4001, "Application does not exist") }, "(closed with 4001 Application does not exist)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t)
			c := newCLI(t).pointAt(srv.Addr())
			c.env["TMSWS_APP_SECRET"] = "app-secret"
			r := c.start("trigger", "--client", "-c", "presence-chat.42", "-e", "client-typing", "-d", "{}", "--wait", "15s")
			f, err := srv.WaitFrame(ctxT(t), func(f server.Frame) bool { return f.Event() == "client-typing" })
			require.NoError(t, err)
			conn, err := srv.WaitConn(ctxT(t), f.Conn)
			require.NoError(t, err)
			begin := time.Now()
			tt.close(conn)
			res := r.wait(t)
			assert.Less(t, time.Since(begin), 10*time.Second, "the close ends the wait at once")
			assert.Equal(t, ExitConnection, res.code, res.stderr)
			assert.Contains(t, res.stderr, "error: send client-typing on presence-chat.42: the server closed the connection after it "+tt.err)
			assert.Contains(t, res.stderr, "\nhint: "+tt.hint)
			assert.NotContains(t, res.stderr, "reconnecting")
			assert.NotContains(t, res.stderr, "sent client-typing")
			assert.Equal(t, 1, srv.SubscribeCount("presence-chat.42"), "no reconnect, no second subscription")
		})
	}
}

// A public channel is allowed, with a warning; a server that refuses it as
// Pusher does gets a hint saying so.
func TestTriggerClientOnAPublicChannel(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t).pointAt(srv.Addr())
	r := c.start("trigger", "--client", "-c", "chat", "-e", "client-typing", "-d", `{"typing":true}`, "--wait", "15s")
	f, err := srv.WaitFrame(ctxT(t), func(f server.Frame) bool { return f.Event() == "client-typing" })
	require.NoError(t, err)
	conn, err := srv.WaitConn(ctxT(t), f.Conn)
	require.NoError(t, err)
	conn.SendRaw(websocket.TextMessage, []byte(`{"event":"pusher:error","channel":"chat","data":{"code":4301,"message":"Client event rejected - only supported on private and presence channels"}}`))
	res := r.wait(t)
	assert.Equal(t, ExitError, res.code, res.stderr)
	assert.Contains(t, res.stderr, "client events on the public channel chat: Reverb and Soketi relay them, Pusher Channels refuses them (4301)")
	assert.Contains(t, res.stderr, "hint: this server does not relay client events on public channels, as Pusher Channels does not (4301)")
}

// Soketi, like Reverb, relays client events on public channels.
func TestSoketiTriggerClientOnAPublicChannel(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	ch := soketitest.UniqueChannel(t, "chat")
	ctx := ctxT(t)
	bob := rawSubscriber(t, ctx, "ws://"+sk.Addr, sk.Key, sk.Secret, ch)
	c := newCLI(t).pointAt(sk.Addr)
	c.env["TMSWS_KEY"] = sk.Key
	res := c.run("trigger", "--client", "-c", ch, "-e", "client-typing", "-d", `{"typing":true}`, "--json", "--wait", "300ms")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "client events on the public channel "+ch)
	assert.True(t, gjson.Get(res.stdout, "ok").Bool(), res.stdout)
	f := nextEvent(t, ctx, bob)
	assert.Equal(t, "client-typing", f.Event)
	assert.Equal(t, ch, f.Channel)
	assert.JSONEq(t, `{"typing":true}`, f.DataString())
}
