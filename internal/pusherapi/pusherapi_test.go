package pusherapi

import (
	"context"
	"crypto/hmac"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/pusher"
)

const (
	testKey    = "app-key"
	testSecret = "app-secret-0123"
	testID     = "42"
)

// fake is an HTTP API that checks every request's signature as Pusher
// does (the path signed without the ws-path) and answers with answer.
type fake struct {
	t      *testing.T
	wsPath string
	answer func(w http.ResponseWriter, r *http.Request)

	mu   sync.Mutex
	reqs []*http.Request
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()
	q := r.URL.Query()
	if len(body) > 0 {
		if q.Get("body_md5") != auth.BodyMD5(body) {
			http.Error(w, "bad body_md5", http.StatusUnauthorized)
			return
		}
	} else if q.Has("body_md5") {
		http.Error(w, "body_md5 on a request without a body", http.StatusUnauthorized)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, f.wsPath)
	want := auth.Sign(testSecret, auth.APIStringToSign(r.Method, path, q))
	if q.Get("auth_key") != testKey || q.Get("auth_version") != "1.0" || !hmac.Equal([]byte(want), []byte(q.Get("auth_signature"))) {
		http.Error(w, "Invalid signature: you should have sent HmacSHA256Hex(...) but you sent "+q.Get("auth_signature"), http.StatusUnauthorized)
		return
	}
	f.answer(w, r)
}

func (f *fake) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

func jsonAnswer(status int, body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func settingsFor(t *testing.T, rawURL, wsPath string) *config.Settings {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	return &config.Settings{Scheme: "http", Host: u.Hostname(), Port: port, Key: testKey, AppSecret: testSecret,
		AppID: testID, WSPath: wsPath, HTTPTimeout: 5 * time.Second, Color: "never"}
}

func newFake(t *testing.T, wsPath string, answer func(w http.ResponseWriter, r *http.Request)) (*Client, *fake) {
	t.Helper()
	f := &fake{t: t, wsPath: wsPath, answer: answer}
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	c, err := New(settingsFor(t, ts.URL, wsPath), "test")
	require.NoError(t, err)
	return c, f
}

func TestAPIBase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    config.Settings
		want string
	}{
		{config.Settings{Scheme: "https", Host: "tms.amusoft.uz", Port: 443}, "https://tms.amusoft.uz:443"},
		{config.Settings{Scheme: "http", Host: "::1", Port: 8080}, "http://[::1]:8080"},
		{config.Settings{Scheme: "https", Host: "ws-eu.pusher.com", Port: 443, Cluster: "eu"}, "https://api-eu.pusher.com"},
		{config.Settings{Scheme: "https", Host: "reverb.example", Port: 443, Cluster: "eu"}, "https://reverb.example:443"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, APIBase(&tt.s))
	}
}

func TestNewNeedsTheAppIDAndSecret(t *testing.T) {
	t.Parallel()
	s := &config.Settings{Scheme: "http", Host: "127.0.0.1", Port: 1, Key: testKey, AppSecret: testSecret}
	_, err := New(s, "test")
	var ae *auth.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, auth.Config, ae.Kind)
	assert.Contains(t, ae.Hint, "--app-id")
	assert.Contains(t, ae.Hint, config.EnvAppID)
	assert.Contains(t, ae.Hint, "REVERB_APP_ID")

	s.AppID, s.AppSecret = testID, ""
	_, err = New(s, "test")
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, auth.Config, ae.Kind)
	assert.Contains(t, ae.Hint, "--app-secret")
	assert.Contains(t, ae.Hint, config.EnvAppSecret)
	assert.Contains(t, ae.Hint, "REVERB_APP_SECRET")
}

