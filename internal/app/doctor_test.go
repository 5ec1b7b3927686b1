package app

import (
	"encoding/base64"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/laraveltest"
	"github.com/amusoft/tmsws/internal/server"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// unsignedJWT is a JWT with the given exp and no valid signature: doctor
// only reads the claims.
func unsignedJWT(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		enc([]byte(`{"sub":"8","exp":`+strconv.FormatInt(exp.Unix(), 10)+`}`)) + "." + enc([]byte("not-a-signature"))
}

// doctorReport runs doctor --json and returns the exit code, the report and
// stderr.
func doctorReport(t *testing.T, c *cli, args ...string) (int, gjson.Result, string) {
	t.Helper()
	res := c.run(append([]string{"doctor", "--json"}, args...)...)
	require.True(t, gjson.Valid(res.stdout), "doctor --json printed %q; stderr:\n%s", res.stdout, res.stderr)
	return res.code, gjson.Parse(res.stdout), res.stderr
}

// stepStates is "name:ok", "name:FAIL", "name:skip" (not run) or "name:n/a"
// for each step, in order.
func stepStates(rep gjson.Result) []string {
	var out []string
	for _, s := range rep.Get("steps").Array() {
		st := "ok"
		switch {
		case s.Get("skipped").Bool() && s.Get("ok").Bool():
			st = "n/a"
		case s.Get("skipped").Bool():
			st = "skip"
		case !s.Get("ok").Bool():
			st = "FAIL"
		}
		out = append(out, s.Get("name").String()+":"+st)
	}
	return out
}

func step(rep gjson.Result, name string) gjson.Result {
	for _, s := range rep.Get("steps").Array() {
		if s.Get("name").String() == name {
			return s
		}
	}
	return gjson.Result{}
}

func TestDoctorGreenRunWithLaravelAuth(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	jwt := unsignedJWT(time.Now().Add(2 * time.Hour))
	user := alice
	user.Token = jwt
	app := laraveltest.New(t, laraveltest.Config{AppKey: "app-key", AppSecret: "app-secret",
		Users: map[string]laraveltest.User{"alice@example.com": user}})
	c := newCLI(t).pointAt(srv.Addr())
	c.env["TMSWS_API_URL"] = app.URL
	c.env["TMSWS_TOKEN"] = jwt

	code, rep, stderr := doctorReport(t, c, "-c", "presence-chat.42")
	require.Equal(t, 0, code, stderr)
	assert.True(t, rep.Get("ok").Bool())
	assert.Equal(t, "presence-chat.42", rep.Get("channel").String())
	assert.Equal(t, "ws://"+srv.Addr()+"/app/app-key", rep.Get("url").String())
	assert.Equal(t, []string{"dns:ok", "tcp:ok", "tls:n/a", "upgrade:ok", "handshake:ok", "token:ok", "authorization:ok", "subscription:ok"}, stepStates(rep))
	assert.Contains(t, step(rep, "upgrade").Get("detail").String(), "HTTP 101 Switching Protocols")
	hs := step(rep, "handshake").Get("detail").String()
	assert.Contains(t, hs, "activity_timeout 30s")
	assert.Contains(t, hs, "pusher:ping → pusher:pong")
	tok := step(rep, "token").Get("detail").String()
	assert.Contains(t, tok, "a JWT …"+jwt[len(jwt)-4:]+" from env TMSWS_TOKEN, expires at")
	assert.NotContains(t, rep.Raw, jwt, "the token never appears")
	assert.Contains(t, step(rep, "authorization").Get("detail").String(), "authorized through "+app.URL+"/broadcasting/auth as user_id 8 (Alice)")
	assert.Contains(t, step(rep, "subscription").Get("detail").String(), "1 present: Alice")
	for _, s := range rep.Get("steps").Array() {
		assert.True(t, s.Get("ms").Exists(), "every step has its timing")
	}
	// The in-process server answers pong with a JSON-string data, like
	// neither Reverb nor Soketi: no kind is claimed.
	assert.Equal(t, "unknown", rep.Get("server.kind").String())

	// The text report says the same, on stdout.
	res := c.run("doctor", "-c", "presence-chat.42")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "tmsws doctor: ws://"+srv.Addr()+"/app/app-key, channel presence-chat.42")
	assert.Regexp(t, `ok +subscription +[0-9.]+ms +confirmed`, res.stdout)
	assert.Contains(t, res.stdout, "all steps passed")
	assert.Empty(t, res.stderr)
}

