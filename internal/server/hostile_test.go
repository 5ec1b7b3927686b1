package server

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// The hostile-client harness: every byte a client sends is an attacker's.
// Each attack is made by a raw gorilla client or a raw request, and after
// it stillServes proves, with a second, well-behaved client, that the
// server is up and serving.

var probes atomic.Int64

// stillServes connects a well-behaved client that subscribes to a channel
// of its own and receives an event published to it.
func stillServes(t *testing.T, s *Server) {
	t.Helper()
	c, _ := connect(t, s)
	channel := fmt.Sprintf("probe-%d", probes.Add(1))
	c.subscribe(channel, "", "")
	c.expect("pusher_internal:subscription_succeeded")
	s.Publish(channel, "probe", `{"ok":true}`, "")
	msg := c.expect("probe")
	assert.Equal(t, channel, msg.Get("channel").String())
	assert.Equal(t, `{"ok":true}`, msg.Get("data").String())
	require.NoError(t, c.ws.Close())
}

// logLines is a Config.Logf that keeps every line.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// longest returns the longest line logged.
func (l *logLines) longest() string {
	var max string
	for _, line := range l.all() {
		if len(line) > len(max) {
			max = line
		}
	}
	return max
}

// join connects a client and subscribes it to channel, signing when the
// channel needs it; presence channels join as user.
func join(t *testing.T, s *Server, channel, user string) (*client, string) {
	t.Helper()
	c, socketID := connect(t, s)
	auth, channelData := "", ""
	if isPresence(channel) {
		channelData = `{"user_id":"` + user + `"}`
	}
	if needsAuth(channel) {
		auth = SignChannel(s.cfg.AppKey, s.cfg.AppSecret, socketID, channel, channelData)
	}
	c.subscribe(channel, auth, channelData)
	c.expect("pusher_internal:subscription_succeeded")
	return c, socketID
}

// maskedFrame builds a client frame by hand: fin, opcode, a declared
// payload length (which may be a lie) and the payload bytes actually sent.
func maskedFrame(opcode byte, fin bool, declared uint64, payload []byte) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch {
	case declared < 126:
		b = append(b, 0x80|byte(declared))
	case declared <= 0xffff:
		b = append(b, 0x80|126, byte(declared>>8), byte(declared))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, declared)
	}
	key := [4]byte{1, 2, 3, 4}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

// sendUpgrade opens a TCP connection and sends a WebSocket upgrade for
// the server's key; it reads nothing.
func sendUpgrade(t *testing.T, s *Server) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	_, err = fmt.Fprintf(nc, "GET /app/%s?protocol=7 HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", s.AppKey(), s.Addr())
	require.NoError(t, err)
	return nc
}

// rawUpgrade is sendUpgrade that also reads the 101 answer, so that what
// the caller writes next is read as WebSocket frames.
func rawUpgrade(t *testing.T, s *Server) net.Conn {
	t.Helper()
	nc := sendUpgrade(t, s)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(waitLimit)))
	var head []byte
	b := make([]byte, 1)
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		_, err := nc.Read(b) // byte by byte: nothing after the answer is consumed
		require.NoError(t, err, "upgrade answer so far: %q", head)
		head = append(head, b[0])
	}
	require.True(t, bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")), "%q", head)
	return nc
}

// expectTooBig reads past connection_established to the close frame and
// checks that it is 1009.
func expectTooBig(t *testing.T, c *client) {
	t.Helper()
	for {
		_, data, err := c.readFrame()
		if err != nil {
			var ce *websocket.CloseError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, websocket.CloseMessageTooBig, ce.Code)
			return
		}
		require.Equal(t, "pusher:connection_established", gjson.GetBytes(data, "event").String(), "want only the handshake before the close: %.200s", data)
	}
}

