package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// The Pusher documentation's test vector (pusher-protocol.md §7).
const (
	vecKey      = "278d425bdf160c739803"
	vecSecret   = "7ad3773142a6692b25b8"
	vecSocketID = "1234.1234"
)

// waitLimit bounds every wait for something the test expects to happen (a
// frame, a connection, a subscription): it only ends a test that is
// failing, so it is generous, far beyond what a loaded machine under -race
// takes (20 MB hostile frames have taken over 5 s to be answered there).
// A wait that is the behaviour under test has its own bound.
const waitLimit = 60 * time.Second

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

// vectorServer uses the §7 key and secret and gives every connection the
// vector's socket id, so the documented signatures are valid.
func vectorServer(t *testing.T) *Server {
	return start(t, Config{AppKey: vecKey, AppSecret: vecSecret, SocketID: func(int) string { return vecSocketID }})
}

// client is a plain gorilla client speaking the protocol by hand.
type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialPath(t *testing.T, s *Server, path string) *client {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(s.URL()+path, nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = ws.Close() })
	return &client{t: t, ws: ws}
}

func dial(t *testing.T, s *Server) *client {
	t.Helper()
	return dialPath(t, s, "/app/"+s.cfg.AppKey+"?protocol=7&client=test&version=1")
}

// connect dials and reads connection_established; it returns the socket id.
func connect(t *testing.T, s *Server) (*client, string) {
	t.Helper()
	c := dial(t, s)
	msg := c.expect("pusher:connection_established")
	return c, payload(msg.Get("data")).Get("socket_id").String()
}

func (c *client) send(frame string) {
	c.t.Helper()
	require.NoError(c.t, c.ws.WriteMessage(websocket.TextMessage, []byte(frame)))
}

func (c *client) readFrame() (int, []byte, error) {
	require.NoError(c.t, c.ws.SetReadDeadline(time.Now().Add(waitLimit)))
	return c.ws.ReadMessage()
}

func (c *client) readRaw() []byte {
	c.t.Helper()
	mt, data, err := c.readFrame()
	require.NoError(c.t, err)
	require.Equal(c.t, websocket.TextMessage, mt)
	return data
}

func (c *client) read() gjson.Result {
	c.t.Helper()
	data := c.readRaw()
	require.True(c.t, gjson.ValidBytes(data), "invalid JSON from server: %s", data)
	return gjson.ParseBytes(data)
}

func (c *client) expect(event string) gjson.Result {
	c.t.Helper()
	msg := c.read()
	require.Equal(c.t, event, msg.Get("event").String(), "frame: %s", msg.Raw)
	return msg
}

// expectNoReply proves that the server sent nothing in reply to what this
// client sent before: it sends pusher:ping, and the server, handling frames
// in order, must answer pusher:pong next.
func (c *client) expectNoReply() {
	c.t.Helper()
	c.send(`{"event":"pusher:ping","data":{}}`)
	c.expect("pusher:pong")
}

// expectClose reads until the connection ends and returns the close code.
func (c *client) expectClose() (int, string) {
	c.t.Helper()
	_, data, err := c.readFrame()
	var ce *websocket.CloseError
	require.ErrorAs(c.t, err, &ce, "want a close, got frame %s", data)
	return ce.Code, ce.Text
}

func (c *client) subscribe(channel, auth, channelData string) {
	c.t.Helper()
	d := `{"channel":` + quote(channel)
	if auth != "" {
		d += `,"auth":` + quote(auth)
	}
	if channelData != "" {
		d += `,"channel_data":` + quote(channelData)
	}
	c.send(`{"event":"pusher:subscribe","data":` + d + `}}`)
}

func quote(s string) string { return string(jsonString(s)) }

// dataOf returns a server frame's data decoded once from its JSON string
// and requires that it was a string.
func dataOf(t *testing.T, msg gjson.Result) gjson.Result {
	t.Helper()
	d := msg.Get("data")
	require.Equal(t, gjson.String, d.Type, "data must be a JSON string: %s", msg.Raw)
	require.True(t, gjson.Valid(d.Str), "data must hold JSON: %s", msg.Raw)
	return gjson.Parse(d.Str)
}

func TestSignChannelVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, channel, channelData, want string
	}{
		{"private", "private-foobar", "", vecKey + ":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"},
		{"presence", "presence-foobar", `{"user_id":10,"user_info":{"name":"Mr. Pusher"}}`, vecKey + ":afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, SignChannel(vecKey, vecSecret, vecSocketID, tt.channel, tt.channelData))
		})
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		cfg         Config
		wantTimeout int64
	}{
		{"default activity timeout", Config{}, 30},
		{"configured activity timeout", Config{ActivityTimeout: 7}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, tt.cfg)
			assert.Regexp(t, `^127\.0\.0\.1:\d+$`, s.Addr())
			assert.Equal(t, "ws://"+s.Addr(), s.URL())

			c := dial(t, s)
			msg := c.expect("pusher:connection_established")
			assert.False(t, msg.Get("channel").Exists())
			d := dataOf(t, msg)
			assert.Regexp(t, `^\d+\.\d+$`, d.Get("socket_id").String())
			assert.Equal(t, tt.wantTimeout, d.Get("activity_timeout").Int())
			require.NoError(t, s.WaitConnections(testCtx(t), 1))

			conn, err := s.WaitConn(testCtx(t), 1)
			require.NoError(t, err)
			assert.Equal(t, 1, conn.Number())
			assert.Equal(t, d.Get("socket_id").String(), conn.SocketID())
		})
	}
}

