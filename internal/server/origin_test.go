package server

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsLoopbackOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		origin string
		want   bool
	}{
		{"http://localhost", true},
		{"http://localhost:5173", true},
		{"https://LOCALHOST:8443", true},
		{"http://127.0.0.1:8000", true},
		{"http://127.1.2.3", true},
		{"http://[::1]:3000", true},
		{"null", false},
		{"file://", false},
		{"ws://localhost:5173", false},
		{"http://localhost.evil.example", false},
		{"http://evil.example/localhost", false},
		{"http://localhost@evil.example", false},
		{"http://127.0.0.1.evil.example", false},
		{"http://192.168.1.20:5173", false},
		{"http://[::]:80", false},
		{"http://0.0.0.0", false},
		{"http://localhost:5173/", false},
		{"https://app.example.com", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, isLoopbackOrigin(tt.origin), tt.origin)
	}
}

func TestCheckAllowOrigin(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"*", "https://app.example.com", "http://192.168.1.20:5173", "http://[fe80::1]:80"} {
		assert.NoError(t, CheckAllowOrigin(ok), ok)
	}
	for _, bad := range []string{"", "app.example.com", "https://app.example.com/", "https://app.example.com/path", "https://user@app.example.com", "https://app.example.com?x", "*.example.com"} {
		err := CheckAllowOrigin(bad)
		if assert.Error(t, err, bad) {
			assert.Contains(t, err.Error(), "scheme://host[:port]")
		}
	}
	_, err := Start(Config{AllowOrigins: []string{"https://ok.example", "https://bad.example/"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"https://bad.example/"`)
}

// upgradeWithOrigin tries a WebSocket upgrade with the Origin header (none
// when origin is "") and returns the HTTP status and body of a refusal, or
// 101.
func upgradeWithOrigin(t *testing.T, s *Server, origin string) (int, string) {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	ws, resp, err := websocket.DefaultDialer.DialContext(testCtx(t), s.URL()+"/app/"+s.AppKey()+"?protocol=7", h)
	if err == nil {
		defer ws.Close()
		_ = resp.Body.Close()
		_, data, err := ws.ReadMessage()
		require.NoError(t, err)
		assert.Contains(t, string(data), "pusher:connection_established")
		return resp.StatusCode, ""
	}
	require.NotNil(t, resp, "no HTTP answer: %v", err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestOrigins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		allow  []string
		origin string
		ok     bool
	}{
		{"no Origin: a non-browser client", nil, "", true},
		{"a page on localhost", nil, "http://localhost:5173", true},
		{"a page on 127.0.0.1 over https", nil, "https://127.0.0.1:8443", true},
		{"a page on [::1]", nil, "http://[::1]:3000", true},
		{"a foreign page", nil, "https://evil.example", false},
		{"a look-alike of localhost", nil, "http://localhost.evil.example", false},
		{"the opaque origin of a sandboxed page or a file", nil, "null", false},
		{"a LAN page not allowed", nil, "http://192.168.1.20:5173", false},
		{"an allowed origin", []string{"http://192.168.1.20:5173"}, "http://192.168.1.20:5173", true},
		{"an allowed origin, another case", []string{"https://App.Example.com"}, "https://app.example.COM", true},
		{"an allowed origin, another port", []string{"https://app.example.com"}, "https://app.example.com:8443", false},
		{"an allowed origin, another scheme", []string{"https://app.example.com"}, "http://app.example.com", false},
		{"any origin, explicitly", []string{"*"}, "https://evil.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{AllowOrigins: tt.allow})
			var h http.Header
			if tt.origin != "" {
				h = http.Header{"Origin": {tt.origin}}
			}
			preflight := http.Header{"Access-Control-Request-Method": {"POST"}}
			for k, v := range h {
				preflight[k] = v
			}
			form := "application/x-www-form-urlencoded"

			wsStatus, wsBody := upgradeWithOrigin(t, s, tt.origin)
			postStatus, postHdr, postBody := httpDo(t, http.MethodPost, s.AuthURL(), form, "socket_id=1.2&channel_name=private-x", h)
			optStatus, optHdr, optBody := httpDo(t, http.MethodOptions, s.AuthURL(), "", "", preflight)
			if !tt.ok {
				for _, got := range []struct {
					what   string
					status int
					body   string
				}{{"upgrade", wsStatus, wsBody}, {"auth POST", postStatus, postBody}, {"auth OPTIONS", optStatus, optBody}} {
					assert.Equal(t, http.StatusForbidden, got.status, got.what)
					assert.Contains(t, got.body, "origin "+tt.origin+" is not allowed", got.what)
					assert.Contains(t, got.body, "--allow-origin ORIGIN", got.what)
				}
				assert.Empty(t, postHdr.Get("Access-Control-Allow-Origin"))
				assert.Empty(t, optHdr.Get("Access-Control-Allow-Origin"))
				stillServes(t, s)
				return
			}
			assert.Equal(t, http.StatusSwitchingProtocols, wsStatus, wsBody)
			assert.Equal(t, http.StatusOK, postStatus, postBody)
			assert.Equal(t, http.StatusNoContent, optStatus, optBody)
			for _, hdr := range []http.Header{postHdr, optHdr} {
				assert.Equal(t, tt.origin, hdr.Get("Access-Control-Allow-Origin"), "the origin itself, never *")
				assert.Equal(t, "Origin", hdr.Get("Vary"))
			}
		})
	}
}

func TestRefusedOriginIsClippedInTheAnswer(t *testing.T) {
	t.Parallel()
	var log logLines
	s := start(t, Config{Logf: log.logf})
	origin := "https://" + strings.Repeat("a", 100<<10) + ".example"
	status, body := upgradeWithOrigin(t, s, origin)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Less(t, len(body), 512)
	assert.Less(t, len(log.longest()), 512)
	stillServes(t, s)
}
