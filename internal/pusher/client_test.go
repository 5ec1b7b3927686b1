package pusher

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/server"
)

// memSink collects records for the test to wait on.
type memSink struct {
	ch          chan record.Record
	mu          sync.Mutex
	writes      int
	flushes     int
	flushedUpTo int    // writes seen at the last flush
	stopAt      string // event name that makes Write return ErrStop
}

func newSink() *memSink { return &memSink{ch: make(chan record.Record, 4096)} }

func (m *memSink) Write(r *record.Record) error {
	c := *r
	c.Data = append([]byte(nil), r.Data...)
	if r.Data == nil {
		c.Data = nil
	}
	m.mu.Lock()
	m.writes++
	stopAt := m.stopAt // a test may set it while Run writes
	m.mu.Unlock()
	m.ch <- c
	if stopAt != "" && r.Event == stopAt {
		return ErrStop
	}
	return nil
}

func (m *memSink) Flush() error {
	m.mu.Lock()
	m.flushes++
	m.flushedUpTo = m.writes
	m.mu.Unlock()
	return nil
}

// next waits for the next record of one of the given types.
func (m *memSink) next(t *testing.T, types ...string) record.Record {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case r := <-m.ch:
			for _, ty := range types {
				if r.Type == ty {
					return r
				}
			}
		case <-deadline:
			t.Fatalf("no %v record within 10s", types)
		}
	}
}

type sleepLog struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepLog) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

type harness struct {
	srv    *server.Server
	sink   *memSink
	client *Client
	sleeps *sleepLog
	done   chan error
	cancel context.CancelFunc
}

// start runs a Client against a fresh embedded server. ReconnectAttempts
// 0 means 5 here; -1 means forever (0 to the Client).
func start(t *testing.T, cfg server.Config, opts Options, setup ...func(*server.Server)) *harness {
	t.Helper()
	return startTweaked(t, cfg, opts, nil, setup...)
}

// startTweaked is start with tweak applied to the Client before it runs.
func startTweaked(t *testing.T, cfg server.Config, opts Options, tweak func(*Client), setup ...func(*server.Server)) *harness {
	t.Helper()
	srv, err := server.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	for _, f := range setup {
		f(srv)
	}
	h := &harness{srv: srv, sink: newSink(), sleeps: &sleepLog{}, done: make(chan error, 1)}
	opts.URL = srv.URL() + "/app/app-key?protocol=7&client=tmsws&version=test"
	opts.Sink = h.sink
	if opts.Authorizer == nil {
		opts.Authorizer = &auth.Signer{Key: "app-key", Secret: "app-secret"}
	}
	switch opts.ReconnectAttempts {
	case 0:
		opts.ReconnectAttempts = 5
	case -1:
		opts.ReconnectAttempts = 0
	}
	h.client = New(opts)
	h.client.sleep = h.sleeps.sleep
	if tweak != nil {
		tweak(h.client)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	t.Cleanup(cancel)
	go func() { h.done <- h.client.Run(ctx) }()
	return h
}

func (h *harness) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-h.done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s")
		return nil
	}
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestEventsOnPublicPrivateAndPresenceChannels(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{Channels: []string{"chat", "private-chat.42", "presence-chat.42"}})
	ctx := ctx10(t)
	for _, ch := range []string{"chat", "private-chat.42", "presence-chat.42"} {
		require.NoError(t, h.srv.WaitSubscribed(ctx, ch, 1))
	}
	conn := h.sink.next(t, record.TypeConnected)
	assert.NotEmpty(t, conn.SocketID)

	h.srv.Publish("private-chat.42", `App\Events\MessageSent`, `{"message":{"id":7,"content":"hi","user_id":8}}`, "")
	ev := h.sink.next(t, record.TypeEvent)
	assert.Equal(t, "private-chat.42", ev.Channel)
	assert.Equal(t, `App\Events\MessageSent`, ev.Event)
	assert.JSONEq(t, `{"message":{"id":7,"content":"hi","user_id":8}}`, string(ev.Data))
	assert.Equal(t, conn.SocketID, ev.SocketID)

	h.srv.Publish("chat", "plain", `not json`, "")
	ev = h.sink.next(t, record.TypeEvent)
	assert.Equal(t, `"not json"`, string(ev.Data))

	// Another member joins and leaves the presence channel.
	other, _, err := websocket.DefaultDialer.Dial(h.srv.URL()+"/app/app-key?protocol=7", nil)
	require.NoError(t, err)
	_, hello, err := other.ReadMessage()
	require.NoError(t, err)
	sid := gjson.Get(gjson.GetBytes(hello, "data").String(), "socket_id").String()
	cd := `{"user_id":"9","user_info":{"name":"Bob"}}`
	sub := map[string]any{"event": "pusher:subscribe", "data": map[string]string{
		"channel": "presence-chat.42", "auth": server.SignChannel("app-key", "app-secret", sid, "presence-chat.42", cd), "channel_data": cd}}
	require.NoError(t, other.WriteJSON(sub))
	added := h.sink.next(t, record.TypeMemberAdded)
	assert.Equal(t, "9", added.UserID)
	assert.JSONEq(t, `{"name":"Bob"}`, string(added.Data))
	other.Close()
	removed := h.sink.next(t, record.TypeMemberRemoved)
	assert.Equal(t, "9", removed.UserID)
	assert.JSONEq(t, `{"name":"Bob"}`, string(removed.Data), "member_removed carries the info known from member_added")

	h.cancel()
	assert.ErrorIs(t, h.wait(t), context.Canceled)
}

func TestHandshakeErrorIsACloseCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		style server.ErrorStyle
		then  server.After
	}{
		{"object form then close (Pusher, Soketi)", server.ErrorObject, server.ThenClose},
		{"string form then TCP drop (Reverb)", server.ErrorString, server.ThenDrop},
		{"string form, socket left open (Reverb 4009 origin)", server.ErrorString, server.ThenStayOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, server.Config{}, Options{Channels: []string{"chat"}}, func(s *server.Server) {
				s.SetHandshakeFault(func(int) *server.Refusal {
					return &server.Refusal{Code: 4001, Message: "Application does not exist", Style: tt.style, Then: tt.then}
				})
			})
			err := h.wait(t)
			var ce *ConnError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, 4001, ce.Code)
			assert.Contains(t, ce.Error(), "Application does not exist")
			assert.Contains(t, ce.Hint, "--key")
			assert.Empty(t, h.sleeps.all(), "4000–4099 is not retried")
		})
	}
}

// TestHandshakeCodesOnAReconnect: once connected, a handshake refused with
// a backoff or retry code is retried, and one refused with a stop code
// (4000–4099, 4300 and above) ends Run with it.
func TestHandshakeCodesOnAReconnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code int
		stop bool
	}{
		{4001, true},
		{4100, false},
		{4200, false},
		{4201, false},
		{4301, true},
		{4999, true},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			t.Parallel()
			h := start(t, server.Config{}, Options{Channels: []string{"chat"}}, func(s *server.Server) {
				s.SetHandshakeFault(func(n int) *server.Refusal {
					if n == 2 {
						return &server.Refusal{Code: tt.code, Message: "go away", Then: server.ThenClose}
					}
					return nil
				})
			})
			ctx := ctx10(t)
			require.NoError(t, h.srv.WaitSubscribed(ctx, "chat", 1))
			h.srv.DropAll()
			rec := h.sink.next(t, record.TypeReconnecting)
			assert.Equal(t, 1, rec.Attempt, "the drop")
			if tt.stop {
				var ce *ConnError
				require.ErrorAs(t, h.wait(t), &ce)
				assert.Equal(t, tt.code, ce.Code)
				assert.Len(t, h.sleeps.all(), 1, "only the drop was waited for")
				return
			}
			rec = h.sink.next(t, record.TypeReconnecting)
			assert.Equal(t, tt.code, rec.Code)
			assert.Equal(t, 2, rec.Attempt)
			_, err := h.srv.WaitConn(ctx, 3)
			require.NoError(t, err)
			require.NoError(t, h.srv.WaitSubscribed(ctx, "chat", 1))
			d := h.sleeps.all()
			require.Len(t, d, 2)
			// Attempt 2 waits ReconnectDelay × 1.5 ± 20%, whatever its code.
			assert.Equal(t, 3*time.Second, d[0])
			assert.GreaterOrEqual(t, d[1], 3600*time.Millisecond, "a second failure in a row waits, whatever its code")
			assert.LessOrEqual(t, d[1], 5400*time.Millisecond)
			assert.Equal(t, rec.Delay, d[1], "the record tells the wait")
		})
	}
}

func TestCloseCodeClassesOnALiveConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		act      func(s *server.Server)
		stop     bool
		retryNow bool
	}{
		{"4001 stops", func(s *server.Server) { s.CloseAll(4001, "Application does not exist") }, true, false},
		{"4009 stops", func(s *server.Server) { s.CloseAll(4009, "You got disconnected by the app.") }, true, false},
		{"4100 backs off", func(s *server.Server) { s.CloseAll(4100, "Over capacity") }, false, false},
		{"4300 stops", func(s *server.Server) { s.CloseAll(4300, "Application error") }, true, false},
		{"4301 stops", func(s *server.Server) { s.CloseAll(4301, "Client event rejected due to rate limit") }, true, false},
		{"4200 reconnects at once", func(s *server.Server) { s.CloseAll(4200, "Server is closing") }, false, true},
		{"4201 reconnects at once", func(s *server.Server) { s.CloseAll(4201, "Pong reply not received") }, false, true},
		{"TCP drop backs off", func(s *server.Server) { s.DropAll() }, false, false},
		{"1001 going away backs off", func(s *server.Server) { s.CloseAll(1001, "bye") }, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, server.Config{}, Options{Channels: []string{"private-chat.42", "chat"}})
			ctx := ctx10(t)
			require.NoError(t, h.srv.WaitSubscribed(ctx, "private-chat.42", 1))
			require.NoError(t, h.srv.WaitSubscribed(ctx, "chat", 1))
			first := h.sink.next(t, record.TypeConnected)
			tt.act(h.srv)
			if tt.stop {
				err := h.wait(t)
				var ce *ConnError
				require.ErrorAs(t, err, &ce)
				assert.GreaterOrEqual(t, ce.Code, 4000)
				assert.Empty(t, h.sleeps.all())
				return
			}
			disc := h.sink.next(t, record.TypeDisconnected)
			assert.Equal(t, first.SocketID, disc.SocketID)
			rec := h.sink.next(t, record.TypeReconnecting)
			assert.Equal(t, 1, rec.Attempt)
			second := h.sink.next(t, record.TypeConnected)
			assert.NotEqual(t, first.SocketID, second.SocketID)
			// Everything is authorized again with the new socket id and subscribed again.
			require.NoError(t, h.srv.WaitSubscribed(ctx, "private-chat.42", 1))
			require.NoError(t, h.srv.WaitSubscribed(ctx, "chat", 1))
			f, err := h.srv.WaitFrame(ctx, func(f server.Frame) bool {
				return f.Event() == "pusher:subscribe" && f.SocketID == second.SocketID && f.Payload().Get("channel").String() == "private-chat.42"
			})
			require.NoError(t, err)
			assert.Equal(t, server.SignChannel("app-key", "app-secret", second.SocketID, "private-chat.42", ""), f.Payload().Get("auth").String())
			assert.Equal(t, 2, h.srv.SubscribeCount("private-chat.42"))
			require.NoError(t, h.srv.WaitSubscribed(ctx, "private-chat.42", 1))
			d := h.sleeps.all()
			require.Len(t, d, 1)
			if tt.retryNow {
				assert.Zero(t, d[0])
			} else {
				assert.Equal(t, 3*time.Second, d[0])
			}
			// Events flow again after the reconnect.
			h.srv.Publish("private-chat.42", "after", `{"n":1}`, "")
			ev := h.sink.next(t, record.TypeEvent)
			assert.Equal(t, "after", ev.Event)
			assert.Equal(t, second.SocketID, ev.SocketID)
		})
	}
}

func TestSilentServerIsDetectedAndReplaced(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{Channels: []string{"chat"}, MaxActivity: 50 * time.Millisecond, PongTimeout: 100 * time.Millisecond})
	ctx := ctx10(t)
	c1, err := h.srv.WaitConn(ctx, 1)
	require.NoError(t, err)
	require.NoError(t, c1.WaitSubscribed(ctx, "chat"))
	// The server answers pings for a while: the connection stays.
	_, err = h.srv.WaitFrame(ctx, func(f server.Frame) bool { return f.Conn == 1 && f.Event() == "pusher:ping" })
	require.NoError(t, err)
	c1.SetSilent(true)
	rec := h.sink.next(t, record.TypeDisconnected)
	assert.Contains(t, rec.Message, "no pong")
	c2, err := h.srv.WaitConn(ctx, 2)
	require.NoError(t, err)
	require.NoError(t, c2.WaitSubscribed(ctx, "chat"))
}

func TestAnswersServerPings(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{Channels: []string{"chat"}})
	ctx := ctx10(t)
	require.NoError(t, h.srv.WaitSubscribed(ctx, "chat", 1))
	h.srv.SendRaw(websocket.TextMessage, []byte(`{"event":"pusher:ping"}`))
	_, err := h.srv.WaitFrame(ctx, func(f server.Frame) bool { return f.Event() == "pusher:pong" })
	require.NoError(t, err)
	c, err := h.srv.WaitConn(ctx, 1)
	require.NoError(t, err)
	c.SendRaw(websocket.PingMessage, []byte("hi"))
	_, err = h.srv.WaitFrame(ctx, func(f server.Frame) bool { return f.Type == websocket.PongMessage })
	require.NoError(t, err)
}

