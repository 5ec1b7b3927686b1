package pusher

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/server"
)

// keepSink keeps every record the way Sink allows: the record itself and
// its strings as they are, its Data copied during Write. It also checks,
// during Write, that Data is what the frame carried.
type keepSink struct {
	mu      sync.Mutex
	kept    []record.Record // Data copied
	views   []record.Record // as given: strings kept, Data never read after Write
	badData []string
	want    map[string]string // event name → the data it must carry
	events  chan struct{}
}

func (k *keepSink) Write(r *record.Record) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := *r
	c.Data = bytes.Clone(r.Data)
	k.kept = append(k.kept, c)
	k.views = append(k.views, *r)
	if w, ok := k.want[r.Event]; ok && string(r.Data) != w {
		k.badData = append(k.badData, fmt.Sprintf("%s carried %s during Write, want %s", r.Event, r.Data, w))
	}
	if r.Type == record.TypeEvent || r.Type == record.TypeMemberRemoved {
		k.events <- struct{}{}
	}
	return nil
}

func (k *keepSink) Flush() error { return nil }

// TestRecordsKeptPastWriteStayValid: the session reuses its frame buffers,
// its data scratch and its record from frame to frame. A sink that keeps
// records as Sink allows (the record and its strings as they are, Data
// copied) finds them intact after many more frames, and the Data of a
// record is the frame's while Write runs; presence member data, which the
// session keeps itself, is a copy: member_removed carries the info of
// member_added, however many frames came between. Run under -race, the
// reader goroutine fills recycled buffers while the sink reads.
func TestRecordsKeptPastWriteStayValid(t *testing.T) {
	t.Parallel()
	const n = 200
	k := &keepSink{want: map[string]string{}, events: make(chan struct{}, 2*n+8)}
	for i := range n {
		k.want[fmt.Sprintf(`App\Events\E%d`, i)] = eventData(i)
	}
	h := startTweaked(t, server.Config{}, Options{Channels: []string{"presence-chat.42"}},
		func(c *Client) { c.opts.Sink = k })
	require.NoError(t, h.srv.WaitSubscribed(ctx10(t), "presence-chat.42", 1))

	h.srv.SendRaw(websocket.TextMessage, []byte(`{"event":"pusher_internal:member_added","channel":"presence-chat.42","data":"{\"user_id\":\"9\",\"user_info\":{\"name\":\"Bob\",\"tag\":\"first\"}}"}`))
	for i := range n {
		// Names of every length, data as a JSON string and as an object.
		msg := fmt.Sprintf(`{"event":"App\\Events\\E%d","channel":"private-chat.%d","user_id":"u%d","data":%s}`, i, i%7, i, quoteData(i))
		h.srv.SendRaw(websocket.TextMessage, []byte(msg))
	}
	h.srv.SendRaw(websocket.TextMessage, []byte(`{"event":"pusher_internal:member_removed","channel":"presence-chat.42","data":"{\"user_id\":\"9\"}"}`))
	for range n + 1 {
		<-k.events
	}
	h.cancel()
	_ = h.wait(t)

	k.mu.Lock()
	defer k.mu.Unlock()
	assert.Empty(t, k.badData)
	seen := 0
	for i, r := range k.kept {
		v := k.views[i]
		switch r.Type {
		case record.TypeEvent:
			j := seen
			seen++
			assert.Equal(t, fmt.Sprintf(`App\Events\E%d`, j), v.Event, "a kept event name")
			assert.Equal(t, fmt.Sprintf("private-chat.%d", j%7), v.Channel, "a kept channel name")
			assert.Equal(t, fmt.Sprintf("u%d", j), v.UserID, "a kept user id")
			assert.Equal(t, eventData(j), string(r.Data), "the data copied during Write")
		case record.TypeMemberAdded, record.TypeMemberRemoved:
			assert.Equal(t, "9", v.UserID)
			assert.Equal(t, "presence-chat.42", v.Channel)
			assert.JSONEq(t, `{"name":"Bob","tag":"first"}`, string(r.Data), "%s carries the member's info", r.Type)
		}
	}
	assert.Equal(t, n, seen)
}

// eventData is the data of event i: sizes that vary, so a reused buffer
// would show the tail of another frame.
func eventData(i int) string {
	return fmt.Sprintf(`{"i":%d,"text":"%s"}`, i, bytes.Repeat([]byte{byte('a' + i%26)}, (i*37)%300))
}

// quoteData is eventData on the wire: a JSON string (the Pusher norm) for
// even i, an object for odd.
func quoteData(i int) string {
	if i%2 == 1 {
		return eventData(i)
	}
	return string(record.AppendString(nil, eventData(i)))
}
