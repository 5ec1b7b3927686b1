package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// The behaviours where Pusher and Reverb differ, each tested in both modes
// (pusher-protocol.md §9 "Differences from Pusher", §9.1).

// joinAs connects and subscribes to channel the way the server's mode
// classifies it: signed when it needs auth, as user on a presence channel.
func joinAs(t *testing.T, s *Server, channel, user string) (*client, string) {
	t.Helper()
	c, socketID := connect(t, s)
	k := s.kindOf(channel)
	auth, channelData := "", ""
	if k.presence {
		channelData = `{"user_id":"` + user + `"}`
	}
	if k.auth {
		auth = SignChannel(s.cfg.AppKey, s.cfg.AppSecret, socketID, channel, channelData)
	}
	c.subscribe(channel, auth, channelData)
	c.expect("pusher_internal:subscription_succeeded")
	return c, socketID
}

// errorOf reads a pusher:error and returns its data, requiring the
// encoding of the mode: a JSON string with Reverb, an object with Pusher.
func errorOf(t *testing.T, like Like, msg gjson.Result) gjson.Result {
	t.Helper()
	require.Equal(t, "pusher:error", msg.Get("event").String(), "frame: %s", msg.Raw)
	if like == LikeReverb {
		return dataOf(t, msg)
	}
	d := msg.Get("data")
	require.True(t, d.IsObject(), "Pusher's error data is an object: %s", msg.Raw)
	return d
}

func TestParseLike(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Like{"reverb": LikeReverb, "Reverb": LikeReverb, " pusher ": LikePusher, "PUSHER": LikePusher} {
		got, err := ParseLike(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, strings.ToLower(strings.TrimSpace(in)), got.String())
	}
	_, err := ParseLike("soketi")
	assert.EqualError(t, err, `"soketi" is not a server to behave like: use reverb (Laravel Reverb) or pusher (Pusher Channels)`)
	assert.Equal(t, LikePusher, Config{}.Like, "the zero value is Pusher, what the client's tests expect")
	_, err = Start(Config{Like: 7})
	assert.ErrorContains(t, err, "unknown server to behave like")
}

func TestChannelKinds(t *testing.T) {
	t.Parallel()
	pusher, reverb := New(Config{}), New(Config{Like: LikeReverb})
	t.Cleanup(func() { _ = pusher.Close(); _ = reverb.Close() })
	tests := []struct {
		name           string
		pusher, reverb kind
	}{
		{"chat", kind{}, kind{}},
		{"private-chat.42", kind{auth: true}, kind{auth: true}},
		{"presence-room.1", kind{auth: true, presence: true}, kind{auth: true, presence: true}},
		{"private-encrypted-x", kind{auth: true}, kind{auth: true}},
		{"privatechat", kind{}, kind{auth: true}},
		{"presenceroom", kind{}, kind{auth: true, presence: true}},
		{"cache-news", kind{cache: true}, kind{cache: true}},
		{"cachenews", kind{}, kind{cache: true}},
		{"private-cache-x", kind{auth: true, cache: true}, kind{auth: true, cache: true}},
		{"presence-cache-x", kind{auth: true, presence: true, cache: true}, kind{auth: true, presence: true, cache: true}},
		{"private-encrypted-cache-x", kind{auth: true, cache: true}, kind{auth: true}},
		{"news-cache-x", kind{}, kind{}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.pusher, pusher.kindOf(tt.name), "pusher: %s", tt.name)
		assert.Equal(t, tt.reverb, reverb.kindOf(tt.name), "reverb: %s", tt.name)
	}
}

func TestLikeUnknownAppKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		like      Like
		closeCode int
	}{
		{LikePusher, 4001},
		{LikeReverb, websocket.CloseAbnormalClosure}, // no close frame: a TCP drop
	}
	for _, tt := range tests {
		t.Run(tt.like.String(), func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Like: tt.like})
			c := dialPath(t, s, "/app/wrong-key?protocol=7")
			d := errorOf(t, tt.like, c.read())
			assert.JSONEq(t, `{"code":4001,"message":"Application does not exist"}`, d.Raw)
			code, _ := c.expectClose()
			assert.Equal(t, tt.closeCode, code)
		})
	}
}

