package replay

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/server"
)

// serveLog is a stderr that runServe writes to from several goroutines and
// that tells when the server is ready (its last startup line).
type serveLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func (l *serveLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if strings.Contains(l.buf.String(), "press Ctrl-C to stop") {
		l.once.Do(func() { close(l.ready) })
	}
	return len(p), nil
}

func (l *serveLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// serve runs runServe on addr with a one-event recording until the server
// is ready, and returns its log and a stop function that ends it.
func serve(t *testing.T, addr, secret string) (log *serveLog, stop func()) {
	t.Helper()
	return serveWith(t, addr, secret, nil)
}

// serveWith is serve with the options changed by edit first.
func serveWith(t *testing.T, addr, secret string, edit func(*Options)) (log *serveLog, stop func()) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "rec.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(`{"type":"event","channel":"private-chat.42","event":"e","data":{"n":1}}`+"\n"), 0o600))
	io, _, _, _ := iostreams.Test()
	log = &serveLog{ready: make(chan struct{})}
	io.ErrOut = log
	opts := &Options{
		IO:       io,
		Settings: &config.Settings{Key: "app-key", AppSecret: secret, Color: "never"},
		Files:    []string{file},
		Serve:    addr,
	}
	if edit != nil {
		edit(opts)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, opts) }()
	select {
	case <-log.ready:
	case err := <-done:
		cancel()
		t.Fatalf("runServe ended before it was ready: %v\n%s", err, log)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("runServe not ready after 10s:\n%s", log)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			assert.ErrorIs(t, <-done, context.Canceled)
		})
	}
	t.Cleanup(stop) // when a check failed before the test's own stop
	return log, stop
}

var (
	listeningRE = regexp.MustCompile(`pusher server listening on (\S+) `)
	secretRE    = regexp.MustCompile(`app secret (\S+)`)
	wsRE        = regexp.MustCompile(`WebSocket  (ws://\S+)`)
)

func match(t *testing.T, re *regexp.Regexp, log string) string {
	t.Helper()
	m := re.FindStringSubmatch(log)
	require.NotNil(t, m, "no %s in:\n%s", re, log)
	return m[1]
}

// subscribePrivate proves which secret the server checks: it subscribes to
// a private channel signed with secret.
func subscribePrivate(t *testing.T, wsURL, secret string) gjson.Result {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL, nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	defer ws.Close()
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, hello, err := ws.ReadMessage()
	require.NoError(t, err)
	socketID := gjson.Get(gjson.GetBytes(hello, "data").String(), "socket_id").String()
	auth := server.SignChannel("app-key", secret, socketID, "private-chat.42", "")
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:subscribe","data":{"channel":"private-chat.42","auth":"`+auth+`"}}`)))
	_, reply, err := ws.ReadMessage()
	require.NoError(t, err)
	return gjson.ParseBytes(reply)
}

func TestServeOnLoopbackKeepsTheKnownSecret(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		t.Run(addr, func(t *testing.T) {
			t.Parallel()
			log, stop := serve(t, addr, "")
			out := log.String()
			bound := match(t, listeningRE, out)
			assert.True(t, server.IsLoopbackAddr(bound), bound)
			assert.NotContains(t, out, "anyone who can reach")
			assert.Equal(t, DefaultServeSecret, match(t, secretRE, out))
			assert.Contains(t, out, "the default for local use")
			assert.Equal(t, "pusher_internal:subscription_succeeded",
				subscribePrivate(t, match(t, wsRE, out), DefaultServeSecret).Get("event").String())
			stop()
		})
	}
}

func TestServeOnEveryInterfaceWarnsAndUsesARandomSecret(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0"} {
		t.Run(addr, func(t *testing.T) {
			t.Parallel()
			log, stop := serve(t, addr, "")
			out := log.String()
			bound := match(t, listeningRE, out)
			host, port, err := net.SplitHostPort(bound)
			require.NoError(t, err)
			assert.True(t, net.ParseIP(host).IsUnspecified(), "the log names the address really bound, not 127.0.0.1: %s", bound)
			assert.Contains(t, out, "listening on every network interface ("+bound+"): anyone who can reach this machine on port "+port+
				" can connect and read the recording; use 127.0.0.1:"+port+" to keep it local")

			secret := match(t, secretRE, out)
			assert.Regexp(t, `^[0-9a-f]{32}$`, secret, "a random secret, printed")
			assert.NotContains(t, out, DefaultServeSecret, "the public default is not used")
			assert.Contains(t, out, "(random, as "+addr+" can be reached from other machines; choose one with --app-secret)")
			url := match(t, wsRE, out)
			assert.Contains(t, out, url+" (from this machine)")
			assert.Equal(t, "pusher_internal:subscription_succeeded", subscribePrivate(t, url, secret).Get("event").String())
			assert.Equal(t, "pusher:error", subscribePrivate(t, url, DefaultServeSecret).Get("event").String(),
				"the default secret does not sign for it")
			stop()
		})
	}
}

