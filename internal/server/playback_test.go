package server

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"golang.org/x/crypto/nacl/secretbox"
)

func ev(offset time.Duration, channel, event, data string) Item {
	return Item{Offset: offset, Type: "event", Channel: channel, Event: event, Data: []byte(data)}
}

// waitPlaying blocks until n playback goroutines run: 0 proves that every
// playback has ended (no goroutine leak).
func waitPlaying(t *testing.T, s *Server, n int) {
	t.Helper()
	err := s.waitFor(testCtx(t), func() bool { return s.playing == n })
	require.NoError(t, err, "playback goroutines still running: %d, want %d", func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.playing
	}(), n)
}

// subscribeSigned subscribes c (whose socket id is socketID) to channel,
// signing private channels with the server's secret, and reads
// subscription_succeeded.
func subscribeSigned(t *testing.T, s *Server, c *client, socketID, channel string) {
	t.Helper()
	a := ""
	if needsAuth(channel) {
		a = SignChannel(s.cfg.AppKey, s.cfg.AppSecret, socketID, channel, "")
	}
	c.subscribe(channel, a, "")
	c.expect("pusher_internal:subscription_succeeded")
}

func TestPlaybackFrames(t *testing.T) {
	t.Parallel()
	const room = "presence-room.1"
	rec := &Recording{Items: []Item{
		ev(0, "chat", `App\Events\MessageSent`, `{"message":{"id":1,"content":"a \"quoted\" </b>"}}`),
		ev(time.Millisecond, "other", "NotForYou", `{}`),
		ev(2*time.Millisecond, "chat", "text", `"plain text"`),
		ev(3*time.Millisecond, "chat", "nodata", ``),
		{Offset: 4 * time.Millisecond, Type: "subscribed", Channel: "chat"},                // not replayed
		{Offset: 5 * time.Millisecond, Type: "member_added", Channel: "chat", UserID: "9"}, // not a presence channel
		ev(6*time.Millisecond, "chat", "list", ` [1,2] `),
		{Offset: 7 * time.Millisecond, Channel: "chat", Event: "untyped", Data: []byte(`{"n":1}`)}, // no type: an event
		{Offset: 8 * time.Millisecond, Type: "member_added", Channel: room, UserID: "7", Data: []byte(`{"name":"Ann"}`)},
		{Offset: 9 * time.Millisecond, Type: "event", Channel: room, Event: "client-typing", Data: []byte(`{"typing":true}`), UserID: "7"},
		{Offset: 10 * time.Millisecond, Type: "member_added", Channel: room, UserID: "8", Data: []byte(`null`)},
		{Offset: 11 * time.Millisecond, Type: "member_removed", Channel: room, UserID: "7"},
	}}
	s := start(t, Config{Recording: rec})

	c, id := connect(t, s)
	subscribeSigned(t, s, c, id, "chat")
	for _, want := range []string{
		`{"event":"App\\Events\\MessageSent","channel":"chat","data":"{\"message\":{\"id\":1,\"content\":\"a \\\"quoted\\\" </b>\"}}"}`,
		`{"event":"text","channel":"chat","data":"plain text"}`,
		`{"event":"nodata","channel":"chat","data":""}`,
		`{"event":"list","channel":"chat","data":"[1,2]"}`,
		`{"event":"untyped","channel":"chat","data":"{\"n\":1}"}`,
	} {
		assert.Equal(t, want, string(c.readRaw()))
	}
	c.expectNoReply() // nothing of "other", no member records on a public channel
	waitPlaying(t, s, 0)

	p := presenceClient(t, s, room, "1", `{}`)
	p.expect("pusher_internal:subscription_succeeded")
	for _, want := range []string{
		`{"event":"pusher_internal:member_added","channel":"presence-room.1","data":"{\"user_id\":\"7\",\"user_info\":{\"name\":\"Ann\"}}"}`,
		`{"event":"client-typing","channel":"presence-room.1","data":"{\"typing\":true}","user_id":"7"}`,
		`{"event":"pusher_internal:member_added","channel":"presence-room.1","data":"{\"user_id\":\"8\"}"}`,
		`{"event":"pusher_internal:member_removed","channel":"presence-room.1","data":"{\"user_id\":\"7\"}"}`,
	} {
		assert.Equal(t, want, string(p.readRaw()))
	}
	p.expectNoReply()
	waitPlaying(t, s, 0)
}

