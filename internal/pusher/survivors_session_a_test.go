package pusher

// Tests for the behaviours that surviving mutants of session.go (issue 10,
// part B) showed were not pinned down: the words of a "use --scheme https"
// answer, the ping's timing after traffic, the read-ahead bound, the cost
// of a frame at the --max-frame limit, which frame buffers are reused,
// which Reverb error codes explain a drop, and the wait for the server's
// close frame.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/record"
)

// TestContainsFoldEdges: a word counts at the very end of the text too,
// and every ASCII capital, A and Z included, matches its lowercase letter.
func TestContainsFoldEdges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, word string
		want       bool
	}{
		{"https", "https", true},
		{"to an HTTPS", "https", true},
		{"to an HTTP", "https", false},
		{"tl", "tls", false},
		{"", "tls", false},
		{"AZ", "az", true},
		{"xA", "a", true},
		{"Zx", "z", true},
		{"@[", "`{", false}, // the bytes just outside A–Z are not letters
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, containsFold([]byte(tt.text), tt.word), "%q in %q", tt.word, tt.text)
	}
}

// TestUpgradeRefusalEndingInHTTPSSaysUseHTTPS: a 400 to the upgrade whose
// body ends with the word that asks for TLS ("... to an HTTPS") still gets
// the "expects TLS: use --scheme https" hint.
func TestUpgradeRefusalEndingInHTTPSSaysUseHTTPS(t *testing.T) {
	t.Parallel()
	c := New(Options{URL: "ws://127.0.0.1:6001/app/k?protocol=7"})
	for _, body := range []string{"Client sent an HTTP request to an HTTPS", "use TLS", "SSL"} {
		resp := &http.Response{StatusCode: http.StatusBadRequest, Body: io.NopCloser(strings.NewReader(body))}
		var ce *ConnError
		require.ErrorAs(t, c.dialError(websocket.ErrBadHandshake, resp), &ce)
		assert.Equal(t, "the server at 127.0.0.1:6001 expects TLS: use --scheme https", ce.Hint, "body %q", body)
	}
}

// TestPingComesOneActivityTimeoutAfterTheLastFrame: the idle timer runs
// from the connection on; an event read meanwhile moves the ping to one
// activity timeout after that event, not later. The event comes a tenth
// of the activity timeout after the run loop has handled the subscription,
// so while the timer runs and well before it fires (this delay is the
// traffic under test, not a wait for something).
func TestPingComesOneActivityTimeoutAfterTheLastFrame(t *testing.T) {
	t.Parallel()
	const activity = time.Second
	pinged, sendEvent := make(chan struct{}, 1), make(chan struct{})
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":120`)
		c.ConfirmSubscribe()
		select {
		case <-sendEvent:
		case <-time.After(hangLimit):
			return
		}
		<-time.After(activity / 10)
		_ = c.Send(hostiletest.Event("chat", "last", `{}`))
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if gjson.GetBytes(msg, "event").String() == "pusher:ping" {
				select {
				case pinged <- struct{}{}:
				default:
				}
				_ = c.Send([]byte(`{"event":"pusher:pong","data":{}}`))
			}
		}
	})
	log := &kaLog{}
	sink, _ := runClient(t, h.URL(), Options{Channels: []string{"chat"}, MaxActivity: activity, PongTimeout: time.Minute, Log: log})
	sink.next(t, record.TypeSubscribed)
	close(sendEvent)
	ev := sink.next(t, record.TypeEvent)
	receive(t, pinged, "the first ping")
	pings := log.pingTimes()
	require.NotEmpty(t, pings)
	after := pings[0].Sub(ev.TS)
	assert.GreaterOrEqual(t, after, activity, "pinged %v after the last frame, before the activity timeout", after)
	// The mutant (the timer re-armed for activity + since) pings 2.8
	// activity timeouts after the event; 2.5 leaves a loaded machine 1.5 s.
	assert.Less(t, after, 5*activity/2, "pinged %v after the last frame (activity timeout %v)", after, activity)
}

