package app

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostCLI points nowhere (newCLI's TMSWS_PORT=1, TMSWS_SCHEME=http), so
// only the --host value can reach the server.
func hostCLI(t *testing.T) *cli {
	c := newCLI(t)
	c.env["TMSWS_KEY"] = "app-key"
	return c
}

func TestHostTakesHostColonPort(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	addr := srv.Addr() // 127.0.0.1:PORT, as scripts/soketi start prints it

	res := hostCLI(t).run("subscribe", "-c", "chat", "--host", addr)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stderr, "connecting to ws://"+addr+"/app/app-key?")
	assert.NotContains(t, res.stderr, "[127.0.0.1")

	c := hostCLI(t)
	c.env["TMSWS_SCHEME"] = "https" // the URL's scheme is a flag's, and beats it
	res = c.run("subscribe", "-c", "chat", "--host", "ws://"+addr)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stderr, "connecting to ws://"+addr+"/app/app-key?")

	code, rep, stderr := doctorReport(t, hostCLI(t), "--host", "http://"+addr)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "ws://"+addr+"/app/app-key", rep.Get("url").String())

	c = hostCLI(t)
	c.env["TMSWS_HOST"] = addr // the same in the environment
	delete(c.env, "TMSWS_PORT")
	res = c.run("subscribe", "-c", "chat", "--scheme", "ws")
	require.Equal(t, ExitOK, res.code, res.stderr)
}

func TestHostWithAConflictingPortExitsAtOnce(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	addr := srv.Addr()
	host, _, _ := strings.Cut(addr, ":")
	for _, args := range [][]string{
		{"subscribe", "-c", "chat", "--host", addr, "--port", "6001"},
		{"listen", "-c", "chat", "--host", addr, "--port", "6001"},
		{"doctor", "--host", addr, "--port", "6001"},
	} {
		began := time.Now()
		res := hostCLI(t).run(args...)
		assert.Equal(t, ExitUsage, res.code, res.stderr)
		assert.Less(t, time.Since(began), 2*time.Second, "no retries")
		assert.Contains(t, res.stderr, "--host "+addr+" and --port 6001 disagree on the port: use --host "+host+" --port 6001, or --host "+addr, args)
		assert.NotContains(t, res.stderr, "connecting")
	}
	res := hostCLI(t).run("subscribe", "-c", "chat", "--host", "wss://"+addr, "--scheme", "http")
	assert.Equal(t, ExitUsage, res.code, res.stderr)
	assert.Contains(t, res.stderr, "disagree on the scheme")
	assert.Empty(t, srv.Received(), "nothing reached the server")
}
