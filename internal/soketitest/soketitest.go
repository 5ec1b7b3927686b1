// Package soketitest gives tests a real Pusher-protocol server: Soketi, from
// the npm registry, installed and started by scripts/test.
//
// FromEnv returns the Soketi that scripts/test started for the whole run;
// Start runs a private one for a test that needs to stop or restart the
// server. Both skip the test when Soketi is not available, unless
// TMSWS_REQUIRE_SOKETI=1 (scripts/test and CI set it), where they fail it.
//
// The Soketi's HTTP API (Trigger, Channel, Users, WaitSubscribed) is signed
// the way Pusher's server libraries sign it, and Dial is a plain WebSocket
// client for checking what the server sends.
package soketitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The default app of Soketi, as scripts/soketi starts it.
const (
	DefaultAppID  = "app-id"
	DefaultKey    = "app-key"
	DefaultSecret = "app-secret"
)

// Environment variables set by scripts/test.
const (
	// EnvAddr is the 127.0.0.1:PORT of the Soketi started for the whole run.
	EnvAddr = "TMSWS_SOKETI_ADDR"
	// EnvDir is the absolute path of scripts/, where Soketi is installed.
	EnvDir = "TMSWS_SOKETI_DIR"
	// EnvRequire, when "1", turns a missing or unusable Soketi from a skip
	// into a failure.
	EnvRequire = "TMSWS_REQUIRE_SOKETI"
)

const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	httpTimeout  = 10 * time.Second
	logLimit     = 64 << 10
)

// Soketi is a running Soketi server on the loopback interface.
type Soketi struct {
	Addr   string // 127.0.0.1:PORT, WebSocket and HTTP API
	AppID  string
	Key    string
	Secret string

	client *http.Client

	// Only for a private instance started by Start.
	mu   sync.Mutex
	dir  string // scripts/
	node string // path of the node binary
	cwd  string
	proc *process
}

// FromEnv returns the Soketi that scripts/test started. Without one it skips
// the test, or fails it when TMSWS_REQUIRE_SOKETI=1.
func FromEnv(t testing.TB) *Soketi {
	t.Helper()
	addr := os.Getenv(EnvAddr)
	if addr == "" {
		unavailable(t, EnvAddr+" is not set")
	}
	s := newSoketi(addr)
	ctx, cancel := context.WithTimeout(context.Background(), httpTimeout)
	defer cancel()
	if err := s.ping(ctx); err != nil {
		unavailable(t, fmt.Sprintf("the Soketi at %s=%s does not answer: %v", EnvAddr, addr, err))
	}
	return s
}

// Start starts a private Soketi for this test on a free loopback port, waits
// until it is ready and stops it when the test ends. Without an installed
// Soketi (TMSWS_SOKETI_DIR) it skips the test, or fails it when
// TMSWS_REQUIRE_SOKETI=1.
func Start(t testing.TB) *Soketi {
	t.Helper()
	dir := os.Getenv(EnvDir)
	if dir == "" {
		unavailable(t, EnvDir+" is not set")
	}
	script := filepath.Join(dir, "soketi-server.js")
	if _, err := os.Stat(script); err != nil {
		unavailable(t, fmt.Sprintf("%s=%s has no soketi-server.js: %v", EnvDir, dir, err))
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@soketi", "soketi", "package.json")); err != nil {
		unavailable(t, fmt.Sprintf("Soketi is not installed in %s: run scripts/soketi install", dir))
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, fmt.Sprintf("node not found on PATH: %v", err))
	}

	s := newSoketi("")
	s.dir = dir
	s.node = node
	s.cwd = t.TempDir() // Soketi reads a .env file from its working directory
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.proc == nil {
			return
		}
		if t.Failed() {
			t.Logf("Soketi %s log:\n%s", s.Addr, s.proc.log.String())
		}
		_ = s.proc.stop(syscall.SIGKILL, stopTimeout)
		s.proc = nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	p, err := s.launchRetrying(ctx, 0)
	if err != nil {
		t.Fatalf("start Soketi: %v", err)
	}
	s.mu.Lock()
	s.proc = p
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port))
	s.mu.Unlock()
	return s
}

