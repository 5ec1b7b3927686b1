package app

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCacheReplayKeepsTheMarks: a recording of a cache channel replays as
// it was recorded: the cache_miss record is shown by default, like the
// events, and the cached event keeps "cached":true; pretty output tags it.
func TestCacheReplayKeepsTheMarks(t *testing.T) {
	t.Parallel()
	sub := `{"ts":"2026-11-26T09:16:50Z","type":"subscribed","channel":"cache-prices","socket_id":"1.2"}`
	cached := `{"ts":"2026-11-26T09:16:50.001Z","type":"event","channel":"cache-prices","event":"PriceChanged","cached":true,"data":{"usd":"1.08"},"socket_id":"1.2"}`
	miss := `{"ts":"2026-11-26T09:16:50.002Z","type":"cache_miss","channel":"cache-rates","socket_id":"1.2"}`
	live := `{"ts":"2026-11-26T09:16:51Z","type":"event","channel":"cache-prices","event":"PriceChanged","data":{"usd":"1.09"},"socket_id":"1.2"}`
	path := writeRecording(t, "cache.jsonl", lines(sub, cached, miss, live))

	res := newCLI(t).run("replay", path)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, lines(cached, miss, live), res.stdout)

	res = newCLI(t).run("replay", path, "--pretty", "--color", "never")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "PriceChanged  cached  {\"usd\":\"1.08\"}")
	assert.Contains(t, res.stdout, "cache_miss    nothing cached")
}
