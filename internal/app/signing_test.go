package app

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/laraveltest"
	"github.com/amusoft/tmsws/internal/server"
)

// signingSetup is the case: a CI job exports TMSWS_APP_SECRET for
// trigger (here a wrong one, so a channel signed with it is refused by the
// server with "Invalid signature"), a token for the Laravel app is in the
// environment, and the fake app's /broadcasting/auth signs with the right
// secret.
func signingSetup(t *testing.T, envSecret string) (*server.Server, *laraveltest.App, *cli) {
	t.Helper()
	srv := startServer(t)
	app := laraveltest.New(t, laraveltest.Config{AppKey: "app-key", AppSecret: "app-secret",
		Users: map[string]laraveltest.User{"alice@example.com": alice}})
	c := newCLI(t).pointAt(srv.Addr())
	c.env["TMSWS_APP_SECRET"] = envSecret
	c.env["TMSWS_TOKEN"] = app.TokenFor(t, "alice@example.com")
	return srv, app, c
}

func authRequestsFor(app *laraveltest.App, channel string) int {
	n := 0
	for _, r := range app.AuthRequests() {
		if r.Channel == channel && r.Status == 200 {
			n++
		}
	}
	return n
}

func TestAnEnvSecretBesideAnAuthURLFlagAuthorizesThroughTheEndpoint(t *testing.T) {
	t.Parallel()
	const ch = "private-chat.42"

	t.Run("subscribe", func(t *testing.T) {
		t.Parallel()
		_, app, c := signingSetup(t, "not-the-app-secret")
		res := c.run("subscribe", "-c", ch, "-c", "chat", "--auth-url", app.AuthURL(), "--json")
		require.Equal(t, ExitOK, res.code, res.stderr)
		assert.Equal(t, 1, authRequestsFor(app, ch), "the fake app authorized the channel")
		assert.Contains(t, res.stderr, "[auth] authorized "+ch+" through "+app.AuthURL()+" (")
		sum := jsonLines(t, res.stdout)[0]
		assert.True(t, sum.Get("ok").Bool())
		assert.Equal(t, "endpoint", sum.Get("channels.0.auth").String())
		assert.False(t, sum.Get("channels.1.auth").Exists(), "a public channel")
	})

	t.Run("listen", func(t *testing.T) {
		t.Parallel()
		srv, app, c := signingSetup(t, "not-the-app-secret")
		r := c.start("listen", "-c", ch, "--auth-url", app.AuthURL(), "--count", "1")
		require.NoError(t, srv.WaitSubscribed(ctxT(t), ch, 1))
		srv.Publish(ch, "MessageSent", `{"n":1}`, "")
		res := r.wait(t)
		require.Equal(t, ExitOK, res.code, res.stderr)
		assert.Equal(t, 1, authRequestsFor(app, ch))
		assert.Contains(t, res.stderr, "[auth] authorized "+ch+" through "+app.AuthURL()+" (")
		assert.Len(t, jsonLines(t, res.stdout), 1)
	})

	t.Run("doctor", func(t *testing.T) {
		t.Parallel()
		_, app, c := signingSetup(t, "not-the-app-secret")
		code, rep, stderr := doctorReport(t, c, "-c", "presence-chat.42", "--auth-url", app.AuthURL())
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, []string{"dns:ok", "tcp:ok", "tls:n/a", "upgrade:ok", "handshake:ok", "token:ok", "authorization:ok", "subscription:ok"}, stepStates(rep),
			"the smoke check tests /broadcasting/auth")
		assert.Equal(t, 1, authRequestsFor(app, "presence-chat.42"))
		assert.Contains(t, step(rep, "authorization").Get("detail").String(), "authorized through "+app.AuthURL()+" as user_id 8 (Alice)")
	})

	t.Run("a --token flag asks for the endpoint too", func(t *testing.T) {
		t.Parallel()
		_, app, c := signingSetup(t, "not-the-app-secret")
		token := c.env["TMSWS_TOKEN"]
		delete(c.env, "TMSWS_TOKEN")
		c.env["TMSWS_API_URL"] = app.URL
		res := c.run("subscribe", "-c", ch, "--token", token)
		require.Equal(t, ExitOK, res.code, res.stderr)
		assert.Equal(t, 1, authRequestsFor(app, ch))
		assert.Contains(t, res.stderr, "[auth] authorized "+ch+" through "+app.AuthURL()+" (")
		assert.NotContains(t, res.stderr, token)
	})

	t.Run("--no-sign-locally", func(t *testing.T) {
		t.Parallel()
		_, app, c := signingSetup(t, "not-the-app-secret")
		c.env["TMSWS_AUTH_URL"] = app.AuthURL()
		res := c.run("subscribe", "-c", ch, "--no-sign-locally")
		require.Equal(t, ExitOK, res.code, res.stderr)
		assert.Equal(t, 1, authRequestsFor(app, ch))
		assert.Contains(t, res.stderr, "through "+app.AuthURL())
	})
}

