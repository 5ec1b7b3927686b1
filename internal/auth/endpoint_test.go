package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	appKey    = "app-key"
	appSecret = "app-secret"
	testToken = "7|s3cr3tT0kenValue"
	socketID  = "123.456"
)

// phpJSON encodes v the way PHP's json_encode does by default: slashes
// escaped as \/ and non-ASCII as \uXXXX.
func phpJSON(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	s := strings.TrimSuffix(buf.String(), "\n")
	s = strings.ReplaceAll(s, "/", `\/`)
	var out strings.Builder
	for _, r := range s {
		if r < 0x7f {
			out.WriteRune(r)
			continue
		}
		units := []rune{r}
		if r1, r2 := utf16.EncodeRune(r); r1 != unicode.ReplacementChar {
			units = []rune{r1, r2}
		}
		for _, u := range units {
			fmt.Fprintf(&out, `\u%04x`, u)
		}
	}
	return out.String()
}

// laravel is a fake /broadcasting/auth that behaves like Laravel with a
// Sanctum-guarded api route: it checks the bearer token, reads the form and
// answers with the given function.
func laravel(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var loginHits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/broadcasting/auth", answer)
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		loginHits.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><body>Login</body></html>")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &loginHits
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func writeHTML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// signed answers like PusherBroadcaster::validAuthenticationResponse.
func signed(t *testing.T, r *http.Request, channelData string, extra map[string]string) string {
	t.Helper()
	require.NoError(t, r.ParseForm())
	body := map[string]string{
		"auth": ChannelAuth(appKey, appSecret, r.PostForm.Get("socket_id"), r.PostForm.Get("channel_name"), channelData),
	}
	if channelData != "" {
		body["channel_data"] = channelData
	}
	for k, v := range extra {
		body[k] = v
	}
	return phpJSON(t, body)
}

func TestEndpointAuthorizeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		channel   string
		handler   func(t *testing.T) http.HandlerFunc
		kind      Kind
		status    int
		message   string
		errText   string // exact Error(), with URL for the server's URL
		hint      string // a substring of the hint
		refused   bool
		temporary bool
	}{
		{
			name:    "401 JSON",
			handler: fixed(func(w http.ResponseWriter) { writeJSON(w, 401, `{"message":"Unauthenticated."}`) }),
			kind:    Unauthorized, status: 401, message: "Unauthenticated.",
			errText: `authorize private-chat.42: 401 Unauthorized from URL (server said "Unauthenticated.")`,
			hint:    "run tmsws login", refused: true,
		},
		{
			name:    "401 bare",
			handler: fixed(func(w http.ResponseWriter) { w.WriteHeader(401) }),
			kind:    Unauthorized, status: 401,
			errText: `authorize private-chat.42: 401 Unauthorized from URL`,
			hint:    "TMSWS_TOKEN", refused: true,
		},
		{
			name:    "403 JSON",
			handler: fixed(func(w http.ResponseWriter) { writeJSON(w, 403, `{"message":"This action is unauthorized."}`) }),
			kind:    Forbidden, status: 403, message: "This action is unauthorized.",
			errText: `authorize private-chat.42: 403 Forbidden from URL (server said "This action is unauthorized.")`,
			hint:    "routes/channels.php", refused: true,
		},
		{
			name: "403 HTML",
			handler: fixed(func(w http.ResponseWriter) {
				writeHTML(w, 403, "<!DOCTYPE html><html><head><title>Forbidden</title></head><body>403 | Forbidden</body></html>")
			}),
			kind: Forbidden, status: 403,
			errText: `authorize private-chat.42: 403 Forbidden from URL`,
			hint:    "routes/channels.php", refused: true,
		},
		{
			name:    "419 CSRF",
			handler: fixed(func(w http.ResponseWriter) { writeJSON(w, 419, `{"message":"CSRF token mismatch."}`) }),
			kind:    CSRF, status: 419, message: "CSRF token mismatch.",
			errText: `authorize private-chat.42: 419 Page Expired from URL (server said "CSRF token mismatch.")`,
			hint:    "auth:sanctum", refused: true,
		},
		{
			name: "302 to the login page",
			handler: fixed(func(w http.ResponseWriter) {
				w.Header().Set("Location", "/login")
				w.WriteHeader(http.StatusFound)
			}),
			kind: Redirect, status: 302,
			errText: `authorize private-chat.42: 302 Found from URL: redirect to /login`,
			hint:    "Accept: application/json", refused: true,
		},
		{
			name: "302 elsewhere drops credentials",
			handler: fixed(func(w http.ResponseWriter) {
				w.Header().Set("Location", "https://user:pw@sso.example/auth?ticket=abc")
				w.WriteHeader(http.StatusFound)
			}),
			kind: Redirect, status: 302,
			errText: `authorize private-chat.42: 302 Found from URL: redirect to https://sso.example/auth`,
			hint:    "--auth-url", refused: true,
		},
		{
			name:    "200 HTML",
			handler: fixed(func(w http.ResponseWriter) { writeHTML(w, 200, "<!DOCTYPE html><html><body>Welcome</body></html>") }),
			kind:    Redirect, status: 200,
			errText: `authorize private-chat.42: 200 OK from URL: an HTML page instead of JSON`,
			hint:    "redirect or HTML", refused: true,
		},
		{
			name:    "200 HTML without content type",
			handler: fixed(func(w http.ResponseWriter) { _, _ = io.WriteString(w, "  <html>hi</html>") }),
			kind:    Redirect, status: 200,
			errText: `authorize private-chat.42: 200 OK from URL: an HTML page instead of JSON`,
			hint:    "redirect or HTML", refused: true,
		},
		{
			name:    "500",
			handler: fixed(func(w http.ResponseWriter) { writeJSON(w, 500, `{"message":"Server Error"}`) }),
			kind:    ServerError, status: 500, message: "Server Error",
			errText: `authorize private-chat.42: 500 Internal Server Error from URL (server said "Server Error")`,
			hint:    "storage/logs/laravel.log", temporary: true,
		},
		{
			name:    "503 HTML",
			handler: fixed(func(w http.ResponseWriter) { writeHTML(w, 503, "<html>Service Unavailable</html>") }),
			kind:    ServerError, status: 503,
			errText: `authorize private-chat.42: 503 Service Unavailable from URL`,
			hint:    "laravel.log", temporary: true,
		},
		{
			name:    "invalid JSON",
			handler: fixed(func(w http.ResponseWriter) { writeJSON(w, 200, `{"auth":"app-key:abc"`) }),
			kind:    InvalidJSON, status: 200,
			errText: `authorize private-chat.42: 200 OK from URL: not a JSON object`,
			hint:    "did not answer with JSON",
		},
		{
			// 1 MiB of nesting: gjson's validator would recurse once per level.
			name: "deeply nested JSON",
			handler: fixed(func(w http.ResponseWriter) {
				writeJSON(w, 200, `{"auth":`+strings.Repeat("[", 500_000)+strings.Repeat("]", 500_000)+`}`)
			}),
			kind: InvalidJSON, status: 200,
			errText: `authorize private-chat.42: 200 OK from URL: a JSON object nested deeper than 1000 levels`,
			hint:    "did not answer with JSON",
		},
		{
			name: "deeply nested error answer",
			handler: fixed(func(w http.ResponseWriter) {
				writeJSON(w, 403, `{"message":`+strings.Repeat("[", 500_000)+strings.Repeat("]", 500_000)+`}`)
			}),
			kind: Forbidden, status: 403,
			errText: `authorize private-chat.42: 403 Forbidden from URL`,
			hint:    "routes/channels.php", refused: true,
		},
		{
			name:    "empty body",
			handler: fixed(func(w http.ResponseWriter) { w.WriteHeader(200) }),
			kind:    InvalidJSON, status: 200,
			errText: `authorize private-chat.42: 200 OK from URL: an empty body instead of JSON`,
			hint:    "did not answer with JSON",
		},
		{
			name:    "{} body",
			handler: fixed(func(w http.ResponseWriter) { writeJSON(w, 200, `{}`) }),
			kind:    NoAuth, status: 200,
			errText: `authorize private-chat.42: 200 OK from URL: no "auth" field in the answer`,
			hint:    `no "auth" field`, refused: true,
		},
		{
			name:    "auth not a string",
			handler: fixed(func(w http.ResponseWriter) { writeJSON(w, 200, `{"auth":true}`) }),
			kind:    NoAuth, status: 200,
			errText: `authorize private-chat.42: 200 OK from URL: "auth" is not a non-empty string`,
			hint:    "--auth-url", refused: true,
		},
		{
			name: "404",
			handler: fixed(func(w http.ResponseWriter) {
				writeJSON(w, 404, `{"message":"The route broadcasting/auth could not be found."}`)
			}),
			kind: Status, status: 404, message: "The route broadcasting/auth could not be found.",
			errText: `authorize private-chat.42: 404 Not Found from URL (server said "The route broadcasting/auth could not be found.")`,
			hint:    "/api/broadcasting/auth",
		},
		{
			name:    "429",
			handler: fixed(func(w http.ResponseWriter) { writeJSON(w, 429, `{"message":"Too Many Attempts."}`) }),
			kind:    Status, status: 429, message: "Too Many Attempts.",
			errText: `authorize private-chat.42: 429 Too Many Requests from URL (server said "Too Many Attempts.")`,
			hint:    "wait", temporary: true,
		},
		{
			name:    "presence without channel_data",
			channel: "presence-room.1",
			handler: func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, signed(t, r, "", nil)) }
			},
			kind: Incomplete, status: 200,
			errText: `authorize presence-room.1: 200 OK from URL: no "channel_data" in the answer, and a presence channel needs it`,
			hint:    "routes/channels.php",
		},
		{
			name:    "encrypted without shared_secret",
			channel: "private-encrypted-chat.1",
			handler: func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, signed(t, r, "", nil)) }
			},
			kind: Incomplete, status: 200,
			errText: `authorize private-encrypted-chat.1: 200 OK from URL: no "shared_secret" in the answer, and an encrypted channel needs it`,
			hint:    "encryption_master_key_base64",
		},
		{
			name:    "encrypted with a bad shared_secret",
			channel: "private-encrypted-chat.1",
			handler: func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 200, signed(t, r, "", map[string]string{"shared_secret": "c2hvcnQ="}))
				}
			},
			kind: Incomplete, status: 200,
			errText: `authorize private-encrypted-chat.1: 200 OK from URL: "shared_secret" is not the base64 of a 32-byte key`,
			hint:    "encryption_master_key_base64",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, loginHits := laravel(t, tt.handler(t))
			channel := tt.channel
			if channel == "" {
				channel = "private-chat.42"
			}
			ep := &Endpoint{HTTP: srv.Client(), URL: srv.URL + "/broadcasting/auth", Token: testToken}
			res, err := ep.Authorize(context.Background(), socketID, channel)
			assert.Equal(t, Result{}, res)
			var ae *Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.kind, ae.Kind, "kind %s", ae.Kind)
			assert.Equal(t, tt.status, ae.Status)
			assert.Equal(t, tt.message, ae.Message)
			assert.Equal(t, strings.ReplaceAll(tt.errText, "URL", srv.URL+"/broadcasting/auth"), err.Error())
			assert.Contains(t, ae.Hint, tt.hint)
			assert.NotContains(t, err.Error(), ae.Hint, "the hint is not part of Error()")
			assert.Equal(t, tt.refused, ae.Refused(), "refused")
			assert.Equal(t, tt.temporary, ae.Temporary(), "temporary")
			assert.Equal(t, tt.refused, IsRefused(err))
			assert.Equal(t, tt.temporary, IsTemporary(err))
			assert.Zero(t, loginHits.Load(), "redirects are never followed")
			assert.NotContains(t, err.Error(), testToken)
			assert.NotContains(t, ae.Hint, testToken)
		})
	}
}

