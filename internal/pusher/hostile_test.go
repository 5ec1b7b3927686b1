package pusher

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/record"
)

// runClient runs a Client against url until the test ends.
func runClient(t *testing.T, url string, opts Options) (*memSink, chan error) {
	t.Helper()
	sink := newSink()
	opts.URL, opts.Sink = url, sink
	if opts.Authorizer == nil {
		opts.Authorizer = &auth.Signer{Key: "app-key", Secret: "app-secret"}
	}
	if opts.ReconnectAttempts == 0 {
		opts.ReconnectAttempts = 5
	}
	c := New(opts)
	c.sleep = (&sleepLog{}).sleep
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		receive(t, done, "Run returning after cancel")
	})
	return sink, done
}

// TestFirstFrameOverTheLimitFails: the limit holds from the greeting on,
// and a first connection that breaks it is not retried: Run fails with
// the limit, the flag and 1009.
func TestFirstFrameOverTheLimitFails(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		_ = c.Send(bytes.Repeat([]byte("a"), 4*limit))
		_, _, _ = c.ReadMessage() // the client's 1009 close
	})
	c := New(Options{URL: h.URL(), Channels: []string{"chat"}, MaxFrame: limit, Sink: newSink(), ReconnectAttempts: 3})
	c.sleep = (&sleepLog{}).sleep
	err := c.Run(ctx10(t))
	var ce *ConnError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, websocket.CloseMessageTooBig, ce.Code)
	assert.Contains(t, ce.Error(), "a frame larger than the 64 KiB limit (--max-frame)")
	assert.Equal(t, hintMaxFrame, ce.Hint)
	assert.Equal(t, 1, h.Conns())
}

// TestFrameOverTheLimitReconnects: on a live connection an oversized
// frame drops it with 1009, and a reconnect follows.
func TestFrameOverTheLimitReconnects(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	huge := bytes.Repeat([]byte("a"), 4*limit)
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		c.ConfirmSubscribe()
		if c.N == 1 {
			_ = c.Send(hostiletest.Event("chat", "big", `{"blob":"`+string(huge)+`"}`))
			_, _, _ = c.ReadMessage()
			return
		}
		_ = c.Send(hostiletest.Event("chat", "after", `{}`))
		c.Serve()
	})
	sink, _ := runClient(t, h.URL(), Options{Channels: []string{"chat"}, MaxFrame: limit})

	d := sink.next(t, record.TypeDisconnected)
	assert.Equal(t, websocket.CloseMessageTooBig, d.Code)
	assert.Contains(t, d.Message, "64 KiB limit (--max-frame)")
	r := sink.next(t, record.TypeReconnecting)
	assert.Equal(t, websocket.CloseMessageTooBig, r.Code)
	assert.Contains(t, r.Message, "a frame larger than the 64 KiB limit (--max-frame)")
	ev := sink.next(t, record.TypeEvent)
	assert.Equal(t, "after", ev.Event, "the oversized event is not delivered; the next one is")
	assert.Equal(t, 2, h.Conns())
}

// TestDeepNestingIsReportedAndSkipped: 5,000,000 levels of nesting (10 MB,
// under the frame limit) in the frame and inside the data string.
func TestDeepNestingIsReportedAndSkipped(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 5_000_000) + strings.Repeat("]", 5_000_000)
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		c.ConfirmSubscribe()
		_ = c.Send([]byte(`{"event":"e","channel":"chat","data":` + deep + `}`))
		_ = c.Send(hostiletest.Event("chat", "e", deep))
		_ = c.Send(hostiletest.Event("chat", "fine", `{"ok":true}`))
		c.Serve()
	})
	sink, _ := runClient(t, h.URL(), Options{Channels: []string{"chat"}})
	for range 2 {
		r := sink.next(t, record.TypeError, record.TypeEvent)
		require.Equal(t, record.TypeError, r.Type)
		assert.Contains(t, r.Message, "nested deeper than 1000 levels")
		assert.Less(t, len(r.Message), 200, "reported briefly, not quoted")
	}
	r := sink.next(t, record.TypeEvent)
	assert.Equal(t, "fine", r.Event)
	assert.JSONEq(t, `{"ok":true}`, string(r.Data))
	assert.Equal(t, 1, h.Conns(), "no reconnect: the frames are skipped")
}

