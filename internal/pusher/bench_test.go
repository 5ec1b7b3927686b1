package pusher

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/render"
)

// jsonSink is listen --json without filters: records straight to a
// record.Writer.
type jsonSink struct{ w *record.Writer }

func (j jsonSink) Write(r *record.Record) error { return j.w.Write(r) }
func (j jsonSink) Flush() error                 { return j.w.Flush() }

// benchFrame is a Laravel MessageSent of about 300 bytes, as Pusher,
// Reverb and Soketi send it: data double-encoded, the event name escaped.
var benchFrame = []byte(`{"event":"App\\Events\\MessageSent","channel":"private-chat.42","data":"{\"message\":{\"id\":12345,\"chat_id\":42,\"user_id\":8,\"content\":\"Hello there, how are you doing today?\",\"temp_id\":\"tmp-1732611414-8\",\"created_at\":\"2026-11-26T09:16:54.000000Z\",\"user\":{\"id\":8,\"name\":\"Alice\"}}}"}`)

// BenchmarkParseFrame is frame decoding alone: ParseFrame (new memory for
// each frame, as the handshake uses it) and the session's reusing parser
// (the hot path).
func BenchmarkParseFrame(b *testing.B) {
	b.Run("ParseFrame", func(b *testing.B) {
		b.SetBytes(int64(len(benchFrame)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseFrame(benchFrame); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Session", func(b *testing.B) {
		p := newFrameParser()
		b.SetBytes(int64(len(benchFrame)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.parse(benchFrame); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchHandle runs frames through a session's handle into sink.
func benchHandle(b *testing.B, sink Sink) {
	c := New(Options{Sink: sink})
	s := &session{c: c, socketID: "123.456", keys: map[string]*[32]byte{}, members: map[string]map[string][]byte{}}
	fr := frame{ts: time.Now(), data: benchFrame}
	b.SetBytes(int64(len(benchFrame)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.handle(fr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandleEvent is the per-frame cost of the listen --json hot path
// after the socket read: parse the frame, decode data once, build the
// record and encode it. Target: 0 allocs/op.
func BenchmarkHandleEvent(b *testing.B) {
	benchHandle(b, jsonSink{record.NewWriter(io.Discard)})
}

// prettySink is listen --pretty: records rendered by render.Pretty.
type prettySink struct{ p *render.Pretty }

func (s prettySink) Write(r *record.Record) error { return s.p.Write(r) }
func (s prettySink) Flush() error                 { return s.p.Flush() }

// BenchmarkHandleEventPretty is BenchmarkHandleEvent for listen --pretty
// --color always. Target: at most 2 allocs/op.
func BenchmarkHandleEventPretty(b *testing.B) {
	benchHandle(b, prettySink{render.NewPretty(io.Discard, render.Options{Color: true, Location: time.UTC, Channels: []string{"private-chat.42"}})})
}

// wireFrame is msg as a server sends it: one unmasked text frame.
func wireFrame(msg []byte) []byte {
	b := []byte{0x81}
	switch n := len(msg); {
	case n < 126:
		b = append(b, byte(n))
	case n < 1<<16:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, msg...)
}

// BenchmarkReadAndHandle is BenchmarkHandleEvent with the socket read in
// front of it: frames come over loopback TCP from a writer that sends
// prebuilt bytes (so the writer allocates nothing itself), are read into
// recycled buffers as the session's reader does, and handled. What it
// allocates beyond BenchmarkHandleEvent is the read path's.
func BenchmarkReadAndHandle(b *testing.B) {
	const perWrite = 64
	batch := bytes.Repeat(wireFrame(benchFrame), perWrite)
	upgraded := make(chan net.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err == nil {
			upgraded <- c.UnderlyingConn()
		}
	}))
	defer srv.Close()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	raw := <-upgraded
	defer raw.Close()

	c := New(Options{Sink: jsonSink{record.NewWriter(io.Discard)}})
	s := &session{c: c, socketID: "123.456", keys: map[string]*[32]byte{}, members: map[string]map[string][]byte{},
		free: make(chan []byte, freeBuffers)}
	wrote := make(chan error, 1)
	b.SetBytes(int64(len(benchFrame)))
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		var err error
		for sent := 0; sent < b.N && err == nil; sent += perWrite {
			_, err = raw.Write(batch)
		}
		wrote <- err
	}()
	for i := 0; i < b.N; i++ {
		_, data, err := readMessage(conn, DefaultMaxFrame, s.free)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.handle(frame{ts: time.Now(), data: data}); err != nil {
			b.Fatal(err)
		}
		s.recycle(data)
	}
	b.StopTimer()
	if err := <-wrote; err != nil {
		b.Fatal(err)
	}
}
