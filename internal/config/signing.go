package config

import "strings"

// resolveSigning sets s.AppSecret and decides s.SignLocally: whether
// private and presence channels are signed with the app secret instead of
// being authorized through the auth endpoint. It is the one home of the
// rule, which every command (listen, subscribe, doctor, trigger --client)
// reads from s.SignLocally:
//
//   - --sign-locally and --no-sign-locally together are a usage error;
//   - --sign-locally signs, and needs an app secret;
//   - --no-sign-locally authorizes through the endpoint;
//   - otherwise channels are signed only when an app secret is set and
//     neither --auth-url nor --token was given as a flag: a flag that
//     names the endpoint or its token asks for the endpoint, and a flag
//     beats any environment variable.
func resolveSigning(r *resolver, f *Flags, s *Settings) error {
	s.AppSecret = strings.TrimSpace(r.get("app-secret", f.AppSecret, EnvAppSecret, "").s)
	sign, noSign := r.changed("sign-locally") && f.SignLocally, r.changed("no-sign-locally") && f.NoSignLocally
	switch {
	case sign && noSign:
		return usagef("--sign-locally and --no-sign-locally contradict each other: give one of them")
	case sign:
		if s.AppSecret == "" {
			return usagef("--sign-locally needs the app secret: pass --app-secret SECRET, set %s, or add app-secret to the profile", EnvAppSecret)
		}
		s.SignLocally = true
	case noSign:
		s.SignLocally = false
	default:
		s.SignLocally = s.AppSecret != "" && !r.changed("auth-url") && !r.changed("token")
	}
	return nil
}
