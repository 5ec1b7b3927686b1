package server

import (
	"io"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Memory tests measure the heap, so they do not run in parallel: the
// parallel tests of the package are paused while they run. Their bounds
// are generous (the machines are shared); what they catch is memory that
// grows with the attack.

// memInUse is the live heap plus goroutine stacks, after a collection.
func memInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

func growth(before, after uint64) int64 { return int64(after) - int64(before) }

func TestFloodTowardASubscriberThatNeverReadsKeepsTheHeapBounded(t *testing.T) {
	const (
		channel   = "private-flood"
		eventSize = 1 << 20
		events    = 40 // 40 MB relayed toward the stalled subscriber, dropped after some 7 MB
		maxGrowth = 16 << 20
	)
	var log logLines
	s := start(t, Config{MaxMessageSize: 2 * eventSize, NoHistory: true, Logf: log.logf})
	sender, _ := join(t, s, channel, "")
	reader, _ := join(t, s, channel, "")
	stalled, _ := join(t, s, channel, "") // never reads again
	stalledConn, err := s.WaitConn(testCtx(t), 3)
	require.NoError(t, err)

	// The reader discards what it reads, without keeping it, and says
	// when each event has arrived; the sender waits for that, so the
	// reader is never behind and only the stalled subscriber falls back.
	arrived := make(chan error, 1)
	go func() {
		for {
			if err := reader.ws.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
				arrived <- err
				return
			}
			_, r, err := reader.ws.NextReader()
			if err == nil {
				_, err = io.Copy(io.Discard, r)
			}
			arrived <- err
			if err != nil {
				return
			}
		}
	}()

	payload := `{"event":"client-big","channel":"` + channel + `","data":{"blob":"` + strings.Repeat("x", eventSize) + `"}}`
	before := memInUse()
	var after uint64
	droppedAt := -1
	for i := range events {
		sender.send(payload)
		require.NoError(t, <-arrived, "event %d", i)
		if i == events/2 || i == events-1 {
			after = max(after, memInUse())
		}
		if droppedAt < 0 {
			select {
			case <-stalledConn.Done():
				droppedAt = i
			default:
			}
		}
	}
	t.Logf("heap and stacks grew by %.1f MB while %d MB were relayed toward a subscriber that does not read (dropped after event %d)",
		float64(growth(before, after))/(1<<20), events*eventSize>>20, droppedAt)
	assert.Less(t, growth(before, after), int64(maxGrowth))

	select {
	case <-stalledConn.Done():
	default:
		t.Error("the subscriber that does not read is still connected")
	}
	drops := 0
	for _, line := range log.all() {
		if strings.Contains(line, "dropping it as too slow") {
			drops++
		}
	}
	assert.Equal(t, 1, drops, "the drop is logged once")
	sender.expectNoReply() // the sender is served
	require.NoError(t, reader.ws.Close())
	<-arrived
	_ = stalled.ws.Close()
	stillServes(t, s)
}

// fdLimit returns the soft limit of open files.
func fdLimit(t *testing.T) uint64 {
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	return lim.Cur
}

func TestThousandsOfConnectionsAreCheap(t *testing.T) {
	const maxPerConn = 64 << 10
	n := 2000
	if limit := fdLimit(t); uint64(2*n+200) > limit { // both ends are in this process
		n = int(limit-200) / 2
	}
	if n < 300 {
		t.Skipf("only %d open files allowed: too few for this test (ulimit -n)", fdLimit(t))
	}
	s := start(t, Config{NoHistory: true})
	before := memInUse()
	conns := make([]net.Conn, 0, n)
	for range n {
		// Raw upgrades, which cost the client side a socket only.
		conns = append(conns, sendUpgrade(t, s))
	}
	require.NoError(t, s.WaitConnections(testCtx(t), n))
	after := memInUse()
	per := growth(before, after) / int64(n)
	t.Logf("%d connections: %.1f KB of heap and stacks each", n, float64(per)/1024)
	assert.Less(t, per, int64(maxPerConn))

	stillServes(t, s)
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
	require.NoError(t, s.WaitConnections(testCtx(t), 0))
}