func fixed(f func(w http.ResponseWriter)) func(t *testing.T) http.HandlerFunc {
	return func(*testing.T) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { f(w) }
	}
}

func TestEndpointAuthorizeSuccess(t *testing.T) {
	t.Parallel()
	// What PHP signed: json_encode output with escaped slashes and unicode,
	// and a key order that re-serializing would change (z before a).
	presenceData := `{"user_id":"7","user_info":{"name":"Ann \u00e9","avatar":"https:\/\/cdn.example\/a.png","z":1,"a":[2,{"b":null}]}}`
	sharedSecret := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))

	tests := []struct {
		name    string
		channel string
		answer  func(t *testing.T, r *http.Request) string
		want    func(t *testing.T) Result
	}{
		{
			name:    "private",
			channel: "private-chat.42",
			answer:  func(t *testing.T, r *http.Request) string { return signed(t, r, "", nil) },
			want: func(*testing.T) Result {
				return Result{Auth: ChannelAuth(appKey, appSecret, socketID, "private-chat.42", "")}
			},
		},
		{
			name:    "presence keeps channel_data byte for byte",
			channel: "presence-room.1",
			answer:  func(t *testing.T, r *http.Request) string { return signed(t, r, presenceData, nil) },
			want: func(*testing.T) Result {
				return Result{
					Auth:        ChannelAuth(appKey, appSecret, socketID, "presence-room.1", presenceData),
					ChannelData: presenceData,
				}
			},
		},
		{
			name:    "presence channel_data as an object is forwarded raw",
			channel: "presence-room.1",
			answer: func(*testing.T, *http.Request) string {
				return `{"auth":"app-key:x","channel_data":{"user_id":"7","user_info":{"z":1,"a":"\/"}}}`
			},
			want: func(*testing.T) Result {
				return Result{Auth: "app-key:x", ChannelData: `{"user_id":"7","user_info":{"z":1,"a":"\/"}}`}
			},
		},
		{
			name:    "encrypted keeps shared_secret",
			channel: "private-encrypted-chat.1",
			answer: func(t *testing.T, r *http.Request) string {
				return signed(t, r, "", map[string]string{"shared_secret": sharedSecret})
			},
			want: func(*testing.T) Result {
				return Result{
					Auth:         ChannelAuth(appKey, appSecret, socketID, "private-encrypted-chat.1", ""),
					SharedSecret: sharedSecret,
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := laravel(t, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, tt.answer(t, r))
			})
			ep := &Endpoint{HTTP: srv.Client(), URL: srv.URL + "/broadcasting/auth", Token: testToken}
			got, err := ep.Authorize(context.Background(), socketID, tt.channel)
			require.NoError(t, err)
			want := tt.want(t)
			assert.Equal(t, want, got)
			if want.ChannelData != "" {
				assert.Equal(t, []byte(want.ChannelData), []byte(got.ChannelData), "byte equality")
			}
		})
	}

	t.Run("the presence signature verifies against the forwarded bytes", func(t *testing.T) {
		t.Parallel()
		srv, _ := laravel(t, func(w http.ResponseWriter, r *http.Request) {
			body := signed(t, r, presenceData, nil)
			assert.Contains(t, body, `https:\\\/\\\/cdn`, "the fake encodes like PHP")
			writeJSON(w, 200, body)
		})
		ep := &Endpoint{HTTP: srv.Client(), URL: srv.URL + "/broadcasting/auth"}
		got, err := ep.Authorize(context.Background(), socketID, "presence-room.1")
		require.NoError(t, err)
		assert.True(t, VerifyChannelAuth(appSecret, socketID, "presence-room.1", got.ChannelData, got.Auth))
		var v any
		require.NoError(t, json.Unmarshal([]byte(got.ChannelData), &v))
		again, err := json.Marshal(v)
		require.NoError(t, err)
		assert.False(t, VerifyChannelAuth(appSecret, socketID, "presence-room.1", string(again), got.Auth),
			"re-serializing would have broken the signature")
	})
}

func TestEndpointRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		token  string
		header http.Header
		check  func(t *testing.T, r *http.Request)
	}{
		{
			name:  "form body and headers with a token",
			token: testToken,
			header: http.Header{
				"X-Tenant": {"acme"},
			},
			check: func(t *testing.T, r *http.Request) {
				assert.Equal(t, http.MethodPost, r.Method)
				assert.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"))
				assert.Equal(t, "application/json", r.Header.Get("Accept"))
				assert.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
				assert.Equal(t, "tmsws", r.Header.Get("User-Agent"))
				assert.Equal(t, "acme", r.Header.Get("X-Tenant"))
				body, err := io.ReadAll(r.Body)
				require.NoError(t, err)
				assert.Equal(t, "channel_name=private-chat.42&socket_id=123.456", string(body))
			},
		},
		{
			name:  "no token, no Authorization header",
			token: "",
			check: func(t *testing.T, r *http.Request) {
				_, ok := r.Header["Authorization"]
				assert.False(t, ok)
				require.NoError(t, r.ParseForm())
				assert.Equal(t, "123.456", r.PostForm.Get("socket_id"))
				assert.Equal(t, "private-chat.42", r.PostForm.Get("channel_name"))
			},
		},
		{
			name:   "extra headers override the defaults",
			token:  testToken,
			header: http.Header{"Authorization": {"Basic abc"}, "User-Agent": {"custom/1"}},
			check: func(t *testing.T, r *http.Request) {
				assert.Equal(t, []string{"Basic abc"}, r.Header.Values("Authorization"))
				assert.Equal(t, "custom/1", r.Header.Get("User-Agent"))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := laravel(t, func(w http.ResponseWriter, r *http.Request) {
				tt.check(t, r)
				writeJSON(w, 200, `{"auth":"app-key:sig"}`)
			})
			ep := &Endpoint{HTTP: srv.Client(), URL: srv.URL + "/broadcasting/auth", Token: tt.token, Header: tt.header}
			got, err := ep.Authorize(context.Background(), socketID, "private-chat.42")
			require.NoError(t, err)
			assert.Equal(t, "app-key:sig", got.Auth)
		})
	}
}