// readerSession is a session around a client connection to h, with
// room as given, for driving its reader (and close wait) directly.
func readerSession(t *testing.T, h *hostiletest.Server, opts Options, room chan struct{}) *session {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(h.URL(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &session{c: New(opts), conn: conn, frames: make(chan frame, maxQueuedFrames), room: room, free: make(chan []byte, freeBuffers)}
}

// startReader runs s.read until the test ends; the returned channel is
// closed once it has returned.
func startReader(t *testing.T, s *session) (ended chan struct{}) {
	t.Helper()
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		s.read(done)
	}()
	t.Cleanup(func() {
		close(done)
		s.conn.Close()
		receive(t, ended, "the reader returning")
	})
	return ended
}

// TestReaderStopsAtTheReadAhead: while nothing is handled, the reader
// queues frames up to the read-ahead in bytes, one that exactly fills it
// included, and waits before the next; each frame handled lets one more in.
// The server sends 1,000-byte frames (1 KiB buffers) and the read-ahead is
// 3 KiB: three frames queued, never two, never all.
func TestReaderStopsAtTheReadAhead(t *testing.T) {
	t.Parallel()
	const frames = 6
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		for range frames {
			if c.Send(bytes.Repeat([]byte("x"), 1000)) != nil {
				return
			}
		}
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_, _, _ = c.ReadMessage()
	})
	// room unbuffered: a send on it goes through only while the reader
	// waits for room.
	s := readerSession(t, h, Options{ReadAhead: 3 * firstBuffer}, make(chan struct{}))
	ended := startReader(t, s)
	waiting := func(what string) {
		t.Helper()
		select {
		case s.room <- struct{}{}:
		case <-ended:
			t.Fatalf("%s: the reader read all %d frames and the close without waiting for room (%d queued)", what, frames, len(s.frames))
		case <-time.After(hangLimit):
			t.Fatalf("%s: the reader never waited for room", what)
		}
	}
	waiting("nothing handled")
	assert.Equal(t, 3, len(s.frames), "frames queued before the reader waits")
	assert.Equal(t, int64(3*firstBuffer), s.queued.Load())

	// The run loop handles one frame: one more comes in, and the reader
	// waits again.
	fr := <-s.frames
	s.queued.Add(-int64(cap(fr.data)))
	waiting("one frame handled") // wakes the reader, which re-checks
	waiting("one more frame in")
	assert.Equal(t, 3, len(s.frames), "frames queued once one is handled")
	assert.Equal(t, int64(3*firstBuffer), s.queued.Load())
}

// TestFrameAtTheLimitCostsWhatItShould: a frame of exactly --max-frame
// bytes costs the doubling up to 1 MiB, its pieces and the joined copy
// (twice its size and 1 MiB), no more; a message that runs over the limit
// in 64 KiB fragments costs the limit and 1 MiB before it is refused. The
// limit is 1.5 MiB, so the last piece is the one sized to the limit.
// Bytes allocated are the whole process's, so the test does not run in
// parallel with others.
func TestFrameAtTheLimitCostsWhatItShould(t *testing.T) {
	const (
		limit = bigFrame + bigFrame/2
		slack = 128 << 10 // gorilla's own allocations, size classes
	)
	// Made here: what the server allocates counts too.
	whole, chunk := bytes.Repeat([]byte("x"), limit), bytes.Repeat([]byte("x"), 64<<10)
	tests := []struct {
		name    string
		send    func(c *hostiletest.Conn) error
		wantErr error
		most    int
	}{
		{"a frame of exactly the limit", func(c *hostiletest.Conn) error {
			return c.Send(whole)
		}, nil, 2*limit + bigFrame},
		{"a message over the limit in fragments", func(c *hostiletest.Conn) error {
			w, err := c.NextWriter(websocket.TextMessage)
			if err != nil {
				return err
			}
			for range 2 * limit / len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return err
				}
			}
			return w.Close()
		}, websocket.ErrReadLimit, limit + bigFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hostiletest.Start(t, func(c *hostiletest.Conn) {
				_ = tt.send(c)
				_, _, _ = c.ReadMessage()
			})
			conn, _, err := websocket.DefaultDialer.Dial(h.URL(), nil)
			require.NoError(t, err)
			defer conn.Close()
			conn.SetReadLimit(limit)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, data, err := readMessage(conn, limit, nil)
			runtime.ReadMemStats(&after)
			cost := int(after.TotalAlloc - before.TotalAlloc)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Len(t, data, limit)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
			}
			assert.LessOrEqual(t, cost, tt.most+slack, "%s cost %d bytes", tt.name, cost)
			t.Logf("%s: %d bytes allocated (at most %d)", tt.name, cost, tt.most)
		})
	}
}