func TestServeNeverPrintsAUserSecret(t *testing.T) {
	t.Parallel()
	const secret = "users-own-secret-0123456789"
	log, stop := serve(t, "0.0.0.0:0", secret)
	out := log.String()
	assert.Contains(t, out, "anyone who can reach this machine")
	assert.NotContains(t, out, secret)
	assert.Contains(t, out, "(from --app-secret / TMSWS_APP_SECRET)")
	assert.Equal(t, "pusher_internal:subscription_succeeded", subscribePrivate(t, match(t, wsRE, out), secret).Get("event").String())
	stop()
}

func TestServeSecretAndWarning(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"192.168.1.20:7101", "myhost.example:7101", "[::]:7101"} {
		s, note, err := serveSecret("", addr)
		require.NoError(t, err)
		assert.NotEqual(t, DefaultServeSecret, s, addr)
		assert.Contains(t, note, "random", addr)
	}
	a, _, _ := serveSecret("", ":7101")
	b, _, _ := serveSecret("", ":7101")
	assert.NotEqual(t, a, b, "a new secret each time")

	assert.Empty(t, exposureWarning("127.0.0.1:7101"))
	assert.Empty(t, exposureWarning("[::1]:7101"))
	assert.Equal(t, "listening on 192.168.1.20:7101, not a loopback address: anyone who can reach 192.168.1.20 can connect and read the recording; use 127.0.0.1:7101 to keep it local",
		exposureWarning("192.168.1.20:7101"))
	assert.Contains(t, exposureWarning("[::]:7101"), "every network interface ([::]:7101)")
}

func TestServeLimitFlags(t *testing.T) {
	t.Parallel()
	o, err := parse(t, "a.jsonl", "--serve", "127.0.0.1:6001")
	require.NoError(t, err)
	assert.Equal(t, int64(server.DefaultMaxMessageSize), o.MaxMessageSize, "Reverb's limit by default")
	assert.Empty(t, o.AllowOrigins)

	o, err = parse(t, "a.jsonl", "--serve", "127.0.0.1:6001", "--max-message-size", "0",
		"--allow-origin", "https://app.example.com", "--allow-origin", "http://192.168.1.20:5173")
	require.NoError(t, err)
	assert.Equal(t, int64(0), o.MaxMessageSize)
	assert.Equal(t, []string{"https://app.example.com", "http://192.168.1.20:5173"}, o.AllowOrigins)

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"a", "--serve", ":1", "--max-message-size", "-1"}, "--max-message-size must be 0 or more, got -1"},
		{[]string{"a", "--max-message-size", "100"}, "--max-message-size needs --serve"},
		{[]string{"a", "--allow-origin", "https://app.example.com"}, "--allow-origin needs --serve"},
		{[]string{"a", "--serve", ":1", "--allow-origin", "https://app.example.com/"}, "scheme://host[:port]"},
	} {
		_, err := parse(t, tt.args...)
		if assert.Error(t, err, tt.args) {
			assert.Contains(t, err.Error(), tt.want)
		}
	}
}

// The limits reach the server: a message over --max-message-size closes
// with 1009, a foreign page is refused, an allowed one is let in.
func TestServePassesTheLimits(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "rec.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(`{"type":"event","channel":"chat","event":"e","data":{}}`+"\n"), 0o600))
	io, _, _, _ := iostreams.Test()
	log := &serveLog{ready: make(chan struct{})}
	io.ErrOut = log
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, &Options{IO: io, Settings: &config.Settings{Key: "app-key", Color: "never"}, Files: []string{file},
			Serve: "127.0.0.1:0", MaxMessageSize: 100, AllowOrigins: []string{"https://app.example.com"}})
	}()
	defer func() { cancel(); <-done }()
	select {
	case <-log.ready:
	case err := <-done:
		t.Fatalf("runServe ended: %v\n%s", err, log)
	}
	url := match(t, wsRE, log.String())

	dial := func(origin string) (*websocket.Conn, int) {
		h := map[string][]string{}
		if origin != "" {
			h["Origin"] = []string{origin}
		}
		ws, resp, err := websocket.DefaultDialer.DialContext(t.Context(), url, h)
		if resp != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { _ = ws.Close() })
		return ws, resp.StatusCode
	}
	_, status := dial("https://evil.example")
	assert.Equal(t, 403, status)
	_, status = dial("https://app.example.com")
	assert.Equal(t, 101, status)

	ws, _ := dial("")
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:ping","data":"`+strings.Repeat("x", 200)+`"}`)))
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(5*time.Second)))
	for {
		_, _, err := ws.ReadMessage()
		if err != nil {
			assert.True(t, websocket.IsCloseError(err, websocket.CloseMessageTooBig), "want 1009, got %v", err)
			break
		}
	}
}

