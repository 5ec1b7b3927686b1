package app

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain lets the test binary act as tmsws itself, so signal handling in
// Main can be tested on a real process. In the normal test mode it fails the
// tests when a goroutine started by them is still running once they are
// done.
func TestMain(m *testing.M) {
	if os.Getenv("TMSWS_TEST_MAIN") == "1" {
		os.Exit(Main())
	}
	code := m.Run()
	removeTestBinary() // the tmsws the attack tests built
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func TestSignalsExitWithCompleteOutput(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, ExitInterrupted}, {syscall.SIGTERM, ExitTerminated}} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			t.Parallel()
			srv := startServer(t)
			host, port, _ := strings.Cut(srv.Addr(), ":")
			dir := t.TempDir()
			outPath := filepath.Join(dir, "stdout")
			out, err := os.Create(outPath)
			require.NoError(t, err)
			defer out.Close()
			cmd := exec.Command(os.Args[0], "listen", "-c", "chat", "-o", filepath.Join(dir, "rec.jsonl"))
			cmd.Env = append(os.Environ(), "TMSWS_TEST_MAIN=1", "TMSWS_HOST="+host, "TMSWS_PORT="+port,
				"TMSWS_SCHEME=http", "TMSWS_KEY=app-key", "XDG_CONFIG_HOME="+dir, "NO_COLOR=1")
			cmd.Stdout = out
			var stderr strings.Builder
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat", 1))
			for i := 0; i < 20; i++ {
				srv.Publish("chat", "n", `{"i":`+strconv.Itoa(i)+`}`, "")
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				b, _ := os.ReadFile(outPath)
				if strings.Count(string(b), "\n") == 20 {
					break
				}
				require.True(t, time.Now().Before(deadline), "events did not arrive: %q", b)
				time.Sleep(10 * time.Millisecond)
			}
			require.NoError(t, cmd.Process.Signal(tt.sig))
			err = cmd.Wait()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, stderr.String())
			assert.Equal(t, tt.code, ee.ExitCode(), stderr.String())
			stdout, err := os.ReadFile(outPath)
			require.NoError(t, err)
			rec, err := os.ReadFile(filepath.Join(dir, "rec.jsonl"))
			require.NoError(t, err)
			assert.Len(t, jsonLines(t, string(stdout)), 20)
			assert.Equal(t, string(stdout), string(rec))
		})
	}
}