// TestRecycleKeepsBuffersUpToKeepBuffer: a handled frame's buffer goes
// back to the reader, emptied, up to 256 KiB of capacity, that size
// included; a larger one is left to the GC, and a frame without data (an
// error) has none to give back.
func TestRecycleKeepsBuffersUpToKeepBuffer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		buf  []byte
		kept bool
	}{
		{"none", nil, false},
		{"a first buffer", make([]byte, 10, firstBuffer), true},
		{"just under the cap", make([]byte, keepBuffer-1, keepBuffer-1), true},
		{"at the cap", make([]byte, keepBuffer, keepBuffer), true},
		{"over the cap", make([]byte, keepBuffer+1, keepBuffer+1), false},
	}
	for _, tt := range tests {
		s := &session{free: make(chan []byte, 1)}
		s.recycle(tt.buf)
		if !tt.kept {
			assert.Empty(t, s.free, "%s: recycled", tt.name)
			continue
		}
		require.Len(t, s.free, 1, "%s: not recycled", tt.name)
		b := <-s.free
		assert.Empty(t, b, tt.name)
		assert.Equal(t, cap(tt.buf), cap(b), tt.name)
	}
}

// TestErrorThenDropCodeRangeEdges: only a pusher:error with a code from
// 4000 to 4299, both ends included, turns the drop after it into that
// code; 3999 and 4300 leave it a plain drop (retried after a delay).
func TestErrorThenDropCodeRangeEdges(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		code int
		want int
	}{{3999, 0}, {4000, 4000}, {4001, 4001}, {4298, 4298}, {4299, 4299}, {4300, 0}} {
		sink, log := newSink(), &memLog{}
		s := &session{c: New(Options{Sink: sink, Log: log}), socketID: "1.1", keys: map[string]*[32]byte{}, members: map[string]map[string][]byte{}}
		t0 := time.Now()
		msg := `{"event":"pusher:error","data":{"code":` + strconv.Itoa(tt.code) + `,"message":"Something"}}`
		require.NoError(t, s.handle(frame{ts: t0, data: []byte(msg)}))
		require.Equal(t, record.TypeError, sink.next(t, record.TypeError).Type)
		err := s.readError(context.Background(), &websocket.CloseError{Code: websocket.CloseAbnormalClosure}, t0)
		var d *disconnect
		require.ErrorAs(t, err, &d)
		rec := sink.next(t, record.TypeDisconnected)
		assert.Equal(t, tt.want, d.code, "a drop right after a %d error", tt.code)
		assert.Equal(t, tt.want, rec.Code, "the disconnected record after a %d error", tt.code)
		wantMsg := "connection lost (no close frame)"
		if tt.want != 0 {
			wantMsg = "closed with " + strconv.Itoa(tt.code) + " Something (then the connection dropped)"
		}
		assert.Equal(t, wantMsg, rec.Message, "after a %d error", tt.code)
		assert.Contains(t, log.all(), "warn connection: disconnected: "+wantMsg)
	}
}

// TestCloseWaitReadsUpToTheServersClose: after our close frame the server
// still sends ten frames, more than the read-ahead holds, before it answers
// with its own close. The close wait reads them all and ends at the
// server's close, well before its 1 s bound, with the reader finished:
// nothing is left unread to reset the connection with.
func TestCloseWaitReadsUpToTheServersClose(t *testing.T) {
	t.Parallel()
	const frames = 10
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		c.SetCloseHandler(func(int, string) error { return nil }) // answered below, after the frames
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				break
			}
		}
		for range frames {
			if c.Send(bytes.Repeat([]byte("x"), 1000)) != nil {
				return
			}
		}
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_, _, _ = c.ReadMessage()
	})
	s := readerSession(t, h, Options{ReadAhead: 3 * firstBuffer}, make(chan struct{}, 1))
	ended := startReader(t, s)
	s.closeNormal()
	began := time.Now()
	s.awaitClose()
	took := time.Since(began)
	assert.Less(t, took, closeWait, "the close wait ran out instead of ending at the server's close")
	select {
	case <-ended:
	case <-time.After(closeWait):
		t.Fatalf("the reader was still reading (%d frames queued) after the close wait ended", len(s.frames))
	}
	assert.Empty(t, s.frames, "frames left unread by the close wait")
	assert.Zero(t, s.queued.Load(), "bytes still counted as read ahead")
}
