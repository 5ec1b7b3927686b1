package pusher

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/nacl/secretbox"

	"github.com/amusoft/tmsws/internal/auth"
)

func TestParseFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		event string
		ch    string
		data  string // "" means nil
		user  string
	}{
		{"data as JSON string (Pusher norm)", `{"event":"pusher:connection_established","data":"{\"socket_id\":\"123.456\",\"activity_timeout\":30}"}`, "pusher:connection_established", "", `{"socket_id":"123.456","activity_timeout":30}`, ""},
		{"data as object", `{"event":"pusher:error","data":{"code":4001,"message":"App not found"}}`, "pusher:error", "", `{"code":4001,"message":"App not found"}`, ""},
		{"no data (Reverb pong)", `{"event":"pusher:pong"}`, "pusher:pong", "", "", ""},
		{"string that is not JSON", `{"event":"e","channel":"c","data":"hello world"}`, "e", "c", `"hello world"`, ""},
		{"Laravel event with escaped slashes", `{"event":"App\\Events\\MessageSent","channel":"private-chat.42","data":"{\"message\":{\"url\":\"https:\\/\\/x\\/y\"}}"}`, `App\Events\MessageSent`, "private-chat.42", `{"message":{"url":"https:\/\/x\/y"}}`, ""},
		{"client event with user_id", `{"event":"client-typing","channel":"presence-room.1","data":{"typing":true},"user_id":"8"}`, "client-typing", "presence-room.1", `{"typing":true}`, "8"},
		{"multi-line JSON data is compacted", "{\"event\":\"e\",\"data\":\"{\\n  \\\"a\\\": 1\\n}\"}", "e", "", `{"a":1}`, ""},
		{"null data", `{"event":"e","data":null}`, "e", "", `null`, ""},
		{"empty string data", `{"event":"e","data":""}`, "e", "", `""`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFrame([]byte(tt.in))
			require.NoError(t, err)
			assert.Equal(t, tt.event, f.Event)
			assert.Equal(t, tt.ch, f.Channel)
			assert.Equal(t, tt.user, f.UserID)
			if tt.data == "" {
				assert.Nil(t, f.Data)
			} else {
				assert.Equal(t, tt.data, string(f.Data))
			}
		})
	}
}

func TestParseFrameMalformed(t *testing.T) {
	t.Parallel()
	for _, in := range []string{``, `not json`, `[1,2]`, `{"data":"x"}`, `{"event":`, `"str"`} {
		_, err := ParseFrame([]byte(in))
		assert.Error(t, err, in)
	}
}

func TestErrorData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		wire string
		code int
		msg  string
	}{
		{"object form (Pusher, Soketi)", `{"event":"pusher:error","data":{"code":4001,"message":"App not found"}}`, 4001, "App not found"},
		{"string form (Reverb)", `{"event":"pusher:error","data":"{\"code\":4201,\"message\":\"Pong reply not received in time\"}"}`, 4201, "Pong reply not received in time"},
		{"code null (Pusher subscription error)", `{"event":"pusher:error","data":{"code":null,"message":"Invalid signature"}}`, 0, "Invalid signature"},
		{"no data", `{"event":"pusher:error"}`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFrame([]byte(tt.wire))
			require.NoError(t, err)
			code, msg := ErrorData(f.Data)
			assert.Equal(t, tt.code, code)
			assert.Equal(t, tt.msg, msg)
		})
	}
}

func TestActionFor(t *testing.T) {
	t.Parallel()
	assert.Equal(t, actionStop, actionFor(4000))
	assert.Equal(t, actionStop, actionFor(4001))
	assert.Equal(t, actionStop, actionFor(4099))
	assert.Equal(t, actionBackoff, actionFor(4100))
	assert.Equal(t, actionBackoff, actionFor(4199))
	assert.Equal(t, actionRetryNow, actionFor(4200))
	assert.Equal(t, actionRetryNow, actionFor(4299))
	assert.Equal(t, actionBackoff, actionFor(1006))
	assert.Equal(t, actionBackoff, actionFor(0))
}