func TestDoctorWithoutAChannelRunsTheConnectionSteps(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	code, rep, stderr := doctorReport(t, newCLI(t).pointAt(srv.Addr()))
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, []string{"dns:ok", "tcp:ok", "tls:n/a", "upgrade:ok", "handshake:ok"}, stepStates(rep))
}

func TestDoctorFailures(t *testing.T) {
	t.Parallel()
	deadAddr := hostiletest.ClosedAddr(t) // refuses connections, and no other test can take its port
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	silent := silentSubscriptionServer(t)

	type laravel struct {
		allow func(laraveltest.User, string) bool
	}
	tests := []struct {
		name    string
		addr    string
		setup   func(*server.Server)
		laravel *laravel
		env     map[string]string
		args    []string
		code    int
		failed  string
		states  []string
		detail  []string
		hint    string
	}{
		{name: "tcp refused", addr: deadAddr, code: ExitConnection, failed: "tcp",
			states: []string{"dns:ok", "tcp:FAIL", "tls:skip", "upgrade:skip", "handshake:skip"},
			detail: []string{"connection refused"}, hint: "nothing accepts connections on port"},
		{name: "upgrade refused with 404", addr: strings.TrimPrefix(notFound.URL, "http://"), code: ExitConnection, failed: "upgrade",
			states: []string{"dns:ok", "tcp:ok", "tls:n/a", "upgrade:FAIL", "handshake:skip"},
			detail: []string{"HTTP 404 Not Found on the WebSocket upgrade"}, hint: "no WebSocket endpoint at /app/{key}"},
		{name: "handshake refused with 4001", setup: func(s *server.Server) {
			s.SetHandshakeFault(func(int) *server.Refusal {
				return &server.Refusal{Code: 4001, Message: "Application does not exist", Style: server.ErrorString, Then: server.ThenDrop}
			})
		}, args: []string{"-c", "chat"}, code: ExitConnection, failed: "handshake",
			states: []string{"dns:ok", "tcp:ok", "tls:n/a", "upgrade:ok", "handshake:FAIL", "token:skip", "authorization:skip", "subscription:skip"},
			detail: []string{"4001 Application does not exist"}, hint: "the server does not know this app key"},
		{name: "token missing", args: []string{"-c", "private-chat.42"}, code: ExitAuth, failed: "token",
			states: []string{"dns:ok", "tcp:ok", "tls:n/a", "upgrade:ok", "handshake:ok", "token:FAIL", "authorization:skip", "subscription:skip"},
			detail: []string{"none given with --token or TMSWS_TOKEN, and none stored for profile default"}, hint: "run tmsws login"},
		{name: "JWT expired", env: map[string]string{"TMSWS_TOKEN": unsignedJWT(time.Now().Add(-3 * time.Hour))}, args: []string{"-c", "private-chat.42"},
			code: ExitAuth, failed: "token", detail: []string{"the JWT …", "from env TMSWS_TOKEN expired at", "ago"}, hint: "the token has expired: run tmsws login"},
		{name: "auth endpoint 401", laravel: &laravel{}, env: map[string]string{"TMSWS_TOKEN": "1|notavalidtokenatall0000wxyz"}, args: []string{"-c", "private-chat.42"},
			code: ExitAuth, failed: "authorization",
			states: []string{"dns:ok", "tcp:ok", "tls:n/a", "upgrade:ok", "handshake:ok", "token:ok", "authorization:FAIL", "subscription:skip"},
			detail: []string{"401 Unauthorized from", "/broadcasting/auth", "Unauthenticated."}, hint: "the token is missing or expired: run tmsws login"},
		{name: "auth endpoint 403", laravel: &laravel{allow: func(laraveltest.User, string) bool { return false }}, args: []string{"-c", "private-chat.42"},
			code: ExitAuth, failed: "authorization", detail: []string{"403 Forbidden from"}, hint: "routes/channels.php refused this user"},
		{name: "subscription refused", setup: func(s *server.Server) {
			s.SetSubscribeFault(func(int, string) *server.SubscribeRefusal {
				return &server.SubscribeRefusal{Style: server.ReverbRefusal}
			})
		}, env: map[string]string{"TMSWS_APP_SECRET": "app-secret"}, args: []string{"-c", "private-chat.42"}, code: ExitAuth, failed: "subscription",
			states: []string{"dns:ok", "tcp:ok", "tls:n/a", "upgrade:ok", "handshake:ok", "token:n/a", "authorization:ok", "subscription:FAIL"},
			detail: []string{"refused by the server (4009): Connection is unauthorized"}, hint: "the server rejected the channel signature"},
		{name: "subscription not confirmed in time", addr: silent, args: []string{"-c", "chat", "--timeout", "300ms"}, code: ExitTimeout, failed: "subscription",
			states: []string{"dns:ok", "tcp:ok", "tls:n/a", "upgrade:ok", "handshake:ok", "token:n/a", "authorization:n/a", "subscription:FAIL"},
			detail: []string{"neither confirmed nor refused within 300ms"}, hint: "the server stayed silent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := tt.addr
			if addr == "" {
				addr = startServer(t, func(s *server.Server) {
					if tt.setup != nil {
						tt.setup(s)
					}
				}).Addr()
			}
			c := newCLI(t).pointAt(addr)
			if tt.laravel != nil {
				app := laraveltest.New(t, laraveltest.Config{AppKey: "app-key", AppSecret: "app-secret",
					Users: map[string]laraveltest.User{"alice@example.com": alice}, Allow: tt.laravel.allow})
				c.env["TMSWS_API_URL"] = app.URL
				if _, ok := tt.env["TMSWS_TOKEN"]; !ok {
					c.env["TMSWS_TOKEN"] = app.TokenFor(t, "alice@example.com")
				}
			}
			for k, v := range tt.env {
				c.env[k] = v
			}
			start := time.Now()
			code, rep, stderr := doctorReport(t, c, tt.args...)
			assert.Less(t, time.Since(start), 8*time.Second, "doctor ends at its timeouts")
			assert.Equal(t, tt.code, code, "stderr:\n%s\nreport: %s", stderr, rep.Raw)
			assert.False(t, rep.Get("ok").Bool())
			assert.Equal(t, tt.failed, rep.Get("failed").String())
			if tt.states != nil {
				assert.Equal(t, tt.states, stepStates(rep))
			}
			failed := step(rep, tt.failed)
			for _, d := range tt.detail {
				assert.Contains(t, failed.Get("detail").String(), d)
			}
			assert.Contains(t, failed.Get("hint").String(), tt.hint)
			assert.Contains(t, stderr, "error: doctor: the "+tt.failed+" step failed")
			if tok := c.env["TMSWS_TOKEN"]; tok != "" {
				assert.NotContains(t, rep.Raw+stderr, tok)
			}
		})
	}
}

