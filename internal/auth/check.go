package auth

import (
	"context"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"
)

// DefaultCheckPath is the authenticated endpoint `tmsws login --with-token
// --check` asks: Sanctum's GET /api/user.
const DefaultCheckPath = "/api/user"

// checkUserPaths are tried in order for the name of the user in a check
// answer.
var checkUserPaths = []string{"email", "data.email", "user.email", "name", "data.name", "user.name", "username", "login"}

// CheckToken sends GET checkURL with the bearer token (and Accept:
// application/json) and returns the user the answer names ("" when it
// names none). A 401, 403 or 419 is a Refused *Error; every other failure is
// classified as for Login. The token never appears in an error.
func CheckToken(ctx context.Context, c *http.Client, checkURL string, header http.Header, token string) (user string, err error) {
	const op = "check the token"
	hdr := http.Header{}
	hdr.Set("Accept", "application/json")
	hdr.Set("Authorization", "Bearer "+token)
	ans, err := do(ctx, c, http.MethodGet, checkURL, nil, hdr, header, "", op, false, token)
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.Hint = checkHint(e)
		}
		return "", err
	}
	for _, p := range checkUserPaths {
		if s, ok := jsonString(gjson.GetBytes(ans.body, p)); ok && strings.TrimSpace(s) != "" {
			return CleanMessage(s, token), nil
		}
	}
	return "", nil
}

// checkHint says what to do about a failed check; do's hints are about the
// auth endpoint.
func checkHint(e *Error) string {
	switch {
	case e.Kind == Unauthorized:
		return "the server refused the token: it is wrong, expired or revoked; get a new one, or log in with tmsws login --user"
	case e.Kind == Forbidden:
		return "the server refused this token at --check-path: check that the route is one any logged-in user may call"
	case e.Kind == CSRF:
		return "CSRF token mismatch: --check-path is behind the web middleware; use an API route such as /api/user"
	case e.Kind == Redirect:
		return "the server answered with a redirect or HTML instead of JSON: check --api-url and --check-path, and that the route sends JSON to Accept: application/json"
	case e.Kind == InvalidJSON:
		return "the check route did not answer with a JSON object: check --api-url and --check-path"
	case e.Kind == Status && (e.Status == http.StatusNotFound || e.Status == http.StatusMethodNotAllowed):
		return "no GET route there: check --api-url and --check-path (default " + DefaultCheckPath + ")"
	case e.Kind == Status && e.Status != http.StatusTooManyRequests && e.Status != 0:
		return "unexpected status: check --api-url and --check-path"
	case e.Kind == Config:
		return "check --api-url and --check-path"
	}
	return e.Hint
}
