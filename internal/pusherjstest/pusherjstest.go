// Package pusherjstest runs the pusher-js and Laravel Echo proof scripts
// (scripts/pusherjs, scripts/echo) from tests of any package: the official
// browser-side clients from npm, driven against a loopback Pusher server
// (Soketi or the embedded one), each printing what its client sees as JSON
// lines. scripts/test installs them; without them a test skips, or fails
// under TMSWS_REQUIRE_SOKETI=1.
package pusherjstest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	envScriptsDir = "TMSWS_SOKETI_DIR"     // scripts/, where node_modules is
	envRequire    = "TMSWS_REQUIRE_SOKETI" // "1": a missing pusher-js fails instead of skipping
	// NodeTimeout is each script's own timeout: it only ends a failing script.
	NodeTimeout = 60 * time.Second
)

// Target is the server a script connects to.
type Target struct {
	Host, Port string // the WebSocket address
	Key        string // app key
	WSPath     string // a path prefix before /app/KEY, or ""
	AuthURL    string // the channel authorization endpoint, or "" for public channels only
}

// nodeScripts returns the node binary and the scripts/ directory with the
// npm package pkg installed (pusher-js, laravel-echo) and the script dir
// (pusherjs, echo) present, or skips (fails with TMSWS_REQUIRE_SOKETI=1).
func nodeScripts(t *testing.T, pkg, scriptDir string) (node, dir string) {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv(envRequire) == "1" {
			t.Fatalf("%s is not usable although %s=1: %s; run scripts/test (it installs it)", pkg, envRequire, why)
		}
		t.Skipf("no %s: run scripts/test (it installs it from npm); %s", pkg, why)
	}
	dir = os.Getenv(envScriptsDir)
	if dir == "" {
		unavailable(envScriptsDir + " is not set")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
		unavailable(fmt.Sprintf("%s is not installed in %s/node_modules: run scripts/soketi install", pkg, dir))
	}
	if _, err := os.Stat(filepath.Join(dir, scriptDir, "common.js")); err != nil {
		unavailable(fmt.Sprintf("%s has no %s/common.js", dir, scriptDir))
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node is not on PATH")
	}
	return node, dir
}

// Line is one JSON line a script printed.
type Line struct {
	T       int             `json:"t"`
	Client  string          `json:"client"`
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Event   string          `json:"event"`
	Listen  string          `json:"listen"`
	Data    json.RawMessage `json:"data"`
	UserID  string          `json:"user_id"`
	ID      string          `json:"id"`
	Info    json.RawMessage `json:"info"`
	Me      string          `json:"me"`
	Members []string        `json:"members"`
	Users   json.RawMessage `json:"users"`
	User    json.RawMessage `json:"user"`
	State   string          `json:"state"`
	Error   json.RawMessage `json:"error"`
	Raw     string          `json:"-"`
}

// Run is a running script: its lines as they come, its stdin for
// commands.
type Run struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	began  time.Time
	read   chan struct{} // closed once stdout is read to its end
	cancel context.CancelFunc

	mu      sync.Mutex
	lines   []Line
	bad     string        // a line that is not JSON
	changed chan struct{} // closed and replaced on every new line
}

