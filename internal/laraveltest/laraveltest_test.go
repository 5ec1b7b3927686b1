package laraveltest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Pusher docs' example credentials (pusher-protocol.md §7.1).
const (
	docKey    = "278d425bdf160c739803"
	docSecret = "7ad3773142a6692b25b8"
)

var masterKey = []byte("0123456789abcdef0123456789abcdef")

func newApp(t *testing.T, mod func(*Config)) *App {
	cfg := Config{
		AppKey:    docKey,
		AppSecret: docSecret,
		Users: map[string]User{
			"alice@example.com": {ID: "8", Name: "Alice", Password: "secret", Token: "1|alicetokenalicetokenalicetokenalicetoke"},
			"bob@example.com":   {ID: "9", Name: "Bob / Ops", Password: "hunter2"},
		},
		Allow: func(u User, channel string) bool {
			return channel != "forbidden" && !(u.ID == "9" && channel == "chat.42")
		},
		EncryptionMasterKey: masterKey,
	}
	if mod != nil {
		mod(&cfg)
	}
	return New(t, cfg)
}

type reply struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, a *App, method, path, contentType, body string, header map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, a.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := a.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

const (
	form     = "application/x-www-form-urlencoded"
	jsonType = "application/json"
	aliceTok = "1|alicetokenalicetokenalicetokenalicetoke"
)

var (
	asJSON    = map[string]string{"Accept": "application/json"}
	aliceJSON = map[string]string{"Accept": "application/json", "Authorization": "Bearer " + aliceTok}
)

func TestLogin(t *testing.T) {
	t.Parallel()
	credsMismatch := `{"message":"These credentials do not match our records.","errors":{"email":["These credentials do not match our records."]}}`
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		header      map[string]string
		wantStatus  int
		wantBody    string // exact, when set
		wantToken   string // regexp for the token, when set
		wantHeader  map[string]string
	}{
		{
			name: "JSON body", method: "POST", contentType: jsonType,
			body:   `{"email":"bob@example.com","password":"hunter2"}`,
			header: asJSON, wantStatus: 200, wantToken: `^\d+\|[A-Za-z0-9]{40}$`,
		},
		{
			name: "form body", method: "POST", contentType: form,
			body:   "email=bob%40example.com&password=hunter2",
			header: asJSON, wantStatus: 200, wantToken: `^\d+\|[A-Za-z0-9]{40}$`,
		},
		{
			name: "configured token", method: "POST", contentType: jsonType,
			body:   `{"email":"alice@example.com","password":"secret"}`,
			header: asJSON, wantStatus: 200, wantToken: `^1\|alicetoken`,
		},
		{
			name: "success without Accept is still JSON", method: "POST", contentType: jsonType,
			body:       `{"email":"bob@example.com","password":"hunter2"}`,
			wantStatus: 200, wantToken: `^\d+\|`,
		},
		{
			name: "wrong password", method: "POST", contentType: jsonType,
			body:   `{"email":"alice@example.com","password":"nope"}`,
			header: asJSON, wantStatus: 422, wantBody: credsMismatch,
		},
		{
			name: "unknown user", method: "POST", contentType: form,
			body:   "email=eve%40example.com&password=x",
			header: asJSON, wantStatus: 422, wantBody: credsMismatch,
		},
		{
			name: "missing fields", method: "POST", contentType: jsonType, body: `{}`,
			header: asJSON, wantStatus: 422,
			wantBody: `{"message":"The email field is required. (and 1 more error)","errors":{"email":["The email field is required."],"password":["The password field is required."]}}`,
		},
		{
			name: "wrong password without Accept JSON redirects back", method: "POST", contentType: jsonType,
			body:       `{"email":"alice@example.com","password":"nope"}`,
			wantStatus: 302, wantHeader: map[string]string{"Location": "{URL}"},
		},
		{
			name: "redirect back goes to the Referer", method: "POST", contentType: form,
			body:       "email=alice%40example.com",
			header:     map[string]string{"Referer": "http://127.0.0.1/login-form"},
			wantStatus: 302, wantHeader: map[string]string{"Location": "http://127.0.0.1/login-form"},
		},
		{
			name: "GET is not allowed", method: "GET", header: asJSON, wantStatus: 405,
			wantBody:   `{"message":"The GET method is not supported for route api\/login. Supported methods: POST."}`,
			wantHeader: map[string]string{"Allow": "POST"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, nil)
			r := do(t, a, tt.method, "/api/login", tt.contentType, tt.body, tt.header)

			assert.Equal(t, tt.wantStatus, r.status, r.body)
			if tt.wantBody != "" {
				assert.Equal(t, tt.wantBody, r.body)
				assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			}
			for k, v := range tt.wantHeader {
				assert.Equal(t, strings.ReplaceAll(v, "{URL}", a.URL), r.header.Get(k), k)
			}
			if tt.wantToken != "" {
				var got struct {
					Token string `json:"token"`
					User  struct {
						ID    int    `json:"id"`
						Email string `json:"email"`
					} `json:"user"`
				}
				require.NoError(t, json.Unmarshal([]byte(r.body), &got))
				assert.Regexp(t, tt.wantToken, got.Token)
				assert.NotZero(t, got.User.ID)
				assert.NotEmpty(t, got.User.Email)

				// The token works.
				me := do(t, a, "GET", "/api/user", "", "", map[string]string{"Accept": "application/json", "Authorization": "Bearer " + got.Token})
				assert.Equal(t, 200, me.status)
				assert.Contains(t, me.body, got.User.Email)
			}
			logins := a.LoginRequests()
			require.Len(t, logins, 1)
			assert.Equal(t, tt.wantStatus, logins[0].Status)
		})
	}
}

