package app

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/soketitest"
)

// laravelProjectCLI is a scratch Laravel project (artisan and a .env that
// points at the test Soketi and the fake Laravel API, as a developer's
// would point at Reverb and their app) and a tmsws run from one of its
// subfolders with no TMSWS_* variable at all.
func laravelProjectCLI(t *testing.T, sk *soketitest.Soketi, apiURL, extra string) (*cli, string) {
	t.Helper()
	env := fmt.Sprintf(`APP_NAME=Chat
APP_URL=%s
BROADCAST_CONNECTION=reverb
QUEUE_CONNECTION=database

REVERB_APP_ID=%s
REVERB_APP_KEY=%s
REVERB_APP_SECRET="%s"
REVERB_HOST="%s"
REVERB_PORT=%d
REVERB_SCHEME=http

VITE_REVERB_APP_KEY="${REVERB_APP_KEY}"
VITE_REVERB_HOST="${REVERB_HOST}"
VITE_REVERB_PORT="${REVERB_PORT}"
VITE_REVERB_SCHEME="${REVERB_SCHEME}"
%s`, apiURL, soketitest.DefaultAppID, sk.Key, soketitest.DefaultSecret, sk.Host(), sk.Port(), extra)
	return scratchProject(t, env)
}

func TestInALaravelProjectEveryCommandWorksWithNoFlags(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	app := newLaravel(t, nil)
	c, envPath := laravelProjectCLI(t, sk, app.URL, "")

	c.stdin = "correct horse\n"
	res := c.run("login", "--user", "alice@example.com", "--password-stdin")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "[config] using "+envPath+" for ")
	c.stdin = ""

	priv := soketitest.UniqueChannel(t, "private-chat")
	res = c.run("subscribe", "-c", priv, "--json")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "endpoint", gjson.Get(res.stdout, "channels.0.auth").String(),
		"the .env's secret does not replace the app's /broadcasting/auth: %s", res.stdout)
	assert.Contains(t, res.stderr, "through "+app.URL+"/broadcasting/auth")

	r := c.start("listen", "-c", priv, "--count", "1", "--json")
	require.NoError(t, sk.WaitSubscribed(ctxT(t), priv))
	res = c.run("trigger", "-c", priv, "-e", `App\Events\MessageSent`, "-d", `{"message":{"id":1}}`)
	require.Equal(t, 0, res.code, "trigger signs with the .env's app id and secret: %s", res.stderr)
	lres := r.wait(t)
	require.Equal(t, 0, lres.code, lres.stderr)
	assert.Equal(t, `App\Events\MessageSent`, gjson.Get(lres.stdout, "event").String())
	assert.Equal(t, int64(1), gjson.Get(lres.stdout, "data.message.id").Int())

	res = c.run("doctor", "-c", priv)
	require.Equal(t, 0, res.code, res.stdout+res.stderr)
	assert.Contains(t, res.stdout+res.stderr, envPath)
}

func TestInALaravelProjectFlagsAndEnvStillWin(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	c, envPath := laravelProjectCLI(t, sk, "http://127.0.0.1:1", "")
	c.env["TMSWS_PORT"] = "1" // nothing listens there
	res := c.run("subscribe", "-c", "chat", "--timeout", "5s")
	assert.Equal(t, 4, res.code, res.stderr)
	assert.Contains(t, res.stderr, ":1")
	res = c.run("subscribe", "-c", "chat", "--port", fmt.Sprint(sk.Port()))
	assert.Equal(t, 0, res.code, res.stderr)

	// --no-env-file: the built-in defaults (here the refused loopback of TMSWS_HOST).
	c.env["TMSWS_HOST"] = "127.0.0.1"
	res = c.run("subscribe", "-c", "chat", "--no-env-file", "--timeout", "5s")
	assert.Equal(t, 4, res.code, res.stderr)
	assert.NotContains(t, res.stderr, envPath)

	res = c.run("config", "list", "--show-origin", "--port", "7")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Regexp(t, `(?m)^flag --port\s+port=7$`, res.stdout)
	assert.Regexp(t, `(?m)^env TMSWS_HOST\s+host=127\.0\.0\.1$`, res.stdout)
	assert.Regexp(t, `(?m)^\.env `+regexp.QuoteMeta(envPath)+`:\d+ \(REVERB_APP_KEY\)\s+key=`+sk.Key+`$`, res.stdout)
	assert.Regexp(t, `(?m)^\.env `+regexp.QuoteMeta(envPath)+`:\d+ \(REVERB_APP_SECRET\)\s+app-secret=…cret$`, res.stdout)
	assert.Regexp(t, `(?m)^default\s+color=auto$`, res.stdout)
	assert.NotContains(t, res.stdout, "app-secret="+soketitest.DefaultSecret, "masked")
}

