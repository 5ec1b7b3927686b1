package ping

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil"
)

func sample() summary {
	return summary{Sent: 10, Received: 9, Lost: 1, Duplicated: 1, OutOfOrder: 2,
		Latencies: []time.Duration{
			1200 * time.Microsecond, 1500 * time.Microsecond, 2 * time.Millisecond, 2100 * time.Microsecond,
			2500 * time.Microsecond, 3 * time.Millisecond, 4 * time.Millisecond, 12345 * time.Microsecond, 250 * time.Millisecond,
		},
		RTTs: []time.Duration{400 * time.Microsecond, 512 * time.Microsecond, 1100 * time.Microsecond},
	}
}

func TestGates(t *testing.T) {
	t.Parallel()
	s := sample() // p99 250ms, 1 lost
	tests := []struct {
		name string
		g    gates
		s    summary
		want []string
	}{
		{"no gates", gates{}, s, nil},
		{"p99 under", gates{MaxP99: 300 * time.Millisecond, HasP99: true}, s, nil},
		{"p99 at the limit passes", gates{MaxP99: 250 * time.Millisecond, HasP99: true}, s, nil},
		{"p99 over", gates{MaxP99: 249 * time.Millisecond, HasP99: true}, s, []string{"p99 latency 250ms is over --max-p99 249ms"}},
		{"p99 zero", gates{HasP99: true}, s, []string{"p99 latency 250ms is over --max-p99 0s"}},
		{"loss at the limit passes", gates{MaxLoss: 1, HasLoss: true}, s, nil},
		{"loss over", gates{MaxLoss: 0, HasLoss: true}, s, []string{"1 of 10 probes lost, over --max-loss 0"}},
		{"both", gates{HasP99: true, MaxLoss: 0, HasLoss: true}, s, []string{"p99 latency 250ms is over --max-p99 0s", "1 of 10 probes lost, over --max-loss 0"}},
		{"nothing received: p99 unknown fails", gates{MaxP99: time.Hour, HasP99: true}, summary{Sent: 3, Lost: 3}, []string{"p99 latency unknown: no probe was received (--max-p99 1h0m0s)"}},
		{"nothing received, no p99 gate", gates{MaxLoss: 3, HasLoss: true}, summary{Sent: 3, Lost: 3}, nil},
	}
	for _, tt := range tests {
		got := tt.g.failures(tt.s)
		assert.Equal(t, tt.want, got, tt.name)
	}
	err := gateError([]string{"a", "b"})
	var ge *cmdutil.GateError
	require.True(t, errors.As(err, &ge))
	assert.Equal(t, "ping gate exceeded: a; b", ge.Msg)
	assert.NoError(t, gateError(nil))
}

func TestJSONReportShape(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	require.NoError(t, writeJSON(&b, "private-tmsws-ping-0a1b2c3d", sample(), []string{"1 of 10 probes lost, over --max-loss 0"}))
	assert.Equal(t, `{"channel":"private-tmsws-ping-0a1b2c3d","sent":10,"received":9,"lost":1,"duplicated":1,"out_of_order":2,`+
		`"latency_ms":{"min":1.2,"p50":2.5,"p90":250,"p99":250,"max":250},"ws_ping_rtt_ms":{"min":0.4,"median":0.512,"max":1.1},`+
		`"ok":false,"failures":["1 of 10 probes lost, over --max-loss 0"]}`+"\n", b.String())

	b.Reset()
	require.NoError(t, writeJSON(&b, "c", summary{Sent: 2, Lost: 2}, nil))
	assert.Equal(t, `{"channel":"c","sent":2,"received":0,"lost":2,"duplicated":0,"out_of_order":0,"latency_ms":null,"ws_ping_rtt_ms":null,"ok":true,"failures":[]}`+"\n", b.String())
}

func TestTable(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	require.NoError(t, writeTable(&b, "private-tmsws-ping-0a1b2c3d", sample(), nil))
	want := `channel       private-tmsws-ping-0a1b2c3d
sent          10
received      9
lost          1
duplicated    1
out of order  2
              min    p50     p90    p99    max
latency       1.2ms  2.5ms   250ms  250ms  250ms
              min    median  max
ws ping rtt   400µs  512µs   1.1ms
result        ok
`
	assert.Equal(t, want, b.String())

	b.Reset()
	require.NoError(t, writeTable(&b, "evil\x1b[2Jchannel", summary{Sent: 1, Lost: 1}, []string{"a", "b"}))
	assert.NotContains(t, b.String(), "\x1b", "a channel name reaches the terminal escaped")
	assert.Contains(t, b.String(), "latency       -    -       -    -    -\n")
	assert.Contains(t, b.String(), "result        failed: a; b\n")
}

func TestHuman(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		412345 * time.Nanosecond:   "412µs",
		3214567 * time.Nanosecond:  "3.21ms",
		31234567 * time.Nanosecond: "31.2ms",
		312345678:                  "312ms",
		1234567890:                 "1.23s",
		0:                          "0s",
	} {
		assert.Equal(t, want, human(d), d.String())
	}
}

func TestHistogram(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	require.NoError(t, writeHistogram(&b, ms(10, 11, 11, 12, 19, 20)))
	// Six samples, six buckets of (20-10)/6 ms; 19ms falls in the last.
	want := `latency histogram
  10ms   – 11.7ms  ██████████████████████████████ 3
  11.7ms – 13.3ms  ██████████ 1
  13.3ms – 15ms     0
  15ms   – 16.7ms   0
  16.7ms – 18.3ms   0
  18.3ms – 20ms    ████████████████████ 2
`
	assert.Equal(t, want, b.String())

	b.Reset()
	require.NoError(t, writeHistogram(&b, ms(5, 5, 5)))
	assert.Equal(t, "latency histogram\n  5ms – 5ms  ██████████████████████████████ 3\n", b.String(), "all equal: one bucket")

	b.Reset()
	require.NoError(t, writeHistogram(&b, nil))
	assert.Empty(t, b.String())
}
