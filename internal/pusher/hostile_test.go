package pusher

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/record"
)

// A hostile peer: a WebSocket server written for each test that sends
// whatever the test wants, as an attacker's server would. script runs once
// per connection with its number (1 for the first).

type hostile struct {
	srv   *httptest.Server
	conns atomic.Int32
}

func startHostile(t *testing.T, script func(n int, ws *websocket.Conn)) *hostile {
	t.Helper()
	h := &hostile{}
	up := websocket.Upgrader{}
	var wg sync.WaitGroup
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer ws.Close()
		script(int(h.conns.Add(1)), ws)
	}))
	t.Cleanup(func() {
		h.srv.CloseClientConnections()
		h.srv.Close()
		wg.Wait()
	})
	return h
}

func (h *hostile) url() string {
	return "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/app/app-key?protocol=7"
}

// established greets with a socket id; extra is raw JSON fields of the
// handshake data, e.g. `"activity_timeout":30`.
func established(ws *websocket.Conn, n int, extra string) error {
	data := `{"socket_id":"` + strconv.Itoa(n) + `.1"`
	if extra != "" {
		data += "," + extra
	}
	data += "}"
	return ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:connection_established","data":`+strconv.Quote(data)+`}`))
}

// serveSubscriptions confirms every subscribe and answers pings until the
// client goes away.
func serveSubscriptions(ws *websocket.Conn) {
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		switch gjson.GetBytes(msg, "event").String() {
		case "pusher:subscribe":
			ch := gjson.GetBytes(msg, "data.channel").String()
			_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher_internal:subscription_succeeded","channel":`+strconv.Quote(ch)+`,"data":"{}"}`))
		case "pusher:ping":
			_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:pong","data":{}}`))
		}
	}
}

// readSubscribe waits for the client's subscribe and confirms it.
func readSubscribe(t *testing.T, ws *websocket.Conn) string {
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return ""
		}
		if gjson.GetBytes(msg, "event").String() == "pusher:subscribe" {
			ch := gjson.GetBytes(msg, "data.channel").String()
			_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher_internal:subscription_succeeded","channel":`+strconv.Quote(ch)+`,"data":"{}"}`))
			return ch
		}
	}
}

func event(channel, name, data string) []byte {
	return []byte(`{"event":` + strconv.Quote(name) + `,"channel":` + strconv.Quote(channel) + `,"data":` + strconv.Quote(data) + `}`)
}

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
		<-done
	})
	return sink, done
}

func TestFrameOverTheLimitReconnects(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	huge := bytes.Repeat([]byte("a"), 4*limit)
	h := startHostile(t, func(n int, ws *websocket.Conn) {
		switch n {
		case 1: // the first frame itself is too large
			_ = ws.WriteMessage(websocket.TextMessage, huge)
			_, _, _ = ws.ReadMessage() // the client's 1009 close
		case 2: // a live connection gets one
			_ = established(ws, n, `"activity_timeout":30`)
			readSubscribe(t, ws)
			_ = ws.WriteMessage(websocket.TextMessage, event("chat", "big", `{"blob":"`+string(huge)+`"}`))
			_, _, _ = ws.ReadMessage()
		default:
			_ = established(ws, n, `"activity_timeout":30`)
			readSubscribe(t, ws)
			_ = ws.WriteMessage(websocket.TextMessage, event("chat", "after", `{}`))
			serveSubscriptions(ws)
		}
	})
	sink, _ := runClient(t, h.url(), Options{Channels: []string{"chat"}, MaxFrame: limit})

	r := sink.next(t, record.TypeReconnecting)
	assert.Equal(t, websocket.CloseMessageTooBig, r.Code)
	assert.Contains(t, r.Message, "a frame larger than the 64 KiB limit (--max-frame)")
	d := sink.next(t, record.TypeDisconnected)
	assert.Equal(t, websocket.CloseMessageTooBig, d.Code)
	assert.Contains(t, d.Message, "64 KiB limit (--max-frame)")
	ev := sink.next(t, record.TypeEvent)
	assert.Equal(t, "after", ev.Event, "the oversized event is not delivered; the next one is")
	assert.Equal(t, int32(3), h.conns.Load())
}