func TestDelayGrowsWithJitter(t *testing.T) {
	t.Parallel()
	c := New(Options{ReconnectDelay: 3 * time.Second})
	c.rand = func() float64 { return 0.5 } // no jitter
	assert.Equal(t, 3*time.Second, c.delay(1))
	assert.Equal(t, 4500*time.Millisecond, c.delay(2))
	assert.Equal(t, 6750*time.Millisecond, c.delay(3))
	assert.Equal(t, 25*time.Second, c.delay(20), "growth stops at 25 s, so that ±20% stays within 30 s")
	assert.Equal(t, 25*time.Second, c.delay(1_000_000), "a week-long outage does not loop or overflow")

	c.rand = func() float64 { return 0 }
	assert.Equal(t, 3600*time.Millisecond, c.delay(2), "-20%")
	assert.Equal(t, 20*time.Second, c.delay(20), "-20% at the cap")
	c.rand = func() float64 { return 0.999999 }
	assert.InDelta(t, float64(5400*time.Millisecond), float64(c.delay(2)), float64(time.Millisecond), "+20%")
	assert.Equal(t, MaxReconnectDelay, c.delay(20), "+20% at the cap is the cap")

	// A first delay above the cap is kept, and is the cap.
	c = New(Options{ReconnectDelay: time.Minute})
	c.rand = func() float64 { return 0.999999 }
	assert.Equal(t, time.Minute, c.delay(1))
	assert.Equal(t, time.Minute, c.delay(5))
}

func TestClassify(t *testing.T) {
	t.Parallel()
	c := New(Options{URL: "ws://x"})
	retryNow, fatal := c.classify(&disconnect{code: 4200})
	assert.True(t, retryNow)
	assert.NoError(t, fatal)
	retryNow, fatal = c.classify(&disconnect{code: 4100})
	assert.False(t, retryNow)
	assert.NoError(t, fatal)
	_, fatal = c.classify(&disconnect{code: 4001, reason: "App not found"})
	var ce *ConnError
	require.ErrorAs(t, fatal, &ce)
	assert.Equal(t, 4001, ce.Code)
	_, fatal = c.classify(&SubscriptionError{Channel: "private-x"})
	assert.Error(t, fatal)
	_, fatal = c.classify(&auth.Error{Kind: auth.ServerError, Status: 500})
	assert.NoError(t, fatal, "a 5xx from the auth endpoint is retried")
	_, fatal = c.classify(&ConnError{Err: errors.New("connection refused")})
	assert.NoError(t, fatal)
	_, fatal = c.classify(&ConnError{Err: errors.New("x509: certificate has expired"), Hint: "TLS failed"})
	assert.NoError(t, fatal, "once connected, a TLS failure can be a redeploy: retried")
	_, fatal = c.classify(&ConnError{Reason: "HTTP 404 Not Found on the WebSocket upgrade"})
	assert.NoError(t, fatal, "once connected, an HTTP refusal can be a redeploy: retried")
	for _, code := range []int{4000, 4001, 4099, 4300, 4301, 4302, 4999} {
		_, fatal = c.classify(&disconnect{code: code})
		require.ErrorAs(t, fatal, &ce, "close %d stops", code)
		assert.Equal(t, code, ce.Code)
		_, fatal = c.classify(&ConnError{Code: code})
		assert.Error(t, fatal, "handshake error %d stops", code)
	}
	for _, code := range []int{4100, 4199, 1000, 1001, 1006, 1009, 1011, 3000} {
		retryNow, fatal = c.classify(&disconnect{code: code})
		assert.NoError(t, fatal, "close %d is retried", code)
		assert.False(t, retryNow, "close %d backs off", code)
	}
	for _, code := range []int{4200, 4299} {
		retryNow, fatal = c.classify(&ConnError{Code: code})
		assert.NoError(t, fatal)
		assert.True(t, retryNow, "handshake error %d is retried at once", code)
	}
}

func TestDecrypt(t *testing.T) {
	t.Parallel()
	var key [32]byte
	_, err := rand.Read(key[:])
	require.NoError(t, err)
	var nonce [24]byte
	_, err = rand.Read(nonce[:])
	require.NoError(t, err)
	plain := `{"message":{"content":"secret hi"}}`
	ct := secretbox.Seal(nil, []byte(plain), &nonce, &key)
	data := `{"nonce":"` + base64.StdEncoding.EncodeToString(nonce[:]) + `","ciphertext":"` + base64.StdEncoding.EncodeToString(ct) + `"}`

	got, err := decrypt(&key, []byte(data))
	require.NoError(t, err)
	assert.Equal(t, plain, string(got))

	var wrong [32]byte
	_, err = decrypt(&wrong, []byte(data))
	assert.ErrorContains(t, err, "authentication failed")
	_, err = decrypt(&key, []byte(`{"nonce":"AAAA","ciphertext":"AAAA"}`))
	assert.Error(t, err)

	k, err := decodeSharedSecret(base64.StdEncoding.EncodeToString(key[:]))
	require.NoError(t, err)
	assert.Equal(t, key, *k)
	_, err = decodeSharedSecret("")
	assert.ErrorContains(t, err, "encryption_master_key_base64")
	_, err = decodeSharedSecret(base64.StdEncoding.EncodeToString([]byte("short")))
	assert.Error(t, err)
}

func TestSleepCtx(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, sleepCtx(ctx, time.Hour), context.Canceled)
}
