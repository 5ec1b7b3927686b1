package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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
		dir, err := os.MkdirTemp("", "goreader-test-")
		if err != nil {
			buildErr = err
			return
		}
		sourceBin = filepath.Join(dir, "benchsource")
		cmd := exec.Command("go", "build", "-o", sourceBin, "github.com/amusoft/tmsws/scripts/benchsource")
		buildOutput, buildErr = cmd.CombinedOutput()
	})
	require.NoError(t, buildErr, "build benchsource: %s", buildOutput)
	return sourceBin
}

// source is a running benchsource.
type source struct {
	host, port string
	stats      string
	cmd        *exec.Cmd
}

func startSource(t *testing.T, args ...string) *source {
	t.Helper()
	s := &source{stats: filepath.Join(t.TempDir(), "stats.json")}
	s.cmd = exec.Command(benchsource(t), append([]string{"-stats", s.stats}, args...)...)
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

func TestReadsNEventsAndExits0(t *testing.T) {
	src := startSource(t, "-n", "1000")
	var stderr strings.Builder
	code := run([]string{"-host", src.host, "-port", src.port, "-n", "1000"}, &stderr)
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	assert.Empty(t, stderr.String(), "goreader prints nothing")
	assert.Equal(t, 1000, src.sent(t), "it closed the connection, so the source wrote its stats")
}

func TestCountsOnlyEventsAfterTheSubscription(t *testing.T) {
	// One more than the source sends: goreader must wait for it (and give
	// up at its timeout, exit 2) rather than count a protocol frame.
	defer func(d time.Duration) { timeout = d }(timeout)
	timeout = 2 * time.Second
	src := startSource(t, "-n", "100")
	var stderr strings.Builder
	assert.Equal(t, 2, run([]string{"-host", src.host, "-port", src.port, "-n", "101"}, &stderr))
	assert.Contains(t, stderr.String(), "after 100 events")
}

func TestWrongSecretExits1(t *testing.T) {
	src := startSource(t, "-n", "10")
	var stderr strings.Builder
	assert.Equal(t, 1, run([]string{"-host", src.host, "-port", src.port, "-n", "10", "-secret", "wrong"}, &stderr))
	assert.Contains(t, stderr.String(), "pusher:subscription_error")
}

func TestBadFlagsExit2(t *testing.T) {
	for _, args := range [][]string{{}, {"-port", "1"}, {"-port", "1", "-n", "0"}, {"-n", "1"}, {"-port", "1", "-n", "1", "x"}, {"-bogus"}} {
		var stderr strings.Builder
		assert.Equal(t, 2, run(args, &stderr), "args %q", args)
		assert.NotEmpty(t, stderr.String())
	}
}