func TestHostileMessageSize(t *testing.T) {
	t.Parallel()
	const limit = DefaultMaxMessageSize
	pad := func(n int) string { // a pusher:ping of exactly n bytes
		head, tail := `{"event":"pusher:ping","data":"`, `"}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}

	t.Run("a message of exactly the limit is served", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{MaxMessageSize: limit})
		c, _ := connect(t, s)
		c.send(pad(limit))
		c.expect("pusher:pong")
	})
	t.Run("one byte more, as the first frame, closes 1009", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{MaxMessageSize: limit})
		c := dial(t, s) // sent before even reading the handshake
		c.send(pad(limit + 1))
		expectTooBig(t, c)
		stillServes(t, s)
	})
	t.Run("20 MB in one message closes 1009", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{MaxMessageSize: limit})
		c := dial(t, s)
		sent := make(chan error, 1)
		go func() { sent <- c.ws.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte{'['}, 20<<20)) }()
		expectTooBig(t, c)
		<-sent // written or refused: either way the writer is done
		stillServes(t, s)
	})
	t.Run("many small frames of one message add up", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{MaxMessageSize: limit})
		c := dial(t, s)
		sent := make(chan error, 1)
		go func() {
			w, err := c.ws.NextWriter(websocket.TextMessage)
			if err == nil {
				for range 100 { // 100 frames of 1000 bytes
					if _, err = w.Write(bytes.Repeat([]byte{' '}, 1000)); err != nil {
						break
					}
				}
				_ = w.Close()
			}
			sent <- err
		}()
		expectTooBig(t, c)
		<-sent
		stillServes(t, s)
	})
	t.Run("a frame header announcing 2^40 bytes closes at once", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{MaxMessageSize: limit})
		nc := rawUpgrade(t, s)
		_, err := nc.Write(maskedFrame(websocket.TextMessage, true, 1<<40, []byte("{")))
		require.NoError(t, err)
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(waitLimit)))
		// The 101, connection_established, then a close frame: 0x88, a
		// length, and the code 1009 (0x03f1).
		var got []byte
		buf := make([]byte, 4096)
		for !bytes.Contains(got, []byte{0x88, 0x02, 0x03, 0xf1}) {
			n, err := nc.Read(buf)
			got = append(got, buf[:n]...)
			require.NoError(t, err, "read so far: %q", got)
		}
		stillServes(t, s)
	})
}

// hostileLevels is the nesting of TestHostileNesting's attacks: nearly
// twice what overflows the 1 GB goroutine stack of gjson's recursive
// validator (between 5,500,000 and 6,000,000 levels; between 2,500,000 and
// 2,800,000 under -race, where race_test.go sets it), so that a path that
// skipped jsonsafe would crash the test binary.
var hostileLevels = 10_000_000 // a frame of 20 MB

// deep is n levels of nested arrays.
func deep(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func TestHostileNesting(t *testing.T) {
	t.Parallel()
	// The attacks run in parallel, each with its own client: what a loaded
	// machine takes for each is spent on both cores.
	levels := hostileLevels
	// No message size limit, so the nesting reaches the handler.
	s := start(t, Config{ErrorStyle: ErrorString})
	invalid := func(t *testing.T, c *client) {
		t.Helper()
		msg := c.expect("pusher:error")
		assert.JSONEq(t, `{"code":4200,"message":"Invalid message format"}`, dataOf(t, msg).Raw)
		c.expectNoReply()
	}

	t.Run("a frame of millions of levels", func(t *testing.T) {
		t.Parallel()
		c, _ := connect(t, s)
		c.send(deep(levels))
		invalid(t, c)
		stillServes(t, s)
	})
	t.Run("inside an object", func(t *testing.T) {
		t.Parallel()
		c, _ := connect(t, s)
		c.send(`{"event":"client-x","channel":"private-x","data":` + deep(levels) + `}`)
		invalid(t, c)
		stillServes(t, s)
	})
	t.Run("as the data string of a subscribe", func(t *testing.T) {
		t.Parallel()
		c, _ := connect(t, s)
		c.send(`{"event":"pusher:subscribe","data":` + quote(deep(levels)) + `}`)
		invalid(t, c)
		stillServes(t, s)
	})
	t.Run("as presence channel_data, signed", func(t *testing.T) {
		t.Parallel()
		c, socketID := connect(t, s)
		cd := `{"user_id":"1","user_info":` + deep(levels) + `}`
		c.subscribe("presence-deep", SignChannel(s.cfg.AppKey, s.cfg.AppSecret, socketID, "presence-deep", cd), cd)
		msg := c.expect("pusher:error")
		assert.Contains(t, dataOf(t, msg).Get("message").String(), "Invalid presence subscription")
		c.expectNoReply()
		stillServes(t, s)
	})
	t.Run("as presence channel_data, not signed: the message quotes a clip", func(t *testing.T) {
		t.Parallel()
		c, _ := connect(t, s)
		c.subscribe("presence-deep", "app-key:"+strings.Repeat("0", 64), `{"user_id":`+deep(levels)+`}`)
		raw := c.readRaw()
		assert.Less(t, len(raw), 1024)
		assert.Contains(t, string(raw), "Invalid signature")
		stillServes(t, s)
	})
	t.Run("the JSON body of /broadcasting/auth", func(t *testing.T) {
		t.Parallel()
		status, _, body := httpDo(t, http.MethodPost, s.AuthURL(), "application/json", `{"socket_id":`+deep(maxAuthBody/2-20)+`}`, nil)
		assert.Equal(t, http.StatusBadRequest, status, body)
		assert.Contains(t, body, "not a JSON object")
		stillServes(t, s)
	})
	t.Run("the body of the HTTP API", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/apps/app-id/events", "/apps/app-id/batch_events"} {
			body := `{"name":` + deep(int(s.maxAPIBody()/2)-20) + `}`
			status, ans := signedPost(t, s, path, body)
			assert.Equal(t, http.StatusBadRequest, status, path)
			assert.Contains(t, ans.Get("error").String(), "Invalid JSON body", path)
			assert.Contains(t, ans.Get("error").String(), "nested deeper", path)
		}
		stillServes(t, s)
	})
}

func TestHostileQuotingIsClipped(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("A", 1<<20) // stands for 500 MB: the clip does not depend on it
	const maxReply = 1024
	var log logLines
	s := start(t, Config{Logf: log.logf})
	// The attacks run in parallel, each with its own client; once all have
	// run, no log line quotes a value whole.
	t.Cleanup(func() { assert.Less(t, len(log.longest()), maxReply, "%.300s", log.longest()) })
	reply := func(t *testing.T, c *client) string {
		t.Helper()
		raw := c.readRaw()
		assert.Less(t, len(raw), maxReply, "%.300s", raw)
		return string(raw)
	}

	ws := []struct {
		name, frame, want string
		quoted            bool // the value is quoted, clipped
	}{
		{"channel name", `{"event":"pusher:subscribe","data":{"channel":"` + huge + `"}}`, "Invalid channel name 'AAAA", true},
		{"auth key", `{"event":"pusher:subscribe","data":{"channel":"private-x","auth":"` + huge + `:00"}}`, "Invalid key in subscription auth data: 'AAAA", true},
		{"auth signature", `{"event":"pusher:subscribe","data":{"channel":"private-x","auth":"app-key:` + huge + `"}}`, "but got AAAA", true},
		{"signed channel_data", `{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":"app-key:00","channel_data":"{\"user_id\":\"` + huge + `\"}"}}`,
			`digest of `, true},
		{"client event channel", `{"event":"client-x","channel":"private-` + huge + `","data":{}}`, "not subscribed to channel private-AAAA", true},
		{"public client event channel", `{"event":"client-x","channel":"` + huge + `","data":{}}`, "only supported on private and presence channels", false},
	}
	for _, tt := range ws {
		t.Run("WebSocket "+tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := connect(t, s)
			c.send(tt.frame)
			got := reply(t, c)
			assert.Contains(t, got, tt.want)
			if tt.quoted {
				assert.Contains(t, got, "…", "cut where the value was clipped")
			}
			assert.NotContains(t, got, `"channel":`, "a channel name that is not one is not echoed")
			stillServes(t, s)
		})
	}
	t.Run("WebSocket refusal by fault quotes the auth clipped", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{})
		s.SetSubscribeFault(func(int, string) *SubscribeRefusal { return &SubscribeRefusal{Style: PusherRefusal} })
		c, _ := connect(t, s)
		c.subscribe("private-x", huge, "")
		assert.Contains(t, reply(t, c), "but got AAAA")
		s.SetSubscribeFault(nil)
		stillServes(t, s)
	})

	big := strings.Repeat("A", 200<<10) // within net/http's 1 MB of headers
	auths := []struct {
		name, method, query, body, want string
	}{
		{"channel in the query", http.MethodGet, "?socket_id=1.2&channel_name=" + big, "", "Invalid channel name 'AAAA"},
		{"channel in the body", http.MethodPost, "", "socket_id=1.2&channel_name=" + strings.Repeat("A", 60<<10), "Invalid channel name 'AAAA"},
		{"method", "PATCH" + strings.Repeat("X", 10<<10), "", "", "method is not supported"},
	}
	for _, tt := range auths {
		t.Run("auth endpoint "+tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, body := httpDo(t, tt.method, s.AuthURL()+tt.query, "application/x-www-form-urlencoded", tt.body, nil)
			assert.GreaterOrEqual(t, status, 400)
			assert.Less(t, len(body), maxReply, "%.300s", body)
			assert.Contains(t, gjson.Get(body, "message").String(), tt.want)
			stillServes(t, s)
		})
	}

	api := []struct {
		name  string
		path  string
		query func(url.Values)
		body  string
		want  string
	}{
		{"app id", "/apps/" + big + "/events", nil, "", `Unknown app id "AAAA`},
		{"auth_key", "", func(q url.Values) { q.Set("auth_key", big) }, "", `Unknown auth_key "AAAA`},
		{"auth_version", "", func(q url.Values) { q.Set("auth_version", big) }, "", `Unsupported auth_version "AAAA`},
		{"auth_timestamp", "", func(q url.Values) { q.Set("auth_timestamp", big) }, "", `auth_timestamp "AAAA`},
		{"body_md5", "", func(q url.Values) { q.Set("body_md5", big) }, "{}", `body_md5 "AAAA`},
		{"signed string", "", func(q url.Values) { q.Set("extra", big) }, "", "Invalid signature: you should have sent HmacSHA256Hex("},
		{"signature", "", func(q url.Values) { q.Set("auth_signature", big) }, "", `but you sent "AAAA`},
	}
	for _, tt := range api {
		t.Run("HTTP API "+tt.name, func(t *testing.T) {
			t.Parallel()
			q := url.Values{"auth_key": {s.AppKey()}, "auth_timestamp": {fmt.Sprint(time.Now().Unix())}, "auth_version": {"1.0"}, "auth_signature": {"00"}}
			if tt.query != nil {
				tt.query(q)
			}
			path := tt.path
			if path == "" {
				path = "/apps/app-id/events"
			}
			status, _, body := httpDo(t, http.MethodPost, s.HTTPURL()+path+"?"+q.Encode(), "application/json", tt.body, nil)
			assert.GreaterOrEqual(t, status, 400)
			assert.Less(t, len(body), maxReply, "%.300s", body)
			assert.Contains(t, gjson.Get(body, "error").String(), tt.want)
			stillServes(t, s)
		})
	}
	t.Run("HTTP API channel name", func(t *testing.T) {
		t.Parallel()
		status, ans := signedPost(t, s, "/apps/app-id/events", `{"name":"e","channel":"`+strings.Repeat("A", 500<<10)+`","data":"{}"}`)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Less(t, len(ans.Raw), maxReply)
		assert.Contains(t, ans.Get("error").String(), `Invalid channel name "AAAA`)
		stillServes(t, s)
	})

}

