// Package benchpeers_test runs scripts/bench's pusher-js and Python
// listeners against a built benchsource: each must print one line per
// event and exit 0 after N. Without node and pusher-js (TMSWS_SOKETI_DIR,
// or this repository's scripts/node_modules) the pusher-js test skips, or
// fails under TMSWS_REQUIRE_SOKETI=1; without python3 and its websockets
// module the Python test skips, or fails under TMSWS_REQUIRE_BENCH=1.
package benchpeers_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if sourceBin != "" {
			os.RemoveAll(filepath.Dir(sourceBin))
		}
		os.Exit(code)
	}))
}

const n = 1000

var (
	buildOnce   sync.Once
	sourceBin   string
	buildErr    error
	buildOutput []byte
)

// benchsource builds scripts/benchsource once per test binary.
func benchsource(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "benchpeers-test-")
		if err != nil {
			buildErr = err
			return
		}
		sourceBin = filepath.Join(dir, "benchsource")
		buildOutput, buildErr = exec.Command("go", "build", "-o", sourceBin, "github.com/amusoft/tmsws/scripts/benchsource").CombinedOutput()
	})
	require.NoError(t, buildErr, "build benchsource: %s", buildOutput)
	return sourceBin
}

// source is a running benchsource -n N.
type source struct {
	host, port string
	stats      string
	cmd        *exec.Cmd
}

func startSource(t *testing.T) *source {
	t.Helper()
	s := &source{stats: filepath.Join(t.TempDir(), "stats.json")}
	s.cmd = exec.Command(benchsource(t), "-n", fmt.Sprint(n), "-stats", s.stats)
	s.cmd.Stderr = os.Stderr
	out, err := s.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, s.cmd.Start())
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill() // a no-op once it has exited
		_ = s.cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	require.True(t, ok, "benchsource printed %q", line)
	i := strings.LastIndexByte(addr, ':')
	s.host, s.port = addr[:i], addr[i+1:]
	return s
}

// env is the listeners' environment for this source.
func (s *source) env(extra ...string) []string {
	return append(append(os.Environ(),
		"BENCH_HOST="+s.host, "BENCH_PORT="+s.port, "BENCH_KEY=bench-key", "BENCH_SECRET=bench-secret",
		"BENCH_CHANNEL=private-bench", fmt.Sprintf("BENCH_N=%d", n),
		"BENCH_AUTH_URL=http://"+s.host+":"+s.port+"/broadcasting/auth"), extra...)
}

// sent waits for the source to exit and returns how many events it sent.
func (s *source) sent(t *testing.T) int {
	t.Helper()
	require.NoError(t, s.cmd.Wait(), "benchsource exits 0 once its client is gone")
	b, err := os.ReadFile(s.stats)
	require.NoError(t, err)
	var st struct{ Sent int }
	require.NoError(t, json.Unmarshal(b, &st))
	return st.Sent
}

// listen runs a listener to its end and returns its exit code and output.
func listen(t *testing.T, env []string, name string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "%s did not exit; stderr: %s", filepath.Base(args[0]), errOut.String())
	if err != nil {
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "run %s", name)
		return exit.ExitCode(), out.String(), errOut.String()
	}
	return 0, out.String(), errOut.String()
}

// unavailable skips the test, or fails it when envRequire is "1".
func unavailable(t *testing.T, envRequire, what, why string) {
	t.Helper()
	if os.Getenv(envRequire) == "1" {
		t.Fatalf("%s is not usable although %s=1: %s", what, envRequire, why)
	}
	t.Skipf("no %s: %s", what, why)
}

