package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/laraveltest"
)

func loginCLI(t *testing.T) (*cli, *laraveltest.App) {
	app := laraveltest.New(t, laraveltest.Config{
		AppKey: "app-key", AppSecret: "app-secret",
		Users: map[string]laraveltest.User{"alice@example.com": alice},
	})
	c := newCLI(t)
	c.env["TMSWS_API_URL"] = app.URL
	return c, app
}

func storedToken(t *testing.T, c *cli, profile string) (config.Credential, bool) {
	t.Helper()
	cred, ok, err := config.LoadCredential(filepath.Join(c.env["XDG_CONFIG_HOME"], "tmsws"), profile)
	require.NoError(t, err)
	return cred, ok
}

func TestLoginStoresTheTokenPrivately(t *testing.T) {
	t.Parallel()
	c, app := loginCLI(t)
	c.stdin = "correct horse\n"
	res := c.run("login", "--user", "alice@example.com", "--password-stdin")
	require.Equal(t, 0, res.code, res.stderr)
	cred, ok := storedToken(t, c, "default")
	require.True(t, ok)
	assert.Equal(t, "alice@example.com", cred.User)
	assert.NotContains(t, res.stderr, cred.Token, "the token is never shown")
	assert.Contains(t, res.stderr, cred.Token[len(cred.Token)-4:])
	assert.Empty(t, res.stdout)

	dir := filepath.Join(c.env["XDG_CONFIG_HOME"], "tmsws")
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	st, err = os.Stat(filepath.Join(dir, "credentials"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	reqs := app.LoginRequests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "application/json", reqs[0].Accept)
	assert.Equal(t, "alice@example.com", reqs[0].Login)

	// The stored token is what listen and status use.
	res = c.run("login", "status")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "credentials file")
	assert.NotContains(t, res.stdout, cred.Token)

	res = c.run("logout")
	require.Equal(t, 0, res.code, res.stderr)
	_, ok = storedToken(t, c, "default")
	assert.False(t, ok)
	res = c.run("login", "status")
	assert.Equal(t, ExitAuth, res.code)
	assert.Contains(t, res.stderr, "hint: run tmsws login")
}

func TestLoginWithTokenAndProfiles(t *testing.T) {
	t.Parallel()
	c, _ := loginCLI(t)
	c.stdin = "  5|abcdefghijklmnop1234\n"
	res := c.run("login", "--with-token", "--profile", "staging")
	require.Equal(t, 0, res.code, res.stderr)
	cred, ok := storedToken(t, c, "staging")
	require.True(t, ok)
	assert.Equal(t, "5|abcdefghijklmnop1234", cred.Token)
	_, ok = storedToken(t, c, "default")
	assert.False(t, ok, "other profiles are untouched")

	c.env["TMSWS_PROFILE"] = "staging"
	res = c.run("login", "status")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "staging")

	c.stdin = ""
	res = c.run("login", "--with-token")
	assert.Equal(t, ExitUsage, res.code)
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"wrong password", "nope\n", []string{"login", "--user", "alice@example.com", "--password-stdin"}, ExitAuth, "These credentials do not match our records."},
		{"no user and no terminal", "x\n", []string{"login", "--password-stdin"}, ExitUsage, "--user"},
		{"no password and no terminal", "", []string{"login", "--user", "alice@example.com"}, ExitUsage, "--password-stdin"},
		{"token path not in the answer", "correct horse\n", []string{"login", "--user", "alice@example.com", "--password-stdin", "--token-path", "data.jwt"}, ExitError, "--token-path"},
		{"with-token and user", "t\n", []string{"login", "--with-token", "--user", "a"}, ExitUsage, "--with-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := loginCLI(t)
			c.stdin = tt.stdin
			res := c.run(tt.args...)
			assert.Equal(t, tt.code, res.code, res.stderr)
			assert.Contains(t, res.stderr, tt.stderr)
			assert.NotContains(t, res.stderr, "nope")
			_, ok := storedToken(t, c, "default")
			assert.False(t, ok, "nothing is stored on failure")
		})
	}
}