func TestSocketIDsAreUnique(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	seen := map[string]bool{}
	for range 20 {
		_, id := connect(t, s)
		assert.False(t, seen[id], "socket id %s reused", id)
		seen[id] = true
	}
}

func TestWrongAppKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		style    ErrorStyle
		dataType gjson.Type
	}{
		{"object error data", ErrorObject, gjson.JSON},
		{"string error data", ErrorString, gjson.String},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{ErrorStyle: tt.style})
			c := dialPath(t, s, "/app/wrong-key?protocol=7")
			msg := c.expect("pusher:error")
			assert.Equal(t, tt.dataType, msg.Get("data").Type)
			d := payload(msg.Get("data"))
			assert.Equal(t, int64(4001), d.Get("code").Int())
			assert.Equal(t, "Application does not exist", d.Get("message").String())
			code, _ := c.expectClose()
			assert.Equal(t, 4001, code)
		})
	}
}

func TestOtherPathsAreNotFound(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	_, resp, err := websocket.DefaultDialer.Dial(s.URL()+"/apps/app-key", nil)
	require.Error(t, err)
	require.NotNil(t, resp)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestHandlerMountedElsewhere(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		hs.Close()
	})
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/app/app-key", nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	c := &client{t: t, ws: ws}
	c.expect("pusher:connection_established")
	assert.Empty(t, s.Addr())
	require.NoError(t, s.WaitConnections(testCtx(t), 1))
}

func TestPing(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := connect(t, s)

	pongs := make(chan string, 1)
	c.ws.SetPongHandler(func(appData string) error {
		pongs <- appData
		return nil
	})
	require.NoError(t, c.ws.WriteControl(websocket.PingMessage, []byte("hello"), time.Now().Add(waitLimit)))
	c.send(`{"event":"pusher:ping","data":{}}`)
	assert.JSONEq(t, `{"event":"pusher:pong","data":"{}"}`, string(c.readRaw()))
	// The pong frame was answered before pusher:ping was read, so the read
	// above has handled it.
	select {
	case got := <-pongs:
		assert.Equal(t, "hello", got)
	default:
		t.Fatal("no pong frame for the WebSocket ping")
	}
}

