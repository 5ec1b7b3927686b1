package server

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/pusherjstest"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// signedGet sends a GET to the HTTP API path (as signed, without the
// server's Path) signed with the server's credentials by soketitest's
// signer, and returns the status and the body.
func signedGet(t *testing.T, s *Server, path string, params url.Values) (int, string) {
	t.Helper()
	q := soketitest.SignedQuery(http.MethodGet, path, params, nil, s.AppKey(), s.AppSecret(), s.cfg.Now())
	status, _, body := httpDo(t, http.MethodGet, s.HTTPURL()+s.Path()+path+"?"+q.Encode(), "", "", nil)
	return status, body
}

// subscribed connects a gorilla client and subscribes it to channels,
// signing private and presence ones; user is the presence user id.
func subscribed(t *testing.T, s *Server, user string, channels ...string) *client {
	t.Helper()
	c, socketID := connectUnder(t, s)
	for _, ch := range channels {
		var sig, cd string
		if strings.HasPrefix(ch, "presence-") {
			cd = `{"user_id":` + quote(user) + `,"user_info":{}}`
		}
		if strings.HasPrefix(ch, "private-") || strings.HasPrefix(ch, "presence-") {
			sig = SignChannel(s.cfg.AppKey, s.cfg.AppSecret, socketID, ch, cd)
		}
		c.subscribe(ch, sig, cd)
		c.expect("pusher_internal:subscription_succeeded")
	}
	return c
}

func TestGetChannelsCountsRealSubscriptions(t *testing.T) {
	t.Parallel()
	for _, like := range []Like{LikePusher, LikeReverb} {
		s := start(t, Config{Like: like, Path: "/ws"})
		subscribed(t, s, "7", "chat", "presence-room.1", "private-x")
		subscribed(t, s, "7", "chat", "presence-room.1") // same user twice
		subscribed(t, s, "9", "presence-room.1")
		// A refused subscription (a bad signature) is not counted.
		bad, _ := connectUnder(t, s)
		bad.subscribe("private-refused", "app-key:bad", "")
		bad.expect("pusher:error")

		status, body := signedGet(t, s, "/apps/app-id/channels", url.Values{"info": {"subscription_count"}})
		require.Equal(t, http.StatusOK, status, body)
		doc := gjson.Parse(body)
		assert.Equal(t, []string{"chat", "presence-room.1", "private-x"}, keys(doc.Get("channels")), like)
		assert.Equal(t, int64(2), doc.Get("channels.chat.subscription_count").Int())
		assert.Equal(t, int64(1), doc.Get("channels.private-x.subscription_count").Int())
		if like == LikeReverb {
			// Reverb gives no subscription_count to presence channels.
			assert.False(t, doc.Get(`channels.presence-room\.1.subscription_count`).Exists(), body)
		} else {
			assert.Equal(t, int64(3), doc.Get(`channels.presence-room\.1.subscription_count`).Int(), body)
		}

		status, body = signedGet(t, s, "/apps/app-id/channels", url.Values{"filter_by_prefix": {"presence-"}, "info": {"user_count"}})
		require.Equal(t, http.StatusOK, status, body)
		assert.JSONEq(t, `{"channels":{"presence-room.1":{"user_count":2}}}`, body)

		// Without info: an empty object per channel.
		status, body = signedGet(t, s, "/apps/app-id/channels", url.Values{"filter_by_prefix": {"private-"}})
		require.Equal(t, http.StatusOK, status, body)
		assert.JSONEq(t, `{"channels":{"private-x":{}}}`, body)
	}
}

// connectUnder is connect under the server's Path.
func connectUnder(t *testing.T, s *Server) (*client, string) {
	t.Helper()
	c := dialPath(t, s, s.Path()+"/app/"+s.cfg.AppKey+"?protocol=7&client=test&version=1")
	msg := c.expect("pusher:connection_established")
	return c, payload(msg.Get("data")).Get("socket_id").String()
}

func keys(obj gjson.Result) []string {
	var ks []string
	obj.ForEach(func(k, _ gjson.Result) bool {
		ks = append(ks, k.String())
		return true
	})
	return ks
}

