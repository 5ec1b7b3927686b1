package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// The worked example of Pusher's HTTP API reference (pusher-protocol.md §9).
const (
	exampleAppID     = "3"
	exampleTimestamp = 1353088179
	exampleBody      = `{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`
	exampleMD5       = "ec365a775a4cd0599faeb73354201b6f"
	exampleToSign    = "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f"
	exampleSignature = "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
)

// exampleServer is the worked example's app with the clock at its
// timestamp plus skew.
func exampleServer(t *testing.T, skew time.Duration, cfg Config) *Server {
	t.Helper()
	cfg.AppID, cfg.AppKey, cfg.AppSecret = exampleAppID, vecKey, vecSecret
	cfg.Now = func() time.Time { return time.Unix(exampleTimestamp, 0).Add(skew) }
	return start(t, cfg)
}

// post sends body to path with the query as given.
func post(t *testing.T, s *Server, path string, q url.Values, body string) (int, gjson.Result) {
	t.Helper()
	u := s.HTTPURL() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	status, hdr, resp := httpDo(t, http.MethodPost, u, "application/json", body, nil)
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	require.True(t, gjson.Valid(resp), "answer is not JSON: %s", resp)
	return status, gjson.Parse(resp)
}

// signedPost signs the request with the server's credentials the way
// Pusher's server libraries do (soketitest's signer, a separate
// implementation) at the server's clock.
func signedPost(t *testing.T, s *Server, path, body string) (int, gjson.Result) {
	t.Helper()
	q := soketitest.SignedQuery(http.MethodPost, path, nil, []byte(body), s.AppKey(), s.AppSecret(), s.cfg.Now())
	return post(t, s, path, q, body)
}

func exampleQuery() url.Values {
	return url.Values{
		"auth_key":       {vecKey},
		"auth_timestamp": {strconv.Itoa(exampleTimestamp)},
		"auth_version":   {"1.0"},
		"body_md5":       {exampleMD5},
		"auth_signature": {exampleSignature},
	}
}

func TestHTTPAPIWorkedExample(t *testing.T) {
	t.Parallel()
	assert.Equal(t, exampleToSign, auth.APIStringToSign("POST", "/apps/3/events", exampleQuery()))

	s := exampleServer(t, 0, Config{})
	c, _ := connect(t, s)
	c.subscribe("project-3", "", "")
	c.expect("pusher_internal:subscription_succeeded")

	status, ans := post(t, s, "/apps/3/events", exampleQuery(), exampleBody)
	require.Equal(t, http.StatusOK, status, ans.Raw)
	assert.JSONEq(t, `{}`, ans.Raw)
	assert.Equal(t, `{"event":"foo","channel":"project-3","data":"{\"some\":\"data\"}"}`, string(c.readRaw()))
}

func TestHTTPAPIStringToSign(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params url.Values
		want   string
	}{
		{"keys lowercased and sorted, signature left out", url.Values{"B": {"2"}, "a": {"1"}, "auth_signature": {"x"}}, "POST\n/p\na=1&b=2"},
		{"values not escaped", url.Values{"info": {"user_count,subscription_count"}, "x": {"a b&c"}}, "POST\n/p\ninfo=user_count,subscription_count&x=a b&c"},
		{"several values joined", url.Values{"k": {"1", "2"}}, "POST\n/p\nk=1,2"},
		{"nothing", nil, "POST\n/p\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, auth.APIStringToSign("post", "/p", tt.params))
		})
	}
}