func TestChannelsAsksWhatEveryServerAllows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, wantInfo string
	}{
		// Pusher refuses user_count without a presence- prefix.
		{"", "subscription_count"},
		{"private-", "subscription_count"},
		{"presence-", "user_count,subscription_count"},
		{"presence-chat.", "user_count,subscription_count"},
	}
	for _, tt := range tests {
		c, f := newFake(t, "/ws", jsonAnswer(200, `{"channels":{"zeta":{"subscription_count":2},"alpha":{},"presence-a":{"user_count":1}}}`))
		chs, err := c.Channels(context.Background(), tt.prefix)
		require.NoError(t, err, tt.prefix)
		reqs := f.requests()
		require.Len(t, reqs, 1)
		r := reqs[0]
		assert.Equal(t, http.MethodGet, r.Method)
		assert.Equal(t, "/ws/apps/42/channels", r.URL.Path)
		assert.Equal(t, tt.wantInfo, r.URL.Query().Get("info"), tt.prefix)
		assert.Equal(t, tt.prefix, r.URL.Query().Get("filter_by_prefix"))
		assert.Equal(t, tt.prefix != "", r.URL.Query().Has("filter_by_prefix"))
		assert.Equal(t, "tmsws/test", r.Header.Get("User-Agent"))
		require.Len(t, chs, 3)
		assert.Equal(t, []string{"alpha", "presence-a", "zeta"}, []string{chs[0].Name, chs[1].Name, chs[2].Name})
		for _, ch := range chs {
			assert.True(t, ch.Occupied, ch.Name)
		}
		assert.Nil(t, chs[0].SubscriptionCount)
		require.NotNil(t, chs[2].SubscriptionCount)
		assert.Equal(t, 2, *chs[2].SubscriptionCount)
		require.NotNil(t, chs[1].UserCount)
		assert.Equal(t, 1, *chs[1].UserCount)
	}
}

// Pusher answers 400 to subscription_count unless the app enables it: the
// list is asked again without it.
func TestChannelsAsksAgainWithoutARefusedSubscriptionCount(t *testing.T) {
	t.Parallel()
	c, f := newFake(t, "", func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Query().Get("info"), "subscription_count") {
			http.Error(w, "subscription_count is not enabled for this app", http.StatusBadRequest)
			return
		}
		jsonAnswer(200, `{"channels":{"presence-x":{"user_count":3}}}`)(w, r)
	})
	chs, err := c.Channels(context.Background(), "presence-")
	require.NoError(t, err)
	require.Len(t, chs, 1)
	assert.Equal(t, 3, *chs[0].UserCount)
	reqs := f.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "user_count", reqs[1].URL.Query().Get("info"))
}

func TestChannelInfoByKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, wantInfo string
	}{
		{"chat", "subscription_count"},
		{"private-chat.42", "subscription_count"},
		{"presence-chat.42", "user_count,subscription_count"},
		{"cache-prices", "subscription_count,cache"},
		{"private-cache-x", "subscription_count,cache"},
		{"presence-cache-x", "user_count,subscription_count,cache"},
	}
	for _, tt := range tests {
		c, f := newFake(t, "", jsonAnswer(200, `{"occupied":true,"subscription_count":4,"user_count":2,"cache":{"event":"e","data":"{}"}}`))
		ch, err := c.Channel(context.Background(), tt.name)
		require.NoError(t, err)
		r := f.requests()[0]
		assert.Equal(t, "/apps/42/channels/"+tt.name, r.URL.Path)
		assert.Equal(t, tt.wantInfo, r.URL.Query().Get("info"), tt.name)
		assert.Equal(t, tt.name, ch.Name)
		assert.True(t, ch.Occupied)
		assert.Equal(t, 4, *ch.SubscriptionCount)
		assert.JSONEq(t, `{"event":"e","data":"{}"}`, string(ch.Cache))
	}

	c, _ := newFake(t, "", jsonAnswer(200, `{"occupied":false}`))
	ch, err := c.Channel(context.Background(), "chat")
	require.NoError(t, err)
	assert.False(t, ch.Occupied)
	assert.Nil(t, ch.SubscriptionCount)
	assert.Nil(t, ch.Cache)
}