// pusherJS returns node and the node_modules holding pusher-js.
func pusherJS(t *testing.T) (node, modules string) {
	t.Helper()
	const envRequire = "TMSWS_REQUIRE_SOKETI"
	dir := os.Getenv("TMSWS_SOKETI_DIR")
	if dir == "" {
		dir = ".." // this repository's scripts/
	}
	modules, err := filepath.Abs(filepath.Join(dir, "node_modules"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(modules, "pusher-js", "package.json")); err != nil {
		unavailable(t, envRequire, "pusher-js", "not installed in "+modules+": run scripts/soketi install")
	}
	node, err = exec.LookPath("node")
	if err != nil {
		unavailable(t, envRequire, "pusher-js", "node is not on PATH")
	}
	return node, modules
}

// python returns a python3 that imports websockets: Debian's
// /usr/bin/python3 first (scripts/bench uses it), then PATH's.
func python(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import websockets").Run() == nil {
			return p
		}
	}
	unavailable(t, "TMSWS_REQUIRE_BENCH", "python3 with websockets", "install python3-websockets (apt-get install python3-websockets)")
	return ""
}

var events = map[string]bool{`App\Events\MessageSent`: true, `App\Events\UserIsTyping`: true, `App\Events\MessagesRead`: true}

// assertMix checks the 70/20/10 mix of n events.
func assertMix(t *testing.T, counts map[string]int) {
	t.Helper()
	assert.Equal(t, map[string]int{"MessageSent": 7 * n / 10, "UserIsTyping": 2 * n / 10, "MessagesRead": n / 10}, counts)
}

func TestPusherJSListenerPrintsOneJSONLinePerEvent(t *testing.T) {
	node, modules := pusherJS(t)
	src := startSource(t)
	code, stdout, stderr := listen(t, src.env("NODE_PATH="+modules), node, "pusherjs-listen.js")
	require.Equal(t, 0, code, "stderr: %s", stderr)

	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, n)
	counts := map[string]int{}
	for _, line := range lines {
		var ev struct {
			Event   string          `json:"event"`
			Channel string          `json:"channel"`
			Data    json.RawMessage `json:"data"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &ev), "line %s", line)
		require.True(t, events[ev.Event], "line %s", line)
		assert.Equal(t, "private-bench", ev.Channel)
		require.Equal(t, byte('{'), ev.Data[0], "data as pusher-js hands it, parsed: %s", line)
		counts[strings.TrimPrefix(ev.Event, `App\Events\`)]++
	}
	assertMix(t, counts)
	assert.Equal(t, n, src.sent(t), "it disconnected, so the source wrote its stats")
}

func TestPusherJSListenerExits1WhenRefused(t *testing.T) {
	node, modules := pusherJS(t)
	src := startSource(t)
	code, stdout, stderr := listen(t, src.env("NODE_PATH="+modules, "BENCH_CHANNEL=private-other"), node, "pusherjs-listen.js")
	assert.Equal(t, 1, code, "stdout: %s", stdout)
	assert.Contains(t, stderr, "subscription refused")
}

// pythonLine is one line of websocket_listener.py: a coloured tag, the
// channel, the data.
var pythonLine = regexp.MustCompile(`^\x1b\[(\d+)m\[(\w+)\]\x1b\[0m (\S+): (\{.*\})$`)

var pythonColour = map[string]string{"MessageSent": "32", "UserIsTyping": "33", "MessagesRead": "36"}

func TestPythonListenerPrintsOneColouredLinePerEvent(t *testing.T) {
	py := python(t)
	src := startSource(t)
	code, stdout, stderr := listen(t, src.env(), py, "websocket_listener.py")
	require.Equal(t, 0, code, "stderr: %s", stderr)

	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, n)
	counts := map[string]int{}
	for _, line := range lines {
		m := pythonLine.FindStringSubmatch(line)
		require.NotNil(t, m, "line %q", line)
		assert.Equal(t, pythonColour[m[2]], m[1], "a colour per kind: %q", line)
		assert.Equal(t, "private-bench", m[3])
		assert.True(t, json.Valid([]byte(m[4])), "data decoded and printed as JSON: %q", line)
		counts[m[2]]++
	}
	assertMix(t, counts)
	assert.Equal(t, n, src.sent(t), "it closed the connection, so the source wrote its stats")
}

func TestPythonListenerExits1WhenRefused(t *testing.T) {
	py := python(t)
	src := startSource(t)
	code, stdout, stderr := listen(t, src.env("BENCH_SECRET=wrong"), py, "websocket_listener.py")
	assert.Equal(t, 1, code, "stdout: %s", stdout)
	assert.Contains(t, stderr, "pusher:subscription_error")
}
