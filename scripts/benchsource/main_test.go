package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// running is a benchsource run in this process.
type running struct {
	addr   string
	code   chan int // its exit code, once it returns
	stderr *strings.Builder
}

// start runs benchsource with args until it returns (the test waits for
// that in its cleanup, cancelling the run if it is still going).
func start(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	r := &running{code: make(chan int, 1), stderr: &strings.Builder{}}
	go func() {
		code := run(ctx, args, pw, r.stderr)
		pw.Close()
		r.code <- code
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err, "benchsource printed no listening line; stderr: %s", r.stderr)
	go io.Copy(io.Discard, pr) //nolint:errcheck // nothing more is expected; this only keeps a stray write from blocking
	addr, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "listening ")
	require.True(t, ok, "first line %q", line)
	r.addr = addr
	t.Cleanup(func() {
		cancel()
		<-r.code
	})
	return r
}

// exit waits for the run's exit code.
func (r *running) exit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.code:
		r.code <- code // for the cleanup
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("benchsource did not exit after its client closed")
		return 0
	}
}

// client is a test Pusher client of the source.
type client struct {
	t        *testing.T
	conn     *websocket.Conn
	socketID string
}

func dial(t *testing.T, addr, key string) *client {
	t.Helper()
	u := url.URL{Scheme: "ws", Host: addr, Path: "/app/" + key, RawQuery: "protocol=7"}
	conn, resp, err := websocket.DefaultDialer.Dial(u.String(), nil)
	require.NoError(t, err)
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	c := &client{t: t, conn: conn}
	m := c.read()
	require.Equal(t, "pusher:connection_established", m.Event)
	var est struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	require.NoError(t, json.Unmarshal([]byte(m.dataString()), &est))
	assert.Regexp(t, `^\d+\.\d+$`, est.SocketID)
	assert.Equal(t, 120, est.ActivityTimeout)
	c.socketID = est.SocketID
	return c
}

type frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	raw     []byte
}

// dataString is data when the server sent it as a string (as Pusher
// does), else "".
func (f frame) dataString() string {
	var s string
	if json.Unmarshal(f.Data, &s) != nil {
		return ""
	}
	return s
}

func (c *client) read() frame {
	c.t.Helper()
	typ, b, err := c.conn.ReadMessage()
	require.NoError(c.t, err)
	require.Equal(c.t, websocket.TextMessage, typ)
	var f frame
	require.NoError(c.t, json.Unmarshal(b, &f), "frame %s", b)
	f.raw = b
	return f
}

func (c *client) send(v any) {
	c.t.Helper()
	require.NoError(c.t, c.conn.WriteJSON(v))
}

func (c *client) subscribe(channel, auth string) {
	c.send(map[string]any{"event": "pusher:subscribe", "data": map[string]string{"channel": channel, "auth": auth}})
}

func (c *client) close() {
	c.t.Helper()
	require.NoError(c.t, c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")))
	// The source answers the close; the connection then ends.
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			assert.True(c.t, websocket.IsCloseError(err, websocket.CloseNormalClosure), "the source closes with 1000: %v", err)
			return
		}
	}
}

// signature is what Laravel's PusherBroadcaster (and pusher-http-php)
// sign a private channel with, computed here independently of the source.
func signature(key, secret, socketID, channel string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(socketID + ":" + channel))
	return key + ":" + hex.EncodeToString(mac.Sum(nil))
}

func readStats(t *testing.T, path string) map[string]float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err, "the stats file is written when the client is gone")
	var st map[string]float64
	require.NoError(t, json.Unmarshal(b, &st), "stats %s", b)
	return st
}