func TestMalformedAndBinaryFramesAreSkipped(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{Channels: []string{"chat"}})
	require.NoError(t, h.srv.WaitSubscribed(ctx10(t), "chat", 1))
	h.srv.SendRaw(websocket.TextMessage, []byte(`{"event":"half`))
	h.srv.SendRaw(websocket.BinaryMessage, []byte{0, 1, 2})
	h.srv.SendRaw(websocket.TextMessage, []byte(`{"event":"obj","channel":"chat","data":{"a":1}}`))
	h.srv.SendRaw(websocket.TextMessage, []byte(`{"event":"nodata","channel":"chat"}`))
	bad := h.sink.next(t, record.TypeError)
	assert.Contains(t, bad.Message, "malformed")
	ev := h.sink.next(t, record.TypeEvent)
	assert.Equal(t, "obj", ev.Event)
	assert.Equal(t, `{"a":1}`, string(ev.Data))
	ev = h.sink.next(t, record.TypeEvent)
	assert.Equal(t, "nodata", ev.Event)
	assert.Nil(t, ev.Data)
}

func TestSubscriptionRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		style server.RefusalStyle
	}{
		{"Soketi subscription_error with channel", server.SoketiRefusal},
		{"Reverb pusher:error 4009 without channel", server.ReverbRefusal},
		{"Pusher code-null pusher:error", server.PusherRefusal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, server.Config{}, Options{Channels: []string{"chat", "private-chat.42"}}, func(s *server.Server) {
				s.SetSubscribeFault(func(n int, ch string) *server.SubscribeRefusal {
					if ch == "private-chat.42" {
						return &server.SubscribeRefusal{Style: tt.style}
					}
					return nil
				})
			})
			err := h.wait(t)
			var se *SubscriptionError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, "private-chat.42", se.Channel)
			rec := h.sink.next(t, record.TypeSubscriptionError)
			assert.Equal(t, "private-chat.42", rec.Channel)
			assert.Empty(t, h.sleeps.all(), "a refusal is not retried")
		})
	}
}

// orderedAuth signs every channel, the one named after only once gate is
// closed, so that its subscribe is the second sent.
type orderedAuth struct {
	after string
	gate  chan struct{}
	inner *auth.Signer
}

func (o orderedAuth) Authorize(ctx context.Context, socketID, channel string) (auth.Result, error) {
	if channel == o.after {
		select {
		case <-o.gate:
		case <-ctx.Done():
			return auth.Result{}, ctx.Err()
		}
	}
	return o.inner.Authorize(ctx, socketID, channel)
}

