package app

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// TestReconnectFirstConnectionFailsFast: the first connection is made
// once. A wrong port, a wrong scheme or a wrong host is reported at once
// with its cause, exit 4, instead of after a minute of retries ending in a
// firewall hint. Asserted on the attempts (one "connecting to", no
// "reconnecting"); the time each took is logged.
func TestReconnectFirstConnectionFailsFast(t *testing.T) {
	t.Parallel()
	closed := hostiletest.ClosedAddr(t)

	tests := []struct {
		name  string
		cli   func(t *testing.T) *cli
		hints []string // one of them
	}{
		{"closed port", func(t *testing.T) *cli { return newCLI(t).pointAt(closed) },
			[]string{"hint: nothing accepts connections at " + closed + ": is the server running? check --host and --port"}},
		{"https against Soketi's plain port", func(t *testing.T) *cli {
			sk := soketitest.FromEnv(t)
			c := newCLI(t).pointAt(sk.Addr)
			c.env["TMSWS_SCHEME"] = "https"
			return c
		}, []string{"does not speak TLS: check --scheme (--scheme http for a ws:// server)"}},
		{"https against the embedded server", func(t *testing.T) *cli {
			c := newCLI(t).pointAt(startServer(t).Addr())
			c.env["TMSWS_SCHEME"] = "https"
			return c
		}, []string{"answered in plain HTTP, not TLS: check --scheme", "does not speak TLS: check --scheme"}},
		{"unknown host", func(t *testing.T) *cli {
			c := newCLI(t)
			c.env["TMSWS_HOST"] = "tmsws-test.invalid"
			return c
		}, []string{"hint: the host name tmsws-test.invalid does not resolve: check --host", "hint: looking up tmsws-test.invalid failed"}},
	}
	for _, tt := range tests {
		for _, cmd := range [][]string{{"listen", "-c", "chat"}, {"subscribe", "-c", "chat", "--timeout", "1m"}} {
			t.Run(tt.name+"/"+cmd[0], func(t *testing.T) {
				t.Parallel()
				start := time.Now()
				res := tt.cli(t).run(cmd...)
				took := time.Since(start)
				assert.Equal(t, ExitConnection, res.code, res.stderr)
				assert.Equal(t, 1, strings.Count(res.stderr, "[connection] connecting to "), "one attempt:\n%s", res.stderr)
				assert.NotContains(t, res.stderr, "reconnecting")
				assert.Empty(t, res.stdout)
				found := false
				for _, h := range tt.hints {
					found = found || strings.Contains(res.stderr, h)
				}
				assert.True(t, found, "none of %q in:\n%s", tt.hints, res.stderr)
				t.Logf("%s: exit %d after %s, 1 attempt", tt.name, res.code, took.Round(time.Millisecond))
			})
		}
	}
}