func TestStreamsTheMixAfterTheRightSignature(t *testing.T) {
	const n = 1000
	statsFile := filepath.Join(t.TempDir(), "stats.json")
	src := start(t, "-n", "1000", "-stats", statsFile)
	c := dial(t, src.addr, "bench-key")

	c.subscribe("private-bench", signature("bench-key", "wrong-secret", c.socketID, "private-bench"))
	refused := c.read()
	assert.Equal(t, "pusher:subscription_error", refused.Event)
	assert.Equal(t, "private-bench", refused.Channel)
	assert.JSONEq(t, `{"type":"AuthError","error":"The connection is unauthorized.","status":401}`, string(refused.Data))

	c.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	assert.Equal(t, "pusher:pong", c.read().Event, "a refused subscription streams nothing")

	c.subscribe("private-bench", signature("bench-key", "bench-secret", c.socketID, "private-bench"))
	ok := c.read()
	require.Equal(t, "pusher_internal:subscription_succeeded", ok.Event, "frame %s", ok.raw)
	assert.Equal(t, "private-bench", ok.Channel)

	counts := map[string]int{}
	var first []byte
	for i := range n {
		f := c.read()
		require.Equal(t, "private-bench", f.Channel)
		data := f.dataString()
		require.NotEmpty(t, data, "data is double-encoded, a JSON string: %s", f.raw)
		require.True(t, json.Valid([]byte(data)), "data is JSON: %s", data)
		counts[f.Event]++
		if f.Event == eventMessageSent {
			assert.GreaterOrEqual(t, len(data), 250, "MessageSent data %s", data)
			assert.LessOrEqual(t, len(data), 350, "MessageSent data %s", data)
			var m struct {
				Message struct {
					ID     int `json:"id"`
					ChatID int `json:"chat_id"`
					UserID int `json:"user_id"`
					User   struct {
						ID   int    `json:"id"`
						Name string `json:"name"`
					} `json:"user"`
					Content string `json:"content"`
					TempID  string `json:"temp_id"`
				} `json:"message"`
			}
			require.NoError(t, json.Unmarshal([]byte(data), &m))
			assert.Equal(t, 100000+i, m.Message.ID)
			assert.Equal(t, 42, m.Message.ChatID)
			assert.Equal(t, m.Message.UserID, m.Message.User.ID)
			assert.NotEmpty(t, m.Message.User.Name)
			assert.NotEmpty(t, m.Message.Content)
			assert.NotEmpty(t, m.Message.TempID)
		}
		if i == 0 {
			first = f.raw
		}
	}
	assert.Equal(t, map[string]int{eventMessageSent: 700, eventUserIsTyping: 200, eventMessagesRead: 100}, counts)
	name, data := eventData(0)
	assert.Equal(t, string(pusherFrame(name, "private-bench", data)), string(first), "the events are deterministic")

	c.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	assert.Equal(t, "pusher:pong", c.read().Event, "nothing after the N events")

	c.close()
	require.Equal(t, 0, src.exit(t), "stderr: %s", src.stderr)
	st := readStats(t, statsFile)
	assert.Equal(t, float64(n), st["sent"])
	assert.Greater(t, st["send_seconds"], 0.0)
	assert.InDelta(t, st["sent"]/st["send_seconds"], st["rate"], 1e-6*st["rate"])
	assert.Greater(t, st["cpu_seconds"], 0.0)
	assert.Contains(t, st, "stream_cpu_seconds")
}