func TestHostileInvalidUTF8IsFixedBeforeItGoesOut(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	a, _ := join(t, s, "presence-utf8", "1")
	b, _ := join(t, s, "presence-utf8", "2")
	a.expect("pusher_internal:member_added")

	b.send("{\"event\":\"client-typing\",\"channel\":\"presence-utf8\",\"data\":{\"text\":\"caf\xe9 \xff\xfe\",\"ok\":\"é\"}}")
	raw := a.readRaw()
	require.True(t, utf8.Valid(raw), "%q", raw)
	msg := gjson.ParseBytes(raw)
	assert.Equal(t, "caf\ufffd \ufffd\ufffd", msg.Get("data.text").String())
	assert.Equal(t, "é", msg.Get("data.ok").String(), "valid UTF-8 is left alone")

	b.send("{\"event\":\"client-\xff\",\"channel\":\"presence-utf8\",\"data\":\"x\xffy\"}")
	raw = a.readRaw()
	require.True(t, utf8.Valid(raw), "%q", raw)
	assert.Equal(t, "client-\ufffd", gjson.GetBytes(raw, "event").String())
	assert.Equal(t, "x\ufffdy", gjson.GetBytes(raw, "data").String())

	// A presence user_info with invalid UTF-8 reaches the others in
	// member_added and every later subscription_succeeded.
	c, socketID := connect(t, s)
	cd := "{\"user_id\":\"3\",\"user_info\":{\"name\":\"\xff\"}}"
	auth := SignChannel(s.cfg.AppKey, s.cfg.AppSecret, socketID, "presence-utf8", cd)
	// By hand: quote would replace the invalid byte before it is sent.
	c.send(`{"event":"pusher:subscribe","data":{"channel":"presence-utf8","auth":"` + auth + `","channel_data":"` + strings.ReplaceAll(cd, `"`, `\"`) + `"}}`)
	for _, raw := range [][]byte{c.readRaw(), a.readRaw()} {
		require.True(t, utf8.Valid(raw), "%q", raw)
		assert.Contains(t, dataOf(t, gjson.ParseBytes(raw)).Raw, `\ufffd`)
	}
	stillServes(t, s)
}

