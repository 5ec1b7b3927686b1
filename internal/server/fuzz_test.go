package server

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/jsonsafe"
)

// panicLog is a Config.Logf that keeps net/http's reports of a panic:
// net/http recovers a panicking handler and logs it (to Logf, see Start),
// so a panic in a connection's handling shows there, not as a crash.
type panicLog struct {
	mu     sync.Mutex
	panics []string
}

func (l *panicLog) logf(format string, args ...any) {
	if format != "%s" || len(args) != 1 { // the server's own lines
		return
	}
	if line, _ := args[0].(string); strings.Contains(line, "panic") {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.panics = append(l.panics, line)
	}
}

func (l *panicLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.panics...)
}

// checkOut fails unless raw is a frame a browser accepts: valid UTF-8, and
// a JSON object with an event.
func checkOut(t *testing.T, raw []byte) gjson.Result {
	t.Helper()
	require.True(t, utf8.Valid(raw), "invalid UTF-8 sent: %.300q", raw)
	require.NoError(t, jsonsafe.Valid(raw), "invalid JSON sent: %.300q", raw)
	msg := gjson.ParseBytes(raw)
	require.True(t, msg.IsObject(), "not an object: %.300q", raw)
	require.Equal(t, gjson.String, msg.Get("event").Type, "no event: %.300q", raw)
	return msg
}

// readUntil reads c's frames, checking each, until one has event.
func readUntil(t *testing.T, c *client, event string) {
	t.Helper()
	for {
		if checkOut(t, c.readRaw()).Get("event").String() == event {
			return
		}
	}
}

// FuzzServerMessage sends arbitrary text frames through a real WebSocket,
// from a client subscribed to a private, a presence and a public channel
// shared with a well-behaved peer. The server must not panic, must answer
// the sender and relay to the peer only frames a browser accepts, and must
// go on serving: after every input the sender's ping is answered, the peer
// receives a published event, and at the end a new client is served.
func FuzzServerMessage(f *testing.F) { fuzzServerMessage(f, LikePusher) }

// FuzzServerMessageReverb is FuzzServerMessage against the server as
// replay --serve and demo run it: like Reverb, which relays client events
// on public channels, accepts any channel name and decodes string data.
func FuzzServerMessageReverb(f *testing.F) { fuzzServerMessage(f, LikeReverb) }