// TestChannelLessRefusalWithTwoPending: two authorized channels are
// pending when a pusher:error without a channel (Reverb's 4009, Pusher's
// code null) refuses one. The one its message names is refused, even the
// second sent and even when the other's name starts the same or is part
// of it; one named by none is the oldest, the one a server answers first.
func TestChannelLessRefusalWithTwoPending(t *testing.T) {
	t.Parallel()
	pusherMsg := func(signed string) string {
		return "Invalid signature: Expected HMAC SHA256 hex digest of " + signed + ", but got app-key:0123"
	}
	tests := []struct {
		name    string
		order   [2]string // the subscribes in the order sent
		code    int       // 0: "code":null
		message string
		want    int // index in order
	}{
		{"Reverb 4009 naming none: the oldest", [2]string{"private-room", "private-room.2"}, 4009, "Connection is unauthorized", 0},
		{"Pusher naming none: the oldest", [2]string{"private-a", "private-b"}, 0, "Invalid key in subscription auth data: 'x'", 0},
		{"naming the first", [2]string{"private-a", "private-b"}, 0, pusherMsg("1.1:private-a"), 0},
		{"naming the second", [2]string{"private-a", "private-b"}, 0, pusherMsg("1.1:private-b"), 1},
		{"4009 naming the second", [2]string{"private-a", "private-b"}, 4009, "Connection is unauthorized: private-b", 1},
		{"naming the second, whose name the first starts", [2]string{"private-room", "private-room.2"}, 0, pusherMsg("1.1:private-room.2"), 1},
		{"naming the second, which starts the first's name", [2]string{"private-room.2", "private-room"}, 0, pusherMsg("1.1:private-room"), 1},
		{"naming the second presence channel, channel data after it", [2]string{"presence-a", "presence-b"}, 0, pusherMsg(`1.1:presence-b:{"user_id":"7"}`), 1},
		{"naming the second, the first's name inside it", [2]string{"private-a", "presence-private-a"}, 0, pusherMsg(`1.1:presence-private-a:{"user_id":"7"}`), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			first := make(chan struct{})
			sent := make(chan [2]string, 1) // the subscribes as the server read them
			h := hostiletest.Start(t, func(c *hostiletest.Conn) {
				_ = c.Established(`"activity_timeout":30`)
				var got [2]string
				for i := range 2 {
					_, msg, err := c.ReadMessage()
					if err != nil {
						return
					}
					got[i] = gjson.GetBytes(msg, "data.channel").String()
					if i == 0 {
						close(first)
					}
				}
				sent <- got
				data := `{"code":null,"message":` + strconv.Quote(tt.message) + `}`
				if tt.code != 0 {
					data = `{"code":` + strconv.Itoa(tt.code) + `,"message":` + strconv.Quote(tt.message) + `}`
				}
				_ = c.Send([]byte(`{"event":"pusher:error","data":` + data + `}`))
				c.Serve()
			})
			sink := newSink()
			c := New(Options{URL: h.URL(), Channels: tt.order[:], Sink: sink, ReconnectAttempts: 1,
				Authorizer: orderedAuth{after: tt.order[1], gate: first, inner: &auth.Signer{Key: "app-key", Secret: "app-secret"}}})
			c.sleep = (&sleepLog{}).sleep
			err := c.Run(ctx10(t))
			require.Equal(t, tt.order, <-sent, "the subscribes in order")
			var se *SubscriptionError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.order[tt.want], se.Channel)
			assert.Equal(t, tt.code, se.Code)
			rec := sink.next(t, record.TypeSubscriptionError)
			assert.Equal(t, tt.order[tt.want], rec.Channel)
		})
	}
}

func TestBadSignatureFromWrongSecretIsRefused(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{Channels: []string{"presence-room.1"}, Authorizer: &auth.Signer{Key: "app-key", Secret: "wrong"}})
	err := h.wait(t)
	var se *SubscriptionError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "presence-room.1", se.Channel)
	assert.Contains(t, se.Message, "Invalid signature")
	assert.Contains(t, se.Hint(), "signature")
}

// flakyAuth fails once with a 502, then signs.
type flakyAuth struct {
	mu     sync.Mutex
	calls  int
	failOn int // which call fails (1 when zero)
	inner  auth.Signer
}

func (f *flakyAuth) Authorize(ctx context.Context, socketID, channel string) (auth.Result, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n == max(f.failOn, 1) {
		return auth.Result{}, &auth.Error{Kind: auth.ServerError, Status: 502, Op: "authorize " + channel}
	}
	return f.inner.Authorize(ctx, socketID, channel)
}

func TestTemporaryAuthFailureFailsFirstThenIsRetried(t *testing.T) {
	t.Parallel()
	// On the first connection a 5xx is reported at once.
	fa := &flakyAuth{inner: auth.Signer{Key: "app-key", Secret: "app-secret"}}
	h := start(t, server.Config{}, Options{Channels: []string{"private-chat.42"}, Authorizer: fa})
	err := h.wait(t)
	var ae *auth.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 502, ae.Status)

	// Once subscribed, a 5xx while re-authorizing after a reconnect is retried.
	fa = &flakyAuth{inner: auth.Signer{Key: "app-key", Secret: "app-secret"}, failOn: 2}
	h = start(t, server.Config{}, Options{Channels: []string{"private-chat.42"}, Authorizer: fa})
	ctx := ctx10(t)
	require.NoError(t, h.srv.WaitSubscribed(ctx, "private-chat.42", 1))
	h.srv.DropAll()
	rec := h.sink.next(t, record.TypeReconnecting)
	assert.Equal(t, 1, rec.Attempt)
	rec = h.sink.next(t, record.TypeReconnecting)
	assert.Contains(t, rec.Message, "502")
	assert.Equal(t, 2, rec.Attempt)
	h.sink.next(t, record.TypeSubscribed)
}