func newSoketi(addr string) *Soketi {
	return &Soketi{
		Addr:   addr,
		AppID:  DefaultAppID,
		Key:    DefaultKey,
		Secret: DefaultSecret,
		client: &http.Client{
			Timeout:   httpTimeout,
			Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		},
	}
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("no usable Soketi although %s=1: %s; run scripts/test (it installs and starts Soketi)", EnvRequire, why)
	}
	t.Skipf("no Soketi: run scripts/test (it installs and starts Soketi); %s", why)
}

// Host is the address Soketi listens on, always 127.0.0.1.
func (s *Soketi) Host() string {
	host, _, _ := net.SplitHostPort(s.Addr)
	return host
}

// Port is the port of the WebSocket server and HTTP API.
func (s *Soketi) Port() int {
	_, port, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(port)
	return n
}

// WSURL is the WebSocket URL of the default app, as a Pusher client opens it.
func (s *Soketi) WSURL() string {
	return "ws://" + s.Addr + "/app/" + s.Key + "?protocol=7&client=tmsws-test&version=0"
}

// HTTPURL is the base URL of the HTTP API: http://127.0.0.1:PORT.
func (s *Soketi) HTTPURL() string {
	return "http://" + s.Addr
}

// Stop stops a private Soketi (from Start) the way a server shuts down:
// connected clients get a 4200 close, then the process exits. It returns
// once the port no longer accepts connections.
func (s *Soketi) Stop(t testing.TB) {
	t.Helper()
	s.halt(t, syscall.SIGTERM)
}

// Kill stops a private Soketi abruptly (SIGKILL): clients see the TCP
// connection drop without a close frame (1006).
func (s *Soketi) Kill(t testing.TB) {
	t.Helper()
	s.halt(t, syscall.SIGKILL)
}

func (s *Soketi) halt(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		t.Fatalf("the shared Soketi at %s cannot be stopped: use soketitest.Start for a private one", s.Addr)
	}
	if s.proc == nil {
		return
	}
	p := s.proc
	s.proc = nil
	if err := p.stop(sig, stopTimeout); err != nil {
		t.Fatalf("stop Soketi %s: %v", s.Addr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := waitClosed(ctx, s.Addr); err != nil {
		t.Fatalf("stop Soketi: %v", err)
	}
}

// Restart stops a private Soketi (gracefully, as Stop) and starts it again on
// the same port, waiting until it is ready. Its channels and connections are
// gone, as after any server restart.
func (s *Soketi) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.StartAgain(t)
}

