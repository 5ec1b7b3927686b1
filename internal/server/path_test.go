package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/soketitest"
)

func TestPathPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path, want, requested string // requested: the prefix as a client sends it
	}{
		{"one segment", "/ws", "/ws", "/ws"},
		{"a trailing slash is dropped", "/reverb/v1/", "/reverb/v1", "/reverb/v1"},
		{"an escape", "/my%20ws", "/my%20ws", "/my%20ws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Like: LikeReverb, Path: tt.path})
			assert.Equal(t, tt.want, s.Path())

			// The WebSocket is under the prefix, and only there.
			c := dialPath(t, s, tt.requested+"/app/app-key?protocol=7")
			c.expect("pusher:connection_established")
			for _, p := range []string{"/app/app-key", tt.requested + "x/app/app-key", tt.requested + "/ws/app/app-key"} {
				_, resp, err := websocket.DefaultDialer.Dial(s.URL()+p, nil)
				require.Error(t, err, p)
				_ = resp.Body.Close()
				assert.Equal(t, http.StatusNotFound, resp.StatusCode, p)
			}
			c.subscribe("news", "", "")
			c.expect("pusher_internal:subscription_succeeded")

			// The HTTP API is under it too, signed on the path without it.
			body := `{"name":"e","channel":"news","data":"{}"}`
			apiPath := "/apps/app-id/events"
			q := soketitest.SignedQuery(http.MethodPost, apiPath, nil, []byte(body), s.AppKey(), s.AppSecret(), s.cfg.Now())
			status, ans := post(t, s, tt.requested+apiPath, q, body)
			require.Equal(t, http.StatusOK, status, ans.Raw)
			c.expect("e")
			unescaped, err := url.PathUnescape(tt.requested)
			require.NoError(t, err)
			q = soketitest.SignedQuery(http.MethodPost, unescaped+apiPath, nil, []byte(body), s.AppKey(), s.AppSecret(), s.cfg.Now())
			status, ans = post(t, s, tt.requested+apiPath, q, body)
			assert.Equal(t, http.StatusUnauthorized, status, "signed with the prefix: %s", ans.Raw)
			status, _, _ = httpDo(t, http.MethodPost, s.HTTPURL()+apiPath, "application/json", body, nil)
			assert.Equal(t, http.StatusNotFound, status, "not at the root")

			// /broadcasting/auth is the Laravel app's: at the root.
			form := "socket_id=1.2&channel_name=private-x"
			status, _, _ = httpDo(t, http.MethodPost, s.AuthURL(), "application/x-www-form-urlencoded", form, nil)
			assert.Equal(t, http.StatusOK, status)
			status, _, _ = httpDo(t, http.MethodPost, s.HTTPURL()+tt.requested+AuthPath, "application/x-www-form-urlencoded", form, nil)
			assert.Equal(t, http.StatusNotFound, status)
		})
	}
}

func TestPathPrefixRefused(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"ws", "/ws?x=1", "/ws#top", "/my ws", "/a%zz", "/{key}"} {
		err := CheckPath(p)
		require.Error(t, err, p)
		assert.True(t, strings.HasPrefix(err.Error(), "path prefix "), err.Error())
		_, err = Start(Config{Path: p})
		assert.Error(t, err, p)
	}
	for _, p := range []string{"", "/", "/ws", "/ws/", "/a/b", "/a%2Fb", "/$x"} {
		assert.NoError(t, CheckPath(p), p)
	}
}