func TestGivesUpAfterReconnectAttempts(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{Channels: []string{"chat"}, ReconnectAttempts: 3}, func(s *server.Server) {
		s.SetHandshakeFault(func(n int) *server.Refusal {
			if n == 1 {
				return nil
			}
			return &server.Refusal{Code: 4100, Message: "Over capacity", Then: server.ThenClose}
		})
	})
	require.NoError(t, h.srv.WaitSubscribed(ctx10(t), "chat", 1))
	h.srv.DropAll()
	err := h.wait(t)
	var ce *ConnError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 3, ce.Attempts)
	assert.Equal(t, 4100, ce.Code)
	assert.Contains(t, ce.Error(), "gave up after 3 reconnect attempts")
	d := h.sleeps.all()
	require.Len(t, d, 3)
	assert.Equal(t, 3*time.Second, d[0])
	assert.Greater(t, d[2], d[0], "the delay grows")
}

// TestFirstConnectionFailsFast: the first connection is tried once. What
// would be retried on a reconnect (a backoff or retry code, an HTTP
// answer, nothing listening) ends Run at once with the cause and its hint.
func TestFirstConnectionFailsFast(t *testing.T) {
	t.Parallel()
	refuse := func(code int) func(*server.Server) {
		return func(s *server.Server) {
			s.SetHandshakeFault(func(int) *server.Refusal {
				return &server.Refusal{Code: code, Message: "not now", Then: server.ThenClose}
			})
		}
	}
	tests := []struct {
		name  string
		setup func(*server.Server)
		path  string
		code  int
		hint  string
	}{
		{name: "4100 over capacity", setup: refuse(4100), code: 4100, hint: "quota"},
		{name: "4200 reconnect now", setup: refuse(4200), code: 4200, hint: "try again"},
		{name: "4301", setup: refuse(4301), code: 4301, hint: "rate limit"},
		{name: "HTTP 404", path: "/nothing/here", hint: "no WebSocket endpoint at this path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, err := server.Start(server.Config{})
			require.NoError(t, err)
			t.Cleanup(func() { srv.Close() })
			if tt.setup != nil {
				tt.setup(srv)
			}
			url := srv.URL() + "/app/app-key?protocol=7"
			if tt.path != "" {
				url = srv.URL() + tt.path
			}
			sleeps, sink := &sleepLog{}, newSink()
			// Bounded, so that a regression fails here instead of hanging.
			c := New(Options{URL: url, Channels: []string{"chat"}, Sink: sink, ReconnectAttempts: 3})
			c.sleep = sleeps.sleep
			err = c.Run(ctx10(t))
			var ce *ConnError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.code, ce.Code)
			assert.Zero(t, ce.Attempts)
			assert.Contains(t, ce.Hint, tt.hint)
			assert.Empty(t, sleeps.all(), "no second attempt")
			assert.Empty(t, sink.ch, "no record: there was no connection")
		})
	}
}

func TestDeadServerFailsWithConnError(t *testing.T) {
	t.Parallel()
	addr := hostiletest.ClosedAddr(t)
	url := "ws://" + addr + "/app/app-key?protocol=7"
	sleeps := &sleepLog{}
	log := &memLog{}
	c := New(Options{URL: url, Channels: []string{"chat"}, Sink: newSink(), Log: log, ReconnectAttempts: 3})
	c.sleep = sleeps.sleep
	err := c.Run(ctx10(t))
	var ce *ConnError
	require.ErrorAs(t, err, &ce)
	assert.Zero(t, ce.Attempts, "the first connection is not retried")
	assert.Contains(t, ce.Error(), "connection refused")
	assert.Equal(t, "nothing accepts connections at "+addr+": is the server running? check --host and --port", ce.Hint)
	assert.Empty(t, sleeps.all())
	assert.Equal(t, []string{"info connection: connecting to " + url}, log.all())
}

