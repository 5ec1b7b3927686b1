package pusher

// Tests that kill the mutants a gremlins run left alive in client.go,
// encrypted.go, errors.go and frame.go (issue 10, part A). Each is written
// as the behaviour it protects: a status line's text, an error's hint, a
// code read at and around its bounds.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"golang.org/x/crypto/nacl/secretbox"

	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/server"
)

var errDiskFull = errors.New("write /dev/full: no space left on device")

// brokenFlushSink is a memSink whose Flush fails once broken says so.
type brokenFlushSink struct {
	*memSink
	stopped atomic.Bool // set once Write has returned ErrStop
	broken  func(s *brokenFlushSink) bool
}

func (s *brokenFlushSink) Write(r *record.Record) error {
	err := s.memSink.Write(r)
	if errors.Is(err, ErrStop) {
		s.stopped.Store(true)
	}
	return err
}

func (s *brokenFlushSink) Flush() error {
	_ = s.memSink.Flush()
	if s.broken(s) {
		return errDiskFull
	}
	return nil
}

// TestStopThenAFailedFlushIsAnError: a Sink that stops Run and then
// cannot flush what it holds (a full disk) makes Run fail with the flush
// error: the output is incomplete, so the run is not a success.
func TestStopThenAFailedFlushIsAnError(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	sink := &brokenFlushSink{memSink: newSink(), broken: func(s *brokenFlushSink) bool { return s.stopped.Load() }}
	sink.stopAt = "last"
	c := New(Options{URL: srv.URL() + "/app/app-key?protocol=7", Channels: []string{"chat"}, Sink: sink})
	c.sleep = (&sleepLog{}).sleep
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx10(t)) }()
	require.NoError(t, srv.WaitSubscribed(ctx10(t), "chat", 1))
	srv.Publish("chat", "last", `{}`, "")
	err = receive(t, done, "Run returning after the Sink stopped it")
	assert.ErrorIs(t, err, errDiskFull)
}

// TestCancelWithAFailedFlushReportsTheCancel: when the run ends because
// its context did, a flush that fails as well does not hide why it ended.
func TestCancelWithAFailedFlushReportsTheCancel(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sink := &brokenFlushSink{memSink: newSink(), broken: func(*brokenFlushSink) bool { return ctx.Err() != nil }}
	c := New(Options{URL: srv.URL() + "/app/app-key?protocol=7", Channels: []string{"chat"}, Sink: sink})
	c.sleep = (&sleepLog{}).sleep
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	require.NoError(t, srv.WaitSubscribed(ctx10(t), "chat", 1))
	cancel()
	err = receive(t, done, "Run returning after cancel")
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, errDiskFull)
}

// TestStopCodesOnALiveConnectionSayWhatToDo: a live connection the server
// closes with a "do not come back" code ends Run with a ConnError whose
// hint is the code's own (4001: --key, 4301: the rate limit), the generic
// "application error" one for a 4300-and-above code without its own, and
// none for a 4000–4099 code nothing is known about.
func TestStopCodesOnALiveConnectionSayWhatToDo(t *testing.T) {
	t.Parallel()
	const appError = "the server ended the connection with an application error (4300 and above): like pusher-js, tmsws does not reconnect after it"
	tests := []struct {
		code int
		hint string
	}{
		{4001, CodeHint(4001)},
		{4002, ""},
		{4099, ""},
		{4300, appError},
		{4301, "the server refused a client event over its rate limit"},
		{4302, appError},
		{4999, appError},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			t.Parallel()
			h := start(t, server.Config{}, Options{Channels: []string{"chat"}})
			require.NoError(t, h.srv.WaitSubscribed(ctx10(t), "chat", 1))
			h.srv.CloseAll(tt.code, "go away")
			var ce *ConnError
			require.ErrorAs(t, h.wait(t), &ce)
			assert.Equal(t, tt.code, ce.Code)
			assert.Equal(t, "go away", ce.Reason)
			assert.Equal(t, tt.hint, ce.Hint)
			assert.Empty(t, h.sleeps.all(), "not retried")
		})
	}
}

