package config

import "strings"

// resolveToken sets s.Token and s.TokenSource: the --token flag, then
// TMSWS_TOKEN, then the stored login.
func resolveToken(r *resolver, f *Flags, s *Settings, dir string, dirErr error) error {
	switch {
	case r.changed("token"):
		s.Token, s.TokenSource = strings.TrimSpace(f.Token), TokenFromFlag
	case r.env(EnvToken) != "":
		s.Token, s.TokenSource = strings.TrimSpace(r.env(EnvToken)), TokenFromEnv
	case dirErr == nil:
		c, ok, err := LoadCredential(dir, s.Profile)
		if err != nil {
			return err
		}
		if ok {
			s.Token, s.TokenSource = c.Token, "credentials file (profile "+s.Profile+")"
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
// nil when the request may go out (with s.Token, or without a token).
func (s *Settings) CheckToken() error {
	return nil
}