func TestLikeBadSignature(t *testing.T) {
	t.Parallel()
	badSig := strings.Repeat("0", 64)
	privateAuth := SignChannel(vecKey, vecSecret, vecSocketID, "private-foobar", "")
	tests := []struct {
		name   string
		frame  string
		pusher string // Pusher's code-null message; "" when it succeeds
		reverb string // Reverb's error data; "" when it succeeds
	}{
		{"wrong signature", `{"event":"pusher:subscribe","data":{"channel":"private-foobar","auth":"` + vecKey + ":" + badSig + `"}}`,
			"Invalid signature: Expected HMAC SHA256 hex digest of 1234.1234:private-foobar, but got " + badSig,
			`{"code":4009,"message":"Connection is unauthorized"}`},
		{"no auth", `{"event":"pusher:subscribe","data":{"channel":"private-foobar"}}`,
			"Invalid signature: Expected HMAC SHA256 hex digest of 1234.1234:private-foobar, but got ",
			`{"code":4009,"message":"Connection is unauthorized"}`},
		{"presence data changed after signing", `{"event":"pusher:subscribe","data":{"channel":"presence-foobar","auth":"` +
			SignChannel(vecKey, vecSecret, vecSocketID, "presence-foobar", `{"user_id":"1"}`) + `","channel_data":` + quote(`{"user_id":"2"}`) + `}}`,
			`Invalid signature: Expected HMAC SHA256 hex digest of 1234.1234:presence-foobar:{"user_id":"2"}, but got ` +
				strings.TrimPrefix(SignChannel(vecKey, vecSecret, vecSocketID, "presence-foobar", `{"user_id":"1"}`), vecKey+":"),
			`{"code":4009,"message":"Connection is unauthorized"}`},
		{"the right signature under another key", `{"event":"pusher:subscribe","data":{"channel":"private-foobar","auth":"other-key:` + strings.TrimPrefix(privateAuth, vecKey+":") + `"}}`,
			"Invalid key in subscription auth data: 'other-key'", ""}, // Reverb reads only what follows the ':'
		{"channel_data that is not JSON", `{"event":"pusher:subscribe","data":{"channel":"presence-foobar","auth":"x","channel_data":"{nope"}}`,
			"Invalid signature: Expected HMAC SHA256 hex digest of 1234.1234:presence-foobar:{nope, but got x",
			`{"code":4200,"message":"Invalid message format"}`}, // Reverb validates before it verifies
	}
	for _, tt := range tests {
		for _, like := range []Like{LikePusher, LikeReverb} {
			t.Run(tt.name+"/"+like.String(), func(t *testing.T) {
				t.Parallel()
				s := start(t, Config{Like: like, AppKey: vecKey, AppSecret: vecSecret, SocketID: func(int) string { return vecSocketID }})
				c, _ := connect(t, s)
				c.send(tt.frame)
				want := tt.pusher
				if like == LikeReverb {
					want = tt.reverb
				}
				msg := c.read()
				if want == "" {
					assert.Equal(t, "pusher_internal:subscription_succeeded", msg.Get("event").String(), "frame: %s", msg.Raw)
					return
				}
				assert.False(t, msg.Get("channel").Exists(), "no channel, so pusher-js marks no channel failed: %s", msg.Raw)
				d := errorOf(t, like, msg)
				if like == LikeReverb {
					assert.JSONEq(t, want, d.Raw)
				} else {
					assert.Equal(t, gjson.Null, d.Get("code").Type, "Pusher's code is null: %s", msg.Raw)
					assert.Equal(t, want, d.Get("message").String())
				}
				c.expectNoReply() // the connection stays open
			})
		}
	}
}