func TestSubscribe(t *testing.T) {
	t.Parallel()
	presenceData := `{"user_id":10,"user_info":{"name":"Mr. Pusher"}}`
	presenceAuth := vecKey + ":afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c"
	privateAuth := vecKey + ":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
	badSig := strings.Repeat("0", 64)

	tests := []struct {
		name    string
		frame   string
		channel string // subscribed on success
		wantOK  string // subscription_succeeded data, when it succeeds
		wantErr string // pusher:error message (code null), when it fails
		errCode int64  // when the error has a code
	}{
		{
			name:    "public channel",
			frame:   `{"event":"pusher:subscribe","data":{"auth":"","channel":"chat"}}`,
			channel: "chat", wantOK: `{}`,
		},
		{
			name:    "data as a JSON string, as Reverb accepts",
			frame:   `{"event":"pusher:subscribe","data":"{\"channel\":\"chat\"}"}`,
			channel: "chat", wantOK: `{}`,
		},
		{
			name:    "private channel with the vector signature",
			frame:   `{"event":"pusher:subscribe","data":{"channel":"private-foobar","auth":"` + privateAuth + `"}}`,
			channel: "private-foobar", wantOK: `{}`,
		},
		{
			name:    "presence channel with the vector signature",
			frame:   `{"event":"pusher:subscribe","data":{"channel":"presence-foobar","auth":"` + presenceAuth + `","channel_data":` + quote(presenceData) + `}}`,
			channel: "presence-foobar",
			wantOK:  `{"presence":{"ids":["10"],"hash":{"10":{"name":"Mr. Pusher"}},"count":1}}`,
		},
		{
			name:    "encrypted channel signed like a private one",
			frame:   `{"event":"pusher:subscribe","data":{"channel":"private-encrypted-x","auth":"` + SignChannel(vecKey, vecSecret, vecSocketID, "private-encrypted-x", "") + `"}}`,
			channel: "private-encrypted-x", wantOK: `{}`,
		},
		{
			name:    "private channel with a bad signature",
			frame:   `{"event":"pusher:subscribe","data":{"channel":"private-foobar","auth":"` + vecKey + ":" + badSig + `"}}`,
			wantErr: "Invalid signature: Expected HMAC SHA256 hex digest of 1234.1234:private-foobar, but got " + badSig,
		},
		{
			name:    "private channel signed for another channel",
			frame:   `{"event":"pusher:subscribe","data":{"channel":"private-other","auth":"` + privateAuth + `"}}`,
			wantErr: "Invalid signature: Expected HMAC SHA256 hex digest of 1234.1234:private-other, but got 58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
		},
		{
			name:    "private channel without auth",
			frame:   `{"event":"pusher:subscribe","data":{"channel":"private-foobar"}}`,
			wantErr: "Invalid signature: Expected HMAC SHA256 hex digest of 1234.1234:private-foobar, but got ",
		},
		{
			name:    "private channel with another app's key",
			frame:   `{"event":"pusher:subscribe","data":{"channel":"private-foobar","auth":"other-key:` + badSig + `"}}`,
			wantErr: "Invalid key in subscription auth data: 'other-key'",
		},
		{
			name:    "presence channel data changed after signing",
			frame:   `{"event":"pusher:subscribe","data":{"channel":"presence-foobar","auth":"` + presenceAuth + `","channel_data":` + quote(`{"user_id":11}`) + `}}`,
			wantErr: "Invalid signature: Expected HMAC SHA256 hex digest of 1234.1234:presence-foobar:{\"user_id\":11}, but got afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c",
		},
		{
			name:    "presence channel without channel_data",
			frame:   `{"event":"pusher:subscribe","data":{"channel":"presence-foobar","auth":"` + presenceAuth + `"}}`,
			wantErr: "Invalid presence subscription: channel_data must be a JSON string with a user_id",
		},
		{
			name: "presence channel_data without user_id",
			frame: `{"event":"pusher:subscribe","data":{"channel":"presence-foobar","auth":"` +
				SignChannel(vecKey, vecSecret, vecSocketID, "presence-foobar", `{"user_info":{}}`) + `","channel_data":` + quote(`{"user_info":{}}`) + `}}`,
			wantErr: "Invalid presence subscription: channel_data must be a JSON string with a user_id",
		},
		{
			name:    "invalid channel name",
			frame:   `{"event":"pusher:subscribe","data":{"channel":"bad name"}}`,
			wantErr: "Invalid channel name 'bad name'",
		},
		{
			name:    "no data",
			frame:   `{"event":"pusher:subscribe"}`,
			wantErr: "Invalid message format", errCode: 4200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := vectorServer(t)
			c, socketID := connect(t, s)
			require.Equal(t, vecSocketID, socketID)
			c.send(tt.frame)

			if tt.wantErr != "" {
				msg := c.expect("pusher:error")
				assert.False(t, msg.Get("channel").Exists(), "errors about subscriptions carry no channel")
				d := msg.Get("data")
				require.True(t, d.IsObject(), "ErrorObject style: %s", msg.Raw)
				assert.Equal(t, tt.wantErr, d.Get("message").String())
				if tt.errCode == 0 {
					assert.Equal(t, gjson.Null, d.Get("code").Type, "Pusher's code is null: %s", msg.Raw)
				} else {
					assert.Equal(t, tt.errCode, d.Get("code").Int())
				}
				c.expectNoReply() // the connection stays open
				assert.Zero(t, s.Connections()-1)
				return
			}
			msg := c.expect("pusher_internal:subscription_succeeded")
			assert.Equal(t, tt.channel, msg.Get("channel").String())
			assert.JSONEq(t, tt.wantOK, dataOf(t, msg).Raw)
			assert.Equal(t, 1, s.Subscribers(tt.channel))
			assert.Equal(t, 1, s.SubscribeCount(tt.channel))
		})
	}
}

func TestExistingSubscription(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := connect(t, s)
	c.subscribe("chat", "", "")
	c.expect("pusher_internal:subscription_succeeded")
	c.subscribe("chat", "", "")
	msg := c.expect("pusher:error")
	assert.Equal(t, "Existing subscription to channel chat", msg.Get("data.message").String())
	assert.Equal(t, 2, s.SubscribeCount("chat"))
	assert.Equal(t, 1, s.Subscribers("chat"))
}

func TestUnsubscribe(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := connect(t, s)
	c.subscribe("chat", "", "")
	c.expect("pusher_internal:subscription_succeeded")
	require.NoError(t, s.WaitSubscribed(testCtx(t), "chat", 1))

	c.send(`{"event":"pusher:unsubscribe","data":{"channel":"chat"}}`)
	c.expectNoReply()
	assert.Equal(t, 0, s.Subscribers("chat"))
	s.Publish("chat", "after", "{}", "")
	c.expectNoReply()
	c.subscribe("chat", "", "") // allowed again
	c.expect("pusher_internal:subscription_succeeded")
}

// presenceClient connects and joins channel as userID on a vector server.
func presenceClient(t *testing.T, s *Server, channel, userID, info string) *client {
	t.Helper()
	c, socketID := connect(t, s)
	cd := `{"user_id":` + quote(userID) + `,"user_info":` + info + `}`
	c.subscribe(channel, SignChannel(s.cfg.AppKey, s.cfg.AppSecret, socketID, channel, cd), cd)
	return c
}