func TestUsers(t *testing.T) {
	t.Parallel()
	c, f := newFake(t, "", jsonAnswer(200, `{"users":[{"id":"7"},{"id":3},{"id":"a b"}]}`))
	ids, err := c.Users(context.Background(), "presence-chat.42")
	require.NoError(t, err)
	assert.Equal(t, []string{"7", "3", "a b"}, ids)
	assert.Equal(t, "/apps/42/channels/presence-chat.42/users", f.requests()[0].URL.Path)

	// Not a presence channel: refused before any request.
	_, err = c.Users(context.Background(), "private-chat.42")
	var ae *auth.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, auth.Config, ae.Kind)
	assert.Contains(t, err.Error(), "presence")
	assert.Len(t, f.requests(), 1)

	// Reverb: 404 {} for a channel nobody is on.
	c, _ = newFake(t, "", jsonAnswer(404, `{}`))
	ids, err = c.Users(context.Background(), "presence-empty")
	require.NoError(t, err)
	assert.Empty(t, ids)

	// An unknown app is not an empty channel.
	c, _ = newFake(t, "", jsonAnswer(404, `{"error":"The app 42 could not be found.","code":404}`))
	_, err = c.Users(context.Background(), "presence-x")
	var ce *pusher.ConnError
	require.ErrorAs(t, err, &ce)

	// Soketi's 400 is an error.
	c, _ = newFake(t, "", jsonAnswer(400, `{"error":"The channel must be a presence channel.","code":400}`))
	_, err = c.Users(context.Background(), "presence-x")
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 400, ae.Status)
	assert.Contains(t, err.Error(), "The channel must be a presence channel.")
}

func TestConnections(t *testing.T) {
	t.Parallel()
	c, f := newFake(t, "", jsonAnswer(200, `{"connections":5}`))
	n, err := c.Connections(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	assert.Equal(t, "/apps/42/connections", f.requests()[0].URL.Path)

	// No such endpoint (Soketi: a bare 404; Pusher: "Not found"): a
	// ConnError that says so.
	for _, body := range []string{``, `Not found.`, `404 Not Found`} {
		c, _ = newFake(t, "", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, body)
		})
		_, err = c.Connections(context.Background())
		var ce *pusher.ConnError
		require.ErrorAs(t, err, &ce, body)
		assert.Contains(t, err.Error(), "does not offer")
		assert.Contains(t, err.Error(), "Reverb does")
	}

	// An unknown app is said as such, also a ConnError (exit 4).
	for _, body := range []string{`No matching application for ID [42].`, `{"error":"The app 42 could not be found.","code":404}`} {
		c, _ = newFake(t, "", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, body)
		})
		_, err = c.Connections(context.Background())
		var ce *pusher.ConnError
		require.ErrorAs(t, err, &ce, body)
		assert.Contains(t, err.Error(), `no app with id "42"`)
		assert.NotContains(t, err.Error(), "does not offer")
	}
}