func TestLoginOptions(t *testing.T) {
	t.Parallel()
	t.Run("user field and response shape", func(t *testing.T) {
		t.Parallel()
		a := newApp(t, func(c *Config) {
			c.UserField = "login"
			c.LoginPath = "/api/v1/auth"
			c.LoginResponse = func(u User, token string) any {
				return map[string]any{"data": map[string]string{"access_token": token}}
			}
		})
		r := do(t, a, "POST", "/api/v1/auth", jsonType, `{"login":"alice@example.com","password":"secret"}`, asJSON)
		assert.Equal(t, 200, r.status)
		assert.JSONEq(t, `{"data":{"access_token":"`+aliceTok+`"}}`, r.body)
		assert.Equal(t, a.URL+"/api/v1/auth", a.LoginURL())

		r = do(t, a, "POST", "/api/v1/auth", jsonType, `{"password":"secret"}`, asJSON)
		assert.Equal(t, 422, r.status)
		assert.Contains(t, r.body, `"login":["The login field is required."]`)
	})
	t.Run("web middleware wants a CSRF token", func(t *testing.T) {
		t.Parallel()
		a := newApp(t, func(c *Config) { c.WebMiddleware = true })
		r := do(t, a, "POST", "/api/login", jsonType, `{"email":"alice@example.com","password":"secret"}`, asJSON)
		assert.Equal(t, 419, r.status)
		assert.Equal(t, `{"message":"CSRF token mismatch."}`, r.body)

		r = do(t, a, "POST", "/api/login", jsonType, `{"email":"alice@example.com","password":"secret"}`,
			map[string]string{"Accept": "application/json", "X-CSRF-TOKEN": CSRFToken})
		assert.Equal(t, 200, r.status)
	})
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	aliceNoAccept := map[string]string{"Authorization": "Bearer " + aliceTok}
	tests := []struct {
		name        string
		mod         func(*Config)
		method      string
		path        string
		contentType string
		body        string
		header      map[string]string
		wantStatus  int
		wantBody    string // exact
		wantHeader  map[string]string
		wantHTML    string // substring of an HTML body
	}{
		{
			name: "private, form body as pusher-js sends it", method: "POST", contentType: form,
			body: FormBody("1234.1234", "private-foobar"), header: aliceJSON, wantStatus: 200,
			// pusher-protocol.md §7.1 vector.
			wantBody: `{"auth":"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"}`,
		},
		{
			name: "private, JSON body", method: "POST", contentType: jsonType,
			body: `{"socket_id":"1234.1234","channel_name":"private-foobar"}`, header: aliceJSON, wantStatus: 200,
			wantBody: `{"auth":"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"}`,
		},
		{
			name: "private, GET with a query", method: "GET", path: "/broadcasting/auth?" + FormBody("1234.1234", "private-foobar"),
			header: aliceJSON, wantStatus: 200,
			wantBody: `{"auth":"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"}`,
		},
		{
			name: "presence: channel_data as PHP encodes it, user_id a string", method: "POST", contentType: form,
			body: FormBody("1234.1234", "presence-room.1"), header: aliceJSON, wantStatus: 200,
			wantBody: `{"auth":"` + SignChannel(docKey, docSecret, "1234.1234", "presence-room.1", `{"user_id":"8","user_info":{"name":"Alice"}}`) +
				`","channel_data":"{\"user_id\":\"8\",\"user_info\":{\"name\":\"Alice\"}}"}`,
		},
		{
			name: "presence: slashes escaped inside and outside channel_data", method: "POST", contentType: form,
			body: FormBody("1234.1234", "presence-room.1"), header: map[string]string{"Accept": "application/json", "Authorization": "Bearer {BOB}"},
			wantStatus: 200,
			wantBody: `{"auth":"` + SignChannel(docKey, docSecret, "1234.1234", "presence-room.1", `{"user_id":"9","user_info":{"name":"Bob \/ Ops"}}`) +
				`","channel_data":"{\"user_id\":\"9\",\"user_info\":{\"name\":\"Bob \\\/ Ops\"}}"}`,
		},
		{
			name: "encrypted: shared_secret from the master key", method: "POST", contentType: form,
			body: FormBody("1234.1234", "private-encrypted-chat.1"), header: aliceJSON, wantStatus: 200,
			wantBody: `{"auth":"` + SignChannel(docKey, docSecret, "1234.1234", "private-encrypted-chat.1", "") +
				`","shared_secret":"` + strings.ReplaceAll(expectedSharedSecret("private-encrypted-chat.1"), "/", `\/`) + `"}`,
		},
		{
			name: "encrypted without a master key is a server error", mod: func(c *Config) { c.EncryptionMasterKey = nil },
			method: "POST", contentType: form, body: FormBody("1234.1234", "private-encrypted-chat.1"), header: aliceJSON,
			wantStatus: 500, wantBody: `{"message":"Server Error"}`,
		},
		{
			name: "no token, JSON client", method: "POST", contentType: form, body: FormBody("1.2", "private-chat.1"),
			header: asJSON, wantStatus: 401, wantBody: `{"message":"Unauthenticated."}`,
		},
		{
			name: "unknown token, JSON client", method: "POST", contentType: form, body: FormBody("1.2", "private-chat.1"),
			header: map[string]string{"Accept": "application/json", "Authorization": "Bearer 1|wrong"}, wantStatus: 401,
			wantBody: `{"message":"Unauthenticated."}`,
		},
		{
			name: "no token, XMLHttpRequest counts as JSON", method: "POST", contentType: form, body: FormBody("1.2", "private-chat.1"),
			header: map[string]string{"X-Requested-With": "XMLHttpRequest"}, wantStatus: 401, wantBody: `{"message":"Unauthenticated."}`,
		},
		{
			name: "no token, no Accept: redirect to login", method: "POST", contentType: form, body: FormBody("1.2", "private-chat.1"),
			wantStatus: 302, wantHeader: map[string]string{"Location": "{URL}/login"}, wantHTML: "Redirecting to",
		},
		{
			name: "Accept text/html loses to nothing: redirect", method: "POST", contentType: form, body: FormBody("1.2", "private-chat.1"),
			header: map[string]string{"Accept": "text/html, application/json;q=0.9"}, wantStatus: 302,
		},
		{
			name: "Sanctum accepts the secret part of a token alone", method: "POST", contentType: form,
			body:   FormBody("1234.1234", "private-foobar"),
			header: map[string]string{"Accept": "application/json", "Authorization": "Bearer alicetokenalicetokenalicetokenalicetoke"}, wantStatus: 200,
		},
		{
			name: "channel callback refuses: 403 as Laravel's broadcaster renders it", method: "POST", contentType: form,
			body: FormBody("1.2", "private-forbidden"), header: aliceJSON, wantStatus: 403, wantBody: `{"message":""}`,
		},
		{
			name: "callback sees the name without prefix", method: "POST", contentType: form,
			body: FormBody("1.2", "presence-forbidden"), header: aliceJSON, wantStatus: 403,
		},
		{
			name: "policy style deny message", mod: func(c *Config) { c.DenyMessage = "This action is unauthorized." },
			method: "POST", contentType: form, body: FormBody("1.2", "private-forbidden"), header: aliceJSON,
			wantStatus: 403, wantBody: `{"message":"This action is unauthorized."}`,
		},
		{
			name: "refused without Accept: HTML error page", method: "POST", contentType: form,
			body: FormBody("1.2", "private-forbidden"), header: aliceNoAccept, wantStatus: 403, wantHTML: "403 | Forbidden",
		},
		{
			name: "no channel name is refused", method: "POST", contentType: form, body: "socket_id=1.2",
			header: aliceJSON, wantStatus: 403,
		},
		{
			name: "bad socket id is a server error (pusher-php throws)", method: "POST", contentType: form,
			body: FormBody("abc", "private-chat.1"), header: aliceJSON, wantStatus: 500, wantBody: `{"message":"Server Error"}`,
		},
		{
			name: "bad channel name is a server error", method: "POST", contentType: form,
			body: FormBody("1.2", "private-chat 1"), header: aliceJSON, wantStatus: 500,
		},
		{
			name: "web middleware: 419 before authentication", mod: func(c *Config) { c.WebMiddleware = true },
			method: "POST", contentType: form, body: FormBody("1.2", "private-chat.1"), header: aliceJSON,
			wantStatus: 419, wantBody: `{"message":"CSRF token mismatch."}`,
		},
		{
			name: "web middleware without Accept: Page Expired", mod: func(c *Config) { c.WebMiddleware = true },
			method: "POST", contentType: form, body: FormBody("1.2", "private-chat.1"), header: aliceNoAccept,
			wantStatus: 419, wantHTML: "419 | Page Expired",
		},
		{
			name: "web middleware with the CSRF token", mod: func(c *Config) { c.WebMiddleware = true },
			method: "POST", contentType: form, body: FormBody("1.2", "private-chat.1"),
			header:     map[string]string{"Accept": "application/json", "Authorization": "Bearer " + aliceTok, "X-CSRF-TOKEN": CSRFToken},
			wantStatus: 200,
		},
		{
			name: "PUT is not allowed", method: "PUT", contentType: form, body: FormBody("1.2", "private-chat.1"),
			header: aliceJSON, wantStatus: 405, wantHeader: map[string]string{"Allow": "GET, HEAD, POST"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, tt.mod)
			header := map[string]string{}
			for k, v := range tt.header {
				if strings.Contains(v, "{BOB}") {
					v = strings.ReplaceAll(v, "{BOB}", a.TokenFor(t, "bob@example.com"))
				}
				header[k] = v
			}
			path := tt.path
			if path == "" {
				path = "/broadcasting/auth"
			}
			r := do(t, a, tt.method, path, tt.contentType, tt.body, header)

			assert.Equal(t, tt.wantStatus, r.status, r.body)
			if tt.wantBody != "" {
				assert.Equal(t, tt.wantBody, r.body)
				assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			}
			if tt.wantHTML != "" {
				assert.Contains(t, r.body, tt.wantHTML)
				assert.Contains(t, r.header.Get("Content-Type"), "text/html")
			}
			for k, v := range tt.wantHeader {
				assert.Equal(t, strings.ReplaceAll(v, "{URL}", a.URL), r.header.Get(k), k)
			}
			auths := a.AuthRequests()
			require.Len(t, auths, 1)
			assert.Equal(t, tt.wantStatus, auths[0].Status)
			assert.Equal(t, tt.method, auths[0].Method)
		})
	}
}

