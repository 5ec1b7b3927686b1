package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
)

var loopbackHTTP = &http.Client{Timeout: waitLimit, Transport: &http.Transport{Proxy: nil}}

// httpDo sends one request and returns the status, headers and body.
func httpDo(t *testing.T, method, rawURL, contentType, body string, header http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), method, rawURL, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := loopbackHTTP.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func multipartBody(t *testing.T, fields map[string]string) (contentType, body string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		require.NoError(t, w.WriteField(k, v))
	}
	require.NoError(t, w.Close())
	return w.FormDataContentType(), b.String()
}

func TestAuthEndpointSigns(t *testing.T) {
	t.Parallel()
	const socketID = "123.456"
	mpType, mpBody := multipartBody(t, map[string]string{"socket_id": socketID, "channel_name": "private-chat.1"})
	tests := []struct {
		name        string
		method      string
		query       string
		contentType string
		body        string
		channel     string
	}{
		{"form, as pusher-js posts it", http.MethodPost, "", "application/x-www-form-urlencoded",
			"socket_id=123.456&channel_name=private-chat.1", "private-chat.1"},
		{"JSON, as axios posts it", http.MethodPost, "", "application/json",
			`{"socket_id":"123.456","channel_name":"private-chat.1"}`, "private-chat.1"},
		{"JSON without a content type", http.MethodPost, "", "", `{"socket_id":"123.456","channel_name":"private-chat.1"}`, "private-chat.1"},
		{"multipart form", http.MethodPost, "", mpType, mpBody, "private-chat.1"},
		{"GET with a query", http.MethodGet, "?socket_id=123.456&channel_name=private-chat.1", "", "", "private-chat.1"},
		{"body and query mixed, the body wins", http.MethodPost, "?socket_id=123.456&channel_name=private-wrong", "application/x-www-form-urlencoded",
			"channel_name=private-chat.1", "private-chat.1"},
		{"encrypted channel", http.MethodPost, "", "application/x-www-form-urlencoded",
			"socket_id=123.456&channel_name=private-encrypted-chat.1", "private-encrypted-chat.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			master := bytes.Repeat([]byte{7}, 32)
			s := start(t, Config{AppKey: vecKey, AppSecret: vecSecret, EncryptionMasterKey: master})
			status, hdr, body := httpDo(t, tt.method, s.AuthURL()+tt.query, tt.contentType, tt.body, nil)
			require.Equal(t, http.StatusOK, status, body)
			assert.Equal(t, "application/json", hdr.Get("Content-Type"))
			assert.Empty(t, hdr.Get("Access-Control-Allow-Origin"), "no Origin, no CORS")
			ans := gjson.Parse(body)
			a := ans.Get("auth").String()
			assert.True(t, strings.HasPrefix(a, vecKey+":"), a)
			assert.True(t, auth.VerifyChannelAuth(vecSecret, socketID, tt.channel, "", a), "a valid signature of %s", tt.channel)
			assert.False(t, ans.Get("channel_data").Exists())
			if strings.HasPrefix(tt.channel, "private-encrypted-") {
				sum := sha256.Sum256(append([]byte(tt.channel), master...))
				assert.Equal(t, base64.StdEncoding.EncodeToString(sum[:]), ans.Get("shared_secret").String())
			} else {
				assert.False(t, ans.Get("shared_secret").Exists())
			}
		})
	}
}