func TestLikeClientEvents(t *testing.T) {
	t.Parallel()
	type outcome struct {
		relayed string // what the other subscriber gets; "" for nothing
		err     string // the sender's pusher:error frame, decoded data in place; "" for none
	}
	tests := []struct {
		name           string
		channel        string
		frame          string
		notSubscribed  bool
		pusher, reverb outcome
	}{
		{
			name: "public channel", channel: "chat",
			frame:  `{"event":"client-typing","channel":"chat","data":{"typing":true}}`,
			pusher: outcome{err: `{"event":"pusher:error","channel":"chat","data":{"code":4301,"message":"Client event rejected - only supported on private and presence channels"}}`},
			reverb: outcome{relayed: `{"event":"client-typing","channel":"chat","data":{"typing":true}}`},
		},
		{
			name: "private channel", channel: "private-chat.1",
			frame:  `{"event":"client-typing","channel":"private-chat.1","data":{"typing":true}}`,
			pusher: outcome{relayed: `{"event":"client-typing","channel":"private-chat.1","data":{"typing":true}}`},
			reverb: outcome{relayed: `{"event":"client-typing","channel":"private-chat.1","data":{"typing":true}}`},
		},
		{
			name: "presence channel, with the sender's user_id", channel: "presence-room.1",
			frame:  `{"event":"client-typing","channel":"presence-room.1","data":{},"user_id":"forged"}`,
			pusher: outcome{relayed: `{"event":"client-typing","channel":"presence-room.1","data":{},"user_id":"sender"}`},
			reverb: outcome{relayed: `{"event":"client-typing","channel":"presence-room.1","data":{},"user_id":"sender"}`},
		},
		{
			name: "string data", channel: "private-chat.2",
			frame:  `{"event":"client-typing","channel":"private-chat.2","data":"typing"}`,
			pusher: outcome{relayed: `{"event":"client-typing","channel":"private-chat.2","data":"typing"}`},
			reverb: outcome{err: `{"event":"pusher:error","data":{"code":4200,"message":"Invalid message format"}}`},
		},
		{
			name: "data as a JSON string holding an object", channel: "private-chat.3",
			frame:  `{"event":"client-typing","channel":"private-chat.3","data":"{\"typing\":true}"}`,
			pusher: outcome{relayed: `{"event":"client-typing","channel":"private-chat.3","data":"{\"typing\":true}"}`},
			reverb: outcome{relayed: `{"event":"client-typing","channel":"private-chat.3","data":{"typing":true}}`},
		},
		{
			name: "no data", channel: "private-chat.4",
			frame:  `{"event":"client-typing","channel":"private-chat.4"}`,
			pusher: outcome{relayed: `{"event":"client-typing","channel":"private-chat.4"}`},
			reverb: outcome{relayed: `{"event":"client-typing","channel":"private-chat.4","data":null}`},
		},
		{
			name: "number data", channel: "private-chat.5",
			frame:  `{"event":"client-typing","channel":"private-chat.5","data":5}`,
			pusher: outcome{relayed: `{"event":"client-typing","channel":"private-chat.5","data":5}`},
			reverb: outcome{err: `{"event":"pusher:error","data":{"code":4200,"message":"Invalid message format"}}`},
		},
		{
			name: "sender not subscribed", channel: "private-chat.6", notSubscribed: true,
			frame:  `{"event":"client-typing","channel":"private-chat.6","data":{}}`,
			pusher: outcome{err: `{"event":"pusher:error","channel":"private-chat.6","data":{"code":4301,"message":"Client event rejected - not subscribed to channel private-chat.6"}}`},
			reverb: outcome{err: `{"event":"pusher:error","data":{"code":4009,"message":"The client is not a member of the specified channel."}}`},
		},
	}
	for _, tt := range tests {
		for _, like := range []Like{LikePusher, LikeReverb} {
			t.Run(tt.name+"/"+like.String(), func(t *testing.T) {
				t.Parallel()
				s := start(t, Config{Like: like})
				listener, _ := joinAs(t, s, tt.channel, "listener")
				var sender *client
				if tt.notSubscribed {
					sender, _ = joinAs(t, s, "elsewhere", "")
				} else {
					sender, _ = joinAs(t, s, tt.channel, "sender")
					if s.kindOf(tt.channel).presence {
						listener.expect("pusher_internal:member_added")
					}
				}
				want := tt.pusher
				if like == LikeReverb {
					want = tt.reverb
				}
				sender.send(tt.frame)
				if want.err != "" {
					msg := sender.read()
					got := msg.Raw
					if like == LikeReverb {
						// Compare the decoded data: Reverb's is a JSON string.
						got = strings.Replace(got, msg.Get("data").Raw, dataOf(t, msg).Raw, 1)
					}
					assert.JSONEq(t, want.err, got)
				} else {
					sender.expectNoReply()
				}
				if want.relayed != "" {
					assert.JSONEq(t, want.relayed, string(listener.readRaw()))
				} else {
					listener.expectNoReply()
				}
			})
		}
	}
}

