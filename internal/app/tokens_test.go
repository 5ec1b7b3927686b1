package app

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/laraveltest"
)

// api is a fake Laravel app behind a front that records the Authorization
// header of every request it gets: the proof of where a token was sent.
type api struct {
	*laraveltest.App
	URL string // the front's base URL: the origin tmsws talks to

	mu   sync.Mutex
	seen []string // "PATH Authorization"
}

func newAPI(t *testing.T) *api {
	t.Helper()
	app := laraveltest.New(t, laraveltest.Config{
		AppKey: "app-key", AppSecret: "app-secret",
		Users: map[string]laraveltest.User{"alice@example.com": alice},
	})
	target, err := url.Parse(app.URL)
	require.NoError(t, err)
	tr := &http.Transport{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = tr
	a := &api{App: app}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.seen = append(a.seen, r.URL.Path+" "+r.Header.Get("Authorization"))
		a.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		front.Close()
		tr.CloseIdleConnections()
	})
	a.URL = front.URL
	return a
}

// requests returns what the front got so far.
func (a *api) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

// bearers returns the Authorization headers the auth endpoint got.
func (a *api) bearers() []string {
	var out []string
	for _, r := range a.requests() {
		if after, ok := strings.CutPrefix(r, config.AuthPath+" "); ok {
			out = append(out, after)
		}
	}
	return out
}

// loggedIn logs alice in through the api's own URL and returns the token
// it stored.
func loggedIn(t *testing.T, c *cli, a *api, args ...string) string {
	t.Helper()
	c.stdin = "correct horse\n"
	res := c.run(append([]string{"login", "--user", "alice@example.com", "--password-stdin", "--api-url", a.URL}, args...)...)
	c.stdin = ""
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "Logged in to "+a.URL+" as alice@example.com")
	st, ok, err := config.LoadToken(configDir(c), a.URL)
	require.NoError(t, err)
	require.True(t, ok)
	return st.Token
}

func configDir(c *cli) string { return filepath.Join(c.env["XDG_CONFIG_HOME"], "tmsws") }

// subscribed runs subscribe on a private channel (exit 0 once the server
// confirmed it) with extra args.
func subscribed(t *testing.T, c *cli, args ...string) result {
	t.Helper()
	return c.run(append([]string{"subscribe", "-c", "private-chat.42", "--timeout", "10s"}, args...)...)
}