// TestReconnectsForeverOnceConnected: with ReconnectAttempts 0 a server
// that goes away after the first connection is tried again and again,
// each attempt reported, the delay growing from ReconnectDelay and then
// jittered under the 30 s cap; when the server is back, the channels are
// subscribed again.
func TestReconnectsForeverOnceConnected(t *testing.T) {
	t.Parallel()
	const down = 60 // refused attempts: more than any bounded policy used to allow
	h := start(t, server.Config{}, Options{Channels: []string{"chat"}, ReconnectAttempts: -1, ReconnectDelay: time.Second}, func(s *server.Server) {
		s.SetHandshakeFault(func(n int) *server.Refusal {
			if n == 1 || n > down+1 {
				return nil
			}
			return &server.Refusal{Code: 4100, Message: "Over capacity", Then: server.ThenClose}
		})
	})
	ctx := ctx10(t)
	require.NoError(t, h.srv.WaitSubscribed(ctx, "chat", 1))
	h.srv.DropAll()
	for i := 1; i <= down+1; i++ {
		rec := h.sink.next(t, record.TypeReconnecting)
		require.Equal(t, i, rec.Attempt)
		assert.LessOrEqual(t, rec.Delay, MaxReconnectDelay)
	}
	_, err := h.srv.WaitConn(ctx, down+2)
	require.NoError(t, err)
	require.NoError(t, h.srv.WaitSubscribed(ctx, "chat", 1))
	h.srv.Publish("chat", "back", `{}`, "")
	assert.Equal(t, "back", h.sink.next(t, record.TypeEvent).Event)

	d := h.sleeps.all()
	require.Len(t, d, down+1)
	assert.Equal(t, time.Second, d[0])
	assert.Greater(t, d[5], d[1], "the delay grows")
	tail := d[len(d)-20:]
	distinct := map[time.Duration]bool{}
	for _, x := range tail {
		assert.GreaterOrEqual(t, x, 20*time.Second, "at the cap: 25 s ± 20%%")
		assert.LessOrEqual(t, x, MaxReconnectDelay)
		distinct[x] = true
	}
	assert.Greater(t, len(distinct), 10, "jittered: %v", tail)
	h.cancel()
	assert.ErrorIs(t, h.wait(t), context.Canceled)
}

// memLog keeps the status lines.
type memLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *memLog) add(level, tag, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+" "+tag+": "+msg)
}

func (l *memLog) Info(tag, msg string)  { l.add("info", tag, msg) }
func (l *memLog) Warn(tag, msg string)  { l.add("warn", tag, msg) }
func (l *memLog) Debug(tag, msg string) {}

func (l *memLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func TestWrongPathIsNotRetried(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	sleeps := &sleepLog{}
	c := New(Options{URL: srv.URL() + "/nothing/here", Channels: []string{"chat"}, Sink: newSink()})
	c.sleep = sleeps.sleep
	err = c.Run(ctx10(t))
	var ce *ConnError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.Error(), "404")
	assert.Empty(t, sleeps.all())
}

func TestSinkStopClosesNormally(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{Channels: []string{"chat"}})
	h.sink.mu.Lock()
	h.sink.stopAt = "last"
	h.sink.mu.Unlock()
	require.NoError(t, h.srv.WaitSubscribed(ctx10(t), "chat", 1))
	h.srv.Publish("chat", "first", `{}`, "")
	h.srv.Publish("chat", "last", `{}`, "")
	require.NoError(t, h.wait(t))
	c, err := h.srv.WaitConn(ctx10(t), 1)
	require.NoError(t, err)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection was not closed")
	}
	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	assert.Positive(t, h.sink.flushes)
}

func TestFlushesWhenNoFrameWaits(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{Channels: []string{"chat"}})
	require.NoError(t, h.srv.WaitSubscribed(ctx10(t), "chat", 1))
	for i := 0; i < 500; i++ {
		h.srv.Publish("chat", "burst", `{}`, "")
	}
	for i := 0; i < 500; i++ {
		h.sink.next(t, record.TypeEvent)
	}
	// The last event of a burst is flushed without waiting for more.
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.sink.mu.Lock()
		done := h.sink.flushedUpTo == h.sink.writes
		h.sink.mu.Unlock()
		if done {
			break
		}
		require.True(t, time.Now().Before(deadline), "the burst's last event was never flushed")
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReverbErrorThenDropActsAsItsCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame string
		stop  bool
		delay time.Duration
	}{
		{"4201 pong not received: reconnect at once", `{"event":"pusher:error","data":"{\"code\":4201,\"message\":\"Pong reply not received in time\"}"}`, false, 0},
		{"4001 app gone: stop", `{"event":"pusher:error","data":"{\"code\":4001,\"message\":\"Application does not exist\"}"}`, true, 0},
		{"4301 rate limit does not change the drop", `{"event":"pusher:error","data":"{\"code\":4301,\"message\":\"Rate limit exceeded\"}"}`, false, 3 * time.Second},
		{"4009 not a member: stop", `{"event":"pusher:error","data":"{\"code\":4009,\"message\":\"The user is not a member of this channel\"}"}`, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, server.Config{}, Options{Channels: []string{"chat"}})
			ctx := ctx10(t)
			c1, err := h.srv.WaitConn(ctx, 1)
			require.NoError(t, err)
			require.NoError(t, c1.WaitSubscribed(ctx, "chat"))
			c1.SendRaw(websocket.TextMessage, []byte(tt.frame))
			h.sink.next(t, record.TypeError)
			c1.Drop()
			if tt.stop {
				var ce *ConnError
				require.ErrorAs(t, h.wait(t), &ce)
				assert.Equal(t, int(gjson.Get(gjson.Get(tt.frame, "data").String(), "code").Int()), ce.Code)
				assert.Contains(t, ce.Error(), "(then the connection dropped)")
				return
			}
			// The record announces the wait before it starts: the sleep
			// is only sure to have happened once the next connection is
			// made.
			rec := h.sink.next(t, record.TypeReconnecting)
			assert.Equal(t, tt.delay, rec.Delay)
			_, err = h.srv.WaitConn(ctx, 2)
			require.NoError(t, err)
			assert.Equal(t, []time.Duration{tt.delay}, h.sleeps.all())
		})
	}
}