func TestLikePong(t *testing.T) {
	t.Parallel()
	for like, want := range map[Like]string{
		LikePusher: `{"event":"pusher:pong","data":"{}"}`,
		LikeReverb: `{"event":"pusher:pong"}`,
	} {
		t.Run(like.String(), func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Like: like})
			c, _ := connect(t, s)
			c.send(`{"event":"pusher:ping","data":{}}`)
			assert.Equal(t, want, string(c.readRaw()))
		})
	}
}

func TestLikeOtherEvents(t *testing.T) {
	t.Parallel()
	frames := []struct {
		frame  string
		reverb bool // Reverb answers 4200; Pusher ignores them all
	}{
		{`{"event":"pusher:signin","data":{"auth":"x","user_data":"{}"}}`, true},
		{`{"event":"pusher:anything"}`, true},
		{`{"event":"hello"}`, true}, // no channel
		{`{"event":"hello","channel":"x","data":"text"}`, true},
		{`{"event":"hello","channel":"x","data":{}}`, false},
		{`{"event":"pusher_internal:member_added","channel":"x"}`, false},
		{`{"event":"pusher:pong"}`, false},
	}
	for _, like := range []Like{LikePusher, LikeReverb} {
		t.Run(like.String(), func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Like: like})
			c, _ := connect(t, s)
			for _, f := range frames {
				c.send(f.frame)
				if like == LikeReverb && f.reverb {
					assert.JSONEq(t, `{"code":4200,"message":"Invalid message format"}`, errorOf(t, like, c.read()).Raw, f.frame)
				}
				c.expectNoReply()
			}
		})
	}
}

func TestLikeChannelNames(t *testing.T) {
	t.Parallel()
	for _, like := range []Like{LikePusher, LikeReverb} {
		t.Run(like.String(), func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Like: like})
			c, _ := connect(t, s)
			const name = "chat:42 ✓"
			c.subscribe(name, "", "")
			msg := c.read()
			status, _ := signedPost(t, s, "/apps/app-id/events", `{"name":"e","channel":`+quote(name)+`,"data":"{}"}`)
			if like == LikePusher {
				assert.Equal(t, "Invalid channel name 'chat:42 ✓'", errorOf(t, like, msg).Get("message").String())
				assert.Equal(t, http.StatusBadRequest, status)
				return
			}
			// Reverb validates no names.
			assert.Equal(t, "pusher_internal:subscription_succeeded", msg.Get("event").String(), "frame: %s", msg.Raw)
			assert.Equal(t, name, msg.Get("channel").String())
			assert.Equal(t, http.StatusOK, status)
			assert.Equal(t, name, c.expect("e").Get("channel").String())

			c.subscribe("", "", "")
			assert.JSONEq(t, `{"code":4200,"message":"Invalid message format"}`, errorOf(t, like, c.read()).Raw, "but a name is needed")
		})
	}
}

func TestLikeSubscribingTwice(t *testing.T) {
	t.Parallel()
	for _, like := range []Like{LikePusher, LikeReverb} {
		t.Run(like.String(), func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Like: like})
			a, _ := joinAs(t, s, "presence-room.1", "1")
			b, bID := joinAs(t, s, "presence-room.1", "2")
			a.expect("pusher_internal:member_added")
			cd := `{"user_id":"2"}`
			b.subscribe("presence-room.1", SignChannel(s.AppKey(), s.AppSecret(), bID, "presence-room.1", cd), cd)
			msg := b.read()
			if like == LikePusher {
				assert.Equal(t, "Existing subscription to channel presence-room.1", errorOf(t, like, msg).Get("message").String())
			} else {
				assert.Equal(t, "pusher_internal:subscription_succeeded", msg.Get("event").String(), "Reverb confirms it again: %s", msg.Raw)
				assert.JSONEq(t, `{"presence":{"ids":["1","2"],"hash":{"1":null,"2":null},"count":2}}`, dataOf(t, msg).Raw)
			}
			a.expectNoReply() // no second member_added
			assert.Equal(t, 2, s.Subscribers("presence-room.1"))
		})
	}
}