// TestGivingUpKeepsTheCausesHint: when reconnecting fails for good, the
// error's hint is the last failure's own (4100: the quota) when it has
// one, and "the server stayed unreachable" when it has none (a
// connection dropped before its channels were subscribed).
func TestGivingUpKeepsTheCausesHint(t *testing.T) {
	t.Parallel()
	t.Run("the code's hint", func(t *testing.T) {
		t.Parallel()
		h := start(t, server.Config{}, Options{Channels: []string{"chat"}, ReconnectAttempts: 1}, func(s *server.Server) {
			s.SetHandshakeFault(func(n int) *server.Refusal {
				if n == 1 {
					return nil
				}
				return &server.Refusal{Code: 4100, Message: "Over capacity", Then: server.ThenClose}
			})
		})
		require.NoError(t, h.srv.WaitSubscribed(ctx10(t), "chat", 1))
		h.srv.DropAll()
		var ce *ConnError
		require.ErrorAs(t, h.wait(t), &ce)
		assert.Equal(t, 1, ce.Attempts)
		assert.Equal(t, 4100, ce.Code)
		assert.Equal(t, CodeHint(4100), ce.Hint)
	})
	t.Run("no hint of its own", func(t *testing.T) {
		t.Parallel()
		// The first connection is subscribed and dropped; the next ones are
		// dropped right after the greeting.
		srv := hostiletest.Start(t, func(c *hostiletest.Conn) {
			_ = c.Established(`"activity_timeout":30`)
			if c.N == 1 {
				c.ConfirmSubscribe()
			}
		})
		c := New(Options{URL: srv.URL(), Channels: []string{"chat"}, Sink: newSink(), ReconnectAttempts: 1})
		sleeps := &sleepLog{}
		c.sleep = sleeps.sleep
		var ce *ConnError
		require.ErrorAs(t, c.Run(ctx10(t)), &ce)
		assert.Len(t, sleeps.all(), 1, "one reconnect")
		assert.Equal(t, 1, ce.Attempts)
		assert.Equal(t, "the server stayed unreachable: check that it runs and that --host/--port/--scheme point at it; --reconnect-attempts 0 retries forever", ce.Hint)
	})
}

// TestReconnectingLineSaysWhenAndHowMany: the status line of each
// reconnect says when it comes ("now" for a 4200–4299 close, "in 3s"
// after a drop) and the attempt out of the budget ("∞" when unbounded).
func TestReconnectingLineSaysWhenAndHowMany(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		attempts int // as start takes it: -1 is forever
		act      func(s *server.Server)
		want     string
	}{
		{"4200, bounded", 5, func(s *server.Server) { s.CloseAll(4200, "Server is closing") }, "warn connection: reconnecting now (attempt 1/5): closed with 4200 Server is closing"},
		{"4200, forever", -1, func(s *server.Server) { s.CloseAll(4200, "Server is closing") }, "warn connection: reconnecting now (attempt 1/∞): closed with 4200 Server is closing"},
		{"1001, one attempt", 1, func(s *server.Server) { s.CloseAll(1001, "bye") }, "warn connection: reconnecting in 3s (attempt 1/1): closed with 1001 bye"},
		{"1001, forever", -1, func(s *server.Server) { s.CloseAll(1001, "bye") }, "warn connection: reconnecting in 3s (attempt 1/∞): closed with 1001 bye"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := &memLog{}
			h := start(t, server.Config{}, Options{Channels: []string{"chat"}, ReconnectAttempts: tt.attempts, Log: log})
			require.NoError(t, h.srv.WaitSubscribed(ctx10(t), "chat", 1))
			tt.act(h.srv)
			// The line is written before the record.
			h.sink.next(t, record.TypeReconnecting)
			var lines []string
			for _, l := range log.all() {
				if strings.Contains(l, "reconnecting") {
					lines = append(lines, l)
				}
			}
			assert.Equal(t, []string{tt.want}, lines)
		})
	}
}