// scratchProject writes a Laravel-shaped project with this .env and
// returns a tmsws run from its subfolder with no TMSWS_* settings.
func scratchProject(t *testing.T, env string) (*cli, string) {
	t.Helper()
	project := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(project, "artisan"), []byte("<?php\n"), 0o644))
	envPath := filepath.Join(project, ".env")
	require.NoError(t, os.WriteFile(envPath, []byte(env), 0o644))
	sub := filepath.Join(project, "routes")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	c := newCLI(t).withoutTMSWSEnv()
	c.workDir = sub
	return c, envPath
}

func TestDoctorReadsTheDotEnvForWhyEventsNeverArrive(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	host, port, _ := strings.Cut(srv.Addr(), ":")
	c, envPath := scratchProject(t, fmt.Sprintf(`APP_URL=http://127.0.0.1:1
BROADCAST_CONNECTION=log
QUEUE_CONNECTION=database
REVERB_APP_KEY=app-key
REVERB_HOST=127.0.0.1
REVERB_PORT=1
REVERB_SCHEME=http
VITE_REVERB_HOST=%s
VITE_REVERB_PORT=%s
`, host, port))
	res := c.run("doctor", "--json")
	require.Equal(t, 0, res.code, "the connection steps pass: %s%s", res.stdout, res.stderr)
	l := gjson.Get(res.stdout, "laravel")
	assert.Equal(t, envPath, l.Get("env_file").String())
	assert.Equal(t, "log", l.Get("broadcaster").String())
	var warnings, notes []string
	for _, f := range l.Get("findings").Array() {
		if f.Get("warning").Bool() {
			warnings = append(warnings, f.Get("message").String()+" | "+f.Get("hint").String())
		} else {
			notes = append(notes, f.Get("message").String())
		}
	}
	require.Len(t, warnings, 2, "%s", l.Raw)
	assert.Contains(t, warnings[0], "BROADCAST_CONNECTION=log: the app does not broadcast")
	assert.Contains(t, warnings[0], "set BROADCAST_CONNECTION=reverb")
	assert.Contains(t, warnings[1], "QUEUE_CONNECTION=database: a ShouldBroadcast event waits in the queue")
	assert.Contains(t, warnings[1], "php artisan queue:work")
	require.Len(t, notes, 1, "%s", l.Raw)
	assert.Contains(t, notes[0], "REVERB_HOST:REVERB_PORT (127.0.0.1:1) does not answer from here while VITE_REVERB_HOST:VITE_REVERB_PORT ("+srv.Addr()+") does")

	// The text report says the same, before the steps.
	res = c.run("doctor")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "  .env  using "+envPath+"\n")
	assert.Contains(t, res.stdout, "  warn  BROADCAST_CONNECTION=log")
	assert.Contains(t, res.stdout, "        hint: keep php artisan queue:work running")

	// A reverb broadcaster with a sync queue has nothing to warn about.
	c, _ = scratchProject(t, fmt.Sprintf("BROADCAST_CONNECTION=reverb\nQUEUE_CONNECTION=sync\nREVERB_APP_KEY=app-key\nREVERB_HOST=%s\nREVERB_PORT=%s\nREVERB_SCHEME=http\n", host, port))
	res = c.run("doctor", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	for _, f := range gjson.Get(res.stdout, "laravel.findings").Array() {
		assert.False(t, f.Get("warning").Bool(), f.Raw)
	}
}

func TestDoctorNamesTheDotEnvVariablesOfAWrongSchemeOrPort(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	host, port, _ := strings.Cut(srv.Addr(), ":")
	// https against the plain ws server: the TLS step fails.
	c, envPath := scratchProject(t, fmt.Sprintf("BROADCAST_CONNECTION=reverb\nREVERB_APP_KEY=app-key\nREVERB_HOST=%s\nREVERB_PORT=%s\nREVERB_SCHEME=https\n", host, port))
	res := c.run("doctor", "--json", "--timeout", "5s")
	require.Equal(t, 4, res.code, res.stdout+res.stderr)
	assert.Equal(t, "tls", gjson.Get(res.stdout, "failed").String())
	hint := gjson.Get(res.stdout, `steps.#(name=="tls").hint`).String()
	assert.Contains(t, hint, "comes from REVERB_HOST, REVERB_PORT, REVERB_SCHEME in "+envPath)
}

// withoutTMSWSEnv drops every TMSWS_* variable newCLI set, so only the
// config file and the Laravel .env give settings.
func (c *cli) withoutTMSWSEnv() *cli {
	for k := range c.env {
		if strings.HasPrefix(k, "TMSWS_") {
			delete(c.env, k)
		}
	}
	return c
}
