package record

// Tests that pin the edges mutation testing (scripts/mutation) found
// unguarded: the int32 range of code and attempt, the 40-byte clip of a
// value quoted in an error, ShortEvent on a name that starts with a
// backslash, and when a Writer hands its buffer to the underlying writer.

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecodeIntegerRange: code and attempt accept every int32, the two
// ends included, and nothing beyond.
func TestDecodeIntegerRange(t *testing.T) {
	t.Parallel()
	ok := []struct {
		line string
		want Record
	}{
		{`{"code":2147483647}`, Record{Type: TypeEvent, Code: 2147483647}},
		{`{"code":-2147483648}`, Record{Type: TypeEvent, Code: -2147483648}},
		{`{"attempt":2147483647}`, Record{Type: TypeEvent, Attempt: 2147483647}},
		{`{"attempt":-2147483648}`, Record{Type: TypeEvent, Attempt: -2147483648}},
		{`{"code":2147483646}`, Record{Type: TypeEvent, Code: 2147483646}},
		{`{"code":-2147483647}`, Record{Type: TypeEvent, Code: -2147483647}},
	}
	for _, tt := range ok {
		got, err := Decode([]byte(tt.line))
		if assert.NoError(t, err, tt.line) {
			assert.Equal(t, tt.want, got, tt.line)
		}
	}
	bad := []struct{ line, want string }{
		{`{"code":2147483648}`, "code 2147483648 is not an integer"},
		{`{"code":-2147483649}`, "code -2147483649 is not an integer"},
		{`{"attempt":2147483648}`, "attempt 2147483648 is not an integer"},
		{`{"attempt":-2147483649}`, "attempt -2147483649 is not an integer"},
	}
	for _, tt := range bad {
		_, err := Decode([]byte(tt.line))
		assert.EqualError(t, err, tt.want, tt.line)
	}
}

// TestDecodeErrorClipsLongValues: a value quoted in an error message is
// shown whole up to 40 bytes of raw JSON, and cut to 40 bytes and "..."
// beyond.
func TestDecodeErrorClipsLongValues(t *testing.T) {
	t.Parallel()
	raw := func(n int) string { return `"` + strings.Repeat("y", n-2) + `"` } // n bytes, quotes included
	const tail = ` is not an RFC 3339 time such as "2026-11-26T09:16:54.123Z"`
	tests := []struct {
		n    int
		want string
	}{
		{39, "ts " + raw(39) + tail},
		{40, "ts " + raw(40) + tail},
		{41, "ts " + raw(41)[:40] + "..." + tail},
		{80, "ts " + raw(80)[:40] + "..." + tail},
	}
	for _, tt := range tests {
		_, err := Decode([]byte(`{"ts":` + raw(tt.n) + `}`))
		assert.EqualError(t, err, tt.want, "raw value of %d bytes", tt.n)
	}
}

// TestShortEventLeadingBackslash: a backslash at the very start counts like
// any other, so a fully qualified `\App\Events\X` is X and `\X` is X.
func TestShortEventLeadingBackslash(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`\MessageSent`:            "MessageSent",
		`\App\Events\MessageSent`: "MessageSent",
		`\`:                       "",
		``:                        "",
		`M`:                       "M",
	} {
		assert.Equal(t, want, ShortEvent(in), "ShortEvent(%q)", in)
	}
}

// sizedRecord is a record whose line (AppendJSON, newline included) is
// exactly n bytes.
func sizedRecord(t *testing.T, n int) *Record {
	t.Helper()
	r := &Record{TS: time.Unix(0, 0), Type: TypeEvent, Channel: "c", Event: "e", Data: []byte(`""`)}
	base := len(r.AppendJSON(nil))
	require.GreaterOrEqual(t, n, base)
	r.Data = []byte(`"` + strings.Repeat("x", n-base) + `"`)
	require.Len(t, r.AppendJSON(nil), n)
	return r
}

// TestWriterFlushesAtFlushAt: a Writer keeps lines in its buffer (the
// underlying writer sees nothing) until they reach flushAt bytes, and then
// writes them at once, at exactly flushAt too: for records (Write) and for
// lines passed through (WriteLine).
func TestWriterFlushesAtFlushAt(t *testing.T) {
	t.Parallel()
	t.Run("small records stay buffered until Flush", func(t *testing.T) {
		t.Parallel()
		var out countingWriter
		w := NewWriter(&out)
		r := sizedRecord(t, 100)
		for i := 0; i < 10; i++ {
			require.NoError(t, w.Write(r))
			require.NoError(t, w.WriteLine([]byte(`{"type":"event"}`)))
		}
		assert.Empty(t, out.writes, "nothing reaches the writer below flushAt")
		require.NoError(t, w.Flush())
		assert.Equal(t, []int{10 * (100 + 17)}, out.writes, "one write for everything buffered")
	})
	t.Run("Write at exactly flushAt writes", func(t *testing.T) {
		t.Parallel()
		var out countingWriter
		w := NewWriter(&out)
		require.NoError(t, w.Write(sizedRecord(t, flushAt-1)))
		assert.Empty(t, out.writes, "one byte short of flushAt stays buffered")
		require.NoError(t, w.Flush())

		out.writes = nil
		require.NoError(t, w.Write(sizedRecord(t, flushAt)))
		assert.Equal(t, []int{flushAt}, out.writes, "flushAt bytes are written at once")
	})
	t.Run("WriteLine at exactly flushAt writes", func(t *testing.T) {
		t.Parallel()
		var out countingWriter
		w := NewWriter(&out)
		require.NoError(t, w.WriteLine(bytes.Repeat([]byte("x"), flushAt-2))) // a newline is added
		assert.Empty(t, out.writes, "one byte short of flushAt stays buffered")
		require.NoError(t, w.Flush())

		out.writes = nil
		require.NoError(t, w.WriteLine(bytes.Repeat([]byte("x"), flushAt-1)))
		assert.Equal(t, []int{flushAt}, out.writes, "flushAt bytes are written at once")
	})
}

// TestWriteLineNewline: WriteLine adds a newline only where one is missing,
// so a line read with its newline is written with exactly one, and an empty
// line becomes a bare newline.
func TestWriteLineNewline(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"{\"type\":\"event\"}\n", "{\"type\":\"event\"}\n"},
		{`{"type":"event"}`, "{\"type\":\"event\"}\n"},
		{"{}\r\n", "{}\r\n"},
		{"\n", "\n"},
		{"", "\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		w := NewWriter(&out)
		require.NotPanics(t, func() { require.NoError(t, w.WriteLine([]byte(tt.in))) }, "WriteLine(%q)", tt.in)
		require.NoError(t, w.Flush())
		assert.Equal(t, tt.want, out.String(), "WriteLine(%q)", tt.in)
	}
}