// Like Reverb, the server takes any channel name: what a client names
// comes back to it (and to the channel's other members) as valid JSON and
// UTF-8, and the log quotes it clipped and escaped.
func TestHostileReverbChannelNames(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("A", 1<<20) + `\u001b[2J` + "\xff" // as JSON: ESC, then a byte that is not UTF-8
	var log logLines
	s := start(t, Config{Like: LikeReverb, Logf: log.logf})
	a, _ := connect(t, s)
	b, _ := connect(t, s)
	for _, c := range []*client{a, b} {
		c.send(`{"event":"pusher:subscribe","data":{"channel":"` + huge + `"}}`)
		raw := c.readRaw()
		require.True(t, utf8.Valid(raw))
		assert.Equal(t, "pusher_internal:subscription_succeeded", checkOut(t, raw).Get("event").String())
	}
	a.send(`{"event":"client-x","channel":"` + huge + `","data":{"n":1}}`)
	raw := b.readRaw()
	msg := checkOut(t, raw)
	assert.Equal(t, strings.Repeat("A", 1<<20)+"\x1b[2J\ufffd", msg.Get("channel").String(), "escaped in JSON, invalid UTF-8 replaced")
	a.send(`{"event":"pusher:unsubscribe","data":{"channel":"` + huge + `"}}`)
	a.expectNoReply()
	stillServes(t, s)
	assert.Less(t, len(log.longest()), 1024, "%.300s", log.longest())
	for _, l := range log.all() {
		assert.NotContains(t, l, "\x1b", "escaped in the log")
	}
}