func TestPresenceMembers(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	const room = "presence-room.1"

	alice := presenceClient(t, s, room, "1", `{"name":"Alice"}`)
	d := dataOf(t, alice.expect("pusher_internal:subscription_succeeded"))
	assert.JSONEq(t, `{"presence":{"ids":["1"],"hash":{"1":{"name":"Alice"}},"count":1}}`, d.Raw)

	bob := presenceClient(t, s, room, "2", `{"name":"Bob"}`)
	d = dataOf(t, bob.expect("pusher_internal:subscription_succeeded"))
	assert.JSONEq(t, `{"presence":{"ids":["1","2"],"hash":{"1":{"name":"Alice"},"2":{"name":"Bob"}},"count":2}}`, d.Raw)
	added := alice.expect("pusher_internal:member_added")
	assert.Equal(t, room, added.Get("channel").String())
	assert.JSONEq(t, `{"user_id":"2","user_info":{"name":"Bob"}}`, dataOf(t, added).Raw)
	bob.expectNoReply() // not told about itself

	// Alice's second tab: the same user, so nobody hears about it.
	alice2 := presenceClient(t, s, room, "1", `{"name":"Alice"}`)
	d = dataOf(t, alice2.expect("pusher_internal:subscription_succeeded"))
	assert.Equal(t, int64(2), d.Get("presence.count").Int())
	alice.expectNoReply()
	bob.expectNoReply()

	// One of Alice's connections leaves: she is still there.
	alice2.send(`{"event":"pusher:unsubscribe","data":{"channel":"` + room + `"}}`)
	alice2.expectNoReply()
	bob.expectNoReply()

	// Her last connection closes: Bob hears member_removed.
	require.NoError(t, alice.ws.Close())
	removed := bob.expect("pusher_internal:member_removed")
	assert.Equal(t, room, removed.Get("channel").String())
	assert.JSONEq(t, `{"user_id":"1"}`, dataOf(t, removed).Raw)
	require.NoError(t, s.WaitSubscribed(testCtx(t), room, 1))

	// A numeric user_id is reported as a string.
	carol, socketID := connect(t, s)
	cd := `{"user_id":3}`
	carol.subscribe(room, SignChannel(s.cfg.AppKey, s.cfg.AppSecret, socketID, room, cd), cd)
	d = dataOf(t, carol.expect("pusher_internal:subscription_succeeded"))
	assert.JSONEq(t, `{"presence":{"ids":["2","3"],"hash":{"2":{"name":"Bob"},"3":null},"count":2}}`, d.Raw)
	assert.JSONEq(t, `{"user_id":"3"}`, dataOf(t, bob.expect("pusher_internal:member_added")).Raw)
}

func TestClientEvents(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	join := func(channel, user string) *client {
		if isPresence(channel) {
			c := presenceClient(t, s, channel, user, `{}`)
			c.expect("pusher_internal:subscription_succeeded")
			return c
		}
		c, socketID := connect(t, s)
		auth := ""
		if needsAuth(channel) {
			auth = SignChannel(s.cfg.AppKey, s.cfg.AppSecret, socketID, channel, "")
		}
		c.subscribe(channel, auth, "")
		c.expect("pusher_internal:subscription_succeeded")
		return c
	}

	t.Run("relayed on a private channel to the others only", func(t *testing.T) {
		a, b, c := join("private-chat.1", ""), join("private-chat.1", ""), join("private-chat.1", "")
		a.send(`{"event":"client-typing","channel":"private-chat.1","data":{"typing":true}}`)
		for _, other := range []*client{b, c} {
			assert.JSONEq(t, `{"event":"client-typing","channel":"private-chat.1","data":{"typing":true}}`, string(other.readRaw()))
		}
		a.expectNoReply()
	})
	t.Run("string data is relayed as sent", func(t *testing.T) {
		a, b := join("private-chat.2", ""), join("private-chat.2", "")
		a.send(`{"event":"client-x","channel":"private-chat.2","data":"plain"}`)
		assert.JSONEq(t, `{"event":"client-x","channel":"private-chat.2","data":"plain"}`, string(b.readRaw()))
	})
	t.Run("user_id added on a presence channel", func(t *testing.T) {
		a := join("presence-room.2", "7")
		b := join("presence-room.2", "8")
		a.expect("pusher_internal:member_added")
		b.send(`{"event":"client-typing","channel":"presence-room.2","data":{}}`)
		assert.JSONEq(t, `{"event":"client-typing","channel":"presence-room.2","data":{},"user_id":"8"}`, string(a.readRaw()))
	})

	refusals := []struct {
		name    string
		channel string
		frame   string
		message string
	}{
		{"public channel", "news", `{"event":"client-x","channel":"news","data":{}}`,
			"Client event rejected - only supported on private and presence channels"},
		{"not subscribed", "private-chat.9", `{"event":"client-x","channel":"private-chat.9","data":{}}`,
			"Client event rejected - not subscribed to channel private-chat.9"},
	}
	for _, tt := range refusals {
		t.Run("refused on "+tt.name, func(t *testing.T) {
			sender := join("news", "")
			listener := join("private-chat.9", "")
			sender.send(tt.frame)
			msg := sender.expect("pusher:error")
			assert.Equal(t, tt.channel, msg.Get("channel").String())
			assert.Equal(t, int64(4301), msg.Get("data.code").Int())
			assert.Equal(t, tt.message, msg.Get("data.message").String())
			listener.expectNoReply()
		})
	}
}