func TestEndpointTransportErrors(t *testing.T) {
	t.Parallel()

	t.Run("slow server times out with the client timeout", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv, _ := laravel(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		defer close(release)
		c := srv.Client()
		c.Timeout = 50 * time.Millisecond
		ep := &Endpoint{HTTP: c, URL: srv.URL + "/broadcasting/auth", Token: testToken}
		_, err := ep.Authorize(context.Background(), socketID, "private-chat.42")
		var ae *Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, Timeout, ae.Kind)
		assert.True(t, ae.Temporary())
		assert.False(t, ae.Refused())
		assert.Contains(t, ae.Hint, "--http-timeout")
		assert.Equal(t, "authorize private-chat.42: no answer from "+srv.URL+"/broadcasting/auth in time", err.Error())
	})

	t.Run("context deadline is a timeout", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv, _ := laravel(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		defer close(release)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		ep := &Endpoint{HTTP: srv.Client(), URL: srv.URL + "/broadcasting/auth"}
		_, err := ep.Authorize(ctx, socketID, "private-chat.42")
		var ae *Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, Timeout, ae.Kind)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})

	t.Run("canceled context", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		release := make(chan struct{})
		srv, _ := laravel(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			cancel()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		defer close(release)
		ep := &Endpoint{HTTP: srv.Client(), URL: srv.URL + "/broadcasting/auth"}
		_, err := ep.Authorize(ctx, socketID, "private-chat.42")
		var ae *Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, Canceled, ae.Kind)
		assert.ErrorIs(t, err, context.Canceled)
		assert.False(t, ae.Temporary())
	})

	t.Run("nothing listening is a network error", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		ep := &Endpoint{HTTP: &http.Client{Timeout: 5 * time.Second}, URL: "http://" + addr + "/broadcasting/auth"}
		_, err = ep.Authorize(context.Background(), socketID, "private-chat.42")
		var ae *Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, Network, ae.Kind)
		assert.True(t, ae.Temporary())
		assert.Contains(t, err.Error(), "authorize private-chat.42: cannot reach http://"+addr+"/broadcasting/auth: ")
		assert.Equal(t, 1, strings.Count(err.Error(), "/broadcasting/auth"), "the URL is not repeated")
	})

	t.Run("untrusted certificate is a TLS error", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, `{"auth":"a:b"}`)
		}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the expected handshake failure
		srv.StartTLS()
		t.Cleanup(srv.Close)
		ep := &Endpoint{HTTP: &http.Client{Timeout: 5 * time.Second}, URL: srv.URL + "/broadcasting/auth"}
		_, err := ep.Authorize(context.Background(), socketID, "private-chat.42")
		var ae *Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, TLS, ae.Kind)
		assert.Contains(t, ae.Hint, "--cacert")
		assert.False(t, ae.Temporary())
	})

	t.Run("plain HTTP server on an https URL", func(t *testing.T) {
		t.Parallel()
		srv, _ := laravel(t, func(w http.ResponseWriter, r *http.Request) {})
		ep := &Endpoint{HTTP: &http.Client{Timeout: 5 * time.Second}, URL: strings.Replace(srv.URL, "http:", "https:", 1)}
		_, err := ep.Authorize(context.Background(), socketID, "private-chat.42")
		var ae *Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, TLS, ae.Kind)
		assert.Contains(t, ae.Hint, "scheme")
	})

	t.Run("bad URL is a config error", func(t *testing.T) {
		t.Parallel()
		for _, u := range []string{"", "broadcasting/auth", "ftp://host/x", "http://"} {
			_, err := (&Endpoint{URL: u}).Authorize(context.Background(), socketID, "private-chat.42")
			var ae *Error
			require.ErrorAs(t, err, &ae, u)
			assert.Equal(t, Config, ae.Kind, u)
			assert.Contains(t, ae.Hint, "--auth-url", u)
		}
	})
}