// Start starts scripts/<script>.js ("pusherjs/listen", "echo/cache")
// against the server at to, with env added to the environment (TMSWS_CHANNEL,
// TMSWS_EXPECT, ...). The script is stopped when the test ends.
func Start(t *testing.T, to Target, script string, env ...string) *Run {
	t.Helper()
	scriptDir, _, _ := strings.Cut(script, "/")
	pkg := "pusher-js"
	if scriptDir == "echo" {
		pkg = "laravel-echo"
	}
	node, dir := nodeScripts(t, pkg, scriptDir)
	ctx, cancel := context.WithTimeout(t.Context(), NodeTimeout+10*time.Second)
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, script+".js"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"TMSWS_WS_HOST="+to.Host, "TMSWS_WS_PORT="+to.Port, "TMSWS_KEY="+to.Key, "TMSWS_WS_PATH="+to.WSPath,
		"TMSWS_AUTH_URL="+to.AuthURL, "TMSWS_TIMEOUT_MS="+strconv.Itoa(int(NodeTimeout/time.Millisecond)),
		// pusher-js must reach nothing but the loopback server.
		"HTTP_PROXY=", "HTTPS_PROXY=", "http_proxy=", "https_proxy=", "NO_PROXY=*")
	cmd.Env = append(cmd.Env, env...)
	r := &Run{t: t, name: script, cmd: cmd, read: make(chan struct{}), changed: make(chan struct{}), cancel: cancel}
	var err error
	r.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = &r.stderr
	r.began = time.Now()
	require.NoError(t, cmd.Start(), "start %s.js", script)
	go r.scan(stdout)
	t.Cleanup(func() {
		cancel()
		<-r.read
		_ = cmd.Wait()
	})
	return r
}

func (r *Run) scan(stdout io.Reader) {
	defer close(r.read)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l Line
		err := json.Unmarshal(sc.Bytes(), &l)
		l.Raw = sc.Text()
		r.mu.Lock()
		if err != nil && r.bad == "" {
			r.bad = l.Raw
		}
		r.lines = append(r.lines, l)
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
	}
}

// Next waits for the first line after the lines seen by earlier calls
// that match says is the one, and returns it; it fails the test when the
// script ends or times out first.
func (r *Run) Next(what string, match func(Line) bool) Line {
	r.t.Helper()
	deadline := time.After(NodeTimeout)
	for i := 0; ; {
		r.mu.Lock()
		lines, changed := r.lines, r.changed
		r.mu.Unlock()
		for ; i < len(lines); i++ {
			if match(lines[i]) {
				return lines[i]
			}
		}
		select {
		case <-changed:
		case <-r.read:
			r.mu.Lock()
			more := len(r.lines) > i
			r.mu.Unlock()
			if !more {
				r.t.Fatalf("%s.js ended before %s; it printed:\n%s\nstderr:\n%s", r.name, what, r.Output(), r.stderr.String())
			}
		case <-deadline:
			r.t.Fatalf("%s.js: no %s after %v; it printed:\n%s", r.name, what, NodeTimeout, r.Output())
		}
	}
}

// NextOf waits for a line of type typ from client ("" for any).
func (r *Run) NextOf(client, typ string) Line {
	r.t.Helper()
	return r.Next(fmt.Sprintf("%q line from client %q", typ, client), func(l Line) bool {
		return l.Type == typ && (client == "" || l.Client == client)
	})
}

// Command writes a line on the script's stdin.
func (r *Run) Command(line string) {
	r.t.Helper()
	_, err := io.WriteString(r.stdin, line+"\n")
	require.NoError(r.t, err, "write %q to %s.js", line, r.name)
}

func (r *Run) Output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, l := range r.lines {
		b.WriteString(l.Raw + "\n")
	}
	return b.String()
}

// Wait waits for the script to end and returns its lines and exit code.
func (r *Run) Wait() ([]Line, int) {
	t := r.t
	t.Helper()
	<-r.read
	err := r.cmd.Wait()
	r.cancel()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "run %s.js: %v\nstderr:\n%s", r.name, err, r.stderr.String())
		code = ee.ExitCode()
	}
	t.Logf("%s.js exited %d after %v", r.name, code, time.Since(r.began).Round(time.Millisecond))
	r.mu.Lock()
	bad, lines := r.bad, r.lines
	r.mu.Unlock()
	require.Empty(t, bad, "%s.js printed a line that is not JSON\nstderr:\n%s", r.name, r.stderr.String())
	if t.Failed() || code != 0 {
		t.Logf("%s.js output:\n%s\nstderr:\n%s", r.name, r.Output(), r.stderr.String())
	}
	return lines, code
}

// LinesOf returns the lines of type typ.
func LinesOf(lines []Line, typ string) []Line {
	var out []Line
	for _, l := range lines {
		if l.Type == typ {
			out = append(out, l)
		}
	}
	return out
}