func TestInvalidFramesAreAnsweredNotFatal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		msgType int
		payload string
	}{
		{"invalid JSON", websocket.TextMessage, `{"event":`},
		{"not an object", websocket.TextMessage, `[1,2]`},
		{"no event", websocket.TextMessage, `{"data":{}}`},
		{"binary frame", websocket.BinaryMessage, `{"event":"pusher:ping"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{ErrorStyle: ErrorString})
			c, _ := connect(t, s)
			require.NoError(t, c.ws.WriteMessage(tt.msgType, []byte(tt.payload)))
			msg := c.expect("pusher:error")
			assert.JSONEq(t, `{"code":4200,"message":"Invalid message format"}`, dataOf(t, msg).Raw)
			c.expectNoReply()
		})
	}
}

func TestUnknownEventsAreIgnored(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := connect(t, s)
	c.send(`{"event":"pusher:signin","data":{"auth":"x","user_data":"{}"}}`)
	c.send(`{"event":"pusher:pong","data":{}}`)
	c.send(`{"event":"hello"}`)
	c.expectNoReply()
}

func TestPublish(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	a, aID := connect(t, s)
	b, _ := connect(t, s)
	other, _ := connect(t, s)
	for _, c := range []*client{a, b} {
		c.subscribe("orders", "", "")
		c.expect("pusher_internal:subscription_succeeded")
	}
	other.subscribe("other", "", "")
	other.expect("pusher_internal:subscription_succeeded")

	s.Publish("orders", `App\Events\OrderShipped`, `{"id":1,"note":"<b>&</b>"}`, "")
	want := `{"event":"App\\Events\\OrderShipped","channel":"orders","data":"{\"id\":1,\"note\":\"<b>&</b>\"}"}`
	assert.Equal(t, want, string(a.readRaw()))
	assert.Equal(t, want, string(b.readRaw()))

	s.Publish("orders", "second", "x", aID) // toOthers: a is excluded
	assert.JSONEq(t, `{"event":"second","channel":"orders","data":"x"}`, string(b.readRaw()))
	a.expectNoReply()
	other.expectNoReply()

	s.Publish("nobody-here", "e", "{}", "") // no subscribers: nothing happens
}

func TestPublishFasterThanTheClientReads(t *testing.T) {
	t.Parallel()
	const queueBytes = 4096
	s := start(t, Config{MaxQueueBytes: queueBytes})
	c, _ := connect(t, s)
	c.subscribe("burst", "", "")
	c.expect("pusher_internal:subscription_succeeded")

	n := 3 * queueBytes / outboundCost // more than a connection's queue holds
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := range n {
			s.Publish("burst", "e", strconv.Itoa(i), "")
		}
	}()
	for i := range n {
		msg := c.read()
		require.Equal(t, strconv.Itoa(i), msg.Get("data").String())
	}
	<-published
	assert.Equal(t, 1, s.Connections(), "a slow reader is slowed down, not dropped")
}

func TestConcurrentPublish(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	const clients, publishers, perPublisher = 5, 4, 50
	var cs []*client
	for range clients {
		c, _ := connect(t, s)
		c.subscribe("firehose", "", "")
		c.expect("pusher_internal:subscription_succeeded")
		cs = append(cs, c)
	}

	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range perPublisher {
				s.Publish("firehose", fmt.Sprintf("p%d", p), fmt.Sprint(i), "")
			}
		})
	}
	// Connections come and go while publishing.
	wg.Go(func() {
		for range 5 {
			ws, resp, err := websocket.DefaultDialer.Dial(s.URL()+"/app/app-key", nil)
			if !assert.NoError(t, err) {
				return
			}
			_ = resp.Body.Close()
			assert.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:subscribe","data":{"channel":"firehose"}}`)))
			assert.NoError(t, ws.Close())
		}
	})

	received := make([][]int, clients)
	var readers sync.WaitGroup
	for i, c := range cs {
		readers.Go(func() {
			next := make([]int, publishers)
			for range publishers * perPublisher {
				_, data, err := c.readFrame()
				if !assert.NoError(t, err) {
					return
				}
				msg := gjson.ParseBytes(data)
				var p int
				_, err = fmt.Sscanf(msg.Get("event").String(), "p%d", &p)
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, int64(next[p]), gjson.Parse(msg.Get("data").String()).Int(), "publisher %d out of order", p)
				next[p]++
			}
			received[i] = next
		})
	}
	wg.Wait()
	readers.Wait()
	for i := range cs {
		assert.Equal(t, []int{perPublisher, perPublisher, perPublisher, perPublisher}, received[i], "client %d", i)
	}
}

