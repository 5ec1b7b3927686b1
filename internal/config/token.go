package config

import (
	"sort"
	"strings"

	"github.com/amusoft/tmsws/internal/auth"
)

// TokenFromFile is the TokenSource of a stored token: "credentials file
// (https://tms.example.com)", naming the origin it belongs to.
func TokenFromFile(origin string) string {
	return "credentials file (" + ShowOrigin(origin) + ")"
}

// resolveToken sets s.Token and s.TokenSource: the --token flag, then
// TMSWS_TOKEN (both are sent wherever the settings point), then the token
// stored for the origin of s.AuthURL, the URL it will be sent to. A stored
// token is never sent to another origin.
func resolveToken(r *resolver, f *Flags, s *Settings, dir string, dirErr error) error {
	switch {
	case r.changed("token"):
		// Even an empty --token= is the user's choice: no token, and no
		// "log in first" from CheckToken.
		s.Token, s.TokenSource = strings.TrimSpace(f.Token), TokenFromFlag
		return nil
	case r.env(EnvToken) != "":
		s.Token, s.TokenSource = strings.TrimSpace(r.env(EnvToken)), TokenFromEnv
	case dirErr == nil:
		origin, err := Origin(s.AuthURL)
		if err != nil {
			return usagef("auth-url %s: %v", auth.RedactURL(s.AuthURL), err)
		}
		all, err := LoadTokens(dir)
		if err != nil {
			return err
		}
		if st, ok := tokenFor(all, origin, s.Profile); ok {
			s.Token, s.TokenSource = st.Token, TokenFromFile(origin)
			if w := CredentialsWarning(dir); w != "" {
				s.Warnings = append(s.Warnings, w)
			}
		}
	}
	if s.Token == "" {
		s.TokenSource = ""
	}
	return nil
}

// CheckToken is called before a request to the auth endpoint. It returns
// nil when the request may go out (with s.Token, or without a token). When
// there is no token for the origin of s.AuthURL but the credentials file
// holds tokens for other origins (the user has logged in, just not to this
// server), it returns an *auth.Error that is Refused (exit code 3): a stored
// token is never sent to another origin, and authorizing without one would
// only fail with a less helpful 401.
func (s *Settings) CheckToken() error {
	if s.Token != "" || s.TokenSource == TokenFromFlag || s.ConfigDir == "" {
		return nil
	}
	origin, err := Origin(s.AuthURL)
	if err != nil {
		return nil // Resolve has refused such a URL already
	}
	all, err := LoadTokens(s.ConfigDir)
	if err != nil || len(all) == 0 {
		return nil // no login anywhere: authorize without a token, as before
	}
	seen := map[string]bool{}
	var others []string
	for _, st := range all {
		if st.Origin != "" && st.Origin != origin && !seen[st.Origin] {
			seen[st.Origin] = true
			others = append(others, ShowOrigin(st.Origin))
		}
	}
	if len(others) == 0 {
		return nil
	}
	sort.Strings(others)
	return NoTokenError(s, origin, others)
}

// NoTokenError is CheckToken's error: no token for origin, while the
// credentials file holds tokens for the others.
func NoTokenError(s *Settings, origin string, others []string) *auth.Error {
	shown := ShowOrigin(origin)
	api := shown
	if o, err := Origin(s.APIURL); err == nil && o == origin {
		api = s.APIURL
	}
	return &auth.Error{
		Kind:   auth.Unauthorized,
		Op:     "token",
		Detail: "no token for " + shown + ": run tmsws login --api-url " + api,
		Hint: "a token is only sent to the server that issued it; tokens are stored for " + strings.Join(others, ", ") +
			" (or pass --token / " + EnvToken + ")",
	}
}
