package login

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/cmdutil/cmdtest"
)

func TestLoginRecordsOnlyTheServerFlagsGiven(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want [][2]string
	}{
		{"none", []string{"--user", "a"}, nil},
		{"login's own flags are not server settings", []string{"--user", "a", "--login-path", "/x", "--token-path", "t", "--http-timeout", "3s"}, nil},
		{"api-url, trailing slash dropped", []string{"--api-url", "http://127.0.0.1:18000/"}, [][2]string{{"api-url", "http://127.0.0.1:18000"}}},
		{"in a fixed order", []string{"--key", "k", "--port", "6001", "--api-url", "https://a.example", "--ws-path", "/ws/", "--app-id", "7", "--auth-url", "https://a.example/api/broadcasting/auth"},
			[][2]string{{"api-url", "https://a.example"}, {"auth-url", "https://a.example/api/broadcasting/auth"}, {"port", "6001"}, {"key", "k"}, {"ws-path", "/ws"}, {"app-id", "7"}}},
		{"a scheme alias is made plain", []string{"--scheme", "WSS"}, [][2]string{{"scheme", "https"}}},
		{"a host with a port records the port", []string{"--host", "h.example:6001"}, [][2]string{{"host", "h.example"}, {"port", "6001"}}},
		{"a host URL records its scheme and implied port", []string{"--host", "ws://h.example"}, [][2]string{{"host", "h.example"}, {"port", "80"}, {"scheme", "http"}}},
		{"an IPv6 host is bracketed", []string{"--host", "::1"}, [][2]string{{"host", "[::1]"}}},
		{"cluster", []string{"--cluster", "EU"}, [][2]string{{"cluster", "eu"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts, err := cmdtest.Parse(t, NewCmdLogin, nil, tt.args...)
			require.NoError(t, err)
			require.NotNil(t, opts)
			assert.Equal(t, tt.want, opts.Record)
		})
	}
}

func TestLoginCheckFlags(t *testing.T) {
	t.Parallel()
	opts, err := cmdtest.Parse(t, NewCmdLogin, nil, "--with-token", "--check")
	require.NoError(t, err)
	assert.True(t, opts.Check)
	assert.Equal(t, "/api/user", opts.CheckPath)

	for _, args := range [][]string{{"--check"}, {"--user", "a", "--check-path", "/api/me"}} {
		_, err := cmdtest.Parse(t, NewCmdLogin, nil, args...)
		var ue *cmdutil.UsageError
		if assert.ErrorAs(t, err, &ue, "%v", args) {
			assert.Equal(t, "--check and --check-path apply to --with-token", ue.Msg, "%v", args)
			assert.Equal(t, "a password login is checked by the server's answer already", ue.Hint, "%v", args)
		}
	}
}

func TestLogoutAll(t *testing.T) {
	t.Parallel()
	opts, err := cmdtest.Parse(t, NewCmdLogout, nil, "--all")
	require.NoError(t, err)
	assert.True(t, opts.All)
}