// subscribeWith subscribes to private-chat.42 through wsURL with auth and
// returns the server's reply.
func subscribeWith(t *testing.T, wsURL, auth string) gjson.Result {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL, nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	defer ws.Close()
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, _, err = ws.ReadMessage()
	require.NoError(t, err)
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:subscribe","data":{"channel":"private-chat.42","auth":`+strconv.Quote(auth)+`}}`)))
	_, reply, err := ws.ReadMessage()
	require.NoError(t, err)
	return gjson.ParseBytes(reply)
}

func TestServeBehavesLikeReverbUnlessToldPusher(t *testing.T) {
	t.Parallel()
	tests := []struct {
		like    string // --like; "" for the default
		logSays string
		error   string // the data of the answer to a bad signature, decoded
		encoded gjson.Type
	}{
		{"", "behaves    like Laravel Reverb", `{"code":4009,"message":"Connection is unauthorized"}`, gjson.String},
		{"reverb", "behaves    like Laravel Reverb", `{"code":4009,"message":"Connection is unauthorized"}`, gjson.String},
		{"pusher", "behaves    like Pusher Channels", "", gjson.JSON},
	}
	for _, tt := range tests {
		t.Run("like="+tt.like, func(t *testing.T) {
			t.Parallel()
			log, stop := serveWith(t, "127.0.0.1:0", "", func(o *Options) { o.Like = tt.like })
			out := log.String()
			assert.Contains(t, out, tt.logSays)
			reply := subscribeWith(t, match(t, wsRE, out), "app-key:"+strings.Repeat("0", 64))
			require.Equal(t, "pusher:error", reply.Get("event").String(), reply.Raw)
			d := reply.Get("data")
			assert.Equal(t, tt.encoded, d.Type, "Reverb sends the error's data as a JSON string, Pusher as an object: %s", reply.Raw)
			if tt.error != "" {
				assert.JSONEq(t, tt.error, d.Str)
			} else {
				assert.Equal(t, gjson.Null, d.Get("code").Type)
				assert.Contains(t, d.Get("message").String(), "Invalid signature")
			}
			stop()
		})
	}
}

func TestServeUnderAWSPath(t *testing.T) {
	t.Parallel()
	log, stop := serveWith(t, "127.0.0.1:0", "", func(o *Options) { o.Settings.WSPath = "/reverb" })
	out := log.String()
	url := match(t, wsRE, out)
	assert.Contains(t, url, "/reverb/app/app-key?protocol=7", "the WebSocket line shows the prefix")
	assert.Regexp(t, `HTTP API   POST http://127\.0\.0\.1:\d+/reverb/apps/app-id/events and /batch_events, GET /channels\[/NAME\[/users\]\] and /connections \(signed as /apps/app-id/\.\.\., without /reverb\)`, out)
	assert.Regexp(t, `try        tmsws listen .* --ws-path /reverb`, out)
	assert.Equal(t, "pusher_internal:subscription_succeeded", subscribePrivate(t, url, DefaultServeSecret).Get("event").String())
	_, resp, err := websocket.DefaultDialer.DialContext(t.Context(), strings.Replace(url, "/reverb/app/", "/app/", 1), nil)
	require.Error(t, err, "not at the root")
	_ = resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode)
	stop()
}

func TestServeLikeFlag(t *testing.T) {
	t.Parallel()
	o, err := parse(t, "a.jsonl", "--serve", "127.0.0.1:6001")
	require.NoError(t, err)
	assert.Equal(t, server.LikeReverb, o.like(), "Reverb by default")
	o, err = parse(t, "a.jsonl", "--serve", "127.0.0.1:6001", "--like", "pusher")
	require.NoError(t, err)
	assert.Equal(t, server.LikePusher, o.like())
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"a", "--serve", ":1", "--like", "soketi"}, `--like: "soketi" is not a server to behave like: use reverb (Laravel Reverb) or pusher (Pusher Channels)`},
		{[]string{"a", "--like", "pusher"}, "--like needs --serve"},
	} {
		_, err := parse(t, tt.args...)
		if assert.Error(t, err, tt.args) {
			assert.Contains(t, err.Error(), tt.want)
		}
	}
}