// TestSleepCtxWaitsOrEnds: sleepCtx waits the given time or until the context ends; a wait of
// zero or less does not wait, and says whether the context has ended.
func TestSleepCtxWaitsOrEnds(t *testing.T) {
	t.Parallel()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	// With a timer, a zero wait on an ended context would race the timer
	// against the context (a select picks at random): every one must say
	// the context ended.
	for range 200 {
		require.ErrorIs(t, sleepCtx(ended, 0), context.Canceled, "a zero wait on an ended context")
		require.ErrorIs(t, sleepCtx(ended, -time.Second), context.Canceled, "a negative wait on an ended context")
	}
	assert.NoError(t, sleepCtx(context.Background(), 0))
	assert.NoError(t, sleepCtx(context.Background(), -time.Second))

	// A positive wait lasts until the context ends, not less.
	t0 := time.Now()
	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelShort()
	assert.ErrorIs(t, sleepCtx(short, time.Hour), context.DeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(t0), 20*time.Millisecond)
	// And until d, on a context that lasts.
	t0 = time.Now()
	assert.NoError(t, sleepCtx(context.Background(), 5*time.Millisecond))
	assert.GreaterOrEqual(t, time.Since(t0), 5*time.Millisecond)
}

// TestDecryptAtTheOverhead: a secretbox is its 16-byte tag and the
// message. One of exactly 16 bytes is an empty message, which decrypts to
// an empty string when the tag is right; one byte less is too short.
func TestDecryptAtTheOverhead(t *testing.T) {
	t.Parallel()
	var key [32]byte
	_, err := rand.Read(key[:])
	require.NoError(t, err)
	var nonce [24]byte
	_, err = rand.Read(nonce[:])
	require.NoError(t, err)
	data := func(ct []byte) []byte {
		return []byte(`{"nonce":"` + base64.StdEncoding.EncodeToString(nonce[:]) + `","ciphertext":"` + base64.StdEncoding.EncodeToString(ct) + `"}`)
	}
	empty := secretbox.Seal(nil, nil, &nonce, &key)
	require.Len(t, empty, secretbox.Overhead)

	got, err := decrypt(&key, data(empty))
	require.NoError(t, err, "an empty message")
	assert.Equal(t, `""`, string(got))

	_, err = decrypt(&key, data(empty[:secretbox.Overhead-1]))
	assert.EqualError(t, err, "the ciphertext is too short")

	forged := make([]byte, secretbox.Overhead)
	_, err = decrypt(&key, data(forged))
	assert.EqualError(t, err, "authentication failed (wrong key or corrupted message)")

	one := secretbox.Seal(nil, []byte("x"), &nonce, &key)
	got, err = decrypt(&key, data(one))
	require.NoError(t, err)
	assert.Equal(t, `"x"`, string(got))
}

// TestSubscriptionRefusalHints: a refusal by the server is blamed on the
// signature when its message says so or its code is 4009 (Reverb) or 401
// (Soketi); any other says to check the channel name and limits; one by
// the auth endpoint has its own error and no hint here.
func TestSubscriptionRefusalHints(t *testing.T) {
	t.Parallel()
	const signature = "the server rejected the channel signature: the auth endpoint signs with a different app key/secret than this server uses (check --key, or --app-secret)"
	const other = "the server refused the subscription: check the channel name and the app's limits"
	tests := []struct {
		err  SubscriptionError
		want string
	}{
		{SubscriptionError{Code: 4009, Message: "Connection is unauthorized"}, signature},
		{SubscriptionError{Code: 4008, Message: "Connection is unauthorized"}, other},
		{SubscriptionError{Code: 4010, Message: "Connection is unauthorized"}, other},
		{SubscriptionError{Code: 401, Message: "Unauthorized"}, signature},
		{SubscriptionError{Code: 400, Message: "Unauthorized"}, other},
		{SubscriptionError{Code: 402, Message: "Unauthorized"}, other},
		{SubscriptionError{Code: 0, Message: "Invalid signature: Expected HMAC SHA256 hex digest of 1.1:private-a"}, signature},
		{SubscriptionError{Code: 0, Message: "The channel is full"}, other},
		{SubscriptionError{Code: 4100, Message: "Over capacity"}, other},
		{SubscriptionError{Code: 4009, Err: errors.New("authorize private-a: HTTP 403")}, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Hint(), "code %d, %q", tt.err.Code, tt.err.Message)
	}
}