// The issue: login --api-url, then status and listen, without the flag
// again; a second server never gets the first one's token.
func TestTokensBelongToTheServerThatIssuedThem(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a, b := newAPI(t), newAPI(t)
	c := newCLI(t).pointAt(srv.Addr())
	delete(c.env, "TMSWS_API_URL") // the profile decides

	res := c.run("login", "--api-url", a.URL, "--user", "alice@example.com", "--password-stdin")
	require.Equal(t, ExitUsage, res.code, "no password on stdin: nothing is stored or recorded")
	tokA := loggedIn(t, c, a)
	assert.Equal(t, []string{"/api/login "}, a.requests(), "the login itself carries no token")
	_, err := os.Stat(filepath.Join(configDir(c), "config"))
	require.NoError(t, err)
	st, err := os.Stat(filepath.Join(configDir(c), "config"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// The next commands reach the same server without repeating --api-url.
	res = c.run("login", "status")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "api-url:   "+a.URL+"\n")
	assert.Contains(t, res.stdout, "* "+a.URL+"  alice@example.com  token "+config.Mask(tokA))
	assert.Contains(t, res.stdout, "(in use)")
	assert.Contains(t, res.stdout, "from credentials file ("+a.URL+")")
	assert.NotContains(t, res.stdout, tokA)

	r := c.start("listen", "-c", "private-chat.42", "--count", "1", "--json")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "private-chat.42", 1))
	srv.Publish("private-chat.42", "MessageSent", `{"id":1}`, "")
	res = r.wait(t)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, []string{"Bearer " + tokA}, a.bearers())

	// Pointed at the other server, the stored token stays home.
	for _, args := range [][]string{
		{"--api-url", b.URL},
		{"--auth-url", b.URL + "/broadcasting/auth"},
	} {
		res = subscribed(t, c, args...)
		assert.Equal(t, ExitAuth, res.code, res.stderr)
		assert.Contains(t, res.stderr, "no token for "+b.URL+": run tmsws login --api-url "+b.URL)
		assert.Contains(t, res.stderr, "tokens are stored for "+a.URL)
		assert.NotContains(t, res.stderr, tokA)
	}
	res = c.run("doctor", "-c", "private-chat.42", "--api-url", b.URL)
	assert.Equal(t, ExitAuth, res.code, res.stderr)
	assert.Contains(t, res.stdout, "no token for "+b.URL+": run tmsws login --api-url "+b.URL)
	assert.Empty(t, b.requests(), "b never heard of a's token, nor of tmsws")

	// Logged in to both, each gets its own token only.
	tokB := loggedIn(t, c, b)
	require.NotEqual(t, tokA, tokB)
	res = subscribed(t, c) // the profile now says b
	require.Equal(t, 0, res.code, res.stderr)
	res = subscribed(t, c, "--api-url", a.URL)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, []string{"Bearer " + tokA, "Bearer " + tokA}, a.bearers())
	assert.Equal(t, []string{"Bearer " + tokB}, b.bearers())

	res = c.run("login", "status")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "    "+a.URL+"  alice@example.com  token "+config.Mask(tokA))
	assert.Contains(t, res.stdout, "* "+b.URL+"  alice@example.com  token "+config.Mask(tokB))
	assert.Equal(t, 1, strings.Count(res.stdout, "(in use)"))

	// A token from the environment is sent where the settings point, and
	// status says where it comes from.
	c.env["TMSWS_TOKEN"] = tokA
	res = c.run("login", "status")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "in use:    token "+config.Mask(tokA)+" from env TMSWS_TOKEN, sent to "+b.URL)
	assert.NotContains(t, res.stdout, "(in use)", "the stored token of b is not the one in use")
	delete(c.env, "TMSWS_TOKEN")

	// logout removes the current server's token only.
	res = c.run("logout")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "Logged out of "+b.URL+": token "+config.Mask(tokB)+" of alice@example.com removed")
	res = c.run("login", "status")
	assert.Equal(t, ExitAuth, res.code)
	assert.Contains(t, res.stderr, "not logged in to "+b.URL)
	res = subscribed(t, c)
	assert.Equal(t, ExitAuth, res.code, "still logged in to a: b gets no token")
	assert.Contains(t, res.stderr, "no token for "+b.URL)
	res = subscribed(t, c, "--api-url", a.URL)
	require.Equal(t, 0, res.code, res.stderr)

	res = c.run("logout", "--all")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "Logged out of "+a.URL)
	_, err = os.Stat(filepath.Join(configDir(c), "credentials"))
	assert.True(t, os.IsNotExist(err))
	// Logged in nowhere: as before, the request goes out without a token.
	res = subscribed(t, c, "--api-url", a.URL)
	assert.Equal(t, ExitAuth, res.code)
	assert.Contains(t, res.stderr, "401 Unauthorized")
	assert.Equal(t, []string{"Bearer " + tokA, "Bearer " + tokA, "Bearer " + tokA, ""}, a.bearers())
	assert.Equal(t, []string{"Bearer " + tokB}, b.bearers())
}

// The README's staging example: the staging token lands under staging's
// origin and is never sent to production.
func TestStagingTokenIsNotSentToProduction(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	prod, staging := newAPI(t), newAPI(t)
	c := newCLI(t).pointAt(srv.Addr())
	delete(c.env, "TMSWS_API_URL")
	dir := configDir(c)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	cfg := "# my servers\n[default]\napi-url = " + prod.URL + "\n\n; staging\n[staging]\nhost = 127.0.0.1\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600))

	tok := loggedIn(t, c, staging, "--profile", "staging")
	data, err := os.ReadFile(filepath.Join(dir, "config"))
	require.NoError(t, err)
	assert.Equal(t, "# my servers\n[default]\napi-url = "+prod.URL+"\n\n; staging\n[staging]\nhost = 127.0.0.1\napi-url = "+staging.URL+"\n",
		string(data), "the profile gets the api-url; every other line stays")

	res := subscribed(t, c)
	assert.Equal(t, ExitAuth, res.code, res.stderr)
	assert.Contains(t, res.stderr, "no token for "+prod.URL)
	assert.Empty(t, prod.requests())

	res = subscribed(t, c, "--profile", "staging")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, []string{"Bearer " + tok}, staging.bearers())
}