// TestEarlierErrorDoesNotExplainALaterDrop: Reverb answers a refused
// client event with a channel-less 4009 and keeps the connection open.
// A drop that comes later, for another reason, is a drop: it is retried,
// not taken for a 4009 refusal. "Later" is anything but "next and within
// the window": another frame read in between, or the window (1 s, shrunk
// here) gone by.
func TestEarlierErrorDoesNotExplainALaterDrop(t *testing.T) {
	t.Parallel()
	notMember := []byte(`{"event":"pusher:error","data":"{\"code\":4009,\"message\":\"The user is not a member of this channel\"}"}`)
	tests := []struct {
		name   string
		window time.Duration
		act    func(c *server.Conn)
	}{
		{"another frame in between", ErrorDropWindow, func(c *server.Conn) {
			c.SendRaw(websocket.TextMessage, notMember)
			c.SendRaw(websocket.TextMessage, []byte(`{"event":"pusher:pong","data":{}}`))
		}},
		{"an event in between", ErrorDropWindow, func(c *server.Conn) {
			c.SendRaw(websocket.TextMessage, notMember)
			c.SendRaw(websocket.TextMessage, []byte(`{"event":"e","channel":"chat","data":"{}"}`))
		}},
		{"a malformed frame in between", ErrorDropWindow, func(c *server.Conn) {
			c.SendRaw(websocket.TextMessage, notMember)
			c.SendRaw(websocket.TextMessage, []byte(`{"event":`))
		}},
		{"after the window", time.Nanosecond, func(c *server.Conn) {
			c.SendRaw(websocket.TextMessage, notMember)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := startTweaked(t, server.Config{}, Options{Channels: []string{"chat"}}, func(c *Client) { c.errorDropWindow = tt.window })
			ctx := ctx10(t)
			c1, err := h.srv.WaitConn(ctx, 1)
			require.NoError(t, err)
			require.NoError(t, c1.WaitSubscribed(ctx, "chat"))
			tt.act(c1)
			h.sink.next(t, record.TypeError)
			// Everything sent has been read once the pong, the event or
			// the malformed frame's error record has come through; the
			// after-window case has nothing more.
			if tt.window == ErrorDropWindow {
				h.sink.next(t, record.TypeProtocol, record.TypeEvent, record.TypeError)
			}
			c1.Drop()
			disc := h.sink.next(t, record.TypeDisconnected)
			assert.Zero(t, disc.Code, "a plain drop")
			rec := h.sink.next(t, record.TypeReconnecting)
			assert.Equal(t, 1, rec.Attempt)
			_, err = h.srv.WaitConn(ctx, 2)
			require.NoError(t, err)
			require.NoError(t, h.srv.WaitSubscribed(ctx, "chat", 1))
			assert.Equal(t, []time.Duration{3 * time.Second}, h.sleeps.all())
		})
	}
}

// TestErrorDropWindowEdges drives the session with the reader's
// timestamps: an error explains a drop read up to 1 s after it, not later.
func TestErrorDropWindowEdges(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		after time.Duration
		code  int
	}{{0, 4001}, {ErrorDropWindow, 4001}, {ErrorDropWindow + time.Millisecond, 0}} {
		sink := newSink()
		s := &session{c: New(Options{Sink: sink}), socketID: "1.1", keys: map[string]*[32]byte{}, members: map[string]map[string][]byte{}}
		t0 := time.Now()
		require.NoError(t, s.handle(frame{ts: t0, data: []byte(`{"event":"pusher:error","data":"{\"code\":4001,\"message\":\"Application does not exist\"}"}`)}))
		err := s.readError(context.Background(), &websocket.CloseError{Code: websocket.CloseAbnormalClosure}, t0.Add(tt.after))
		var d *disconnect
		require.ErrorAs(t, err, &d)
		assert.Equal(t, tt.code, d.code, "a drop %s after the error", tt.after)
	}
}