func TestAuthEndpointVectorSignature(t *testing.T) {
	t.Parallel()
	s := start(t, Config{AppKey: vecKey, AppSecret: vecSecret})
	status, _, body := httpDo(t, http.MethodPost, s.AuthURL(), "application/x-www-form-urlencoded",
		"socket_id=1234.1234&channel_name=private-foobar", nil)
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"auth":"`+vecKey+`:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"}`, body)
}

func TestAuthEndpointPresence(t *testing.T) {
	t.Parallel()
	const room = "presence-room.1"
	s := start(t, Config{})
	var users []string
	for i := range 2 {
		c, socketID := connect(t, s)
		ans := authorize(t, s, socketID, room)
		cd := ans.Get("channel_data")
		require.Equal(t, gjson.String, cd.Type, "channel_data is a JSON string: %s", ans.Raw)
		n := []string{"1", "2"}[i]
		assert.Equal(t, `{"user_id":"`+n+`","user_info":{"name":"Guest `+n+`"}}`, cd.Str)
		assert.True(t, auth.VerifyChannelAuth(s.AppSecret(), socketID, room, cd.Str, ans.Get("auth").String()),
			"signed over socket_id:channel:channel_data")
		users = append(users, n)

		// The answer subscribes as is.
		c.subscribe(room, ans.Get("auth").String(), cd.Str)
		d := dataOf(t, c.expect("pusher_internal:subscription_succeeded"))
		assert.Equal(t, int64(i+1), d.Get("presence.count").Int())
		assert.Equal(t, "Guest "+n, d.Get("presence.hash."+n+".name").String())
	}
	assert.Equal(t, []string{"1", "2"}, users)
}

func TestAuthEndpointRefuses(t *testing.T) {
	t.Parallel()
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		status      int
		field       string // the 422's errors field
		message     string // part of "message"
	}{
		{"no socket id", http.MethodPost, form, "channel_name=private-x", 422, "socket_id", "The socket id field is required."},
		{"socket id without a dot", http.MethodPost, form, "socket_id=123456&channel_name=private-x", 422, "socket_id", "format is invalid"},
		{"socket id not numeric", http.MethodPost, form, "socket_id=a.b&channel_name=private-x", 422, "socket_id", "format is invalid"},
		{"socket id with a trailing newline", http.MethodPost, form, "socket_id=1.2%0A&channel_name=private-x", 422, "socket_id", "format is invalid"},
		{"socket id as a JSON object", http.MethodPost, "application/json", `{"socket_id":{"a":1},"channel_name":"private-x"}`, 422, "socket_id", "format is invalid"},
		{"no channel", http.MethodPost, form, "socket_id=1.2", 422, "channel_name", "The channel name field is required."},
		{"public channel", http.MethodPost, form, "socket_id=1.2&channel_name=chat", 403, "", "is public"},
		{"invalid channel name", http.MethodPost, form, "socket_id=1.2&channel_name=private-a%20b", 403, "", "Invalid channel name 'private-a b'"},
		{"channel name too long", http.MethodPost, form, "socket_id=1.2&channel_name=private-" + strings.Repeat("x", 160), 403, "", "Invalid channel name"},
		{"JSON that is not an object", http.MethodPost, "application/json", `["1.2","private-x"]`, 400, "", "not a JSON object"},
		{"method not allowed", http.MethodPut, form, "socket_id=1.2&channel_name=private-x", 405, "", "The PUT method is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{})
			status, hdr, body := httpDo(t, tt.method, s.AuthURL(), tt.contentType, tt.body, http.Header{"Origin": {"http://localhost:5173"}})
			assert.Equal(t, tt.status, status, body)
			assert.Equal(t, "http://localhost:5173", hdr.Get("Access-Control-Allow-Origin"), "errors are readable by a browser app too")
			ans := gjson.Parse(body)
			assert.Contains(t, ans.Get("message").String(), tt.message)
			if tt.field != "" {
				assert.Contains(t, ans.Get("errors."+tt.field+".0").String(), tt.message)
			}
			assert.False(t, ans.Get("auth").Exists())
		})
	}
}

func TestAuthEndpointCORSPreflight(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	tests := []struct {
		name        string
		reqHeaders  string
		wantHeaders string
	}{
		{"asked headers are allowed", "authorization, x-csrf-token, content-type", "authorization, x-csrf-token, content-type"},
		{"default list", "", "Accept, Authorization, Content-Type, X-CSRF-TOKEN, X-Requested-With, X-Socket-ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Origin": {"http://localhost:5173"}, "Access-Control-Request-Method": {"POST"}}
			if tt.reqHeaders != "" {
				h.Set("Access-Control-Request-Headers", tt.reqHeaders)
			}
			status, hdr, body := httpDo(t, http.MethodOptions, s.AuthURL(), "", "", h)
			assert.Equal(t, http.StatusNoContent, status)
			assert.Empty(t, body)
			assert.Equal(t, "http://localhost:5173", hdr.Get("Access-Control-Allow-Origin"))
			assert.Equal(t, "Origin", hdr.Get("Vary"))
			assert.Contains(t, hdr.Get("Access-Control-Allow-Methods"), "POST")
			assert.Equal(t, tt.wantHeaders, hdr.Get("Access-Control-Allow-Headers"))
		})
	}
}

func TestAuthEndpointThroughAuthPackage(t *testing.T) {
	t.Parallel()
	// tmsws's own auth client accepts every answer, encrypted included.
	s := start(t, Config{})
	e := &auth.Endpoint{URL: s.AuthURL(), HTTP: loopbackHTTP, Token: "any-token"}
	for _, ch := range []string{"private-chat.1", "presence-chat.1", "private-encrypted-chat.1"} {
		r, err := e.Authorize(testCtx(t), "1.2", ch)
		require.NoError(t, err, ch)
		assert.True(t, auth.VerifyChannelAuth(s.AppSecret(), "1.2", ch, r.ChannelData, r.Auth), ch)
		if strings.HasPrefix(ch, "private-encrypted-") {
			assert.Equal(t, s.SharedSecret(ch), r.SharedSecret)
		}
	}
	_, err := e.Authorize(testCtx(t), "1.2", "public")
	require.Error(t, err)
	assert.True(t, auth.IsRefused(err), "a 403 is a refusal: %v", err)
}