func TestSigningLocally(t *testing.T) {
	t.Parallel()
	const ch = "private-chat.42"

	t.Run("--sign-locally beats --auth-url", func(t *testing.T) {
		t.Parallel()
		_, app, c := signingSetup(t, "app-secret")
		res := c.run("subscribe", "-c", ch, "--auth-url", app.AuthURL(), "--sign-locally", "--json")
		require.Equal(t, ExitOK, res.code, res.stderr)
		assert.Empty(t, app.AuthRequests(), "nothing asked the auth endpoint")
		assert.Contains(t, res.stderr, "[auth] authorized "+ch+": signed locally with the app secret (")
		assert.Equal(t, "local", jsonLines(t, res.stdout)[0].Get("channels.0.auth").String())
		assert.NotContains(t, res.stderr+res.stdout, "app-secret")
	})

	t.Run("an app secret alone signs, and says so", func(t *testing.T) {
		t.Parallel()
		srv, app, c := signingSetup(t, "app-secret")
		c.env["TMSWS_AUTH_URL"] = app.AuthURL() // an env auth URL is no flag
		// --count 1 after the subscription, not a short --duration, which
		// could end the listener before it authorized anything.
		r := c.start("listen", "-c", ch, "--count", "1")
		require.NoError(t, srv.WaitSubscribed(ctxT(t), ch, 1))
		srv.Publish(ch, "MessageSent", `{"n":1}`, "")
		res := r.wait(t)
		require.Equal(t, ExitOK, res.code, res.stderr)
		assert.Empty(t, app.AuthRequests())
		assert.Contains(t, res.stderr, "[auth] authorized "+ch+": signed locally with the app secret (")
	})

	t.Run("doctor", func(t *testing.T) {
		t.Parallel()
		_, app, c := signingSetup(t, "app-secret")
		code, rep, stderr := doctorReport(t, c, "-c", ch, "--auth-url", app.AuthURL(), "--sign-locally")
		require.Equal(t, 0, code, stderr)
		assert.Empty(t, app.AuthRequests())
		assert.Contains(t, step(rep, "authorization").Get("detail").String(), "signed locally with the app secret")
	})

	t.Run("usage errors", func(t *testing.T) {
		t.Parallel()
		c := newCLI(t)
		res := c.run("subscribe", "-c", ch, "--sign-locally")
		assert.Equal(t, ExitUsage, res.code, res.stderr)
		assert.Contains(t, res.stderr, "--sign-locally needs the app secret: pass --app-secret SECRET, set TMSWS_APP_SECRET")
		c.env["TMSWS_APP_SECRET"] = "s"
		res = c.run("listen", "-c", ch, "--sign-locally", "--no-sign-locally")
		assert.Equal(t, ExitUsage, res.code, res.stderr)
		assert.Contains(t, res.stderr, "--sign-locally and --no-sign-locally contradict each other")
		assert.False(t, strings.Contains(res.stderr, "connecting"), "nothing connects")
	})
}

// With -v, every channel still has one [auth] line and one subscribed line.
func TestVerboseSubscribeSaysEachThingOnce(t *testing.T) {
	t.Parallel()
	srv, _, c := signingSetup(t, "app-secret")
	joinPresence(t, srv, "presence-chat.42")
	res := c.run("-v", "subscribe", "-c", "chat", "-c", "private-chat.42", "-c", "presence-chat.42")
	require.Equal(t, ExitOK, res.code, res.stderr)
	for _, ch := range []string{"chat", "private-chat.42", "presence-chat.42"} {
		assert.Equal(t, 1, strings.Count(res.stderr, "[channel] subscribed "+ch+" "), "%s:\n%s", ch, res.stderr)
	}
	assert.Equal(t, 1, strings.Count(res.stderr, "[auth] authorized private-chat.42: signed locally with the app secret ("), res.stderr)
	assert.Equal(t, 1, strings.Count(res.stderr, "[auth] authorized presence-chat.42: signed locally with the app secret ("), res.stderr)
	assert.Contains(t, res.stderr, "[channel] subscribing chat", "the debug lines are there")
}