func TestPlaybackStartsForEachSubscription(t *testing.T) {
	t.Parallel()
	rec := &Recording{Items: []Item{ev(0, "chat", "one", `1`), ev(time.Millisecond, "chat", "two", `2`)}}
	s := start(t, Config{Recording: rec})
	a, aID := connect(t, s)
	subscribeSigned(t, s, a, aID, "chat")
	a.expect("one")
	a.expect("two")

	b, bID := connect(t, s)
	subscribeSigned(t, s, b, bID, "chat")
	b.expect("one")
	b.expect("two")
	a.expectNoReply() // a's playback is over; b's is b's alone

	// Subscribing again starts again.
	a.send(`{"event":"pusher:unsubscribe","data":{"channel":"chat"}}`)
	subscribeSigned(t, s, a, aID, "chat")
	a.expect("one")
	a.expect("two")

	// A channel the recording does not have plays nothing.
	subscribeSigned(t, s, a, aID, "empty")
	a.expectNoReply()
	waitPlaying(t, s, 0)
}

func TestPlaybackAtOnceKeepsOrderBeyondTheQueue(t *testing.T) {
	t.Parallel()
	const queueBytes = 4096
	n := 3 * queueBytes / outboundCost // more than a connection's queue holds: playback waits for room
	items := make([]Item, n)
	for i := range items {
		items[i] = ev(time.Duration(i)*time.Hour, "firehose", "e", strconv.Itoa(i)) // hours apart: Speed 0 ignores them
	}
	s := start(t, Config{Recording: &Recording{Items: items}, MaxQueueBytes: queueBytes})
	c, id := connect(t, s)
	subscribeSigned(t, s, c, id, "firehose")
	for i := range n {
		msg := c.read()
		require.Equal(t, strconv.Itoa(i), msg.Get("data").String())
	}
	assert.Equal(t, 1, s.Connections(), "a slow reader is waited for, not dropped")
	waitPlaying(t, s, 0)
}

// arrivals subscribes to channel and returns when each of n events arrived,
// measured from just before the subscribe frame was sent: the server's
// subscription moment is later, so no event may arrive before its due time.
func arrivals(t *testing.T, s *Server, channel string, n int) []time.Duration {
	t.Helper()
	c, _ := connect(t, s)
	t0 := time.Now()
	c.subscribe(channel, "", "")
	c.expect("pusher_internal:subscription_succeeded")
	var at []time.Duration
	for range n {
		c.read()
		at = append(at, time.Since(t0))
	}
	return at
}

func TestPlaybackTimingScaledBySpeed(t *testing.T) {
	t.Parallel()
	// The channel's items are recorded 1.5 s apart, starting 60 ms after
	// the recording's first item, which is on another channel 5 s into the
	// recording: a playback that timed from the recording's start instead
	// of its first item would play everything 5 s (at speed 3, 1.7 s) late.
	rec := &Recording{Items: []Item{
		ev(5*time.Second, "elsewhere", "first", `{}`),
		ev(5*time.Second+60*time.Millisecond, "chat", "a", `{}`),
		ev(5*time.Second+1560*time.Millisecond, "chat", "b", `{}`),
		ev(5*time.Second+3060*time.Millisecond, "chat", "c", `{}`),
	}}
	tests := []struct {
		speed float64
		want  []time.Duration // due times after the subscription
	}{
		{1, []time.Duration{60 * time.Millisecond, 1560 * time.Millisecond, 3060 * time.Millisecond}},
		{3, []time.Duration{20 * time.Millisecond, 520 * time.Millisecond, 1020 * time.Millisecond}},
		{0, []time.Duration{0, 0, 0}},
	}
	// No event comes before it is due; each comes within late of it. That
	// upper bound is the behaviour (a speed that plays slower than it
	// should), so it is as generous as the speeds allow: a loaded machine
	// under -race has delayed one event by 1.4 s, and at 2 s speed 3's
	// last event is still bounded before speed 1's is due (3.02 s < 3.06 s),
	// speed 1's before speed 0.5's (5.06 s < 6.12 s), and speed 0's before
	// speed 1's.
	const late = 2 * time.Second
	for _, tt := range tests {
		t.Run(fmt.Sprint("speed ", tt.speed), func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Recording: rec, Speed: tt.speed})
			at := arrivals(t, s, "chat", 3)
			for i, due := range tt.want {
				assert.GreaterOrEqual(t, at[i], due, "event %d arrived at %v, before it was due at %v", i, at[i], due)
				assert.Less(t, at[i], due+late, "event %d arrived at %v, due at %v", i, at[i], due)
			}
		})
	}
}