// A credentials file from before tokens were kept per origin keeps
// working: a [profile] section's token belongs to that profile's api-url.
func TestLegacyCredentialsFileKeepsWorking(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	a, b := newAPI(t), newAPI(t)
	tok := a.TokenFor(t, "alice@example.com")
	c := newCLI(t).pointAt(srv.Addr())
	delete(c.env, "TMSWS_API_URL")
	dir := configDir(c)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config"), []byte("[default]\napi-url = "+a.URL+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "credentials"),
		[]byte("# tmsws credentials\n[default]\ntoken = "+tok+"\nuser = alice@example.com\n"), 0o600))

	res := subscribed(t, c)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, []string{"Bearer " + tok}, a.bearers())

	res = subscribed(t, c, "--api-url", b.URL)
	assert.Equal(t, ExitAuth, res.code)
	assert.Contains(t, res.stderr, "no token for "+b.URL)
	assert.Empty(t, b.requests())

	res = c.run("login", "status")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "* "+a.URL+"  alice@example.com  token "+config.Mask(tok)+"  (old [default] section)  (in use)")

	// Logging in again moves the token to its origin's section.
	tok2 := loggedIn(t, c, a)
	data, err := os.ReadFile(filepath.Join(dir, "credentials"))
	require.NoError(t, err)
	assert.NotContains(t, string(data), "[default]")
	assert.NotContains(t, string(data), tok)
	assert.Contains(t, string(data), "token = "+tok2)
}

// login records only the server flags given on its command line, and a
// --host that carried a port keeps the profile consistent.
func TestLoginRecordsServerFlags(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	c := newCLI(t)
	delete(c.env, "TMSWS_API_URL")
	c.stdin = "5|abcdefghijklmnop1234\n"
	res := c.run("login", "--with-token", "--api-url", a.URL+"/", "--host", "ws.example:6001", "--key", "k1", "--app-id", "7")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "Token …1234 stored for "+a.URL+" in ")
	assert.Contains(t, res.stderr, "(not checked: pass --check to verify it)")
	assert.NotContains(t, res.stderr, "Logged in")
	assert.Contains(t, res.stderr, `saved api-url `+a.URL+`, host ws.example, key k1, app-id 7, port 6001 to profile "default" in `)
	data, err := os.ReadFile(filepath.Join(configDir(c), "config"))
	require.NoError(t, err)
	assert.Equal(t, "[default]\napi-url = "+a.URL+"\nhost = ws.example\nkey = k1\napp-id = 7\nport = 6001\n", string(data),
		"--host's port is recorded beside it; TMSWS_SCHEME came from the environment and is not")
	assert.Empty(t, a.requests(), "an unchecked token is not sent anywhere")

	res = c.run("login", "status")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "api-url:   "+a.URL+"\n")
}

// Without a config folder there is nowhere to keep tokens: nothing is
// written to the working directory.
func TestLoginWithoutAConfigFolder(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	delete(c.env, "HOME")
	delete(c.env, "XDG_CONFIG_HOME")
	for _, args := range [][]string{{"login", "--with-token"}, {"login", "status"}, {"logout"}} {
		c.stdin = "5|abcdefghijklmnop1234\n"
		res := c.run(args...)
		assert.Equal(t, ExitUsage, res.code, "%v: %s", args, res.stderr)
		assert.Contains(t, res.stderr, "hint: set HOME or XDG_CONFIG_HOME")
	}
}
