package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/tidwall/gjson"
)

// DefaultTokenPaths are tried in order when no --token-path is given; the
// first that holds a non-empty string is the token.
var DefaultTokenPaths = []string{"token", "access_token", "data.token", "data.access_token", "plainTextToken"}

// Login POSTs {userField: user, "password": password} as JSON to loginURL and
// returns the bearer token found at tokenPath (a gjson path), or when
// tokenPath is "" at the first of DefaultTokenPaths that is present.
// A 401 or 422 is a Rejected *Error carrying the server's message. Neither the
// password nor the token ever appears in an error.
func Login(ctx context.Context, c *http.Client, loginURL string, header http.Header,
	userField, user, password, tokenPath string) (token string, err error) {
	const op = "login"
	if userField == "" {
		userField = "email"
	}
	body, err := json.Marshal(map[string]string{userField: user, "password": password})
	if err != nil {
		return "", &Error{Kind: Config, Op: op, Err: err}
	}
	hdr := http.Header{}
	hdr.Set("Accept", "application/json")
	hdr.Set("Content-Type", "application/json")
	ans, err := do(ctx, c, http.MethodPost, loginURL, body, hdr, header, "", op, true, password)
	if err != nil {
		return "", err
	}

	paths := DefaultTokenPaths
	if tokenPath != "" {
		paths = []string{tokenPath}
	}
	for _, p := range paths {
		res := gjson.GetBytes(ans.body, p)
		if s, ok := jsonString(res); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s), nil
		}
		if tokenPath != "" && res.Exists() {
			return "", ans.fail(NoToken, "--token-path "+tokenPath+" is a "+typeName(res)+", not a string",
				"pass --token-path with the gjson path of the token string"+topLevelKeys(ans.body, password))
		}
	}
	detail := "no token at " + strings.Join(paths, ", ")
	if tokenPath == "" {
		detail = "no token in the answer (tried " + strings.Join(paths, ", ") + ")"
	}
	e := ans.fail(NoToken, detail, "pass --token-path with the gjson path of the token in the login answer"+topLevelKeys(ans.body, password))
	e.Message = CleanMessage(gjson.GetBytes(ans.body, "message").String(), password)
	return "", e
}

func typeName(r gjson.Result) string {
	switch {
	case r.IsObject():
		return "JSON object"
	case r.IsArray():
		return "JSON array"
	case r.Type == gjson.Number:
		return "number"
	case r.Type == gjson.True, r.Type == gjson.False:
		return "boolean"
	case r.Type == gjson.Null:
		return "null"
	}
	return "empty string"
}

// topLevelKeys lists the answer's top-level keys (never their values) to
// help pick a --token-path.
func topLevelKeys(body []byte, secrets ...string) string {
	var keys []string
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		name := CleanMessage(k.String(), secrets...)
		if v.IsObject() {
			name += "{…}"
		}
		keys = append(keys, name)
		return len(keys) < 20
	})
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	return " (the answer has: " + strings.Join(keys, ", ") + ")"
}