func expectedSharedSecret(channel string) string {
	h := sha256.New()
	h.Write([]byte(channel))
	h.Write(masterKey)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func TestAuthorizeRecordsAndPresenceChannelData(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen []string
	)
	a := New(t, Config{
		AppKey: "k", AppSecret: "s",
		Users: map[string]User{"zoe@example.com": {ID: "12", Name: "Zoë", Password: "p", Info: map[string]any{"id": 12, "name": "Zoë", "avatar": "https://x/y.png"}}},
		Allow: func(u User, channel string) bool {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, u.Email+" "+channel)
			return true
		},
	})
	tok := a.TokenFor(t, "zoe@example.com")
	hdr := map[string]string{"Accept": "application/json", "Authorization": "Bearer " + tok}

	r := do(t, a, "POST", "/broadcasting/auth", form, FormBody("1.1", "presence-room.7"), hdr)
	require.Equal(t, 200, r.status, r.body)
	var got struct {
		Auth        string `json:"auth"`
		ChannelData string `json:"channel_data"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &got))
	wantData := `{"user_id":"12","user_info":{"avatar":"https:\/\/x\/y.png","id":12,"name":"Zo\u00eb"}}`
	assert.Equal(t, wantData, got.ChannelData)
	assert.Equal(t, SignChannel("k", "s", "1.1", "presence-room.7", wantData), got.Auth)

	r = do(t, a, "POST", "/broadcasting/auth", form, FormBody("2.2", "private-chat.7"), hdr)
	require.Equal(t, 200, r.status)
	r = do(t, a, "POST", "/broadcasting/auth", form, FormBody("3.3", "private-chat.7"), map[string]string{"Accept": "application/json"})
	require.Equal(t, 401, r.status)

	mu.Lock()
	assert.Equal(t, []string{"zoe@example.com room.7", "zoe@example.com chat.7"}, seen)
	mu.Unlock()
	auths := a.AuthRequests()
	require.Len(t, auths, 3)
	assert.Equal(t, AuthRequest{SocketID: "1.1", Channel: "presence-room.7", Status: 200, User: "zoe@example.com", Accept: "application/json", ContentType: form, Method: "POST"}, auths[0])
	assert.Equal(t, []string{"2.2", "private-chat.7"}, []string{auths[1].SocketID, auths[1].Channel})
	assert.Equal(t, AuthRequest{SocketID: "3.3", Channel: "private-chat.7", Status: 401, Accept: "application/json", ContentType: form, Method: "POST"}, auths[2])
}

func TestRevokeTokens(t *testing.T) {
	t.Parallel()
	a := newApp(t, nil)
	body := FormBody("1.2", "private-chat.1")
	require.Equal(t, 200, do(t, a, "POST", "/broadcasting/auth", form, body, aliceJSON).status)

	a.RevokeTokens("alice@example.com")
	assert.Equal(t, 401, do(t, a, "POST", "/broadcasting/auth", form, body, aliceJSON).status)
	assert.Equal(t, 401, do(t, a, "GET", "/api/user", "", "", aliceJSON).status)

	tok := a.TokenFor(t, "alice@example.com")
	assert.NotEqual(t, aliceTok, tok, "a revoked configured token is not handed out again")
	r := do(t, a, "POST", "/broadcasting/auth", form, body, map[string]string{"Accept": "application/json", "Authorization": "Bearer " + tok})
	assert.Equal(t, 200, r.status)
}

func TestUserEndpoint(t *testing.T) {
	t.Parallel()
	a := newApp(t, nil)
	r := do(t, a, "GET", "/api/user", "", "", aliceJSON)
	assert.Equal(t, 200, r.status)
	assert.Equal(t, `{"id":8,"name":"Alice","email":"alice@example.com"}`, r.body)

	r = do(t, a, "GET", "/api/user", "", "", nil)
	assert.Equal(t, 302, r.status)
	assert.Equal(t, a.URL+"/login", r.header.Get("Location"))

	r = do(t, a, "GET", "/nothing", "", "", asJSON)
	assert.Equal(t, 404, r.status)
}

func TestNewChecksMasterKeyLength(t *testing.T) {
	t.Parallel()
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		New(r, Config{EncryptionMasterKey: []byte("short")})
	}()
	<-done
	assert.Contains(t, r.msg, "32 bytes")
}

func TestFormBody(t *testing.T) {
	t.Parallel()
	v, err := url.ParseQuery(FormBody("1.2", "private-a;b=c"))
	require.NoError(t, err)
	assert.Equal(t, "1.2", v.Get("socket_id"))
	assert.Equal(t, "private-a;b=c", v.Get("channel_name"))
}

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// the goroutine, as the real one does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