// StartAgain starts a stopped private Soketi again on the same port, for
// tests that need the server to stay down for a while.
func (s *Soketi) StartAgain(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		t.Fatalf("the shared Soketi at %s cannot be restarted: use soketitest.Start for a private one", s.Addr)
	}
	if s.proc != nil {
		t.Fatalf("Soketi %s is still running: Stop it first", s.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	p, err := s.launchRetrying(ctx, s.Port())
	if err != nil {
		t.Fatalf("restart Soketi on port %d: %v", s.Port(), err)
	}
	s.proc = p
}

var errPortInUse = errors.New("port in use")

// launchRetrying launches Soketi, trying again while the port is in use:
// with port 0 another process may take the free port Soketi picked before
// Soketi binds it; a fixed port that was just released may still be held
// for a moment.
func (s *Soketi) launchRetrying(ctx context.Context, port int) (*process, error) {
	for {
		p, err := s.launch(ctx, port)
		if err == nil || !errors.Is(err, errPortInUse) {
			return p, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type process struct {
	cmd   *exec.Cmd
	stdin io.Closer
	log   *tailBuffer
	port  int
	done  chan struct{} // closed when the process has exited and been reaped
	err   error         // set before done is closed
}

// launch runs soketi-server.js with SOKETI_PORT=port (0: any free port) and
// waits for its ready line.
func (s *Soketi) launch(ctx context.Context, port int) (*process, error) {
	cmd := exec.Command(s.node, filepath.Join(s.dir, "soketi-server.js"), "--exit-with-stdin")
	cmd.Dir = s.cwd
	cmd.Env = append(soketiFreeEnv(), "SOKETI_PORT="+strconv.Itoa(port))
	logBuf := &tailBuffer{limit: logLimit}
	cmd.Stderr = logBuf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("soketi stdout: %w", err)
	}
	// Soketi exits when this pipe closes, so it never outlives the test binary.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("soketi stdin: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", s.node, err)
	}
	p := &process{cmd: cmd, stdin: stdin, log: logBuf, done: make(chan struct{})}

	type result struct {
		port int
		err  error
	}
	ready := make(chan result, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 4096), 1<<20)
		reported := false
		for sc.Scan() {
			line := sc.Text()
			_, _ = logBuf.Write([]byte(line + "\n"))
			if reported {
				continue
			}
			if rest, ok := strings.CutPrefix(line, "TMSWS_SOKETI_READY "); ok {
				var info struct {
					Port int `json:"port"`
				}
				err := json.Unmarshal([]byte(rest), &info)
				if err == nil && info.Port == 0 {
					err = errors.New("no port")
				}
				if err != nil {
					err = fmt.Errorf("bad ready line %q: %w", line, err)
				}
				ready <- result{info.Port, err}
				reported = true
			} else if rest, ok := strings.CutPrefix(line, "TMSWS_SOKETI_FAILED "); ok {
				err := errors.New(rest)
				if strings.Contains(rest, "port in use") {
					err = fmt.Errorf("%s: %w", rest, errPortInUse)
				}
				ready <- result{0, err}
				reported = true
			}
		}
		p.err = cmd.Wait()
		close(p.done)
	}()

	select {
	case r := <-ready:
		if r.err != nil {
			_ = p.stop(syscall.SIGKILL, stopTimeout)
			return nil, fmt.Errorf("soketi: %w\n%s", r.err, logBuf.String())
		}
		p.port = r.port
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("soketi exited before it was ready (%v); its log:\n%s", p.err, logBuf.String())
	case <-ctx.Done():
		_ = p.stop(syscall.SIGKILL, stopTimeout)
		return nil, fmt.Errorf("soketi not ready: %w; its log:\n%s", ctx.Err(), logBuf.String())
	}
}

// stop signals the process and waits for it to exit, killing it when it
// does not exit within timeout.
func (p *process) stop(sig syscall.Signal, timeout time.Duration) error {
	defer p.stdin.Close()
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return fmt.Errorf("soketi did not exit within %s after %v and was killed", timeout, sig)
	case <-time.After(timeout):
		return fmt.Errorf("soketi (pid %d) did not exit even after SIGKILL", p.cmd.Process.Pid)
	}
}

// soketiFreeEnv is the environment without SOKETI_* variables, so that
// nothing set outside changes the server the tests expect.
func soketiFreeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SOKETI_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitClosed waits until addr refuses TCP connections.
func waitClosed(ctx context.Context, addr string) error {
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s still accepts connections: %w", addr, ctx.Err())
			}
			return nil
		}
		_ = conn.Close()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s still accepts connections: %w", addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ping checks that addr is a Soketi: GET / answers 200 "OK".
func (s *Soketi) ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.HTTPURL()+"/", nil)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK || !bytes.Equal(bytes.TrimSpace(body), []byte("OK")) {
		return fmt.Errorf("health check: GET %s/ answered %s %q, not Soketi's 200 OK", s.HTTPURL(), resp.Status, body)
	}
	return nil
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	buf   []byte
	limit int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

var (
	uniqueMu  sync.Mutex
	uniqueSeq int
	notName   = regexp.MustCompile(`[^-a-zA-Z0-9_=@,.;]+`)
)

// UniqueChannel returns a channel name that starts with prefix and is not
// used by any other test, even in another package running against the same
// Soketi: prefix + "." + the test's name + a sequence number + the process id.
func UniqueChannel(t testing.TB, prefix string) string {
	uniqueMu.Lock()
	uniqueSeq++
	n := uniqueSeq
	uniqueMu.Unlock()
	name := notName.ReplaceAllString(t.Name(), "_")
	const maxLen = 160 // Pusher's limit is 164; Soketi's 200
	suffix := fmt.Sprintf(".%d.%d", n, os.Getpid())
	if room := maxLen - len(prefix) - 1 - len(suffix); len(name) > room {
		name = name[len(name)-room:]
	}
	return prefix + "." + name + suffix
}