func TestPlaybackLoop(t *testing.T) {
	t.Parallel()
	rec := &Recording{Items: []Item{
		ev(0, "chat", "a", `{}`),
		ev(20*time.Millisecond, "chat", "b", `{}`),
		ev(40*time.Millisecond, "other", "end", `{}`), // the recording ends here
	}}
	s := start(t, Config{Recording: rec, Speed: 1, Loop: true, LoopGap: 30 * time.Millisecond})
	at := arrivals(t, s, "chat", 6)
	// A round lasts the whole recording (40 ms) plus the gap (30 ms).
	for i, due := range []time.Duration{0, 20, 70, 90, 140, 160} {
		assert.GreaterOrEqual(t, at[i], due*time.Millisecond, "event %d", i)
	}

	c, id := connect(t, s)
	subscribeSigned(t, s, c, id, "chat")
	var got []string
	for range 6 {
		got = append(got, c.read().Get("event").String())
	}
	assert.Equal(t, []string{"a", "b", "a", "b", "a", "b"}, got)
	waitPlaying(t, s, 2)
	expectStopsOnUnsubscribe(t, c, "chat")
	waitPlaying(t, s, 1) // the first connection's loop goes on
}

// expectStopsOnUnsubscribe unsubscribes c from channel: events already
// written may still arrive before the pong of a ping sent after the
// unsubscribe, but nothing of the channel after it.
func expectStopsOnUnsubscribe(t *testing.T, c *client, channel string) {
	t.Helper()
	c.send(`{"event":"pusher:unsubscribe","data":{"channel":"` + channel + `"}}`)
	c.send(`{"event":"pusher:ping","data":{}}`)
	for {
		msg := c.read()
		if msg.Get("event").String() == "pusher:pong" {
			break
		}
		require.Equal(t, channel, msg.Get("channel").String(), "only the channel's events before the pong: %s", msg.Raw)
	}
	c.expectNoReply()
}

func TestPlaybackStops(t *testing.T) {
	t.Parallel()
	// A long recording, looped: it only stops when the subscription ends.
	items := []Item{ev(0, "private-chat.1", "tick", `{}`)}
	for i := 1; i < 200; i++ {
		items = append(items, ev(time.Duration(i)*time.Millisecond, "private-chat.1", "tick", `{}`))
	}
	rec := &Recording{Items: items}

	tests := []struct {
		name string
		end  func(t *testing.T, s *Server, c *client)
	}{
		{"unsubscribe", func(t *testing.T, s *Server, c *client) {
			expectStopsOnUnsubscribe(t, c, "private-chat.1")
		}},
		{"client closes", func(t *testing.T, s *Server, c *client) {
			require.NoError(t, c.ws.Close())
			require.NoError(t, s.WaitConnections(testCtx(t), 0))
		}},
		{"server drops the connection", func(t *testing.T, s *Server, c *client) {
			s.DropAll()
			require.NoError(t, s.WaitConnections(testCtx(t), 0))
		}},
		{"server closes", func(t *testing.T, s *Server, c *client) {
			require.NoError(t, s.Close())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Recording: rec, Speed: 1, Loop: true, LoopGap: time.Millisecond})
			c, id := connect(t, s)
			subscribeSigned(t, s, c, id, "private-chat.1")
			c.expect("tick")
			waitPlaying(t, s, 1)
			tt.end(t, s, c)
			waitPlaying(t, s, 0)
		})
	}
}

func TestPlaybackWhileSilentIsDropped(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Recording: &Recording{Items: []Item{ev(0, "chat", "e", `{}`)}}})
	c, _ := connect(t, s)
	conn, err := s.WaitConn(testCtx(t), 1)
	require.NoError(t, err)
	conn.SetSilent(true)
	c.subscribe("chat", "", "")
	require.NoError(t, conn.WaitSubscribed(testCtx(t), "chat"))
	waitPlaying(t, s, 0)
	conn.SetSilent(false)
	conn.SendRaw(websocket.TextMessage, []byte(`{"event":"marker"}`))
	c.expect("marker") // neither subscription_succeeded nor the event came first
}

// authorize asks the server's /broadcasting/auth, as pusher-js does.
func authorize(t *testing.T, s *Server, socketID, channel string) gjson.Result {
	t.Helper()
	form := url.Values{"socket_id": {socketID}, "channel_name": {channel}}
	status, _, body := httpDo(t, http.MethodPost, s.AuthURL(), "application/x-www-form-urlencoded", form.Encode(), nil)
	require.Equal(t, http.StatusOK, status, body)
	return gjson.Parse(body)
}

