package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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

// TestAPingFloodFromAClientThatNeverReadsIsDropped: every pong costs its
// frame's bookkeeping as well as its bytes, so a client that sends
// pusher:ping after pusher:ping and never reads the pongs fills its queue
// and is dropped as too slow, long before the write deadline would end
// it, and the server's memory for it stays within the queue's budget.
func TestAPingFloodFromAClientThatNeverReadsIsDropped(t *testing.T) {
	t.Parallel() // it measures no heap
	const (
		queueBytes = 16 << 10
		maxPings   = 100_000 // far more than the socket buffers and the queue hold
	)
	var log logLines
	s := start(t, Config{MaxQueueBytes: queueBytes, NoHistory: true, Logf: log.logf})
	// A small receive buffer, so the kernel does not absorb the pongs.
	dialer := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			err = c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}}
	ws, resp, err := dialer.Dial(s.URL()+"/app/"+s.cfg.AppKey+"?protocol=7", nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = ws.Close() })
	conn, err := s.WaitConn(testCtx(t), 1)
	require.NoError(t, err)

	ping := []byte(`{"event":"pusher:ping","data":{}}`)
	sent := 0
flood:
	for ; sent < maxPings; sent++ {
		select {
		case <-conn.Done():
			break flood
		default:
		}
		// The server reads on while it queues pongs: a write that waits
		// this long means it has stopped reading a connection it kept.
		require.NoError(t, ws.SetWriteDeadline(time.Now().Add(2*writeWait)))
		if ws.WriteMessage(websocket.TextMessage, ping) != nil {
			break // the server has closed the connection
		}
	}
	select {
	case <-conn.Done():
	case <-time.After(2 * writeWait): // the drop was under way when the flood stopped
		t.Fatalf("the client that never reads is still connected after %d pings", sent)
	}
	t.Logf("dropped after %d pings", sent)
	var drops []string
	for _, line := range log.all() {
		if strings.Contains(line, "dropping it as too slow") {
			drops = append(drops, line)
		}
	}
	require.Len(t, drops, 1, "dropped by the queue's budget, not by the write deadline: %q", log.all())
	assert.Contains(t, drops[0], fmt.Sprintf("more than %d bytes queued", queueBytes))
	assert.Less(t, sent, maxPings, "the flood was not stopped by the drop")
	stillServes(t, s)
}