func TestHandshakeRefusal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		refusal   Refusal
		dataType  gjson.Type
		closeCode int // 0: the socket stays open
	}{
		{"object error, then close frame", Refusal{Code: 4100, Message: "Over capacity", Then: ThenClose}, gjson.JSON, 4100},
		{"string error, then close frame", Refusal{Code: 4001, Message: "Application does not exist", Style: ErrorString}, gjson.String, 4001},
		{"string error, then TCP drop", Refusal{Code: 4001, Message: "Application does not exist", Style: ErrorString, Then: ThenDrop}, gjson.String, websocket.CloseAbnormalClosure},
		{"code null, then close frame without status", Refusal{Message: "nope"}, gjson.JSON, websocket.CloseNoStatusReceived},
		{"error, then left open", Refusal{Code: 4004, Message: "Application is over connection quota", Then: ThenStayOpen}, gjson.JSON, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{})
			s.SetHandshakeFault(func(n int) *Refusal {
				if n == 1 {
					return &tt.refusal
				}
				return nil
			})
			c := dial(t, s)
			msg := c.expect("pusher:error") // the first frame
			assert.Equal(t, tt.dataType, msg.Get("data").Type)
			d := payload(msg.Get("data"))
			if tt.refusal.Code == 0 {
				assert.Equal(t, gjson.Null, d.Get("code").Type)
			} else {
				assert.Equal(t, int64(tt.refusal.Code), d.Get("code").Int())
			}
			assert.Equal(t, tt.refusal.Message, d.Get("message").String())

			if tt.closeCode == 0 {
				c.expectNoReply()
			} else {
				code, reason := c.expectClose()
				assert.Equal(t, tt.closeCode, code)
				if tt.refusal.Then == ThenClose && tt.refusal.Code != 0 {
					assert.Equal(t, tt.refusal.Message, reason)
				}
			}

			// The next connection is accepted.
			dial(t, s).expect("pusher:connection_established")
		})
	}
}

func TestCloseAndDrop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		act      func(s *Server)
		wantCode int
		reason   string
	}{
		{"4000s: do not reconnect", func(s *Server) { s.CloseAll(4001, "Application does not exist") }, 4001, "Application does not exist"},
		{"4100s: back off", func(s *Server) { s.CloseAll(4100, "Over capacity") }, 4100, "Over capacity"},
		{"4200s: reconnect now", func(s *Server) { s.CloseAll(4200, "Generic reconnect immediately") }, 4200, "Generic reconnect immediately"},
		{"1006 via CloseAll is a drop", func(s *Server) { s.CloseAll(1006, "ignored") }, 1006, ""},
		{"DropAll", func(s *Server) { s.DropAll() }, 1006, ""},
		{"one connection", func(s *Server) {
			c, err := s.WaitConn(context.Background(), 1)
			if err == nil {
				c.Close(4201, "Pong reply not received")
			}
		}, 4201, "Pong reply not received"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{})
			c, _ := connect(t, s)
			c.subscribe("chat", "", "")
			c.expect("pusher_internal:subscription_succeeded")

			// Frames queued before the close still arrive first.
			s.Publish("chat", "last-words", "{}", "")
			tt.act(s)
			c.expect("last-words")
			code, reason := c.expectClose()
			assert.Equal(t, tt.wantCode, code)
			if tt.wantCode != 1006 {
				assert.Equal(t, tt.reason, reason)
			}
			require.NoError(t, s.WaitConnections(testCtx(t), 0))
			assert.Equal(t, 0, s.Subscribers("chat"))
			conn, err := s.WaitConn(testCtx(t), 1)
			require.NoError(t, err)
			select {
			case <-conn.Done():
			default:
				t.Fatal("Done not closed after the connection ended")
			}
		})
	}
}

func TestCloseWaitsForUnansweredCloseFrameOnlyBriefly(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	connect(t, s) // stays open and never reads, so never answers the close frame
	conn, err := s.WaitConn(testCtx(t), 1)
	require.NoError(t, err)
	began := time.Now()
	conn.Close(4200, "bye")
	select {
	case <-conn.Done():
		assert.Less(t, time.Since(began), 3*closeGrace)
	case <-time.After(waitLimit):
		t.Fatal("connection not closed after an unanswered close frame")
	}
}

func TestSilent(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := connect(t, s)
	conn, err := s.WaitConn(testCtx(t), 1)
	require.NoError(t, err)
	c.subscribe("chat", "", "")
	c.expect("pusher_internal:subscription_succeeded")

	pongs := make(chan struct{}, 10)
	c.ws.SetPongHandler(func(string) error {
		pongs <- struct{}{}
		return nil
	})
	s.SetSilent(true)
	require.NoError(t, c.ws.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(waitLimit)))
	c.send(`{"event":"pusher:ping","data":{}}`)
	s.Publish("chat", "while-silent", "{}", "")
	_, err = s.WaitFrame(testCtx(t), func(f Frame) bool { return f.Conn == 1 && f.Event() == "pusher:ping" })
	require.NoError(t, err)

	// Nothing was sent: after un-silencing, a marker is the next frame.
	conn.SetSilent(false)
	conn.SendRaw(websocket.TextMessage, []byte(`{"event":"marker"}`))
	c.expect("marker")
	assert.Empty(t, pongs, "a WebSocket ping was answered while silent")

	// New connections inherit the server's silence: not even the handshake.
	s.SetSilent(true)
	c2 := dial(t, s)
	conn2, err := s.WaitConn(testCtx(t), 2)
	require.NoError(t, err)
	c2.send(`{"event":"pusher:ping","data":{}}`)
	_, err = s.WaitFrame(testCtx(t), func(f Frame) bool { return f.Conn == 2 && f.Event() == "pusher:ping" })
	require.NoError(t, err)
	conn2.SetSilent(false)
	conn2.SendRaw(websocket.TextMessage, []byte(`{"event":"marker"}`))
	c2.expect("marker")
}