// silentSubscriptionServer greets and answers pings the way Reverb does, but
// never answers a subscription. It returns its host:port.
func silentSubscriptionServer(t *testing.T) string {
	t.Helper()
	up := websocket.Upgrader{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		if ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":30}"}`)) != nil {
			return
		}
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if gjson.GetBytes(msg, "event").String() == "pusher:ping" {
				_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:pong"}`))
			}
		}
	}))
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

func TestDoctorGuessesReverbFromThePong(t *testing.T) {
	t.Parallel()
	code, rep, stderr := doctorReport(t, newCLI(t).pointAt(silentSubscriptionServer(t)))
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "Reverb", rep.Get("server.kind").String())
	assert.Contains(t, rep.Get("server.evidence").String(), "pusher:pong without data")
	assert.Contains(t, step(rep, "handshake").Get("detail").String(), "looks like Reverb")
}

// tlsPusherServer serves the in-process Pusher server over TLS with
// httptest's own CA; it returns the server and that CA as a PEM file.
func tlsPusherServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := server.New(server.Config{})
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	ts.StartTLS()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644))
	return ts, ca
}

func TestDoctorTLS(t *testing.T) {
	t.Parallel()
	ts, ca := tlsPusherServer(t)
	addr := strings.TrimPrefix(ts.URL, "https://")
	c := newCLI(t).pointAt(addr)
	c.env["TMSWS_SCHEME"] = "https"

	code, rep, stderr := doctorReport(t, c)
	assert.Equal(t, ExitConnection, code, stderr)
	assert.Equal(t, "tls", rep.Get("failed").String())
	assert.Equal(t, []string{"dns:ok", "tcp:ok", "tls:FAIL", "upgrade:skip", "handshake:skip"}, stepStates(rep))
	tlsStep := step(rep, "tls")
	assert.Contains(t, tlsStep.Get("detail").String(), `the server presented "O=Acme Co for example.com, *.example.com, 127.0.0.1, …" issued by O=Acme Co`)
	assert.Contains(t, tlsStep.Get("hint").String(), "a CA this machine does not trust")
	assert.Contains(t, tlsStep.Get("hint").String(), "--cacert FILE")

	code, rep, stderr = doctorReport(t, c, "--cacert", ca, "-c", "private-chat.42", "--app-secret", "app-secret")
	require.Equal(t, 0, code, "stderr:\n%s\nreport: %s", stderr, rep.Raw)
	assert.Equal(t, []string{"dns:ok", "tcp:ok", "tls:ok", "upgrade:ok", "handshake:ok", "token:n/a", "authorization:ok", "subscription:ok"}, stepStates(rep))
	detail := step(rep, "tls").Get("detail").String()
	assert.Contains(t, detail, "TLS 1.3, certificate \"O=Acme Co for example.com, *.example.com, 127.0.0.1, …\" issued by O=Acme Co, valid until 2084-01-29")
	assert.Equal(t, "wss://"+addr+"/app/app-key", rep.Get("url").String())

	// A plain ws:// server on a TLS-expecting client.
	plain := startServer(t)
	c2 := newCLI(t).pointAt(plain.Addr())
	c2.env["TMSWS_SCHEME"] = "https"
	code, rep, _ = doctorReport(t, c2)
	assert.Equal(t, ExitConnection, code)
	assert.Contains(t, step(rep, "tls").Get("hint").String(), "does not speak TLS on port")
}

