package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests for behaviour that the gremlins run found unguarded (the survivors
// listed in docs/testing.md).

// A request without a body (a GET of the HTTP API) carries no body_md5: the
// Pusher server would sign a different string and answer 401.
func TestSignAPIQueryWithoutABodyHasNoBodyMD5(t *testing.T) {
	t.Parallel()
	for _, body := range [][]byte{nil, {}} {
		q := SignAPIQuery("GET", "/apps/3/channels", url.Values{"filter_by_prefix": {"presence-"}}, body,
			"278d425bdf160c739803", "7ad3773142a6692b25b8", time.Unix(1353088179, 0))
		assert.False(t, q.Has("body_md5"), "body %q: body_md5 only with a body", body)
		mac := hmac.New(sha256.New, []byte("7ad3773142a6692b25b8"))
		mac.Write([]byte("GET\n/apps/3/channels\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-"))
		assert.Equal(t, hex.EncodeToString(mac.Sum(nil)), q.Get("auth_signature"))
	}
}

// The encryption_master_key_base64 hint is added to a 500 on an encrypted
// channel (pusher-php throws without the key), never to another failure.
func TestEncryptionHintOnlyOnAServerError(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status   int
		channel  string
		wantHint bool
	}{
		{500, "private-encrypted-chat.1", true},
		{500, "private-chat.1", false},
		{403, "private-encrypted-chat.1", false},
		{404, "private-encrypted-chat.1", false},
	} {
		t.Run(fmt.Sprint(tt.status, " ", tt.channel), func(t *testing.T) {
			t.Parallel()
			srv, _ := laravel(t, func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, tt.status, `{"message":"no"}`)
			})
			ep := &Endpoint{HTTP: srv.Client(), URL: srv.URL + "/broadcasting/auth", Token: testToken}
			_, err := ep.Authorize(context.Background(), socketID, tt.channel)
			var ae *Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.status, ae.Status)
			if tt.wantHint {
				assert.Contains(t, ae.Hint, "encryption_master_key_base64")
			} else {
				assert.NotContains(t, ae.Hint, "encryption_master_key_base64")
			}
		})
	}
}

// Every 2xx is an answer to read, 299 included; 300 is not.
func TestEveryTwoHundredIsAnAnswer(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 201, 299} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			srv, _ := laravel(t, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, status, signed(t, r, "", nil))
			})
			ep := &Endpoint{HTTP: srv.Client(), URL: srv.URL + "/broadcasting/auth", Token: testToken}
			res, err := ep.Authorize(context.Background(), socketID, "private-chat.42")
			require.NoError(t, err)
			assert.Equal(t, ChannelAuth(appKey, appSecret, socketID, "private-chat.42", ""), res.Auth)
		})
	}
	srv, _ := laravel(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 300, signed(t, r, "", nil))
	})
	ep := &Endpoint{HTTP: srv.Client(), URL: srv.URL + "/broadcasting/auth", Token: testToken}
	_, err := ep.Authorize(context.Background(), socketID, "private-chat.42")
	var ae *Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 300, ae.Status)
}

// Endpoint.HTTP nil means a 10 s timeout (its documented default), not none;
// a given client keeps its own, and neither follows redirects.
func TestNilHTTPClientTimesOutAfterTenSeconds(t *testing.T) {
	t.Parallel()
	c := noRedirects(nil)
	assert.Equal(t, 10*time.Second, c.Timeout)
	require.NotNil(t, c.CheckRedirect)
	assert.ErrorIs(t, c.CheckRedirect(nil, nil), http.ErrUseLastResponse)

	own := &http.Client{Timeout: 3 * time.Second}
	c = noRedirects(own)
	assert.Equal(t, 3*time.Second, c.Timeout)
	assert.Nil(t, own.CheckRedirect, "the caller's client is not changed")
}

// CleanMessage scrubs secrets of 4 characters or more (shorter ones would
// blank out ordinary words), and cuts only what is longer than 200 runes.
func TestCleanMessageEnds(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "wrong password [redacted]", CleanMessage("wrong password abcd", "abcd"))
	assert.Equal(t, "wrong password abc", CleanMessage("wrong password abc", "abc"))

	exact := strings.Repeat("é", 200)
	assert.Equal(t, exact, CleanMessage(exact), "200 runes are kept whole")
	assert.Equal(t, strings.Repeat("é", 200)+"…", CleanMessage(strings.Repeat("é", 201)))
}

// A login answer without a token names at most 20 of its top-level keys.
func TestLoginHintNamesTwentyKeys(t *testing.T) {
	t.Parallel()
	var keys, want []string
	for i := range 25 {
		keys = append(keys, fmt.Sprintf(`"k%02d":%d`, i, i))
		if i < 20 {
			want = append(want, fmt.Sprintf("k%02d", i))
		}
	}
	u := loginServer(t, answerJSON(200, "{"+strings.Join(keys, ",")+"}"))
	_, err := Login(context.Background(), nil, u, nil, "", "ann@example.com", "pw-secret", "")
	var ae *Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, NoToken, ae.Kind)
	assert.True(t, strings.HasSuffix(ae.Hint, " (the answer has: "+strings.Join(want, ", ")+")"), ae.Hint)
}
