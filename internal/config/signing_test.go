package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolveSigning(t *testing.T) {
	t.Parallel()
	secretEnv := map[string]string{EnvAppSecret: "env-secret"}
	tests := []struct {
		name   string
		su     setup
		secret string
		local  bool
	}{
		{"no secret: the endpoint", setup{}, "", false},
		{"--app-secret signs", setup{args: []string{"--app-secret", "s"}}, "s", true},
		{"TMSWS_APP_SECRET signs", setup{env: secretEnv}, "env-secret", true},
		{"a profile app-secret signs", setup{config: "[default]\napp-secret = p\n"}, "p", true},
		{"--auth-url beats TMSWS_APP_SECRET", setup{env: secretEnv, args: []string{"--auth-url", "http://127.0.0.1:8000/broadcasting/auth"}}, "env-secret", false},
		{"--token beats TMSWS_APP_SECRET", setup{env: secretEnv, args: []string{"--token", "t"}}, "env-secret", false},
		{"--auth-url beats even --app-secret", setup{args: []string{"--app-secret", "s", "--auth-url", "http://127.0.0.1:8000/broadcasting/auth"}}, "s", false},
		{"TMSWS_AUTH_URL does not stop signing", setup{env: map[string]string{EnvAppSecret: "e", EnvAuthURL: "http://127.0.0.1:8000/broadcasting/auth"}}, "e", true},
		{"TMSWS_TOKEN does not stop signing", setup{env: map[string]string{EnvAppSecret: "e", EnvToken: "t"}}, "e", true},
		{"--no-sign-locally", setup{env: secretEnv, args: []string{"--no-sign-locally"}}, "env-secret", false},
		{"--sign-locally beside --auth-url", setup{env: secretEnv, args: []string{"--sign-locally", "--auth-url", "http://127.0.0.1:8000/broadcasting/auth"}}, "env-secret", true},
		{"--sign-locally beside --token", setup{args: []string{"--sign-locally", "--token", "t", "--app-secret", "s"}}, "s", true},
		{"--sign-locally=false is not asking", setup{env: secretEnv, args: []string{"--sign-locally=false"}}, "env-secret", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, err := tt.su.resolve(t)
			require.NoError(t, err)
			assert.Equal(t, tt.secret, s.AppSecret)
			assert.Equal(t, tt.local, s.SignLocally)
		})
	}
}

func TestResolveSigningErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		su      setup
		errText string
	}{
		{"both flags", setup{env: map[string]string{EnvAppSecret: "s"}, args: []string{"--sign-locally", "--no-sign-locally"}},
			"--sign-locally and --no-sign-locally contradict each other: give one of them"},
		{"--sign-locally without a secret", setup{args: []string{"--sign-locally"}},
			"--sign-locally needs the app secret: pass --app-secret SECRET, set TMSWS_APP_SECRET, or add app-secret to the profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := tt.su.resolve(t)
			var ue *UsageError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, tt.errText, err.Error())
		})
	}
}
