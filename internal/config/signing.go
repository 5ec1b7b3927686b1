package config

import "strings"

// resolveSigning sets s.AppSecret and decides s.SignLocally: whether
// private and presence channels are signed with the app secret instead of
// being authorized through the auth endpoint.
func resolveSigning(r *resolver, f *Flags, s *Settings) error {
	s.AppSecret = strings.TrimSpace(r.get("app-secret", f.AppSecret, EnvAppSecret, "").s)
	s.SignLocally = s.AppSecret != ""
	return nil
}