func fuzzServerMessage(f *testing.F, like Like) {
	const (
		private  = "private-fuzz"
		presence = "presence-fuzz"
		public   = "fuzz"
	)
	seeds := []string{
		`{"event":"pusher:ping","data":{}}`,
		`{"event":"pusher:subscribe","data":{"channel":"chat"}}`,
		`{"event":"pusher:subscribe","data":"{\"channel\":\"chat\"}"}`,
		`{"event":"pusher:subscribe","data":{"channel":"private-x","auth":"app-key:00"}}`,
		`{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":"app-key:00","channel_data":"{\"user_id\":1}"}}`,
		`{"event":"pusher:unsubscribe","data":{"channel":"` + private + `"}}`,
		`{"event":"pusher:unsubscribe","data":{"channel":"` + presence + `"}}`,
		`{"event":"client-typing","channel":"` + private + `","data":{"typing":true}}`,
		`{"event":"client-typing","channel":"` + presence + `","data":{"user_id":"spoofed"},"user_id":"spoofed"}`,
		`{"event":"client-x","channel":"` + public + `","data":{}}`,
		"{\"event\":\"client-x\",\"channel\":\"" + private + "\",\"data\":{\"t\":\"caf\xe9 \xff\"}}",
		"{\"event\":\"client-\xff\",\"channel\":\"" + private + "\",\"data\":\"\xc3\x28\"}",
		"{\"event\":\"client-\x1b]52;c;aGk=\x07\",\"channel\":\"" + private + "\",\"data\":\"\x1b[2J\u202e\"}",
		`{"event":"pusher:subscribe","data":{"channel":"` + strings.Repeat("A", 100<<10) + `"}}`,
		`{"event":"client-x","channel":"private-` + strings.Repeat("A", 100<<10) + `","data":{}}`,
		`{"event":"pusher:subscribe","data":{"channel":"private-x","auth":"` + strings.Repeat("k", 100<<10) + `:00"}}`,
		deep(100_000),
		`{"event":"pusher:subscribe","data":` + quote(deep(100_000)) + `}`,
		`{"event":"client-x","channel":"` + private + `","data":` + deep(100_000) + `}`,
		`{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":"app-key:00","channel_data":` + quote(deep(100_000)) + `}}`,
		`{"event":`, `[1,2]`, `{"data":{}}`, `{"event":null}`, `{"event":1}`, `"x"`, ``, "\x00\x01\x02",
		`{"event":"pusher:subscribe","data":{"channel":"chat"},"event":"pusher:ping"}`,
		`{"event":"pusher:subscribe","data":{"channel":["chat"]}}`,
		`{"event":"pusher:signin","data":{"auth":"x","user_data":"{}"}}`,
		"{\"event\":\"client-x\",\"channel\":\"" + public + "\",\"data\":\"{\\\"t\\\":\\\"\xff\\\"}\"}",
		`{"event":"pusher:subscribe","data":{"channel":"cache-fuzz"}}`,
		"{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"\x1b[2J\xff\"}}",
		`{"event":"hello","channel":"` + public + `","data":[1]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}

	var panics panicLog
	s, err := Start(Config{Like: like, NoHistory: true, Logf: panics.logf}) // no message size limit: deep inputs reach the handler
	require.NoError(f, err)
	f.Cleanup(func() { _ = s.Close() })

	var peer *client
	var published int
	f.Fuzz(func(t *testing.T, frame []byte) {
		if peer == nil {
			// The peer outlives this input's t: its reads take their
			// deadline from it, and it is closed with the server.
			peer = peerOf(t, s, private, presence, public)
		}
		sender, socketID := join(t, s, private, "")
		for _, ch := range []string{presence, public} {
			subscribeAs(t, s, sender, socketID, ch, "sender")
		}

		require.NoError(t, sender.ws.WriteMessage(websocket.TextMessage, frame))
		sender.send(`{"event":"pusher:ping","data":{}}`)
		readUntil(t, sender, "pusher:pong")
		require.NoError(t, sender.ws.Close())

		published++
		s.Publish(public, "marker", strconv.Itoa(published), "")
		peer.t = t
		readUntil(t, peer, "marker")
		stillServes(t, s)
		require.Empty(t, panics.get())
	})
}

// peerOf connects the fuzz target's well-behaved peer, subscribed to every
// channel; it is not tied to one input's cleanup.
func peerOf(t *testing.T, s *Server, channels ...string) *client {
	ws, resp, err := websocket.DefaultDialer.Dial(s.URL()+"/app/"+s.AppKey()+"?protocol=7", nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	c := &client{t: t, ws: ws}
	socketID := payload(c.expect("pusher:connection_established").Get("data")).Get("socket_id").String()
	for _, ch := range channels {
		subscribeAs(t, s, c, socketID, ch, "peer")
	}
	return c
}

// subscribeAs subscribes c to channel, signed, as user on a presence
// channel, and reads the confirmation (and anything before it).
func subscribeAs(t *testing.T, s *Server, c *client, socketID, channel, user string) {
	t.Helper()
	auth, cd := "", ""
	if isPresence(channel) {
		cd = `{"user_id":"` + user + `"}`
	}
	if needsAuth(channel) {
		auth = SignChannel(s.AppKey(), s.AppSecret(), socketID, channel, cd)
	}
	c.subscribe(channel, auth, cd)
	readUntil(t, c, "pusher_internal:subscription_succeeded")
}