func TestInvalidUTF8BecomesReplacementCharacters(t *testing.T) {
	t.Parallel()
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		c.ConfirmSubscribe()
		// In a data string that holds JSON, in data as an object, in a
		// data string that is not JSON, and in the event name.
		_ = c.Send([]byte("{\"event\":\"e\",\"channel\":\"chat\",\"data\":\"{\\\"m\\\":\\\"a\xffb\\\"}\"}"))
		_ = c.Send([]byte("{\"event\":\"e\",\"channel\":\"chat\",\"data\":{\"m\":\"c\xc3d\"}}"))
		_ = c.Send([]byte("{\"event\":\"e\",\"channel\":\"chat\",\"data\":\"plain \xfe text\"}"))
		_ = c.Send([]byte("{\"event\":\"e\xff\",\"channel\":\"chat\",\"data\":\"{}\"}"))
		c.Serve()
	})
	sink, _ := runClient(t, h.URL(), Options{Channels: []string{"chat"}})
	for _, want := range []string{"a\uFFFDb", "c\uFFFDd", "plain \uFFFD text", ""} {
		r := sink.next(t, record.TypeEvent)
		line := r.AppendJSON(nil)
		require.True(t, utf8.Valid(line), "%q", line)
		require.True(t, json.Valid(line), "%q", line)
		var got struct {
			Event string
			Data  any
		}
		require.NoError(t, json.Unmarshal(line, &got))
		switch d := got.Data.(type) {
		case map[string]any:
			if want != "" {
				assert.Equal(t, want, d["m"])
			}
		case string:
			assert.Equal(t, want, d)
		}
		if want == "" {
			assert.Equal(t, "e\uFFFD", got.Event)
		}
	}
}

func TestAbsurdActivityTimeoutsAreClamped(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		raw  string
		want time.Duration
	}{
		{`"activity_timeout":30`, 30 * time.Second},
		{`"activity_timeout":0`, 120 * time.Second},
		{`"activity_timeout":-5`, 120 * time.Second},
		{`"activity_timeout":1e30`, 120 * time.Second},
		{`"activity_timeout":18446744074`, 120 * time.Second},
		{`"activity_timeout":"30"`, 120 * time.Second},
		{`"activity_timeout":0.001`, time.Second},
		{`"activity_timeout":2.5`, 2500 * time.Millisecond},
		{``, 120 * time.Second},
	} {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			h := hostiletest.Start(t, func(c *hostiletest.Conn) {
				_ = c.Established(tt.raw)
				c.ConfirmSubscribe()
				_ = c.Send(hostiletest.Event("chat", "works", `{}`))
				c.Serve()
			})
			log := &lineLog{}
			sink, _ := runClient(t, h.URL(), Options{Channels: []string{"chat"}, Log: log})
			assert.Equal(t, "works", sink.next(t, record.TypeEvent).Event)
			assert.Contains(t, log.text(), "activity timeout "+tt.want.String()+")")
		})
	}
	assert.Equal(t, 120*time.Second, activityTimeout(gjson.Parse(`1e308`), 120*time.Second))
	assert.Equal(t, 120*time.Second, activityTimeout(gjson.Parse(`NaN`), 120*time.Second))
}

// TestReadAheadIsBoundedInBytes: while the sink is stalled (stdout not
// draining), the reader stops reading, so the server's writes back up in
// TCP instead of in the client's memory. The server sends 1 MiB frames and
// counts how many it could write before a write stalls; an unbounded
// read-ahead (1,024 frames) would take all 200 of them.
func TestReadAheadIsBoundedInBytes(t *testing.T) {
	t.Parallel()
	const frames = 200
	blob := strings.Repeat("x", 1<<20)
	written := make(chan int, 1)
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		c.ConfirmSubscribe()
		i := 0
		for ; i < frames; i++ {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			if err := c.Send(hostiletest.Event("chat", "e", `{"i":`+strconv.Itoa(i)+`,"b":"`+blob+`"}`)); err != nil {
				break
			}
		}
		written <- i
		_, _, _ = c.ReadMessage()
	})
	stall := make(chan struct{})
	sink := &stallSink{release: stall}
	c := New(Options{URL: h.URL(), Channels: []string{"chat"}, Sink: sink, ReconnectAttempts: 1, MaxFrame: 4 << 20})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		close(stall)
		receive(t, done, "Run returning after cancel")
	}()
	select {
	case n := <-written:
		// 4 MiB of read-ahead, the frame being handled and the one waiting
		// for room, and the socket buffers of both ends.
		assert.Less(t, n, 60, "the client read %d MiB ahead of a stalled sink", n)
	case <-time.After(30 * time.Second):
		t.Fatal("the server neither stalled nor finished")
	}
}

