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
//   - otherwise channels are signed only when an app secret is set, not
//     by the Laravel .env, and neither --auth-url nor --token was given as
//     a flag: a flag that names the endpoint or its token asks for the
//     endpoint, and a flag beats any environment variable.
func resolveSigning(r *resolver, f *Flags, s *Settings) error {
	secret := r.get("app-secret", f.AppSecret, EnvAppSecret, "")
	s.AppSecret = strings.TrimSpace(secret.s)
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
		// A secret found in the Laravel .env signs trigger and HTTP API
		// calls, but the app's own /broadcasting/auth stays the one that
		// authorizes channels: a check from inside the project tests it.
		s.SignLocally = s.AppSecret != "" && secret.from != fromDotEnv && !r.changed("auth-url") && !r.changed("token")
	}
	return nil
}
