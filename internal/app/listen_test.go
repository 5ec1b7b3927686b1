package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/server"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cli runs tmsws command lines in-process with a private environment.
type cli struct {
	t      *testing.T
	env    map[string]string
	outTTY bool
	stdin  string
	// workDir is the directory tmsws runs in (the Laravel project is looked
	// for from it); "" is a fresh empty folder, so no test finds a .env by
	// chance.
	workDir string
}

// newCLI starts from an environment that points nowhere: a test that
// forgets pointAt gets a refused loopback connection, never the production
// host that is the default.
func newCLI(t *testing.T) *cli {
	return &cli{t: t, env: map[string]string{
		"XDG_CONFIG_HOME": t.TempDir(), "HOME": t.TempDir(),
		"TMSWS_HOST": "127.0.0.1", "TMSWS_PORT": "1", "TMSWS_SCHEME": "http", "TMSWS_API_URL": "http://127.0.0.1:1",
	}}
}

// pointAt sets the connection environment to a local plain-ws server.
func (c *cli) pointAt(addr string) *cli {
	host, port, _ := strings.Cut(addr, ":")
	c.env["TMSWS_HOST"] = host
	c.env["TMSWS_PORT"] = port
	c.env["TMSWS_SCHEME"] = "http"
	c.env["TMSWS_KEY"] = "app-key"
	return c
}

type result struct {
	code           int
	stdout, stderr string
}

type running struct {
	done           chan int
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
}

func (c *cli) start(args ...string) *running {
	ctx, cancel := context.WithCancel(context.Background())
	c.t.Cleanup(cancel)
	r := &running{done: make(chan int, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel}
	io := &iostreams.IO{
		In:      strings.NewReader(c.stdin),
		Out:     r.stdout,
		ErrOut:  r.stderr,
		OutTTY:  c.outTTY,
		Env:     func(k string) string { return c.env[k] },
		WorkDir: c.workDir,
	}
	if io.WorkDir == "" {
		io.WorkDir = c.t.TempDir()
	}
	go func() { r.done <- Run(ctx, io, args) }()
	return r
}

func (r *running) wait(t *testing.T) result {
	t.Helper()
	select {
	case code := <-r.done:
		return result{code, r.stdout.String(), r.stderr.String()}
	case <-time.After(20 * time.Second):
		t.Fatalf("tmsws did not exit within 20s\nstderr:\n%s", r.stderr.String())
		return result{}
	}
}

func (c *cli) run(args ...string) result {
	return c.start(args...).wait(c.t)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startServer(t *testing.T, setup ...func(*server.Server)) *server.Server {
	t.Helper()
	srv, err := server.Start(server.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	for _, f := range setup {
		f(srv)
	}
	return srv
}

func jsonLines(t *testing.T, out string) []gjson.Result {
	t.Helper()
	var recs []gjson.Result
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		require.True(t, gjson.Valid(line), "not a JSON line: %q", line)
		recs = append(recs, gjson.Parse(line))
	}
	return recs
}

func TestListenStreamsJSONAndStopsAtCount(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t).pointAt(srv.Addr())
	out := filepath.Join(t.TempDir(), "session.jsonl")
	require.NoError(t, os.WriteFile(out, []byte(`{"type":"event","event":"earlier"}`+"\n"), 0o644))
	r := c.start("listen", "-c", "chat", "-c", "private-chat.42", "--app-secret", "app-secret", "--count", "2", "-o", out)
	ctx := ctxT(t)
	require.NoError(t, srv.WaitSubscribed(ctx, "chat", 1))
	require.NoError(t, srv.WaitSubscribed(ctx, "private-chat.42", 1))
	srv.Publish("private-chat.42", `App\Events\MessageSent`, `{"message":{"id":7,"content":"hi","user_id":8}}`, "")
	srv.Publish("chat", "Other", `{"n":2}`, "")
	res := r.wait(t)
	require.Equal(t, 0, res.code, res.stderr)

	recs := jsonLines(t, res.stdout)
	require.Len(t, recs, 2)
	assert.Equal(t, "event", recs[0].Get("type").String())
	assert.Equal(t, "private-chat.42", recs[0].Get("channel").String())
	assert.Equal(t, `App\Events\MessageSent`, recs[0].Get("event").String(), "JSON keeps the full name")
	assert.Equal(t, "hi", recs[0].Get("data.message.content").String())
	assert.NotEmpty(t, recs[0].Get("socket_id").String())
	_, err := time.Parse(time.RFC3339Nano, recs[0].Get("ts").String())
	assert.NoError(t, err)

	file, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, `{"type":"event","event":"earlier"}`+"\n"+res.stdout, string(file), "-o appends the same records")

	assert.Contains(t, res.stderr, "[connection]")
	assert.Contains(t, res.stderr, "[channel] subscribed private-chat.42")
}

func TestListenFiltersAndShowProtocol(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t).pointAt(srv.Addr())
	r := c.start("listen", "-c", "chat", "-e", "MessageSent", "--where", "data.message.user_id=8", "--show-protocol", "--count", "1")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat", 1))
	srv.Publish("chat", `App\Events\UserIsTyping`, `{"user_id":8}`, "")
	srv.Publish("chat", `App\Events\MessageSent`, `{"message":{"user_id":9}}`, "")
	srv.Publish("chat", `App\Events\MessageSent`, `{"message":{"user_id":8,"content":"mine"}}`, "")
	res := r.wait(t)
	require.Equal(t, 0, res.code, res.stderr)
	var types, events []string
	for _, rec := range jsonLines(t, res.stdout) {
		types = append(types, rec.Get("type").String())
		if rec.Get("type").String() == "event" {
			events = append(events, rec.Get("data.message.content").String())
		}
	}
	assert.Equal(t, []string{"mine"}, events)
	assert.Equal(t, []string{"event"}, types, "the lifecycle records fail -e and --where too")

	// -e picks lifecycle records by their type.
	r = c.start("listen", "-c", "chat", "-e", "connected", "-e", "subscribed", "--show-protocol", "--count", "2")
	res = r.wait(t)
	require.Equal(t, 0, res.code, res.stderr)
	types = nil
	for _, rec := range jsonLines(t, res.stdout) {
		types = append(types, rec.Get("type").String())
	}
	assert.Equal(t, []string{"connected", "subscribed"}, types)
}