// user_count without a presence- prefix: Pusher refuses it, Reverb gives it
// to the presence channels and nothing to the others.
func TestGetChannelsUserCountWithoutAPresencePrefix(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Like: LikePusher})
	subscribed(t, s, "1", "chat", "presence-a")
	status, body := signedGet(t, s, "/apps/app-id/channels", url.Values{"info": {"user_count"}})
	assert.Equal(t, http.StatusBadRequest, status, body)
	assert.Contains(t, gjson.Get(body, "error").String(), "presence-")

	s = start(t, Config{Like: LikeReverb})
	subscribed(t, s, "1", "chat", "presence-a")
	status, body = signedGet(t, s, "/apps/app-id/channels", url.Values{"info": {"user_count"}})
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"channels":{"chat":{},"presence-a":{"user_count":1}}}`, body)
}

func TestGetChannel(t *testing.T) {
	t.Parallel()
	for _, like := range []Like{LikePusher, LikeReverb} {
		s := start(t, Config{Like: like})
		subscribed(t, s, "1", "chat", "presence-a")
		subscribed(t, s, "1", "chat", "presence-a")
		subscribed(t, s, "2", "presence-a")

		status, body := signedGet(t, s, "/apps/app-id/channels/chat", url.Values{"info": {"subscription_count"}})
		require.Equal(t, http.StatusOK, status, body)
		assert.JSONEq(t, `{"occupied":true,"subscription_count":2}`, body)

		status, body = signedGet(t, s, "/apps/app-id/channels/presence-a", url.Values{"info": {"user_count,subscription_count"}})
		require.Equal(t, http.StatusOK, status, body)
		if like == LikeReverb {
			assert.JSONEq(t, `{"occupied":true,"user_count":2}`, body)
		} else {
			assert.JSONEq(t, `{"occupied":true,"user_count":2,"subscription_count":3}`, body)
		}

		status, body = signedGet(t, s, "/apps/app-id/channels/nobody-here", url.Values{"info": {"subscription_count"}})
		require.Equal(t, http.StatusOK, status, body)
		assert.JSONEq(t, `{"occupied":false}`, body)

		status, body = signedGet(t, s, "/apps/app-id/channels/chat", url.Values{"info": {"user_count"}})
		if like == LikeReverb {
			assert.Equal(t, http.StatusOK, status, body)
			assert.JSONEq(t, `{"occupied":true}`, body)
		} else {
			assert.Equal(t, http.StatusBadRequest, status, body)
		}
	}
}

func TestGetChannelCache(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	for _, like := range []Like{LikePusher, LikeReverb} {
		s := start(t, Config{Like: like, Now: func() time.Time { return now }})
		c := subscribed(t, s, "", "cache-prices")
		c.expect("pusher:cache_miss")
		status, body := signedGet(t, s, "/apps/app-id/channels/cache-prices", url.Values{"info": {"cache"}})
		require.Equal(t, http.StatusOK, status, body)
		assert.JSONEq(t, `{"occupied":true}`, body)

		s.Publish("cache-prices", "price", `{"eur":1}`, "")
		c.expect("price")
		status, body = signedGet(t, s, "/apps/app-id/channels/cache-prices", url.Values{"info": {"cache"}})
		require.Equal(t, http.StatusOK, status, body)
		if like == LikeReverb {
			assert.Equal(t, "price", gjson.Get(body, "cache.event").String(), body)
			assert.Equal(t, `{"eur":1}`, gjson.Get(body, "cache.data").String(), body)
		} else {
			assert.JSONEq(t, `{"occupied":true,"cache":{"data":"{\"eur\":1}","ttl":1800}}`, body)
		}
	}
}

func TestGetChannelUsers(t *testing.T) {
	t.Parallel()
	for _, like := range []Like{LikePusher, LikeReverb} {
		s := start(t, Config{Like: like})
		subscribed(t, s, "7", "presence-a", "chat")
		subscribed(t, s, "3", "presence-a")
		subscribed(t, s, "7", "presence-a")
		status, body := signedGet(t, s, "/apps/app-id/channels/presence-a/users", nil)
		require.Equal(t, http.StatusOK, status, body)
		assert.JSONEq(t, `{"users":[{"id":"7"},{"id":"3"}]}`, body, "distinct users, in join order")

		status, body = signedGet(t, s, "/apps/app-id/channels/chat/users", nil)
		assert.Equal(t, http.StatusBadRequest, status, body)

		status, body = signedGet(t, s, "/apps/app-id/channels/presence-empty/users", nil)
		if like == LikeReverb {
			assert.Equal(t, http.StatusNotFound, status)
			assert.Equal(t, `{}`, body)
		} else {
			assert.Equal(t, http.StatusOK, status)
			assert.JSONEq(t, `{"users":[]}`, body)
		}
	}
}

func TestGetConnections(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Like: LikeReverb})
	subscribed(t, s, "1", "chat", "presence-a")
	subscribed(t, s, "2", "chat")
	connect(t, s) // connected, subscribed to nothing: Reverb does not count it
	status, body := signedGet(t, s, "/apps/app-id/connections", nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"connections":2}`, body)

	s = start(t, Config{Like: LikePusher})
	status, _ = signedGet(t, s, "/apps/app-id/connections", nil)
	assert.Equal(t, http.StatusNotFound, status)
}