func TestSendRaw(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		msgType int
		payload string
	}{
		{"malformed JSON", websocket.TextMessage, `{"event":"x",`},
		{"binary frame", websocket.BinaryMessage, "\x00\x01binary"},
		{"data as an object", websocket.TextMessage, `{"event":"pusher:connection_established","data":{"socket_id":"1.2","activity_timeout":30}}`},
		{"no data", websocket.TextMessage, `{"event":"pusher:pong"}`},
		{"server ping", websocket.TextMessage, `{"event":"pusher:ping"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{})
			a, _ := connect(t, s)
			b, _ := connect(t, s)
			s.SendRaw(tt.msgType, []byte(tt.payload))
			for _, c := range []*client{a, b} {
				mt, data, err := c.readFrame()
				require.NoError(t, err)
				assert.Equal(t, tt.msgType, mt)
				assert.Equal(t, tt.payload, string(data))
			}
		})
	}
}

func TestSendRawPing(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := connect(t, s)
	pings := make(chan string, 1)
	c.ws.SetPingHandler(func(appData string) error {
		pings <- appData
		return c.ws.WriteControl(websocket.PongMessage, []byte(appData), time.Now().Add(waitLimit))
	})
	s.SendRaw(websocket.PingMessage, []byte("are you there"))
	s.SendRaw(websocket.TextMessage, []byte(`{"event":"marker"}`))
	c.expect("marker")
	assert.Equal(t, "are you there", <-pings)
	f, err := s.WaitFrame(testCtx(t), func(f Frame) bool { return f.Type == websocket.PongMessage })
	require.NoError(t, err)
	assert.Equal(t, "are you there", string(f.Data))
}

func TestSubscribeRefusal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		refusal SubscribeRefusal
		want    string // the exact frame; %s is replaced by the client's auth
	}{
		{
			"Soketi: subscription_error on the channel", SubscribeRefusal{Style: SoketiRefusal},
			`{"event":"pusher:subscription_error","channel":"private-chat.1","data":{"type":"AuthError","error":"The connection is unauthorized.","status":401}}`,
		},
		{
			"Soketi: custom", SubscribeRefusal{Style: SoketiRefusal, Type: "LimitReached", Message: "full", Status: 4100},
			`{"event":"pusher:subscription_error","channel":"private-chat.1","data":{"type":"LimitReached","error":"full","status":4100}}`,
		},
		{
			"Reverb: 4009 string, no channel", SubscribeRefusal{Style: ReverbRefusal},
			`{"event":"pusher:error","data":"{\"code\":4009,\"message\":\"Connection is unauthorized\"}"}`,
		},
		{
			"Pusher: code null, no channel", SubscribeRefusal{Style: PusherRefusal},
			`{"event":"pusher:error","data":{"code":null,"message":"Invalid signature: Expected HMAC SHA256 hex digest of 1234.1234:private-chat.1, but got %s"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := vectorServer(t)
			s.SetSubscribeFault(func(n int, channel string) *SubscribeRefusal {
				if n == 1 && channel == "private-chat.1" {
					return &tt.refusal
				}
				return nil
			})
			auth := SignChannel(vecKey, vecSecret, vecSocketID, "private-chat.1", "")
			first, _ := connect(t, s)
			first.subscribe("private-chat.1", auth, "")
			assert.Equal(t, strings.ReplaceAll(tt.want, "%s", auth), string(first.readRaw()))
			first.subscribe("public", "", "") // other channels are not refused
			first.expect("pusher_internal:subscription_succeeded")

			second, _ := connect(t, s) // nor other connections
			second.subscribe("private-chat.1", auth, "")
			second.expect("pusher_internal:subscription_succeeded")
			assert.Equal(t, 2, s.SubscribeCount("private-chat.1"))
			assert.Equal(t, 1, s.Subscribers("private-chat.1"))
		})
	}
}

func TestReceived(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c1, id1 := connect(t, s)
	auth1 := SignChannel("app-key", "app-secret", id1, "private-x", "")
	c1.subscribe("private-x", auth1, "")
	c1.expect("pusher_internal:subscription_succeeded")
	s.DropAll()
	c1.expectClose()

	// The "client" reconnects and must resubscribe with an auth for its new
	// socket id.
	c2, id2 := connect(t, s)
	require.NotEqual(t, id1, id2)
	auth2 := SignChannel("app-key", "app-secret", id2, "private-x", "")
	c2.send(`{"event":"pusher:subscribe","data":"{\"channel\":\"private-x\",\"auth\":\"` + auth2 + `\"}"}`)
	conn2, err := s.WaitConn(testCtx(t), 2)
	require.NoError(t, err)
	require.NoError(t, conn2.WaitSubscribed(testCtx(t), "private-x"))
	assert.True(t, conn2.Subscribed("private-x"))
	assert.Equal(t, 2, s.SubscribeCount("private-x"))

	var subs []Frame
	for _, f := range s.Received() {
		if f.Event() == "pusher:subscribe" {
			subs = append(subs, f)
		}
	}
	require.Len(t, subs, 2)
	assert.Equal(t, []int{1, 2}, []int{subs[0].Conn, subs[1].Conn})
	assert.Equal(t, []string{id1, id2}, []string{subs[0].SocketID, subs[1].SocketID})
	assert.Equal(t, auth1, subs[0].Payload().Get("auth").String())
	assert.Equal(t, auth2, subs[1].Payload().Get("auth").String(), "data sent as a JSON string is decoded")
}