func decrypt(t *testing.T, sharedSecretB64 string, data gjson.Result) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(sharedSecretB64)
	require.NoError(t, err)
	require.Len(t, key, 32)
	require.Equal(t, gjson.String, data.Type, "encrypted data is a JSON string")
	env := gjson.Parse(data.Str)
	nonce, err := base64.StdEncoding.DecodeString(env.Get("nonce").String())
	require.NoError(t, err)
	require.Len(t, nonce, 24)
	box, err := base64.StdEncoding.DecodeString(env.Get("ciphertext").String())
	require.NoError(t, err)
	var k [32]byte
	var n [24]byte
	copy(k[:], key)
	copy(n[:], nonce)
	plain, ok := secretbox.Open(nil, box, &n, &k)
	require.True(t, ok, "the ciphertext opens with the shared secret")
	return string(plain)
}

func TestPlaybackEncrypted(t *testing.T) {
	t.Parallel()
	const channel = "private-encrypted-chat.1"
	master := []byte(strings.Repeat("k", 32))
	rec := &Recording{Items: []Item{
		ev(0, channel, "MessageSent", `{"message":{"content":"secret ✓"}}`),
		ev(time.Millisecond, channel, "text", `"just text"`),
	}}
	s := start(t, Config{Recording: rec, EncryptionMasterKey: master})
	c, id := connect(t, s)
	ans := authorize(t, s, id, channel)
	sum := sha256.Sum256(append([]byte(channel), master...))
	require.Equal(t, base64.StdEncoding.EncodeToString(sum[:]), ans.Get("shared_secret").String())

	c.subscribe(channel, ans.Get("auth").String(), "")
	c.expect("pusher_internal:subscription_succeeded")
	m1 := c.expect("MessageSent")
	assert.JSONEq(t, `{"message":{"content":"secret ✓"}}`, decrypt(t, ans.Get("shared_secret").String(), m1.Get("data")))
	assert.NotContains(t, m1.Raw, "secret ✓")
	m2 := c.expect("text")
	assert.Equal(t, "just text", decrypt(t, ans.Get("shared_secret").String(), m2.Get("data")))
	assert.NotEqual(t, gjson.Parse(m1.Get("data").Str).Get("nonce").String(), gjson.Parse(m2.Get("data").Str).Get("nonce").String(), "a fresh nonce per event")
}

func TestPlaybackRandomMasterKeyPerServer(t *testing.T) {
	t.Parallel()
	const channel = "private-encrypted-x"
	a, b := start(t, Config{}), start(t, Config{})
	assert.NotEqual(t, a.SharedSecret(channel), b.SharedSecret(channel))
	assert.NotEqual(t, a.SharedSecret(channel), a.SharedSecret(channel+"y"))
	assert.Equal(t, a.SharedSecret(channel), a.SharedSecret(channel))
}

func TestPlaybackLogs(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var lines []string
	s := start(t, Config{Recording: &Recording{Items: []Item{ev(0, "chat", "a", `{}`), ev(0, "chat", "b", `{}`)}},
		Logf: func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, fmt.Sprintf(format, args...))
		}})
	c, id := connect(t, s)
	subscribeSigned(t, s, c, id, "chat")
	c.expect("a")
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, strings.Join(lines, "\n"), "playing 2 events on chat to socket "+id)
}

func TestServerCloseWaitsForPlayback(t *testing.T) {
	t.Parallel()
	s, err := Start(Config{Recording: &Recording{Items: []Item{ev(0, "chat", "a", `{}`), ev(time.Hour, "chat", "b", `{}`)}}, Speed: 1})
	require.NoError(t, err)
	c, id := connect(t, s)
	subscribeSigned(t, s, c, id, "chat")
	c.expect("a")
	waitPlaying(t, s, 1)
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(waitLimit):
		t.Fatal("Close did not stop a playback waiting for an event due in an hour")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Zero(t, s.playing)
}

func TestWriterDropsFramesOfAStoppedPlayback(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := connect(t, s)
	conn, err := s.WaitConn(testCtx(t), 1)
	require.NoError(t, err)
	stopped, live := &playback{}, &playback{}
	stopped.stopped.Store(true)
	conn.enqueue(outbound{kind: outMessage, msgType: websocket.TextMessage, data: []byte(`{"event":"stale"}`), pb: stopped})
	conn.enqueue(outbound{kind: outMessage, msgType: websocket.TextMessage, data: []byte(`{"event":"fresh"}`), pb: live})
	c.expect("fresh") // queued after the unsubscribe, the stale frame is not sent
}