func TestSecretsNeverInErrors(t *testing.T) {
	t.Parallel()
	srv, _ := laravel(t, func(w http.ResponseWriter, r *http.Request) {
		// A server that echoes the Authorization header back.
		writeJSON(w, 401, phpJSON(t, map[string]string{"message": "bad token " + r.Header.Get("Authorization")}))
	})
	u := strings.Replace(srv.URL, "http://", "http://admin:hunter2@", 1) + "/broadcasting/auth?api_token=" + testToken + "#frag"
	ep := &Endpoint{HTTP: srv.Client(), URL: u, Token: testToken}
	_, err := ep.Authorize(context.Background(), socketID, "private-chat.42")
	var ae *Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, Unauthorized, ae.Kind)
	for _, s := range []string{err.Error(), ae.URL, ae.Message, ae.Hint} {
		assert.NotContains(t, s, testToken)
		assert.NotContains(t, s, "hunter2")
		assert.NotContains(t, s, "api_token")
	}
	assert.Equal(t, srv.URL+"/broadcasting/auth", ae.URL)
	assert.Equal(t, "bad token Bearer [redacted]", ae.Message)

	// A transport failure on such a URL must not leak it either.
	ln, lerr := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, lerr)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = (&Endpoint{URL: "http://admin:hunter2@" + addr + "/x?api_token=" + testToken, Token: testToken}).
		Authorize(context.Background(), socketID, "private-chat.42")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testToken)
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"https://host/broadcasting/auth":                    "https://host/broadcasting/auth",
		"https://u:p@host:8443/api/broadcasting/auth?x=1#f": "https://host:8443/api/broadcasting/auth",
		"http://[::1]:8000/a":                               "http://[::1]:8000/a",
		"not a url?token=x":                                 "not a url",
		"weird://u:p@host%zz/x?q":                           "weird://host%zz/x",
		"?api_token=x":                                      "",
		"#token=x":                                          "",
		"@host/x":                                           "host/x",
		"://u:p@host/x":                                     "://host/x",
	}
	for in, want := range tests {
		assert.Equal(t, want, RedactURL(in), in)
	}
}

func TestErrorUnwrapAndKinds(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	e := &Error{Kind: Network, Op: "login", URL: "https://h/api/login", Err: base, Hint: "h"}
	assert.ErrorIs(t, e, base)
	assert.Equal(t, "login: cannot reach https://h/api/login: boom", e.Error())
	assert.Equal(t, "unauthorized", Unauthorized.String())
	assert.Equal(t, "kind(99)", Kind(99).String())
	for k := Unauthorized; k <= Canceled; k++ {
		assert.NotContains(t, k.String(), "kind(", "every kind has a name")
	}
}