func TestWaitsGiveUpWithContext(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, s.WaitConnections(ctx, 1), context.DeadlineExceeded)
	assert.ErrorIs(t, s.WaitSubscribed(ctx, "chat", 1), context.DeadlineExceeded)
	_, err := s.WaitConn(ctx, 1)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	_, err = s.WaitFrame(ctx, func(Frame) bool { return true })
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestConnWaitSubscribedEndsWithConnection(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := connect(t, s)
	conn, err := s.WaitConn(testCtx(t), 1)
	require.NoError(t, err)
	require.NoError(t, c.ws.Close())
	assert.ErrorIs(t, conn.WaitSubscribed(testCtx(t), "never"), errConnEnded)
}

func TestMaxMessageSize(t *testing.T) {
	t.Parallel()
	s := start(t, Config{MaxMessageSize: 100})
	c, _ := connect(t, s)
	c.send(`{"event":"client-big","channel":"private-x","data":"` + strings.Repeat("x", 200) + `"}`)
	code, _ := c.expectClose()
	assert.Equal(t, websocket.CloseMessageTooBig, code)
}

func TestServerClose(t *testing.T) {
	t.Parallel()
	s, err := Start(Config{})
	require.NoError(t, err)
	c, _ := connect(t, s)
	c.subscribe("chat", "", "")
	c.expect("pusher_internal:subscription_succeeded")

	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "a second Close does nothing")
	code, _ := c.expectClose()
	assert.Equal(t, websocket.CloseAbnormalClosure, code)
	assert.Equal(t, 0, s.Connections())
	_, _, err = websocket.DefaultDialer.Dial(s.URL()+"/app/app-key", nil)
	assert.Error(t, err)
}

// TestLogf: the server tells Logf about a connection before it sends
// connection_established, and about a subscription before it queues
// subscription_succeeded, so a client that has read the frame finds the line
// written, however long Logf takes (a slow terminal, a full pipe). This Logf
// takes up to 100ms over each of the two lines, and marks a line written
// after its frame reached the client.
func TestLogf(t *testing.T) {
	t.Parallel()
	established := make(chan struct{}) // closed once the client has read the frame
	subscribed := make(chan struct{})
	var mu sync.Mutex
	var lines []string
	s := start(t, Config{Logf: func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		var frameRead chan struct{}
		switch {
		case strings.Contains(line, ") from 127.0.0.1:"):
			frameRead = established
		case strings.HasSuffix(line, ") subscribed to chat"):
			frameRead = subscribed
		}
		if frameRead != nil {
			select {
			case <-frameRead:
				line += " [written after the client read its frame]"
			case <-time.After(100 * time.Millisecond):
			}
		}
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, line)
	}})
	logged := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lines)
	}

	c := dial(t, s)
	frames := make(chan gjson.Result, 2)
	readErr := make(chan error, 1)
	go func() { // the client's reader: marks each frame read as it arrives
		for _, read := range []chan struct{}{established, subscribed} {
			_, data, err := c.readFrame()
			if err != nil {
				readErr <- err
				return
			}
			close(read)
			frames <- gjson.ParseBytes(data)
		}
	}()
	next := func(event string) gjson.Result {
		t.Helper()
		select {
		case msg := <-frames:
			require.Equal(t, event, msg.Get("event").String(), "frame: %s", msg.Raw)
			return msg
		case err := <-readErr:
			require.NoError(t, err, "reading %s", event)
		}
		return gjson.Result{}
	}

	id := payload(next("pusher:connection_established").Get("data")).Get("socket_id").String()
	require.NotEmpty(t, id)
	re := regexp.MustCompile(`^connection 1 \(socket ` + regexp.QuoteMeta(id) + `\) from 127\.0\.0\.1:\d+$`)
	assert.True(t, slices.ContainsFunc(logged(), re.MatchString), "want a line matching %s in:\n%s", re, strings.Join(logged(), "\n"))

	c.subscribe("chat", "", "")
	next("pusher_internal:subscription_succeeded")
	assert.Contains(t, logged(), "connection 1 (socket "+id+") subscribed to chat")
}

// BenchmarkPublish measures Publish through the socket to one subscriber.
func BenchmarkPublish(b *testing.B) {
	s, err := Start(Config{})
	require.NoError(b, err)
	defer s.Close()
	ws, resp, err := websocket.DefaultDialer.Dial(s.URL()+"/app/app-key", nil)
	require.NoError(b, err)
	_ = resp.Body.Close()
	defer ws.Close()
	_, _, err = ws.ReadMessage() // connection_established
	require.NoError(b, err)
	require.NoError(b, ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:subscribe","data":{"channel":"bench"}}`)))
	_, _, err = ws.ReadMessage() // subscription_succeeded
	require.NoError(b, err)

	data := `{"message":{"id":1,"body":"hello there"},"user":{"id":7,"name":"Ann"}}`
	done := make(chan error, 1)
	go func() {
		for range b.N {
			if _, _, err := ws.ReadMessage(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	b.ResetTimer()
	for range b.N {
		s.Publish("bench", "App\\Events\\MessageSent", data, "")
	}
	require.NoError(b, <-done)
}
