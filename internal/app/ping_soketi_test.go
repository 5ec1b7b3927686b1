package app

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/soketitest"
)

func soketiPingCLI(t *testing.T, sk *soketitest.Soketi) *cli {
	c := newCLI(t).pointAt(sk.Addr)
	c.env["TMSWS_KEY"] = sk.Key
	c.env["TMSWS_APP_ID"] = sk.AppID
	c.env["TMSWS_APP_SECRET"] = sk.Secret
	return c
}

func TestSoketiPing(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)

	t.Run("clean run with both gates passing", func(t *testing.T) {
		t.Parallel()
		res := soketiPingCLI(t, sk).run("ping", "--count", "10", "--rate", "100", "--json", "--max-loss", "0")
		require.Equal(t, 0, res.code, res.stderr)
		r := pingReport(t, res)
		assert.Equal(t, int64(10), r.Get("sent").Int(), r.Raw)
		assert.Equal(t, int64(10), r.Get("received").Int(), r.Raw)
		assert.Equal(t, int64(0), r.Get("lost").Int(), r.Raw)
		assert.Equal(t, int64(0), r.Get("duplicated").Int(), r.Raw)
		assert.True(t, r.Get("ok").Bool(), r.Raw)
		assertPlausible(t, r)
	})
	t.Run("--max-p99 0s fails", func(t *testing.T) {
		t.Parallel()
		res := soketiPingCLI(t, sk).run("ping", "--count", "10", "--rate", "100", "--json", "--max-p99", "0s")
		require.Equal(t, ExitTimeout, res.code, res.stderr)
		r := pingReport(t, res)
		assert.False(t, r.Get("ok").Bool(), r.Raw)
		assert.Equal(t, int64(0), r.Get("lost").Int(), r.Raw)
		assert.Contains(t, res.stderr, "error: ping gate exceeded: p99 latency")
	})
	t.Run("a public channel given with -c, table output", func(t *testing.T) {
		t.Parallel()
		ch := soketitest.UniqueChannel(t, "ping")
		res := soketiPingCLI(t, sk).run("ping", "-c", ch, "--count", "5", "--rate", "100")
		require.Equal(t, 0, res.code, res.stderr)
		assert.Regexp(t, `(?m)^received +5$`, res.stdout)
		assert.Regexp(t, `(?m)^result +ok$`, res.stdout)
	})
	t.Run("wrong secret: the subscription is refused", func(t *testing.T) {
		t.Parallel()
		c := soketiPingCLI(t, sk)
		c.env["TMSWS_APP_SECRET"] = "not-the-secret"
		res := c.run("ping", "--count", "2")
		assert.Equal(t, ExitAuth, res.code, res.stderr)
		assert.Empty(t, res.stdout)
	})
	t.Run("wrong secret on a public channel: the HTTP API refuses", func(t *testing.T) {
		t.Parallel()
		c := soketiPingCLI(t, sk)
		c.env["TMSWS_APP_SECRET"] = "not-the-secret"
		res := c.run("ping", "-c", soketitest.UniqueChannel(t, "ping"), "--count", "2")
		assert.Equal(t, ExitAuth, res.code, res.stderr)
		assert.Contains(t, res.stderr, "publish probe 0")
		assert.NotContains(t, res.stderr, "not-the-secret")
	})
}