func TestListenPrettyOnATerminal(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t).pointAt(srv.Addr())
	c.outTTY = true
	r := c.start("listen", "-c", "chat", "--count", "1")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat", 1))
	srv.Publish("chat", `App\Events\MessageSent`, `{"message":{"content":"hello there","user":{"name":"Alice"}}}`, "")
	res := r.wait(t)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "MessageSent")
	assert.NotContains(t, res.stdout, `App\Events`, "pretty output shortens the Laravel namespace")
	assert.Contains(t, res.stdout, "Alice")
	assert.Contains(t, res.stdout, "hello there")
	assert.False(t, gjson.Valid(strings.TrimSpace(res.stdout)))
}

func TestListenDurationEndsWithZero(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	res := newCLI(t).pointAt(srv.Addr()).run("listen", "-c", "chat", "--duration", "300ms")
	assert.Equal(t, 0, res.code, res.stderr)
	assert.Empty(t, res.stdout)
}

func TestListenInterruptFlushesWholeLines(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t).pointAt(srv.Addr())
	out := filepath.Join(t.TempDir(), "out.jsonl")
	r := c.start("listen", "-c", "chat", "-o", out)
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat", 1))
	for i := 0; i < 50; i++ {
		srv.Publish("chat", "n", `{"i":`+strconv.Itoa(i)+`}`, "")
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(r.stdout.String(), "\n") < 50 {
		require.True(t, time.Now().Before(deadline), "events did not show up: %q", r.stdout.String())
		time.Sleep(5 * time.Millisecond)
	}
	r.cancel() // what SIGINT does in Main
	res := r.wait(t)
	assert.Equal(t, ExitInterrupted, res.code)
	assert.Len(t, jsonLines(t, res.stdout), 50)
	file, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, res.stdout, string(file), "the --output file is flushed on exit")
}

func TestListenExitCodes(t *testing.T) {
	t.Parallel()
	deadAddr := hostiletest.ClosedAddr(t)

	tests := []struct {
		name   string
		setup  func(*server.Server)
		addr   string
		args   []string
		code   int
		stderr []string
	}{
		{name: "no channel", args: []string{"listen"}, code: ExitUsage, stderr: []string{"no channel", "hint: pass -c/--channel"}},
		{name: "unknown flag", args: []string{"listen", "-c", "x", "--nope"}, code: ExitUsage, stderr: []string{"unknown flag: --nope"}},
		{name: "malformed where", args: []string{"listen", "-c", "x", "--where", "data.x=>3"}, code: ExitUsage, stderr: []string{"--where"}},
		{name: "json and pretty", args: []string{"listen", "-c", "x", "--json", "--pretty"}, code: ExitUsage},
		{name: "bad channel name", args: []string{"listen", "-c", "chat room"}, code: ExitUsage, stderr: []string{"invalid channel name"}},
		{name: "bad port in env", args: []string{"listen", "-c", "x", "--port", "abc"}, code: ExitUsage},
		{name: "unknown command", args: []string{"lisen"}, code: ExitUsage},
		{name: "dead server", addr: deadAddr, args: []string{"listen", "-c", "chat"}, code: ExitConnection,
			stderr: []string{"connection refused", "hint: nothing accepts connections at " + deadAddr + ": is the server running? check --host and --port"}},
		{name: "app key refused at handshake", setup: func(s *server.Server) {
			s.SetHandshakeFault(func(int) *server.Refusal {
				return &server.Refusal{Code: 4001, Message: "Application does not exist", Style: server.ErrorString, Then: server.ThenDrop}
			})
		}, args: []string{"listen", "-c", "chat"}, code: ExitConnection, stderr: []string{"4001 Application does not exist", "hint: the server does not know this app key"}},
		{name: "subscription refused by the server", setup: func(s *server.Server) {
			s.SetSubscribeFault(func(int, string) *server.SubscribeRefusal {
				return &server.SubscribeRefusal{Style: server.ReverbRefusal}
			})
		}, args: []string{"listen", "-c", "private-chat.42", "--app-secret", "app-secret"}, code: ExitAuth, stderr: []string{"private-chat.42"}},
		{name: "wrong app secret", args: []string{"listen", "-c", "presence-chat.42", "--app-secret", "nope"}, code: ExitAuth, stderr: []string{"Invalid signature", "hint:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCLI(t)
			switch {
			case tt.addr != "":
				c.pointAt(tt.addr)
			default:
				c.pointAt(startServer(t, func(s *server.Server) {
					if tt.setup != nil {
						tt.setup(s)
					}
				}).Addr())
			}
			res := c.run(tt.args...)
			assert.Equal(t, tt.code, res.code, "stderr:\n%s", res.stderr)
			assert.Empty(t, res.stdout, "stdout carries only events")
			for _, s := range tt.stderr {
				assert.Contains(t, res.stderr, s)
			}
		})
	}
}
