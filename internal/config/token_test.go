package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/auth"
)

// The stored token is the one of the origin the auth request goes to.
func TestResolveTokenByOrigin(t *testing.T) {
	t.Parallel()
	creds := "[https://tms.amusoft.uz:443]\ntoken = 1|prod\n\n[http://127.0.0.1:18000]\ntoken = 2|local\n\n[http://127.0.0.1:80]\ntoken = 3|port80\n"
	tests := []struct {
		name   string
		su     setup
		token  string
		source string
	}{
		{"the default server", setup{credentials: creds}, "1|prod", "credentials file (https://tms.amusoft.uz)"},
		{"an explicit default port", setup{credentials: creds, args: []string{"--api-url", "https://TMS.amusoft.uz:443/"}}, "1|prod", "credentials file (https://tms.amusoft.uz)"},
		{"another port", setup{credentials: creds, args: []string{"--api-url", "http://127.0.0.1:18000"}}, "2|local", "credentials file (http://127.0.0.1:18000)"},
		{"no port is port 80", setup{credentials: creds, args: []string{"--api-url", "http://127.0.0.1"}}, "3|port80", "credentials file (http://127.0.0.1)"},
		{"another scheme", setup{credentials: creds, args: []string{"--api-url", "https://127.0.0.1:18000"}}, "", ""},
		{"the auth URL decides", setup{credentials: creds, args: []string{"--api-url", "http://127.0.0.1:18000", "--auth-url", "https://tms.amusoft.uz/broadcasting/auth"}},
			"1|prod", "credentials file (https://tms.amusoft.uz)"},
		{"the env token goes anywhere", setup{credentials: creds, env: map[string]string{EnvToken: "e"}, args: []string{"--api-url", "https://x.example"}}, "e", TokenFromEnv},
		{"an empty --token is the flag's", setup{credentials: creds, args: []string{"--token="}}, "", TokenFromFlag},
		{"legacy section of the profile", setup{config: "[staging]\napi-url = http://127.0.0.1:9000\n", credentials: "[staging]\ntoken = 4|old\n",
			args: []string{"--profile", "staging"}}, "4|old", "credentials file (http://127.0.0.1:9000)"},
		{"legacy section read as its profile's server only", setup{config: "[staging]\napi-url = http://127.0.0.1:9000\n", credentials: "[staging]\ntoken = 4|old\n"},
			"", ""},
		{"env api-url does not move a legacy token", setup{credentials: "[default]\ntoken = 5|old\n", env: map[string]string{EnvAPIURL: "http://127.0.0.1:9000"}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, err := tt.su.resolve(t)
			require.NoError(t, err)
			assert.Equal(t, tt.token, s.Token)
			assert.Equal(t, tt.source, s.TokenSource)
		})
	}
}

func TestCheckToken(t *testing.T) {
	t.Parallel()
	creds := "[https://tms.amusoft.uz:443]\ntoken = 1|prod\n\n[http://127.0.0.1:18000]\ntoken = 2|local\n"
	tests := []struct {
		name    string
		su      setup
		errText string
		hint    string
	}{
		{"a stored token", setup{credentials: creds}, "", ""},
		{"logged in nowhere: as before", setup{args: []string{"--api-url", "http://127.0.0.1:9000"}}, "", ""},
		{"an empty --token is the user's choice", setup{credentials: creds, args: []string{"--api-url", "http://127.0.0.1:9000", "--token="}}, "", ""},
		{"logged in elsewhere", setup{credentials: creds, args: []string{"--api-url", "http://127.0.0.1:9000/"}},
			"token: no token for http://127.0.0.1:9000: run tmsws login --api-url http://127.0.0.1:9000",
			"a token is only sent to the server that issued it; tokens are stored for http://127.0.0.1:18000, https://tms.amusoft.uz (or pass --token / TMSWS_TOKEN)"},
		{"logged in elsewhere, the API under a path", setup{credentials: creds, args: []string{"--api-url", "http://127.0.0.1:9000/tms/"}},
			"token: no token for http://127.0.0.1:9000: run tmsws login --api-url http://127.0.0.1:9000/tms", ""},
		{"an auth URL elsewhere", setup{credentials: creds, args: []string{"--api-url", "https://tms.amusoft.uz", "--auth-url", "https://auth.example/broadcasting/auth"}},
			"token: no token for https://auth.example: run tmsws login --api-url https://auth.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, err := tt.su.resolve(t)
			require.NoError(t, err)
			err = s.CheckToken()
			if tt.errText == "" {
				assert.NoError(t, err)
				return
			}
			var ae *auth.Error
			require.ErrorAs(t, err, &ae)
			assert.True(t, ae.Refused(), "exit code 3")
			assert.Equal(t, tt.errText, err.Error())
			if tt.hint != "" {
				assert.Equal(t, tt.hint, ae.Hint)
			}
			assert.NotContains(t, err.Error()+ae.Hint, "1|prod")
		})
	}
}
