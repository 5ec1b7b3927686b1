package ping

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPercentileIsNearestRank(t *testing.T) {
	t.Parallel()
	ten := ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{"p50 of ten is the 5th", ten, 50, 5 * time.Millisecond},
		{"p90 of ten is the 9th", ten, 90, 9 * time.Millisecond},
		{"p99 of ten is the 10th", ten, 99, 10 * time.Millisecond},
		{"p100 is the max", ten, 100, 10 * time.Millisecond},
		{"p1 of ten is the 1st", ten, 1, 1 * time.Millisecond},
		{"p50 of four is the 2nd (no interpolation)", ms(10, 20, 30, 40), 50, 20 * time.Millisecond},
		{"p51 of four is the 3rd", ms(10, 20, 30, 40), 51, 30 * time.Millisecond},
		{"p99 of a hundred is the 99th", hundred, 99, 99 * time.Millisecond},
		{"p90 of a hundred is the 90th", hundred, 90, 90 * time.Millisecond},
		{"one sample is every percentile", ms(7), 50, 7 * time.Millisecond},
		{"p50 of three is the middle", ms(1, 2, 3), 50, 2 * time.Millisecond},
	}
	for _, tt := range tests {
		got, ok := percentile(tt.sorted, tt.p)
		assert.True(t, ok, tt.name)
		assert.Equal(t, tt.want, got, tt.name)
	}
	_, ok := percentile(nil, 99)
	assert.False(t, ok, "no samples: unknown")
}

func TestTallyCountsLossDuplicatesAndOrder(t *testing.T) {
	t.Parallel()
	base := time.Unix(1000, 0)
	tl := newTally()
	for seq := range 6 {
		tl.sending(seq, base.Add(time.Duration(seq)*100*time.Millisecond))
	}
	at := func(seq int, lateMS int) time.Time {
		return base.Add(time.Duration(seq)*100*time.Millisecond + time.Duration(lateMS)*time.Millisecond)
	}
	tl.received(0, at(0, 5))
	tl.received(2, at(2, 3))
	tl.received(1, at(1, 250)) // lower than 2, already received: out of order
	tl.received(2, at(2, 9))   // again: a duplicate, not another out-of-order
	tl.received(0, at(0, 9))   // a duplicate of a lower seq counts once, as a duplicate
	tl.received(4, at(4, 7))
	tl.received(99, at(5, 1)) // never sent: not ours
	assert.False(t, tl.allIn())

	s := tl.summary()
	assert.Equal(t, 6, s.Sent)
	assert.Equal(t, 4, s.Received)
	assert.Equal(t, 2, s.Lost, "3 and 5 never came")
	assert.Equal(t, 2, s.Duplicated)
	assert.Equal(t, 1, s.OutOfOrder)
	assert.Equal(t, ms(3, 5, 7, 250), s.Latencies, "first arrivals only, sorted")

	tl.received(3, at(3, 1))
	tl.received(5, at(5, 1))
	assert.True(t, tl.allIn())
	s = tl.summary()
	assert.Equal(t, 0, s.Lost)
	assert.Equal(t, 2, s.OutOfOrder, "3 came after 4")
}

func TestTallyUnsentProbeIsNotCounted(t *testing.T) {
	t.Parallel()
	tl := newTally()
	tl.sending(0, time.Now())
	tl.sending(1, time.Now())
	tl.unsent(1)
	s := tl.summary()
	assert.Equal(t, 1, s.Sent)
	assert.Equal(t, 1, s.Lost)
}

func TestTallySignalsNews(t *testing.T) {
	t.Parallel()
	tl := newTally()
	tl.sending(0, time.Now())
	tl.sending(1, time.Now())
	tl.received(0, time.Now())
	tl.received(1, time.Now()) // the token is already there: no block
	select {
	case <-tl.news:
	default:
		require.Fail(t, "no news after a new probe")
	}
	tl.received(1, time.Now()) // a duplicate is no news
	select {
	case <-tl.news:
		require.Fail(t, "a duplicate signalled news")
	default:
	}
}
