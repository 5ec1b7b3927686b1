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

// storedToken is the token stored for the origin of the app the CLI
// points at (TMSWS_API_URL).
func storedToken(t *testing.T, c *cli) (config.Credential, bool) {
	t.Helper()
	st, ok, err := config.LoadToken(filepath.Join(c.env["XDG_CONFIG_HOME"], "tmsws"), c.env["TMSWS_API_URL"])
	require.NoError(t, err)
	return st.Credential, ok
}

func TestLoginStoresTheTokenPrivately(t *testing.T) {
	t.Parallel()
	c, app := loginCLI(t)
	c.stdin = "correct horse\n"
	res := c.run("login", "--user", "alice@example.com", "--password-stdin")
	require.Equal(t, 0, res.code, res.stderr)
	cred, ok := storedToken(t, c)
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
	assert.Contains(t, res.stdout, "credentials file ("+app.URL+")")
	assert.Contains(t, res.stdout, "* "+app.URL+"  alice@example.com  token "+config.Mask(cred.Token)+"  saved ")
	assert.NotContains(t, res.stdout, cred.Token)

	res = c.run("logout")
	require.Equal(t, 0, res.code, res.stderr)
	_, ok = storedToken(t, c)
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
	assert.Contains(t, res.stderr, "Token …1234 stored for "+c.env["TMSWS_API_URL"]+" in ")
	assert.Contains(t, res.stderr, "(not checked: pass --check to verify it)")
	assert.Contains(t, res.stderr, `created profile "staging" in `)
	cred, ok := storedToken(t, c)
	require.True(t, ok)
	assert.Equal(t, "5|abcdefghijklmnop1234", cred.Token)

	// The token belongs to the server, not to the profile: the new profile
	// exists, and both reach the same server with the same token.
	for _, profile := range []string{"staging", "default"} {
		c.env["TMSWS_PROFILE"] = profile
		res = c.run("login", "status")
		require.Equal(t, 0, res.code, res.stderr)
		assert.Contains(t, res.stdout, "profile:   "+profile)
		assert.Contains(t, res.stdout, "token …1234 from credentials file ("+c.env["TMSWS_API_URL"]+")")
	}

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
		{"check without with-token", "correct horse\n", []string{"login", "--user", "alice@example.com", "--password-stdin", "--check"}, ExitUsage, "--check and --check-path apply to --with-token"},
		{"check refused", "1|nope-not-a-token\n", []string{"login", "--with-token", "--check"}, ExitAuth, "check the token: 401 Unauthorized from"},
		{"check path missing", "1|nope-not-a-token\n", []string{"login", "--with-token", "--check", "--check-path", "/api/me"}, ExitError, "no GET route there: check --api-url and --check-path"},
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
			_, err := os.Stat(filepath.Join(c.env["XDG_CONFIG_HOME"], "tmsws", "config"))
			assert.True(t, os.IsNotExist(err), "no profile is recorded on failure")
			_, ok := storedToken(t, c)
			assert.False(t, ok, "nothing is stored on failure")
		})
	}
}

func TestLoginWithTokenCheck(t *testing.T) {
	t.Parallel()
	c, app := loginCLI(t)
	tok := app.TokenFor(t, "alice@example.com")
	c.stdin = tok + "\n"
	res := c.run("login", "--with-token", "--check")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "Logged in to "+app.URL+" as alice@example.com; token "+config.Mask(tok)+" saved in ")
	assert.NotContains(t, res.stderr, "not checked")
	assert.NotContains(t, res.stderr, tok)
	cred, ok := storedToken(t, c)
	require.True(t, ok)
	assert.Equal(t, config.Credential{Token: tok, User: "alice@example.com", SavedAt: cred.SavedAt}, cred)

	// A revoked token is refused and nothing replaces the stored one.
	app.RevokeTokens("alice@example.com")
	c.stdin = tok + "\n"
	res = c.run("login", "--with-token", "--check")
	assert.Equal(t, ExitAuth, res.code)
	assert.Contains(t, res.stderr, "hint: the server refused the token")
	assert.NotContains(t, res.stderr, tok)
}