func TestHTTPAPIRefusesBadRequests(t *testing.T) {
	t.Parallel()
	with := func(k, v string) func(url.Values) {
		return func(q url.Values) { q.Set(k, v) }
	}
	without := func(k string) func(url.Values) {
		return func(q url.Values) { q.Del(k) }
	}
	tests := []struct {
		name    string
		skew    time.Duration // of the server clock from the example's timestamp
		path    string
		mutate  func(url.Values)
		body    string
		status  int
		message string // part of the error
	}{
		{name: "bad signature", mutate: with("auth_signature", strings.Repeat("0", 64)), status: 401,
			message: "Invalid signature: you should have sent HmacSHA256Hex(" + strconv.Quote(exampleToSign)},
		{name: "body changed after signing", body: strings.Replace(exampleBody, "foo", "bar", 1),
			status: 401, message: "is not the MD5 of the body"},
		{name: "body changed and body_md5 left out", mutate: without("body_md5"), body: strings.Replace(exampleBody, "foo", "bar", 1),
			status: 401, message: "Invalid signature"},
		{name: "unknown key", mutate: with("auth_key", "other"), status: 401, message: `Unknown auth_key "other"`},
		{name: "no key", mutate: without("auth_key"), status: 401, message: "Missing auth_key"},
		{name: "no signature", mutate: without("auth_signature"), status: 401, message: "Missing auth_signature"},
		{name: "no timestamp", mutate: without("auth_timestamp"), status: 401, message: "Missing auth_timestamp"},
		{name: "timestamp not a number", mutate: with("auth_timestamp", "yesterday"), status: 401, message: "not a Unix time"},
		{name: "auth_version 2.0", mutate: with("auth_version", "2.0"), status: 401, message: "auth_version"},
		{name: "timestamp 601 s old", skew: 601 * time.Second, status: 401, message: "Timestamp expired"},
		{name: "timestamp 601 s ahead", skew: -601 * time.Second, status: 401, message: "Timestamp expired"},
		{name: "unknown app id", path: "/apps/4/events", status: 404, message: `Unknown app id "4"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := exampleServer(t, tt.skew, Config{})
			c, _ := connect(t, s)
			c.subscribe("project-3", "", "")
			c.expect("pusher_internal:subscription_succeeded")
			q := exampleQuery()
			if tt.mutate != nil {
				tt.mutate(q)
			}
			path := "/apps/3/events"
			if tt.path != "" {
				path = tt.path
			}
			body := exampleBody
			if tt.body != "" {
				body = tt.body
			}
			status, ans := post(t, s, path, q, body)
			assert.Equal(t, tt.status, status, ans.Raw)
			assert.Contains(t, ans.Get("error").String(), tt.message)
			assert.Equal(t, int64(tt.status), ans.Get("code").Int())
			c.expectNoReply() // nothing was published
		})
	}
}

func TestHTTPAPIBodyMD5IsRequiredWithABody(t *testing.T) {
	t.Parallel()
	// Signed correctly, but over a query without body_md5: the server adds
	// the body's MD5 to what it checks, as Reverb and Soketi do, so the
	// body cannot be swapped under a signature.
	s := exampleServer(t, 0, Config{})
	q := exampleQuery()
	q.Del("body_md5")
	q.Set("auth_signature", soketitest.Sign(vecSecret, soketitest.StringToSign("POST", "/apps/3/events", q)))
	status, ans := post(t, s, "/apps/3/events", q, exampleBody)
	assert.Equal(t, http.StatusUnauthorized, status, ans.Raw)
	assert.Contains(t, ans.Get("error").String(), "body_md5="+exampleMD5)
}

func TestHTTPAPITimestampWindow(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{600 * time.Second, -600 * time.Second} {
		t.Run(skew.String(), func(t *testing.T) {
			t.Parallel()
			s := exampleServer(t, skew, Config{})
			status, ans := post(t, s, "/apps/3/events", exampleQuery(), exampleBody)
			assert.Equal(t, http.StatusOK, status, ans.Raw)
		})
	}
}

func TestHTTPAPIRefusesBadEvents(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 101)
	tests := []struct {
		name    string
		path    string
		body    string
		status  int
		message string
	}{
		{"not JSON", "events", `{"name":`, 400, "Invalid JSON body"},
		{"not an object", "events", `["foo"]`, 400, "Invalid JSON body"},
		{"no name", "events", `{"channels":["c"],"data":"{}"}`, 400, `"name"`},
		{"empty name", "events", `{"name":"","channels":["c"],"data":"{}"}`, 400, `"name"`},
		{"name too long", "events", `{"name":"` + strings.Repeat("n", 201) + `","channels":["c"],"data":"{}"}`, 400, "Event name too long"},
		{"no data", "events", `{"name":"e","channels":["c"]}`, 400, `"data"`},
		{"data not a string", "events", `{"name":"e","channels":["c"],"data":{"a":1}}`, 400, `"data"`},
		{"data over the limit", "events", `{"name":"e","channels":["c"],"data":"` + big + `"}`, 413, "Payload too large: data is 101 bytes, the limit is 100"},
		{"no channels", "events", `{"name":"e","data":"{}"}`, 400, `Missing "channels"`},
		{"empty channels", "events", `{"name":"e","channels":[],"data":"{}"}`, 400, `Missing "channels"`},
		{"channels not an array", "events", `{"name":"e","channels":"c","data":"{}"}`, 400, `Invalid "channels"`},
		{"channel not a string", "events", `{"name":"e","channel":7,"data":"{}"}`, 400, `Invalid "channel"`},
		{"invalid channel name", "events", `{"name":"e","channels":["a b"],"data":"{}"}`, 400, `Invalid channel name "a b"`},
		{"too many channels", "events", `{"name":"e","channels":[` + strings.TrimSuffix(strings.Repeat(`"c",`, 101), ",") + `],"data":"{}"}`, 400, "Too many channels: 101"},
		{"invalid socket_id", "events", `{"name":"e","channels":["c"],"data":"{}","socket_id":"abc"}`, 400, `Invalid "socket_id"`},
		{"batch missing", "batch_events", `{}`, 400, `"batch"`},
		{"batch not an array", "batch_events", `{"batch":{}}`, 400, `"batch"`},
		{"batch of 11", "batch_events", `{"batch":[` + strings.TrimSuffix(strings.Repeat(`{"channel":"c","name":"e","data":"{}"},`, 11), ",") + `]}`, 400, "Batch too large: 11 events, the limit is 10"},
		{"batch with a bad event", "batch_events", `{"batch":[{"channel":"c","name":"e","data":"{}"},{"channel":"c","name":"e"}]}`, 400, `"data" in batch event 1`},
		{"batch with a large event", "batch_events", `{"batch":[{"channel":"c","name":"e","data":"` + big + `"}]}`, 413, "Payload too large in batch event 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{MaxEventData: 100})
			c, _ := connect(t, s)
			c.subscribe("c", "", "")
			c.expect("pusher_internal:subscription_succeeded")
			status, ans := signedPost(t, s, "/apps/app-id/"+tt.path, tt.body)
			assert.Equal(t, tt.status, status, ans.Raw)
			assert.Contains(t, ans.Get("error").String(), tt.message)
			c.expectNoReply() // nothing published, not even a batch's valid events
		})
	}
}

func TestHTTPAPIPublishes(t *testing.T) {
	t.Parallel()
	s := start(t, Config{MaxEventData: 100})
	a, aID := connect(t, s)
	b, _ := connect(t, s)
	for _, c := range []*client{a, b} {
		for _, ch := range []string{"one", "two"} {
			c.subscribe(ch, "", "")
			c.expect("pusher_internal:subscription_succeeded")
		}
	}
	atLimit := strings.Repeat("x", 100)

	steps := []struct {
		path  string
		body  string
		wantA []string // frames, in order
		wantB []string
	}{
		{"events", `{"name":"App\\Events\\MessageSent","channels":["one","two"],"data":"{\"id\":1}"}`,
			[]string{`{"event":"App\\Events\\MessageSent","channel":"one","data":"{\"id\":1}"}`, `{"event":"App\\Events\\MessageSent","channel":"two","data":"{\"id\":1}"}`},
			[]string{`{"event":"App\\Events\\MessageSent","channel":"one","data":"{\"id\":1}"}`, `{"event":"App\\Events\\MessageSent","channel":"two","data":"{\"id\":1}"}`}},
		{"events", `{"name":"single","channel":"one","data":"` + atLimit + `"}`,
			[]string{`{"event":"single","channel":"one","data":"` + atLimit + `"}`},
			[]string{`{"event":"single","channel":"one","data":"` + atLimit + `"}`}},
		{"events", `{"name":"toOthers","channels":["one"],"data":"{}","socket_id":"` + aID + `"}`,
			nil,
			[]string{`{"event":"toOthers","channel":"one","data":"{}"}`}},
		{"batch_events", `{"batch":[{"channel":"two","name":"first","data":"1"},{"channel":"one","name":"second","data":"2","socket_id":"` + aID + `"},{"channel":"one","name":"third","data":"3"}]}`,
			[]string{`{"event":"first","channel":"two","data":"1"}`, `{"event":"third","channel":"one","data":"3"}`},
			[]string{`{"event":"first","channel":"two","data":"1"}`, `{"event":"second","channel":"one","data":"2"}`, `{"event":"third","channel":"one","data":"3"}`}},
	}
	for i, st := range steps {
		status, ans := signedPost(t, s, "/apps/app-id/"+st.path, st.body)
		require.Equal(t, http.StatusOK, status, "step %d: %s", i, ans.Raw)
		assert.JSONEq(t, `{}`, ans.Raw)
		for _, want := range st.wantA {
			assert.Equal(t, want, string(a.readRaw()), "step %d", i)
		}
		for _, want := range st.wantB {
			assert.Equal(t, want, string(b.readRaw()), "step %d", i)
		}
		a.expectNoReply()
		b.expectNoReply()
	}
}

func TestHTTPAPIPassesEncryptedDataAsIs(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, id := connect(t, s)
	subscribeSigned(t, s, c, id, "private-encrypted-x")
	payload := `{"nonce":"bm9uY2U=","ciphertext":"Y2lwaGVy"}`
	status, ans := signedPost(t, s, "/apps/app-id/events", fmt.Sprintf(`{"name":"e","channels":["private-encrypted-x"],"data":%q}`, payload))
	require.Equal(t, http.StatusOK, status, ans.Raw)
	msg := c.expect("e")
	assert.Equal(t, payload, msg.Get("data").String(), "the publisher encrypted it; the server relays it")
}

func TestHTTPAPIOnlyPost(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	status, _, _ := httpDo(t, http.MethodGet, s.HTTPURL()+"/apps/app-id/events", "", "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, status)
}

func TestHTTPAPINoDataLimit(t *testing.T) {
	t.Parallel()
	s := start(t, Config{MaxEventData: -1})
	c, _ := connect(t, s)
	c.subscribe("c", "", "")
	c.expect("pusher_internal:subscription_succeeded")
	big := strings.Repeat("x", 200<<10)
	status, ans := signedPost(t, s, "/apps/app-id/events", `{"name":"e","channel":"c","data":"`+big+`"}`)
	require.Equal(t, http.StatusOK, status, ans.Raw)
	assert.Len(t, c.expect("e").Get("data").String(), len(big))
}

func TestHTTPAPIDefaultDataLimit(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	status, ans := signedPost(t, s, "/apps/app-id/events", `{"name":"e","channel":"c","data":"`+strings.Repeat("x", DefaultMaxEventData+1)+`"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status, ans.Raw)
	status, ans = signedPost(t, s, "/apps/app-id/events", `{"name":"e","channel":"c","data":"`+strings.Repeat("x", DefaultMaxEventData)+`"}`)
	assert.Equal(t, http.StatusOK, status, ans.Raw)
}
