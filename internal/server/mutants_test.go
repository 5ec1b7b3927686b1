package server

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// TestAuthBodyLimitIsExact: a body of exactly 64 KiB is read whole and
// signed; one byte more is refused with 400 and says why.
func TestAuthBodyLimitIsExact(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	form := "application/x-www-form-urlencoded"
	params := "socket_id=1.2&channel_name=private-x&pad="
	exact := params + strings.Repeat("p", maxAuthBody-len(params))
	require.Len(t, exact, maxAuthBody)

	status, _, body := httpDo(t, http.MethodPost, s.AuthURL(), form, exact, nil)
	assert.Equal(t, http.StatusOK, status, body)
	assert.True(t, gjson.Get(body, "auth").Exists(), body)

	status, _, body = httpDo(t, http.MethodPost, s.AuthURL(), form, exact+"p", nil)
	assert.Equal(t, http.StatusBadRequest, status, body)
	assert.Equal(t, "the request body is larger than 64 KiB", gjson.Get(body, "message").String())
}

// TestPusherCacheExpiresAtThirtyMinutes: like Pusher, a cached event is
// served up to just under 30 minutes after it was published, and not at 30.
func TestPusherCacheExpiresAtThirtyMinutes(t *testing.T) {
	t.Parallel()
	const channel = "cache-news"
	for _, age := range []time.Duration{pusherCacheTTL - time.Second, pusherCacheTTL} {
		t.Run(age.String(), func(t *testing.T) {
			t.Parallel()
			var clock atomic.Int64
			clock.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Unix())
			s := start(t, Config{Like: LikePusher, Now: func() time.Time { return time.Unix(clock.Load(), 0) }})
			s.Publish(channel, "cached-one", "{}", "")
			clock.Add(int64(age / time.Second))
			c, _ := joinAs(t, s, channel, "")
			if age < pusherCacheTTL {
				c.expect("cached-one")
			} else {
				assert.Equal(t, cacheMiss(channel), string(c.readRaw()), "expired at 30 minutes")
			}
		})
	}
}

// TestAuthEndpointLogSaysWhoPresenceIs: the --serve log names the member a
// presence authorization was signed for, and says nothing of one for a
// private channel.
func TestAuthEndpointLogSaysWhoPresenceIs(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var lines []string
	s := start(t, Config{Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(format, args...))
	}})
	form := "application/x-www-form-urlencoded"
	status, _, body := httpDo(t, http.MethodPost, s.AuthURL(), form, "socket_id=1.2&channel_name=presence-room", nil)
	require.Equal(t, http.StatusOK, status, body)
	status, _, body = httpDo(t, http.MethodPost, s.AuthURL(), form, "socket_id=1.2&channel_name=private-room", nil)
	require.Equal(t, http.StatusOK, status, body)

	mu.Lock()
	defer mu.Unlock()
	var presence, private string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "auth endpoint: signed presence-room"):
			presence = l
		case strings.HasPrefix(l, "auth endpoint: signed private-room"):
			private = l
		}
	}
	assert.Contains(t, presence, `for socket 1.2 as {"user_id":`)
	assert.Equal(t, "auth endpoint: signed private-room for socket 1.2", private)
}

// TestAPIBodyLimitIsExact: the HTTP API reads a body of room for a full
// batch of the largest events (10 × (6 × MaxEventData + 64 KiB): JSON
// escaping included) and refuses one byte more with 413; with no event
// limit the body may be 32 MiB.
func TestAPIBodyLimitIsExact(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		maxEventData int
		limit        int
	}{
		{100, 10 * (6*100 + 64<<10)},
		{DefaultMaxEventData, 10 * (6*DefaultMaxEventData + 64<<10)},
		{-1, 32 << 20},
	} {
		s := start(t, Config{MaxEventData: tt.maxEventData})
		path := "/apps/" + s.cfg.AppID + "/events"
		status, body := post(t, s, path, nil, strings.Repeat(" ", tt.limit))
		assert.Equal(t, http.StatusUnauthorized, status, "a body of exactly %d bytes is read, then the signature checked: %s", tt.limit, body.Raw)
		status, body = post(t, s, path, nil, strings.Repeat(" ", tt.limit+1))
		assert.Equal(t, http.StatusRequestEntityTooLarge, status, body.Raw)
		assert.Contains(t, body.Raw, fmt.Sprintf("Request body larger than %d bytes", tt.limit))
	}
}