func TestGetRequestsAreVerified(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Like: LikeReverb, Path: "/ws"})
	get := func(path string, q url.Values) (int, string) {
		status, _, body := httpDo(t, http.MethodGet, s.HTTPURL()+"/ws"+path+"?"+q.Encode(), "", "", nil)
		return status, body
	}
	for _, path := range []string{"/apps/app-id/channels", "/apps/app-id/channels/chat", "/apps/app-id/channels/presence-a/users", "/apps/app-id/connections"} {
		// Signed with another secret.
		q := soketitest.SignedQuery(http.MethodGet, path, nil, nil, "app-key", "not-the-secret", s.cfg.Now())
		status, body := get(path, q)
		assert.Equal(t, http.StatusUnauthorized, status, path)
		assert.Contains(t, gjson.Get(body, "error").String(), "Invalid signature", path)
		assert.NotContains(t, body, "app-secret")

		// Signed as a POST, sent as a GET.
		q = soketitest.SignedQuery(http.MethodPost, path, nil, nil, "app-key", "app-secret", s.cfg.Now())
		status, _ = get(path, q)
		assert.Equal(t, http.StatusUnauthorized, status, path)

		// Signed with the prefix in the path (Reverb signs without it).
		q = soketitest.SignedQuery(http.MethodGet, "/ws"+path, nil, nil, "app-key", "app-secret", s.cfg.Now())
		status, _ = get(path, q)
		assert.Equal(t, http.StatusUnauthorized, status, path)

		// A query parameter added after signing.
		q = soketitest.SignedQuery(http.MethodGet, path, nil, nil, "app-key", "app-secret", s.cfg.Now())
		q.Set("info", "user_count")
		status, _ = get(path, q)
		assert.Equal(t, http.StatusUnauthorized, status, path)

		// An old timestamp.
		q = soketitest.SignedQuery(http.MethodGet, path, nil, nil, "app-key", "app-secret", s.cfg.Now().Add(-11*time.Minute))
		status, body = get(path, q)
		assert.Equal(t, http.StatusUnauthorized, status, path)
		assert.Contains(t, body, "Timestamp expired")

		// An unknown app id.
		other := strings.Replace(path, "app-id", "other-app", 1)
		q = soketitest.SignedQuery(http.MethodGet, other, nil, nil, "app-key", "app-secret", s.cfg.Now())
		status, body = get(other, q)
		assert.Equal(t, http.StatusNotFound, status, other)
		assert.Contains(t, gjson.Get(body, "error").String(), "Unknown app id")

		// Correctly signed.
		status, body = signedGet(t, s, path, nil)
		assert.Contains(t, []int{http.StatusOK, http.StatusNotFound}, status, path+" "+body)
		if strings.HasSuffix(path, "/users") {
			assert.Equal(t, `{}`, body) // Reverb: nobody on presence-a
		} else {
			assert.Equal(t, http.StatusOK, status, path)
		}
	}
}

// pusher-js clients subscribe; each endpoint reports them, and forgets them
// as they leave.
func TestGetEndpointsSeePusherJSClients(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Like: LikeReverb})
	host, port, err := net.SplitHostPort(strings.TrimPrefix(s.HTTPURL(), "http://"))
	require.NoError(t, err)
	run := pusherjstest.Start(t, pusherjstest.Target{Host: host, Port: port, Key: s.AppKey(), AuthURL: s.AuthURL()}, "pusherjs/channels")
	for _, cmd := range []string{"sub a presence-chat.42", "sub b presence-chat.42", "sub a chat", "sub b private-orders"} {
		run.Command(cmd)
		f := strings.Fields(cmd)
		run.Next("subscribed "+cmd, func(l pusherjstest.Line) bool {
			return l.Type == "subscribed" && l.Client == f[1] && l.Channel == f[2]
		})
	}
	status, body := signedGet(t, s, "/apps/app-id/channels", url.Values{"info": {"subscription_count"}})
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"channels":{"chat":{"subscription_count":1},"presence-chat.42":{},"private-orders":{"subscription_count":1}}}`, body)

	status, body = signedGet(t, s, "/apps/app-id/channels/presence-chat.42", url.Values{"info": {"user_count"}})
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"occupied":true,"user_count":2}`, body)

	status, body = signedGet(t, s, "/apps/app-id/channels/presence-chat.42/users", nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.Len(t, gjson.Get(body, "users").Array(), 2, body)

	status, body = signedGet(t, s, "/apps/app-id/connections", nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"connections":2}`, body)

	run.Command("quit b")
	run.NextOf("b", "quit")
	require.NoError(t, s.waitFor(testCtx(t), func() bool { return s.subscribersLocked("presence-chat.42") == 1 }))
	status, body = signedGet(t, s, "/apps/app-id/channels", nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"channels":{"chat":{},"presence-chat.42":{}}}`, body)
	status, body = signedGet(t, s, "/apps/app-id/connections", nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"connections":1}`, body)
	run.Command("done")
	run.NextOf("", "done")
}
