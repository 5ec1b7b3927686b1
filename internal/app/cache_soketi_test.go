package app

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/soketitest"
)

// Cache channels against a real server: Soketi replays a cache channel's
// last event (published through its HTTP API) to each new subscriber right
// after subscription_succeeded, or sends pusher:cache_miss, as Reverb does.

// TestCacheSoketiCachedEventIsMarkedAndNotCounted: the event published
// before listen started arrives first, marked "cached":true, and does not
// count toward --count: listen --count 1 ends with the live event after it.
func TestCacheSoketiCachedEventIsMarkedAndNotCounted(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"cache-prices", "private-cache-prices", "presence-cache-prices"} {
		t.Run(prefix, func(t *testing.T) {
			t.Parallel()
			sk := soketitest.FromEnv(t)
			ch := soketitest.UniqueChannel(t, prefix)
			ctx := ctxT(t)
			require.NoError(t, sk.Trigger(ctx, []string{ch}, `App\Events\PriceChanged`, `{"usd":"1.08"}`, ""))
			c := newCLI(t).pointAt(sk.Addr)
			r := c.start("listen", "-c", ch, "--json", "--count", "1", "--app-secret", sk.Secret)
			require.NoError(t, sk.WaitSubscribed(ctx, ch))
			require.NoError(t, sk.Trigger(ctx, []string{ch}, `App\Events\PriceChanged`, `{"usd":"1.09"}`, ""))
			res := r.wait(t)
			require.Equal(t, 0, res.code, res.stderr)
			recs := jsonLines(t, res.stdout)
			require.Len(t, recs, 2, res.stdout)
			assert.True(t, recs[0].Get("cached").Bool())
			assert.Equal(t, "1.08", recs[0].Get("data.usd").String())
			assert.False(t, recs[1].Get("cached").Exists(), "the live event is not marked")
			assert.Equal(t, "1.09", recs[1].Get("data.usd").String())
			assert.NotContains(t, res.stderr, "nothing cached")
		})
	}
}

// TestCacheSoketiMissIsShown: a cache channel with nothing published shows
// a cache_miss record by default and says so on stderr; the live event
// after it is not marked.
func TestCacheSoketiMissIsShown(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	ch := soketitest.UniqueChannel(t, "cache-empty")
	ctx := ctxT(t)
	c := newCLI(t).pointAt(sk.Addr)
	r := c.start("listen", "-c", ch, "--json", "--count", "1")
	require.NoError(t, sk.WaitSubscribed(ctx, ch))
	require.NoError(t, sk.Trigger(ctx, []string{ch}, "Live", `{"n":1}`, ""))
	res := r.wait(t)
	require.Equal(t, 0, res.code, res.stderr)
	recs := jsonLines(t, res.stdout)
	require.Len(t, recs, 2, res.stdout)
	assert.Equal(t, "cache_miss", recs[0].Get("type").String())
	assert.Equal(t, ch, recs[0].Get("channel").String())
	assert.NotEmpty(t, recs[0].Get("socket_id").String())
	assert.Equal(t, "Live", recs[1].Get("event").String())
	assert.False(t, recs[1].Get("cached").Exists())
	assert.Equal(t, 1, strings.Count(res.stderr, "[channel] "+ch+": nothing cached"), res.stderr)
}

// TestCacheSoketiExpectIgnoresTheCache: an event cached from before the
// run does not meet subscribe --expect (it would pass a CI check on the
// strength of an earlier run's event); the live one does.
func TestCacheSoketiExpectIgnoresTheCache(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	ch := soketitest.UniqueChannel(t, "cache-deploys")
	ctx := ctxT(t)
	require.NoError(t, sk.Trigger(ctx, []string{ch}, "Deployed", `{"run":1}`, ""))
	c := newCLI(t).pointAt(sk.Addr)
	r := c.start("subscribe", "-c", ch, "--expect", "Deployed", "--json", "--timeout", "15s")
	require.NoError(t, sk.WaitSubscribed(ctx, ch))
	require.NoError(t, sk.Trigger(ctx, []string{ch}, "Deployed", `{"run":2}`, ""))
	res := r.wait(t)
	require.Equal(t, 0, res.code, res.stderr)
	sum := gjson.Parse(res.stdout)
	assert.True(t, sum.Get("ok").Bool(), res.stdout)
	assert.Equal(t, int64(1), sum.Get("events.#").Int())
	assert.Equal(t, int64(2), sum.Get("events.0.data.run").Int(), "the live event, not the cached one")
	assert.False(t, sum.Get("events.0.cached").Exists())
}