func TestSoketiDoctor(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	app := newLaravel(t, nil)
	c := soketiCLI(t, sk, app)
	c.env["TMSWS_TOKEN"] = app.TokenFor(t, "alice@example.com")
	ch := soketitest.UniqueChannel(t, "presence-chat")
	code, rep, stderr := doctorReport(t, c, "-c", ch)
	require.Equal(t, 0, code, "stderr:\n%s\nreport: %s", stderr, rep.Raw)
	assert.Equal(t, []string{"dns:ok", "tcp:ok", "tls:n/a", "upgrade:ok", "handshake:ok", "token:ok", "authorization:ok", "subscription:ok"}, stepStates(rep))
	assert.Equal(t, "Soketi", rep.Get("server.kind").String())
	assert.Contains(t, rep.Get("server.evidence").String(), "pusher:pong with data {} as an object")
	assert.Contains(t, step(rep, "token").Get("detail").String(), "a Sanctum token")
	assert.Contains(t, step(rep, "subscription").Get("detail").String(), "1 present: Alice")

	// A channel the app refuses.
	refusing := newLaravel(t, func(laraveltest.User, string) bool { return false })
	c = soketiCLI(t, sk, refusing)
	c.env["TMSWS_TOKEN"] = refusing.TokenFor(t, "alice@example.com")
	code, rep, _ = doctorReport(t, c, "-c", soketitest.UniqueChannel(t, "private-chat"))
	assert.Equal(t, ExitAuth, code)
	assert.Equal(t, "authorization", rep.Get("failed").String())
	assert.Equal(t, "Soketi", rep.Get("server.kind").String(), "the guess is made before the failure")
}