func TestZeroEventsConfirmsAndWaitsForTheClose(t *testing.T) {
	statsFile := filepath.Join(t.TempDir(), "stats.json")
	src := start(t, "-n", "0", "-stats", statsFile, "-key", "k", "-secret", "s", "-channel", "private-x")
	c := dial(t, src.addr, "k")
	c.subscribe("private-x", signature("k", "s", c.socketID, "private-x"))
	assert.Equal(t, "pusher_internal:subscription_succeeded", c.read().Event)
	c.send(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	assert.Equal(t, "pusher:pong", c.read().Event, "no event after the confirmation")

	select {
	case code := <-src.code:
		src.code <- code
		t.Fatalf("benchsource exited (%d) before its client closed", code)
	default:
	}
	c.close()
	require.Equal(t, 0, src.exit(t))
	st := readStats(t, statsFile)
	assert.Equal(t, 0.0, st["sent"])
	assert.Equal(t, 0.0, st["rate"])
}

func TestSubscriptionToAnotherChannelIsRefused(t *testing.T) {
	src := start(t, "-n", "10")
	c := dial(t, src.addr, "bench-key")
	c.subscribe("private-other", signature("bench-key", "bench-secret", c.socketID, "private-other"))
	f := c.read()
	assert.Equal(t, "pusher:subscription_error", f.Event)
	assert.Equal(t, "private-other", f.Channel)
	c.close()
	assert.Equal(t, 0, src.exit(t))
}

func TestAuthEndpointSignsTheChannelAsLaravelDoes(t *testing.T) {
	src := start(t, "-n", "1")
	post := func(socketID, channel string) *http.Response {
		resp, err := http.PostForm("http://"+src.addr+"/broadcasting/auth", url.Values{"socket_id": {socketID}, "channel_name": {channel}})
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := post("123.456", "private-bench")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var body struct{ Auth string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, signature("bench-key", "bench-secret", "123.456", "private-bench"), body.Auth)

	assert.Equal(t, http.StatusForbidden, post("123.456", "private-other").StatusCode)
	assert.Equal(t, http.StatusForbidden, post("not-a-socket", "private-bench").StatusCode)

	// The signature it hands out is the one the WebSocket accepts.
	c := dial(t, src.addr, "bench-key")
	resp = post(c.socketID, "private-bench")
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	c.subscribe("private-bench", body.Auth)
	assert.Equal(t, "pusher_internal:subscription_succeeded", c.read().Event)
	assert.Equal(t, eventMessageSent, c.read().Event)
	c.close()
	assert.Equal(t, 0, src.exit(t))
}

func TestOneClientPerRun(t *testing.T) {
	src := start(t, "-n", "0")
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+src.addr+"/app/other-key?protocol=7", nil)
	require.Error(t, err)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a wrong key")
	resp.Body.Close()

	c := dial(t, src.addr, "bench-key")
	_, resp, err = websocket.DefaultDialer.Dial("ws://"+src.addr+"/app/bench-key?protocol=7", nil)
	require.Error(t, err)
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "a second client")
	resp.Body.Close()
	c.close()
	assert.Equal(t, 0, src.exit(t))
}

func TestBadFlagsExit2AndListenFailureExit1(t *testing.T) {
	for _, args := range [][]string{
		{},                                  // -n missing
		{"-n", "-1"},                        // negative
		{"-n", "x"},                         // not a number
		{"-n", "1", "-addr", "0.0.0.0:0"},   // not loopback
		{"-n", "1", "-addr", "example:80"},  // a name that is not localhost
		{"-n", "1", "-addr", "127.0.0.1"},   // no port
		{"-n", "1", "extra"},                // an argument
		{"-n", "1", "-key", "a/b"},          // not a key
		{"-n", "1", "-channel", ""},         // no channel
		{"-n", "1", "-nosuchflag", "value"}, // unknown flag
	} {
		var stderr strings.Builder
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // a run that wrongly serves ends, and fails
		assert.Equal(t, 2, run(ctx, args, io.Discard, &stderr), "args %q", args)
		cancel()
		assert.NotEmpty(t, stderr.String(), "args %q say why", args)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	var stderr strings.Builder
	assert.Equal(t, 1, run(context.Background(), []string{"-n", "1", "-addr", busy.Addr().String()}, io.Discard, &stderr))
	assert.Contains(t, stderr.String(), "listen on "+busy.Addr().String())
}

func TestStatsWriteFailureExits1(t *testing.T) {
	src := start(t, "-n", "0", "-stats", filepath.Join(t.TempDir(), "no-such-dir", "stats.json"))
	dial(t, src.addr, "bench-key").close()
	assert.Equal(t, 1, src.exit(t))
	assert.Contains(t, src.stderr.String(), "write the stats")
}
