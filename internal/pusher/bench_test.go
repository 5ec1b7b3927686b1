package pusher

import (
	"io"
	"testing"
	"time"

	"github.com/amusoft/tmsws/internal/record"
)

// jsonSink is listen --json without filters: records straight to a
// record.Writer.
type jsonSink struct{ w *record.Writer }

func (j jsonSink) Write(r *record.Record) error { return j.w.Write(r) }
func (j jsonSink) Flush() error                 { return j.w.Flush() }

// BenchmarkHandleEvent is the per-frame cost of the listen --json hot path
// after the socket read: parse the frame, decode data once, build the
// record and encode it.
func BenchmarkHandleEvent(b *testing.B) {
	msg := []byte(`{"event":"App\\Events\\MessageSent","channel":"private-chat.42","data":"{\"message\":{\"id\":12345,\"chat_id\":42,\"user_id\":8,\"content\":\"Hello there, how are you doing today?\",\"temp_id\":\"tmp-1732611414-8\",\"created_at\":\"2026-11-26T09:16:54.000000Z\",\"user\":{\"id\":8,\"name\":\"Alice\"}}}"}`)
	c := New(Options{Sink: jsonSink{record.NewWriter(io.Discard)}})
	s := &session{c: c, socketID: "123.456", keys: map[string]*[32]byte{}, members: map[string]map[string][]byte{}}
	fr := frame{ts: time.Now(), data: msg}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := s.handle(fr); err != nil {
			b.Fatal(err)
		}
	}
}
