package ping

import (
	"slices"
	"sync"
	"time"
)

// tally counts the probes of one run: when each was sent, which came back,
// how late, how often, in what order. The sender and the socket's sink use
// it from two goroutines.
type tally struct {
	mu       sync.Mutex
	sentAt   map[int]time.Time     // seq → just before its HTTP request
	latency  map[int]time.Duration // seq → first arrival − sentAt
	dup      int
	outOfOrd int
	maxSeen  int // highest seq received; -1 before the first
	// news gets a token whenever a new probe arrived.
	news chan struct{}
}

func newTally() *tally {
	return &tally{sentAt: map[int]time.Time{}, latency: map[int]time.Duration{}, maxSeen: -1, news: make(chan struct{}, 1)}
}

// sending records that probe seq is about to be sent, at t.
func (t *tally) sending(seq int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sentAt[seq] = at
}

// unsent forgets probe seq: its request failed, so it was never sent.
func (t *tally) unsent(seq int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.sentAt, seq)
}

// received records probe seq arriving at t. A probe not sent (or not yet
// recorded as sending) is ignored: it belongs to no probe of this run.
func (t *tally) received(seq int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sent, ok := t.sentAt[seq]
	if !ok {
		return
	}
	if _, seen := t.latency[seq]; seen {
		t.dup++
		return
	}
	if seq < t.maxSeen {
		t.outOfOrd++
	}
	t.maxSeen = max(t.maxSeen, seq)
	t.latency[seq] = at.Sub(sent)
	select {
	case t.news <- struct{}{}:
	default:
	}
}

// allIn reports whether every probe sent so far has arrived.
func (t *tally) allIn() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.latency) >= len(t.sentAt)
}

// summary is what a run measured.
type summary struct {
	Sent, Received, Lost, Duplicated, OutOfOrder int
	// Latencies are the received probes' latencies, sorted.
	Latencies []time.Duration
	// RTTs are the WebSocket pusher:ping → pusher:pong round trips, sorted.
	RTTs []time.Duration
}

func (t *tally) summary() summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := summary{Sent: len(t.sentAt), Received: len(t.latency), Duplicated: t.dup, OutOfOrder: t.outOfOrd}
	s.Lost = s.Sent - s.Received
	for _, d := range t.latency {
		s.Latencies = append(s.Latencies, d)
	}
	slices.Sort(s.Latencies)
	return s
}

// percentile is the nearest-rank percentile p (1 ≤ p ≤ 100) of sorted:
// the smallest value with at least p% of the values at or below it, the
// value of rank ⌈p/100 × n⌉. ok is false when there are none.
func percentile(sorted []time.Duration, p int) (d time.Duration, ok bool) {
	if len(sorted) == 0 {
		return 0, false
	}
	rank := (p*len(sorted) + 99) / 100 // ⌈p·n/100⌉ in integers
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1], true
}
