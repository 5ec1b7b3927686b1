package auth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testPassword = "correct horse battery"

// loginServer is a fake Laravel API login route at /api/login.
func loginServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/login", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/login"
}

func answerJSON(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, status, body) }
}

func TestLoginTokenPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		tokenPath string
		want      string
	}{
		{name: "token", body: `{"token":"1|abc","user":{"id":1}}`, want: "1|abc"},
		{name: "access_token", body: `{"access_token":"eyJ.x.y","token_type":"Bearer"}`, want: "eyJ.x.y"},
		{name: "data.token", body: `{"data":{"token":"2|def"}}`, want: "2|def"},
		{name: "data.access_token", body: `{"data":{"access_token":"3|ghi","user":{}}}`, want: "3|ghi"},
		{name: "plainTextToken", body: `{"accessToken":{"id":4},"plainTextToken":"4|jkl"}`, want: "4|jkl"},
		{name: "token wins over access_token", body: `{"access_token":"second","token":"first"}`, want: "first"},
		{name: "non-string token is skipped", body: `{"token":{"id":9},"access_token":"5|mno"}`, want: "5|mno"},
		{name: "empty token is skipped", body: `{"token":"","data":{"token":"6|pqr"}}`, want: "6|pqr"},
		{name: "escaped characters are decoded", body: `{"token":"7|a\/b\u0021"}`, want: "7|a/b!"},
		{name: "--token-path", body: `{"meta":{"auth":{"bearer":"8|stu"}},"token":"not this"}`, tokenPath: "meta.auth.bearer", want: "8|stu"},
		{name: "--token-path into an array", body: `{"tokens":[{"value":"9|vwx"}]}`, tokenPath: "tokens.0.value", want: "9|vwx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := loginServer(t, answerJSON(200, tt.body))
			got, err := Login(context.Background(), nil, u, nil, "email", "ann@example.com", testPassword, tt.tokenPath)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestLoginRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		userField string
		wantField string
		header    http.Header
	}{
		{name: "default field", userField: "", wantField: "email"},
		{name: "email", userField: "email", wantField: "email"},
		{name: "custom field and headers", userField: "phone", wantField: "phone",
			header: http.Header{"X-Device": {"cli"}, "X-Tenant": {"acme"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := loginServer(t, func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, http.MethodPost, r.Method)
				assert.Equal(t, "application/json", r.Header.Get("Accept"))
				assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
				assert.Equal(t, "tmsws", r.Header.Get("User-Agent"))
				_, hasAuth := r.Header["Authorization"]
				assert.False(t, hasAuth)
				for k := range tt.header {
					assert.Equal(t, tt.header.Get(k), r.Header.Get(k), k)
				}
				raw, err := io.ReadAll(r.Body)
				require.NoError(t, err)
				var body map[string]any
				require.NoError(t, json.Unmarshal(raw, &body))
				assert.Equal(t, map[string]any{tt.wantField: "ann@example.com", "password": testPassword}, body)
				writeJSON(w, 200, `{"token":"1|abc"}`)
			})
			got, err := Login(context.Background(), &http.Client{}, u, tt.header, tt.userField, "ann@example.com", testPassword, "")
			require.NoError(t, err)
			assert.Equal(t, "1|abc", got)
		})
	}
}

func TestLoginErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		tokenPath string
		kind      Kind
		message   string
		errText   string // URL stands for the login URL
		hint      string
		refused   bool
	}{
		{
			name:    "401 wrong credentials",
			handler: answerJSON(401, `{"message":"Invalid credentials."}`),
			kind:    Rejected, message: "Invalid credentials.",
			errText: `login: 401 Unauthorized from URL (server said "Invalid credentials.")`,
			hint:    "user and password", refused: true,
		},
		{
			name: "422 validation",
			handler: answerJSON(422, `{"message":"These credentials do not match our records.",`+
				`"errors":{"email":["These credentials do not match our records."]}}`),
			kind: Rejected, message: "These credentials do not match our records.",
			errText: `login: 422 Unprocessable Entity from URL (server said "These credentials do not match our records.")`,
			hint:    "user and password", refused: true,
		},
		{
			name: "422 with a generic message adds the first error",
			handler: answerJSON(422, `{"message":"The given data was invalid.",`+
				`"errors":{"email":["The email field must be a valid email address."],"password":["The password field is required."]}}`),
			kind: Rejected, message: "The given data was invalid. The email field must be a valid email address.",
			errText: `login: 422 Unprocessable Entity from URL (server said "The given data was invalid. The email field must be a valid email address.")`,
			hint:    "user and password", refused: true,
		},
		{
			name:    "422 with only errors",
			handler: answerJSON(422, `{"errors":{"email":"The email field is required."}}`),
			kind:    Rejected, message: "The email field is required.",
			errText: `login: 422 Unprocessable Entity from URL (server said "The email field is required.")`,
			hint:    "user and password", refused: true,
		},
		{
			name:    "no token in a 200",
			handler: answerJSON(200, `{"user":{"id":1,"name":"Ann"},"meta":{"bearer":"x"},"status":"ok"}`),
			kind:    NoToken,
			errText: `login: 200 OK from URL: no token in the answer (tried token, access_token, data.token, data.access_token, plainTextToken)`,
			hint:    "--token-path with the gjson path of the token in the login answer (the answer has: meta{…}, status, user{…})",
		},
		{
			name:      "--token-path not found",
			handler:   answerJSON(200, `{"token":"1|abc"}`),
			tokenPath: "data.jwt",
			kind:      NoToken,
			errText:   `login: 200 OK from URL: no token at data.jwt`,
			hint:      "--token-path",
		},
		{
			name:      "--token-path at an object",
			handler:   answerJSON(200, `{"data":{"jwt":{"v":"x"}}}`),
			tokenPath: "data.jwt",
			kind:      NoToken,
			errText:   `login: 200 OK from URL: --token-path data.jwt is a JSON object, not a string`,
			hint:      "(the answer has: data{…})",
		},
		{
			name: "302 to the home page",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/home", http.StatusFound)
			},
			kind:    Redirect,
			errText: `login: 302 Found from URL: redirect to /home`,
			hint:    "--login-path", refused: true,
		},
		{
			name:    "419 on a web route",
			handler: answerJSON(419, `{"message":"CSRF token mismatch."}`),
			kind:    CSRF, message: "CSRF token mismatch.",
			errText: `login: 419 Page Expired from URL (server said "CSRF token mismatch.")`,
			hint:    "/api/login", refused: true,
		},
		{
			name:    "404",
			handler: answerJSON(404, `{"message":"Not Found"}`),
			kind:    Status, message: "Not Found",
			errText: `login: 404 Not Found from URL (server said "Not Found")`,
			hint:    "--login-path",
		},
		{
			name: "200 HTML",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				writeHTML(w, 200, "<html><body>login form</body></html>")
			},
			kind:    Redirect,
			errText: `login: 200 OK from URL: an HTML page instead of JSON`,
			hint:    "--api-url", refused: true,
		},
		{
			name:    "invalid JSON",
			handler: answerJSON(200, `token=abc`),
			kind:    InvalidJSON,
			errText: `login: 200 OK from URL: not a JSON object`,
			hint:    "--login-path",
		},
		{
			name:    "server echoes the password",
			handler: answerJSON(401, `{"message":"wrong password: correct horse battery"}`),
			kind:    Rejected, message: "wrong password: [redacted]",
			errText: `login: 401 Unauthorized from URL (server said "wrong password: [redacted]")`,
			hint:    "user and password", refused: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := loginServer(t, tt.handler)
			token, err := Login(context.Background(), nil, u, nil, "email", "ann@example.com", testPassword, tt.tokenPath)
			assert.Empty(t, token)
			var ae *Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.kind, ae.Kind, "kind %s", ae.Kind)
			assert.Equal(t, "login", ae.Op)
			assert.Equal(t, tt.message, ae.Message)
			assert.Equal(t, strings.ReplaceAll(tt.errText, "URL", u), err.Error())
			assert.Contains(t, ae.Hint, tt.hint)
			assert.Equal(t, tt.refused, ae.Refused())
			assert.False(t, ae.Temporary())
			for _, s := range []string{err.Error(), ae.Hint, ae.Message, ae.Detail} {
				assert.NotContains(t, s, testPassword)
			}
		})
	}
}

func TestLoginTimeoutAndServerError(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	u := loginServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := Login(ctx, nil, u, nil, "email", "a", testPassword, "")
	var ae *Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, Timeout, ae.Kind)
	assert.True(t, ae.Temporary())

	u = loginServer(t, answerJSON(500, `{"message":"Server Error"}`))
	_, err = Login(context.Background(), nil, u, nil, "email", "a", testPassword, "")
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, ServerError, ae.Kind)
	assert.Contains(t, ae.Hint, "laravel.log")
}