func TestServerPings(t *testing.T) {
	t.Parallel()
	// Where the test's client must answer within the interval, the
	// interval is long (a loaded machine under -race stalls a goroutine
	// for a good part of a second); where the server alone keeps time, it
	// is short. Times are measured from just before what the server counts
	// from (the dial, the last frame sent), so the server's moment is later
	// and each bound is a lower one.
	const (
		interval = 100 * time.Millisecond
		patient  = time.Second
	)
	ping := `{"event":"pusher:ping"}`

	t.Run("reverb: answered pings keep it alive", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{Like: LikeReverb, PingInterval: patient})
		silent := time.Now()
		c, _ := connect(t, s)
		for i := range 3 { // the third ping, not a 4201, proves the two answers kept it
			assert.Equal(t, ping, string(c.readRaw()), "ping %d", i)
			assert.GreaterOrEqual(t, time.Since(silent), patient, "ping %d: a whole interval of silence first", i)
			// The client stays silent for a quarter of the interval, so its
			// answer is late though in time: the next ping is due an
			// interval after the answer, not after the ping.
			time.Sleep(patient / 4)
			silent = time.Now()
			c.send(`{"event":"pusher:pong","data":{}}`)
		}
		assert.Equal(t, 1, s.Connections())
	})

	t.Run("reverb: a ping after the interval, 4201 and a drop when unanswered", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{Like: LikeReverb, PingInterval: interval})
		dialed := time.Now()
		c, _ := connect(t, s)
		assert.Equal(t, ping, string(c.readRaw()))
		assert.GreaterOrEqual(t, time.Since(dialed), interval, "a whole interval of silence before the ping")
		assert.JSONEq(t, `{"code":4201,"message":"Pong reply not received in time"}`, errorOf(t, LikeReverb, c.read()).Raw)
		assert.GreaterOrEqual(t, time.Since(dialed), 2*interval, "a whole interval to answer the ping")
		code, _ := c.expectClose()
		assert.Equal(t, websocket.CloseAbnormalClosure, code, "Reverb sends no close frame")
		require.NoError(t, s.WaitConnections(testCtx(t), 0))
	})

	t.Run("reverb: a ping frame to a client that uses control frames", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{Like: LikeReverb, PingInterval: interval})
		c, _ := connect(t, s)
		pings := make(chan string, 4)
		c.ws.SetPingHandler(func(appData string) error {
			pings <- appData // and no pong: the server must drop it
			return nil
		})
		require.NoError(t, c.ws.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(waitLimit)))
		msg := c.read() // the ping frame is handled while reading
		require.Len(t, pings, 1, "a ping frame, not a pusher:ping message, came first")
		assert.JSONEq(t, `{"code":4201,"message":"Pong reply not received in time"}`, errorOf(t, LikeReverb, msg).Raw)
		code, _ := c.expectClose()
		assert.Equal(t, websocket.CloseAbnormalClosure, code)
	})

	t.Run("pusher: a close frame with 4201 when unanswered", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{PingInterval: interval})
		c, _ := connect(t, s)
		c.expect("pusher:ping")
		code, reason := c.expectClose()
		assert.Equal(t, 4201, code)
		assert.Equal(t, "Pong reply not received", reason)
	})

	t.Run("reverb: a client that keeps talking is not pinged", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{Like: LikeReverb, PingInterval: patient})
		c, _ := connect(t, s)
		tick := time.NewTicker(patient / 20)
		defer tick.Stop()
		for range 50 { // two and a half intervals, never silent for one
			<-tick.C
			c.send(`{"event":"pusher:ping","data":{}}`)
			assert.Equal(t, `{"event":"pusher:pong"}`, string(c.readRaw()))
		}
	})

	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		assert.Zero(t, (&Config{}).pingInterval(), "Pusher mode: no pings, as the client's tests expect")
		r := Config{Like: LikeReverb}
		r.setDefaults()
		assert.Equal(t, 30*time.Second, r.pingInterval(), "Reverb mode: activity_timeout")
		assert.Equal(t, 7*time.Second, (&Config{Like: LikeReverb, ActivityTimeout: 7}).pingInterval())
		assert.Zero(t, (&Config{Like: LikeReverb, PingInterval: -1}).pingInterval())
	})
}