// TestCloseReasonAtItsLimit: a close reason of exactly 123 bytes (125 of
// a control frame, 2 for the code) is sent whole; one byte more is cut,
// never in the middle of a UTF-8 sequence.
func TestCloseReasonAtItsLimit(t *testing.T) {
	t.Parallel()
	exact := strings.Repeat("r", 123)
	assert.Equal(t, exact, closeReason(exact))
	assert.Equal(t, exact, closeReason(exact+"s"))
	assert.Equal(t, strings.Repeat("r", 122), closeReason(strings.Repeat("r", 122)+"é"), "é would end past byte 123: it goes whole")
	assert.Equal(t, "", closeReason(""))
}

// TestBatchOfExactlyTenIsPublished: Pusher's batch limit is 10 events; a
// batch of 10 is published whole (11 is refused: TestHTTPAPIRefusals).
func TestBatchOfExactlyTenIsPublished(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := connect(t, s)
	c.subscribe("ten", "", "")
	c.expect("pusher_internal:subscription_succeeded")
	var evs []string
	for i := range maxBatchEvents {
		evs = append(evs, fmt.Sprintf(`{"channel":"ten","name":"e%d","data":"{}"}`, i))
	}
	status, body := signedPost(t, s, "/apps/"+s.cfg.AppID+"/batch_events", `{"batch":[`+strings.Join(evs, ",")+`]}`)
	require.Equal(t, http.StatusOK, status, body.Raw)
	for i := range maxBatchEvents {
		assert.Equal(t, fmt.Sprintf("e%d", i), c.read().Get("event").String())
	}
}

// TestSignedRequestWithoutABodyHasNoBodyMD5: body_md5 is part of the
// signed query only when there is a body, as Pusher's libraries sign; an
// empty body signed without it passes the signature check (and is then
// refused for what it lacks).
func TestSignedRequestWithoutABodyHasNoBodyMD5(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	status, body := signedPost(t, s, "/apps/"+s.cfg.AppID+"/events", "")
	assert.Equal(t, http.StatusBadRequest, status, "signed right, so past the signature: %s", body.Raw)
	assert.NotContains(t, body.Raw, "signature")
}

// TestLoopGapDefault: no gap given (0) is the default second between
// rounds of a looped recording; a gap given is kept.
func TestLoopGapDefault(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ given, want time.Duration }{
		{0, DefaultLoopGap},
		{-time.Second, DefaultLoopGap},
		{5 * time.Millisecond, 5 * time.Millisecond},
		{time.Minute, time.Minute},
	} {
		c := Config{LoopGap: tt.given}
		c.setDefaults()
		assert.Equal(t, tt.want, c.LoopGap, "LoopGap %v", tt.given)
	}
}

// TestHTTPTimeoutsBoundSlowClients: a client trickling a request's headers
// or body cannot hold a goroutine for ever: 10 s for the headers, 30 s for
// the whole request, 60 s for an idle keep-alive connection (a WebSocket,
// once upgraded, is hijacked and has none of these).
func TestHTTPTimeoutsBoundSlowClients(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	assert.Equal(t, 10*time.Second, s.httpSrv.ReadHeaderTimeout)
	assert.Equal(t, 30*time.Second, s.httpSrv.ReadTimeout)
	assert.Equal(t, 60*time.Second, s.httpSrv.IdleTimeout)
}

// TestChannelNameAtItsLimit: Pusher's channel names are at most 164
// characters; a name of exactly 164 is subscribed, one more is refused.
func TestChannelNameAtItsLimit(t *testing.T) {
	t.Parallel()
	assert.True(t, isValidChannel(strings.Repeat("c", maxChannelLen)))
	assert.False(t, isValidChannel(strings.Repeat("c", maxChannelLen+1)))

	s := start(t, Config{})
	c, _ := connect(t, s)
	c.subscribe(strings.Repeat("c", maxChannelLen), "", "")
	c.expect("pusher_internal:subscription_succeeded")
}