func TestTriggerSignsTheBody(t *testing.T) {
	t.Parallel()
	var body string
	c, f := newFake(t, "/ws", func(w http.ResponseWriter, r *http.Request) {
		jsonAnswer(200, `{}`)(w, r)
	})
	c.Now = func() time.Time { return time.Unix(1353088179, 0) }
	require.NoError(t, c.Trigger(context.Background(), Event{Name: "foo", Channels: []string{"a", "b"}, Data: `{"x":"<&>"}`, SocketID: "1.2"}))
	r := f.requests()[0]
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, "/ws/apps/42/events", r.URL.Path)
	assert.Equal(t, "1353088179", r.URL.Query().Get("auth_timestamp"))
	raw, err := EventBody(Event{Name: "foo", Channels: []string{"a", "b"}, Data: `{"x":"<&>"}`, SocketID: "1.2"})
	require.NoError(t, err)
	body = string(raw)
	assert.Equal(t, `{"name":"foo","channels":["a","b"],"data":"{\"x\":\"<&>\"}","socket_id":"1.2"}`, body)
	assert.Equal(t, auth.BodyMD5(raw), r.URL.Query().Get("body_md5"))
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		answer   func(w http.ResponseWriter, r *http.Request)
		kind     auth.Kind
		status   int
		refused  bool
		hint     string
		connErr  bool
		contains string
	}{
		{name: "401", answer: jsonAnswer(401, `{"error":"Invalid signature"}`), kind: auth.Unauthorized, status: 401, refused: true, hint: "--app-secret"},
		{name: "403", answer: jsonAnswer(403, `Forbidden`), kind: auth.Forbidden, status: 403, refused: true, hint: "disabled"},
		{name: "soketi 401 in a 200", answer: jsonAnswer(200, `{"error":"The secret authentication failed","code":401}`), kind: auth.Unauthorized, status: 401, refused: true, contains: "HTTP 200"},
		{name: "500", answer: jsonAnswer(500, `boom`), kind: auth.ServerError, status: 500, hint: "try again"},
		{name: "429", answer: jsonAnswer(429, `{"error":"Too many requests.","code":429}`), kind: auth.Status, status: 429, hint: "throttling"},
		{name: "redirect", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "https://u:p@elsewhere/x?token=1")
			w.WriteHeader(http.StatusFound)
		}, kind: auth.Status, status: 302, hint: "--scheme", contains: "redirect to https://elsewhere/x"},
		{name: "unknown app", answer: jsonAnswer(404, `{"error":"The app 42 could not be found.","code":404}`), connErr: true, contains: `no app with id "42"`},
		{name: "not JSON", answer: jsonAnswer(200, `<html>hi</html>`), kind: auth.InvalidJSON, status: 200, contains: "not a JSON object"},
		{name: "invalid JSON", answer: jsonAnswer(200, `{"channels":`), kind: auth.InvalidJSON, status: 200, contains: "not valid JSON"},
		{name: "deep JSON", answer: jsonAnswer(200, `{"channels":`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+`}`), kind: auth.InvalidJSON, status: 200, contains: "deeper"},
		{name: "wrong shape", answer: jsonAnswer(200, `{"channels":[1,2]}`), kind: auth.InvalidJSON, status: 200, contains: "shape"},
		{name: "hostile text", answer: jsonAnswer(400, "{\"error\":\"bad \\u001b[31mred\\u001b[0m "+testSecret+"\"}"), kind: auth.Status, status: 400, contains: "[redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newFake(t, "", tt.answer)
			_, err := c.Channels(context.Background(), "")
			require.Error(t, err)
			msg := err.Error()
			assert.NotContains(t, msg, testSecret)
			assert.NotContains(t, msg, "auth_signature")
			assert.NotContains(t, msg, "\x1b")
			assert.NotContains(t, msg, "u:p")
			if tt.contains != "" {
				assert.Contains(t, msg, tt.contains)
			}
			if tt.connErr {
				var ce *pusher.ConnError
				require.ErrorAs(t, err, &ce)
				return
			}
			var ae *auth.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.kind, ae.Kind, msg)
			assert.Equal(t, tt.status, ae.Status)
			assert.Equal(t, tt.refused, ae.Refused())
			assert.Contains(t, ae.Hint, tt.hint)
			assert.NotContains(t, ae.URL, "?")
			assert.Contains(t, msg, "list channels")
		})
	}
}

func TestTheAnswerIsCapped(t *testing.T) {
	t.Parallel()
	c, _ := newFake(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"channels":{"`+strings.Repeat("a", 2000)+`":{}}}`)
	})
	c.MaxAnswer = 1000
	_, err := c.Channels(context.Background(), "")
	var ae *auth.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, auth.InvalidJSON, ae.Kind)
	assert.Contains(t, err.Error(), "larger than 1000 bytes")

	c.MaxAnswer = 4000
	chs, err := c.Channels(context.Background(), "")
	require.NoError(t, err)
	assert.Len(t, chs, 1)
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	c, err := New(settingsFor(t, "http://"+addr, ""), "test")
	require.NoError(t, err)
	_, err = c.Channels(context.Background(), "")
	var ae *auth.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, auth.Network, ae.Kind)
	assert.NotContains(t, err.Error(), "auth_signature")

	// A canceled context is the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Connections(ctx)
	assert.True(t, errors.Is(err, context.Canceled), err)
}

func TestTriggerRefusals(t *testing.T) {
	t.Parallel()
	c, _ := newFake(t, "", jsonAnswer(413, `{"error":"Payload too large","code":413}`))
	err := c.Trigger(context.Background(), Event{Name: "e", Channels: []string{"c"}, Data: "{}"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "over the server's limit")

	c, _ = newFake(t, "", jsonAnswer(422, `{"error":"nope"}`))
	err = c.Trigger(context.Background(), Event{Name: "e", Channels: []string{"c"}, Data: "{}"})
	var ae *auth.Error
	require.ErrorAs(t, err, &ae)
	assert.Contains(t, ae.Hint, "refused the event")
}