// TestReconnectCodesHint: 4200–4299 ask for a reconnect, at both ends of
// the range, and say to try again; the codes around them do not.
func TestReconnectCodesHint(t *testing.T) {
	t.Parallel()
	const again = "the server asked for a reconnect (it may be restarting): try again in a moment"
	assert.Empty(t, CodeHint(4199))
	assert.Equal(t, again, CodeHint(4200))
	assert.Equal(t, again, CodeHint(4250))
	assert.Equal(t, again, CodeHint(4299))
	assert.Empty(t, CodeHint(4300))

	// A first connection refused with 4299 fails with that hint.
	srv, err := server.Start(server.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	srv.SetHandshakeFault(func(int) *server.Refusal {
		return &server.Refusal{Code: 4299, Message: "not now", Then: server.ThenClose}
	})
	c := New(Options{URL: srv.URL() + "/app/app-key?protocol=7", Channels: []string{"chat"}, Sink: newSink(), ReconnectAttempts: 1})
	c.sleep = (&sleepLog{}).sleep
	var ce *ConnError
	require.ErrorAs(t, c.Run(ctx10(t)), &ce)
	assert.Equal(t, 4299, ce.Code)
	assert.Equal(t, again, ce.Hint)
}

// TestLineBreaksAtTheStartOfDataAreCompacted: JSON data that spans lines
// is compacted onto one, also when the first byte of it is the line break
// (a LF or a CR); data on one line keeps its spacing.
func TestLineBreaksAtTheStartOfDataAreCompacted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		data string // the JSON the data string holds
		want string
	}{
		{"\n{\"a\": 1}", `{"a":1}`},
		{"\r{\"a\": 1}", `{"a":1}`},
		{"\r\n{\"a\": 1}", `{"a":1}`},
		{"{\"a\":\r 1}", `{"a":1}`},
		{"{\"a\":\n 1}", `{"a":1}`},
		{`{"a": 1}`, `{"a": 1}`},
	}
	for _, tt := range tests {
		f, err := ParseFrame(hostiletest.Event("chat", "e", tt.data))
		require.NoError(t, err)
		assert.Equal(t, tt.want, string(f.Data), "%q", tt.data)
	}
}

// TestDecodeDataOfAnAbsentValue: a value gjson found absent (what Get
// returns for a missing key) is no data, as in a frame without a data
// key; a JSON null is the data null.
func TestDecodeDataOfAnAbsentValue(t *testing.T) {
	t.Parallel()
	got, err := decodeData(gjson.Get(`{"event":"pusher:pong"}`, "data"))
	require.NoError(t, err)
	assert.Nil(t, got)
	got, err = decodeData(gjson.Get(`{"event":"e","data":null}`, "data"))
	require.NoError(t, err)
	assert.Equal(t, "null", string(got))
}

// TestErrorCodeBounds: an error code is read as a number or a numeric
// string, up to 65535 (the largest a close frame carries); anything
// larger or negative is no code.
func TestErrorCodeBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code string // raw JSON
		want int
	}{
		{`4001`, 4001},
		{`"4001"`, 4001},
		{`0`, 0},
		{`"0"`, 0},
		{`65534`, 65534},
		{`65535`, 65535},
		{`"65535"`, 65535},
		{`65536`, 0},
		{`"65536"`, 0},
		{`-1`, 0},
		{`"-1"`, 0},
		{`true`, 0},
	}
	for _, tt := range tests {
		code, msg := ErrorData([]byte(`{"code":` + tt.code + `,"message":"m"}`))
		assert.Equal(t, tt.want, code, "code %s", tt.code)
		assert.Equal(t, "m", msg)
	}
}
