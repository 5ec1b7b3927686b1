package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const checkTok = "5|abcdefghijklmnopWXYZ"

func checkServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + DefaultCheckPath
}

func TestCheckTokenSendsTheBearerAndNamesTheUser(t *testing.T) {
	t.Parallel()
	tests := []struct{ body, user string }{
		{`{"id":8,"name":"Alice","email":"alice@example.com"}`, "alice@example.com"},
		{`{"data":{"id":8,"name":"Alice"}}`, "Alice"},
		{`{"user":{"email":"bob@example.com"}}`, "bob@example.com"},
		{`{"id":8}`, ""},
		{`{"email":"evil\u001b[2J` + checkTok + `"}`, "evil[2J[redacted]"},
	}
	for _, tt := range tests {
		var got *http.Request
		u := checkServer(t, func(w http.ResponseWriter, r *http.Request) {
			got = r
			writeJSON(w, 200, tt.body)
		})
		user, err := CheckToken(context.Background(), nil, u, http.Header{"X-Team": {"a"}}, checkTok)
		require.NoError(t, err, tt.body)
		assert.Equal(t, tt.user, user, tt.body)
		require.NotNil(t, got)
		assert.Equal(t, http.MethodGet, got.Method)
		assert.Equal(t, DefaultCheckPath, got.URL.Path)
		assert.Equal(t, "Bearer "+checkTok, got.Header.Get("Authorization"))
		assert.Equal(t, "application/json", got.Header.Get("Accept"))
		assert.Equal(t, "a", got.Header.Get("X-Team"), "the -H headers go along")
	}
}

func TestCheckTokenFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		h       http.HandlerFunc
		kind    Kind
		refused bool
		hint    string
	}{
		{"401", answerJSON(401, `{"message":"Unauthenticated."}`), Unauthorized, true, "the server refused the token"},
		{"419", answerJSON(419, `{"message":"CSRF token mismatch."}`), CSRF, true, "--check-path is behind the web middleware"},
		{"403", answerJSON(403, `{"message":"no"}`), Forbidden, true, "--check-path"},
		{"404", answerJSON(404, `{"message":"Not Found"}`), Status, false, "no GET route there: check --api-url and --check-path (default /api/user)"},
		{"redirect to a login page", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/login", http.StatusFound) }, Redirect, true, "--check-path"},
		{"500", answerJSON(500, `{"message":"Server Error"}`), ServerError, false, "storage/logs/laravel.log"},
		{"not JSON", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }, InvalidJSON, false, "--check-path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := checkServer(t, tt.h)
			_, err := CheckToken(context.Background(), nil, u, nil, checkTok)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.kind, e.Kind, err.Error())
			assert.Equal(t, tt.refused, e.Refused())
			assert.Contains(t, e.Hint, tt.hint)
			assert.NotContains(t, err.Error()+e.Hint, checkTok)
		})
	}
}
