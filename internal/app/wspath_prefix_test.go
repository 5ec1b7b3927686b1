package app

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/server"
)

// underPrefix serves the embedded server under prefix the way Reverb
// serves under REVERB_SERVER_PATH (Servers/Reverb/Factory.php adds it to
// every route): the WebSocket at {prefix}/app/{key}, the HTTP API at
// {prefix}/apps/{id}/…, everything else 404. The server sees the path
// without the prefix, so it checks the HTTP API's signature on that path,
// as Reverb's Controller::verifySignature does. It returns the server and
// the listening address.
func underPrefix(t *testing.T, prefix string) (*server.Server, string) {
	t.Helper()
	srv := server.New(server.Config{})
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, srv.Handler()))
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close() // drops the WebSockets, which ts no longer tracks
		ts.Close()
	})
	return srv, strings.TrimPrefix(ts.URL, "http://")
}

func TestWSPathListenAndSubscribe(t *testing.T) {
	t.Parallel()
	srv, addr := underPrefix(t, "/reverb/ws")
	// The flag, the environment and a trailing slash all lead there.
	for _, how := range []struct {
		name string
		args []string
		env  string
	}{
		{name: "flag", args: []string{"--ws-path", "/reverb/ws"}},
		{name: "env with a trailing slash", env: "/reverb/ws/"},
	} {
		c := newCLI(t).pointAt(addr)
		if how.env != "" {
			c.env["TMSWS_WS_PATH"] = how.env
		}
		res := c.run(append([]string{"subscribe", "-c", "chat", "--timeout", "5s"}, how.args...)...)
		assert.Equal(t, 0, res.code, "%s: %s", how.name, res.stderr)
		assert.Contains(t, res.stderr, "ws://"+addr+"/reverb/ws/app/app-key?", how.name)
	}

	c := newCLI(t).pointAt(addr)
	// A channel of its own: the subscribes above may still be leaving chat.
	l := c.start("listen", "--ws-path", "/reverb/ws", "-c", "news", "--count", "1", "--json")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "news", 1))
	srv.Publish("news", "hello", `{"n":1}`, "")
	got := l.wait(t)
	require.Equal(t, 0, got.code, got.stderr)
	recs := jsonLines(t, got.stdout)
	require.Len(t, recs, 1)
	assert.Equal(t, "hello", recs[0].Get("event").String())

	// Without the prefix there is nothing at /app/{key}.
	res := newCLI(t).pointAt(addr).run("subscribe", "-c", "chat", "--timeout", "5s")
	assert.Equal(t, ExitConnection, res.code, res.stderr)
	assert.Contains(t, res.stderr, "404")
}

// The HTTP API is under the prefix too, and signed without it: the server
// under the prefix verifies the signature and delivers the event.
func TestWSPathTriggerThroughTheHTTPAPI(t *testing.T) {
	t.Parallel()
	_, addr := underPrefix(t, "/ws")
	ctx := ctxT(t)
	sub := rawSubscriber(t, ctx, "ws://"+addr+"/ws", "app-key", "app-secret", "private-chat.42")
	c := apiCLI(t, addr)
	res := c.run("trigger", "--ws-path", "/ws", "-c", "private-chat.42", "-e", "MessageSent", "-d", `{"message":{"id":1}}`, "--json")
	require.Equal(t, 0, res.code, res.stderr)
	assert.True(t, gjson.Get(res.stdout, "ok").Bool(), res.stdout)
	f := nextEvent(t, ctx, sub)
	assert.Equal(t, "MessageSent", f.Event)
	assert.JSONEq(t, `{"message":{"id":1}}`, f.DataString())

	// Without --ws-path: 404, and the hint names it.
	res = apiCLI(t, addr).run("trigger", "-c", "chat", "-e", "x", "-d", "{}")
	assert.Equal(t, ExitConnection, res.code, res.stderr)
	assert.Contains(t, res.stderr, "404 Not Found")
	assert.Contains(t, res.stderr, "--ws-path when Reverb runs under a REVERB_SERVER_PATH")
}

func TestWSPathTriggerClient(t *testing.T) {
	t.Parallel()
	_, addr := underPrefix(t, "/ws")
	ctx := ctxT(t)
	bob := rawSubscriber(t, ctx, "ws://"+addr+"/ws", "app-key", "app-secret", "private-chat.42")
	c := newCLI(t).pointAt(addr)
	c.env["TMSWS_APP_SECRET"] = "app-secret"
	c.env["TMSWS_WS_PATH"] = "/ws"
	res := c.run("trigger", "--client", "-c", "private-chat.42", "-e", "client-typing", "-d", `{"typing":true}`, "--wait", "200ms")
	require.Equal(t, 0, res.code, res.stderr)
	f := nextEvent(t, ctx, bob)
	assert.Equal(t, "client-typing", f.Event)
}

// doctor dials the prefix, shows it, and names --ws-path when the upgrade
// finds nothing.
func TestWSPathDoctor(t *testing.T) {
	t.Parallel()
	_, addr := underPrefix(t, "/ws")
	c := newCLI(t).pointAt(addr)
	c.env["TMSWS_APP_SECRET"] = "app-secret"
	code, rep, stderr := doctorReport(t, c, "--ws-path", "/ws", "-c", "private-chat.42")
	require.Equal(t, 0, code, "%s\n%s", rep.Raw, stderr)
	assert.Equal(t, "ws://"+addr+"/ws/app/app-key", rep.Get("url").String())
	assert.Contains(t, rep.Get(`steps.#(name=="upgrade").detail`).String(), "on /ws/app/app-key (--ws-path /ws)")

	code, rep, stderr = doctorReport(t, newCLI(t).pointAt(addr))
	assert.Equal(t, ExitConnection, code, stderr)
	up := rep.Get(`steps.#(name=="upgrade")`)
	assert.Contains(t, up.Get("detail").String(), "HTTP 404 Not Found on the WebSocket upgrade of /app/app-key")
	assert.Contains(t, up.Get("hint").String(), "pass it with --ws-path")

	code, rep, stderr = doctorReport(t, newCLI(t).pointAt(addr), "--ws-path", "/wrong")
	assert.Equal(t, ExitConnection, code, stderr)
	up = rep.Get(`steps.#(name=="upgrade")`)
	assert.Contains(t, up.Get("detail").String(), "of /wrong/app/app-key (--ws-path /wrong)")
	assert.Contains(t, up.Get("hint").String(), "no WebSocket endpoint at /wrong/app/{key} here: check --ws-path (Reverb's REVERB_SERVER_PATH")
}

// A profile's ws-path applies like its host.
func TestWSPathFromTheProfile(t *testing.T) {
	t.Parallel()
	_, addr := underPrefix(t, "/ws")
	c := newCLI(t).pointAt(addr)
	dir := filepath.Join(c.env["XDG_CONFIG_HOME"], "tmsws")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config"), []byte("[default]\nws-path = /ws/\n"), 0o600))
	res := c.run("subscribe", "-c", "chat", "--timeout", "5s")
	assert.Equal(t, 0, res.code, res.stderr)
}
