package record

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendJSONMatchesContract(t *testing.T) {
	t.Parallel()
	r := Record{
		TS:       time.Date(2026, 11, 26, 9, 16, 54, 123456789, time.UTC),
		Type:     TypeEvent,
		Channel:  "private-chat.42",
		Event:    `App\Events\MessageSent`,
		Data:     []byte(`{"message":{"id":7,"content":"hi"}}`),
		SocketID: "123.456",
	}
	want := `{"ts":"2026-11-26T09:16:54.123456789Z","type":"event","channel":"private-chat.42","event":"App\\Events\\MessageSent","data":{"message":{"id":7,"content":"hi"}},"socket_id":"123.456"}` + "\n"
	assert.Equal(t, want, string(r.AppendJSON(nil)))
}

func TestAppendJSONCache(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 11, 26, 9, 16, 54, 0, time.UTC)
	r := Record{TS: ts, Type: TypeEvent, Channel: "cache-prices", Event: "PriceChanged", Cached: true, Data: []byte(`{"usd":1}`), SocketID: "1.2"}
	assert.Equal(t, `{"ts":"2026-11-26T09:16:54Z","type":"event","channel":"cache-prices","event":"PriceChanged","cached":true,"data":{"usd":1},"socket_id":"1.2"}`+"\n", string(r.AppendJSON(nil)))
	r.Cached = false
	assert.NotContains(t, string(r.AppendJSON(nil)), "cached", "only when true")
	miss := Record{TS: ts, Type: TypeCacheMiss, Channel: "cache-prices", SocketID: "1.2"}
	assert.Equal(t, `{"ts":"2026-11-26T09:16:54Z","type":"cache_miss","channel":"cache-prices","socket_id":"1.2"}`+"\n", string(miss.AppendJSON(nil)))
}

func TestIsDefault(t *testing.T) {
	t.Parallel()
	for _, ty := range []string{TypeEvent, TypeMemberAdded, TypeMemberRemoved, TypeCacheMiss} {
		assert.True(t, (&Record{Type: ty}).IsDefault(), ty)
	}
	for _, ty := range []string{TypeSubscribed, TypeSubscriptionError, TypeConnected, TypeDisconnected, TypeReconnecting, TypeError, TypeProtocol} {
		assert.False(t, (&Record{Type: ty}).IsDefault(), ty)
	}
}

func TestAppendJSONLifecycleAndLocalTime(t *testing.T) {
	t.Parallel()
	loc := time.FixedZone("X", 5*3600)
	r := Record{TS: time.Date(2026, 1, 2, 8, 0, 0, 0, loc), Type: TypeReconnecting, Message: "closed with 4200", Code: 4200, Attempt: 2, Delay: 4500 * time.Millisecond}
	got := r.AppendJSON(nil)
	assert.Equal(t, `{"ts":"2026-01-02T03:00:00Z","type":"reconnecting","message":"closed with 4200","code":4200,"attempt":2,"delay":"4.5s"}`+"\n", string(got))
}

func TestAppendStringEscapes(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"plain", "quote\" back\\slash", "nl\n cr\r tab\t", "ctl\x00\x1b[31m", "ünïcødé ✓ \u2028", "bad \xff utf8"} {
		b := AppendString(nil, s)
		var back string
		require.NoError(t, json.Unmarshal(b, &back), string(b))
		assert.NotContains(t, string(b), "\n")
		if s != "bad \xff utf8" {
			assert.Equal(t, s, back)
		} else {
			assert.Equal(t, "bad \ufffd utf8", back)
		}
	}
}

func TestShortEvent(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "MessageSent", ShortEvent(`App\Events\MessageSent`))
	assert.Equal(t, "client-typing", ShortEvent("client-typing"))
	assert.Equal(t, "", ShortEvent(`App\`))
}

type countingWriter struct {
	bytes.Buffer
	writes []int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes = append(c.writes, len(p))
	return c.Buffer.Write(p)
}

func TestWriterWritesWholeLines(t *testing.T) {
	t.Parallel()
	var out countingWriter
	w := NewWriter(&out)
	r := Record{TS: time.Unix(0, 0), Type: TypeEvent, Channel: "c", Event: "e", Data: bytes.Repeat([]byte("1"), 1000)}
	for i := 0; i < 200; i++ {
		require.NoError(t, w.Write(&r))
	}
	require.NoError(t, w.Flush())
	assert.Greater(t, len(out.writes), 1, "large output is written in several chunks")
	lineLen := len(r.AppendJSON(nil))
	for _, n := range out.writes {
		assert.Zero(t, n%lineLen, "every write ends on a line boundary")
	}
	assert.Equal(t, 200*lineLen, out.Len())
	require.NoError(t, w.WriteLine([]byte(`{"type":"event"}`)))
	require.NoError(t, w.Flush())
	assert.True(t, bytes.HasSuffix(out.Bytes(), []byte("{\"type\":\"event\"}\n")))
}

func BenchmarkAppendJSON(b *testing.B) {
	r := Record{TS: time.Now(), Type: TypeEvent, Channel: "private-chat.42", Event: `App\Events\MessageSent`, Data: []byte(`{"message":{"id":7,"content":"hi","user_id":8}}`), SocketID: "123.456"}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = r.AppendJSON(buf[:0])
	}
}