// TestDeepNestingIsReportedAndSkipped: 5,000,000 levels of nesting (10 MB,
// under the frame limit) in the frame and inside the data string.
func TestDeepNestingIsReportedAndSkipped(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 5_000_000) + strings.Repeat("]", 5_000_000)
	h := startHostile(t, func(n int, ws *websocket.Conn) {
		_ = established(ws, n, `"activity_timeout":30`)
		readSubscribe(t, ws)
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"e","channel":"chat","data":`+deep+`}`))
		_ = ws.WriteMessage(websocket.TextMessage, event("chat", "e", deep))
		_ = ws.WriteMessage(websocket.TextMessage, event("chat", "fine", `{"ok":true}`))
		serveSubscriptions(ws)
	})
	sink, _ := runClient(t, h.url(), Options{Channels: []string{"chat"}})
	for range 2 {
		r := sink.next(t, record.TypeError, record.TypeEvent)
		require.Equal(t, record.TypeError, r.Type)
		assert.Contains(t, r.Message, "nested deeper than 1000 levels")
		assert.Less(t, len(r.Message), 200, "reported briefly, not quoted")
	}
	r := sink.next(t, record.TypeEvent)
	assert.Equal(t, "fine", r.Event)
	assert.JSONEq(t, `{"ok":true}`, string(r.Data))
	assert.Equal(t, int32(1), h.conns.Load(), "no reconnect: the frames are skipped")
}

func TestInvalidUTF8BecomesReplacementCharacters(t *testing.T) {
	t.Parallel()
	h := startHostile(t, func(n int, ws *websocket.Conn) {
		_ = established(ws, n, `"activity_timeout":30`)
		readSubscribe(t, ws)
		// In a data string that holds JSON, in data as an object, in a
		// data string that is not JSON, and in the event name.
		_ = ws.WriteMessage(websocket.TextMessage, []byte("{\"event\":\"e\",\"channel\":\"chat\",\"data\":\"{\\\"m\\\":\\\"a\xffb\\\"}\"}"))
		_ = ws.WriteMessage(websocket.TextMessage, []byte("{\"event\":\"e\",\"channel\":\"chat\",\"data\":{\"m\":\"c\xc3d\"}}"))
		_ = ws.WriteMessage(websocket.TextMessage, []byte("{\"event\":\"e\",\"channel\":\"chat\",\"data\":\"plain \xfe text\"}"))
		_ = ws.WriteMessage(websocket.TextMessage, []byte("{\"event\":\"e\xff\",\"channel\":\"chat\",\"data\":\"{}\"}"))
		serveSubscriptions(ws)
	})
	sink, _ := runClient(t, h.url(), Options{Channels: []string{"chat"}})
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
			h := startHostile(t, func(n int, ws *websocket.Conn) {
				_ = established(ws, n, tt.raw)
				readSubscribe(t, ws)
				_ = ws.WriteMessage(websocket.TextMessage, event("chat", "works", `{}`))
				serveSubscriptions(ws)
			})
			log := &lineLog{}
			sink, _ := runClient(t, h.url(), Options{Channels: []string{"chat"}, Log: log})
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
	h := startHostile(t, func(n int, ws *websocket.Conn) {
		_ = established(ws, n, `"activity_timeout":30`)
		readSubscribe(t, ws)
		i := 0
		for ; i < frames; i++ {
			_ = ws.SetWriteDeadline(time.Now().Add(time.Second))
			if err := ws.WriteMessage(websocket.TextMessage, event("chat", "e", `{"i":`+strconv.Itoa(i)+`,"b":"`+blob+`"}`)); err != nil {
				break
			}
		}
		written <- i
		_, _, _ = ws.ReadMessage()
	})
	stall := make(chan struct{})
	sink := &stallSink{release: stall}
	c := New(Options{URL: h.url(), Channels: []string{"chat"}, Sink: sink, ReconnectAttempts: 1, MaxFrame: 4 << 20})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		close(stall)
		<-done
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