// stallSink blocks its first event until release is closed.
type stallSink struct {
	release chan struct{}
	once    sync.Once
}

func (s *stallSink) Write(r *record.Record) error {
	if r.Type == record.TypeEvent {
		s.once.Do(func() { <-s.release })
	}
	return nil
}

func (s *stallSink) Flush() error { return nil }

// lineLog keeps the status lines.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) add(tag, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, "["+tag+"] "+msg)
}

func (l *lineLog) Info(tag, msg string)  { l.add(tag, msg) }
func (l *lineLog) Warn(tag, msg string)  { l.add(tag, msg) }
func (l *lineLog) Debug(tag, msg string) { l.add(tag, msg) }

func (l *lineLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// gatedAuth signs once the gate is closed; the first return closes
// returned.
type gatedAuth struct {
	gate, returned chan struct{}
	once           *sync.Once
}

func (g gatedAuth) Authorize(ctx context.Context, socketID, channel string) (auth.Result, error) {
	defer g.once.Do(func() { close(g.returned) })
	select {
	case <-g.gate:
	case <-ctx.Done():
		return auth.Result{}, ctx.Err()
	}
	return (&auth.Signer{Key: "app-key", Secret: "app-secret"}).Authorize(ctx, socketID, channel)
}

// heldSink is a memSink whose first subscribed record waits for release.
type heldSink struct {
	*memSink
	release chan struct{}
	once    sync.Once
}

func (h *heldSink) Write(r *record.Record) error {
	if r.Type == record.TypeSubscribed {
		h.once.Do(func() { <-h.release })
	}
	return h.memSink.Write(r)
}

// TestCloseWhileASubscribeIsPendingReportsTheClose: the server closes with
// 4100 while a channel's authorization is still out, and the subscribe
// written afterwards fails with "close sent". The session must still end
// with the server's close, marked by a disconnected record with its code,
// not with the failed write. The run loop is held until both the close and
// the authorization are waiting for it, and then picks one at random, so
// the race is run 20 times.
func TestCloseWhileASubscribeIsPendingReportsTheClose(t *testing.T) {
	t.Parallel()
	for i := range 20 {
		gate, returned, closed := make(chan struct{}), make(chan struct{}), make(chan struct{})
		h := hostiletest.Start(t, func(c *hostiletest.Conn) {
			_ = c.Established(`"activity_timeout":30`)
			if c.N > 1 {
				c.Serve()
				return
			}
			c.ConfirmSubscribe() // the public channel
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4100, "over capacity"), time.Now().Add(time.Second))
			_, _, _ = c.ReadMessage() // the client's answer to the close
			close(closed)
		})
		sink := &heldSink{memSink: newSink(), release: make(chan struct{})}
		c := New(Options{URL: h.URL(), Channels: []string{"chat", "private-x"}, Authorizer: gatedAuth{gate, returned, &sync.Once{}}, Sink: sink, ReconnectAttempts: 1})
		c.sleep = (&sleepLog{}).sleep
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		receive(t, closed, "the server's close answered")
		if t.Failed() {
			cancel()
			break // the next runs would wait as long
		}
		close(gate)
		receive(t, returned, "the authorizer returning")
		close(sink.release)
		d := sink.next(t, record.TypeDisconnected)
		assert.Equal(t, 4100, d.Code, "run %d: %s", i, d.Message)
		r := sink.next(t, record.TypeReconnecting)
		assert.Equal(t, 4100, r.Code, "run %d: %s", i, r.Message)
		cancel()
		receive(t, done, "Run returning after cancel")
	}
}
