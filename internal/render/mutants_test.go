package render

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/record"
)

// These tests pin behaviour that gremlins' surviving mutants showed no
// other test looked at (see docs/testing.md for the ones that cannot be
// told apart).

// TestPresenceListStopsAtTen: a presence subscription names at most ten
// members, then "…", however many there are.
func TestPresenceListStopsAtTen(t *testing.T) {
	t.Parallel()
	var hash, names []string
	for i := 1; i <= 12; i++ {
		hash = append(hash, fmt.Sprintf(`"%d":{}`, i))
		if i <= maxMembersShown {
			names = append(names, fmt.Sprintf("user %d", i))
		}
	}
	data := `{"presence":{"count":12,"hash":{` + strings.Join(hash, ",") + `}}}`
	out := renderAll(t, Options{Location: time.UTC}, []*record.Record{
		{TS: t0, Type: record.TypeSubscribed, Channel: "presence-x", Data: []byte(data)},
	})
	assert.Equal(t, "09:16:54.123  presence-x  subscribed    12 members: "+strings.Join(names, ", ")+", …\n", out)

	// Exactly ten: all named, no "…".
	hash, names = hash[:0], names[:0]
	for i := 1; i <= maxMembersShown; i++ {
		hash = append(hash, fmt.Sprintf(`"%d":{"name":"m%d"}`, i, i))
		names = append(names, fmt.Sprintf("m%d", i))
	}
	data = `{"presence":{"count":10,"hash":{` + strings.Join(hash, ",") + `}}}`
	out = renderAll(t, Options{Location: time.UTC}, []*record.Record{
		{TS: t0, Type: record.TypeSubscribed, Channel: "presence-x", Data: []byte(data)},
	})
	assert.Equal(t, "09:16:54.123  presence-x  subscribed    10 members: "+strings.Join(names, ", ")+"\n", out)
}

// TestChannelColumnGrowsToExactlyTheCap: a channel name of exactly
// maxChannelWidth columns still widens the column (later lines line up with
// it); a longer one overflows its own line and leaves the column alone.
func TestChannelColumnGrowsToExactlyTheCap(t *testing.T) {
	t.Parallel()
	at40 := strings.Repeat("c", maxChannelWidth)
	at41 := strings.Repeat("d", maxChannelWidth+1)
	ev := func(ch string) *record.Record {
		return &record.Record{TS: t0, Type: record.TypeEvent, Channel: ch, Event: "A", Data: []byte(`1`)}
	}
	out := renderAll(t, Options{Location: time.UTC}, []*record.Record{ev("x"), ev(at40), ev("x")})
	assert.Equal(t, ""+
		"09:16:54.123  x  A             1\n"+
		"09:16:54.123  "+at40+"  A             1\n"+
		"09:16:54.123  x"+strings.Repeat(" ", maxChannelWidth-1)+"  A             1\n", out)

	out = renderAll(t, Options{Location: time.UTC}, []*record.Record{ev("x"), ev(at41), ev("x")})
	assert.Equal(t, ""+
		"09:16:54.123  x  A             1\n"+
		"09:16:54.123  "+at41+"  A             1\n"+
		"09:16:54.123  x  A             1\n", out)
}

// TestCutNeverSplitsASixByteEscape: when the cut would fall inside a
// sanitized \u202e (its backslash 5 bytes before the cut), the whole escape
// goes, not just its tail.
func TestCutNeverSplitsASixByteEscape(t *testing.T) {
	t.Parallel()
	const prefix = "09:16:54.123  c  Unknown       "
	for _, lead := range []int{minBody - 5, minBody - 6} { // backslash 5 bytes, then 6 bytes, before the cut
		t.Run(fmt.Sprint(lead), func(t *testing.T) {
			t.Parallel()
			d := `"` + strings.Repeat("a", lead) + "\u202e" + strings.Repeat("b", 60) + `"`
			r := &record.Record{TS: t0, Type: record.TypeEvent, Channel: "c", Event: "Unknown", Data: []byte(d)}
			out := renderAll(t, Options{Location: time.UTC, MaxBody: minBody}, []*record.Record{r})
			want := strings.Repeat("a", lead)
			if lead == minBody-6 { // the escape fits whole
				want += `\u202e`
			}
			assert.Equal(t, prefix+want+fmt.Sprintf("… (%d bytes, --wide or --json for all)\n", len(d)), out)
		})
	}
}

// TestReconnectingWithoutAttempt: a reconnecting record with a delay but no
// attempt number shows "in 3s" after the usual two spaces, no more.
func TestReconnectingWithoutAttempt(t *testing.T) {
	t.Parallel()
	out := renderAll(t, Options{Location: time.UTC}, []*record.Record{
		{TS: t0, Type: record.TypeReconnecting, Delay: 3 * time.Second},
		{TS: t0, Type: record.TypeReconnecting, Attempt: 2, Delay: 3 * time.Second},
	})
	assert.Equal(t, ""+
		"09:16:54.123  reconnecting  in 3s\n"+
		"09:16:54.123  reconnecting  attempt 2 in 3s\n", out)
}

// TestEventKindIgnoresCase: an event named in capitals is still a message
// (its content shown, its tag coloured as one), including the A of MESSAGE.
func TestEventKindIgnoresCase(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "hi", body(t, "NEWMESSAGE", `{"content":"hi"}`, ""))
	assert.Equal(t, "hi", body(t, "Message_Arrived", `{"content":"hi"}`, ""))
	assert.Equal(t, "Ann is typing…", body(t, "USER_TYPING", `{"name":"Ann"}`, ""))
	assert.Equal(t, kindMessage, eventKind("CHATMESSAGE"))
	assert.Equal(t, kindOther, eventKind("MESSAG"))
}

// TestCompactJSONEscapes: an escaped quote does not end a string (its
// spaces stay), an escaped backslash does not escape the closing quote, and
// data cut off right after a backslash ends there instead of failing.
func TestCompactJSONEscapes(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, data, want string }{
		{"escaped quote", `{"say": "a \" b c", "n": 1}`, `{"say":"a \" b c","n":1}`},
		{"escaped backslash", `{"path": "C:\\" , "n": 1}`, `{"path":"C:\\","n":1}`},
		{"escaped quote then backslash", `{ "q": "\"\\ x" }`, `{"q":"\"\\ x"}`},
		{"cut after a backslash", `{"a": "x \`, `{"a":"x \`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.NotPanics(t, func() {
				assert.Equal(t, tt.want, body(t, "Other", tt.data, ""))
			})
		})
	}
}

// TestDataWithLeadingWhitespace: a JSON string after whitespace is still
// shown as its text, and data that is only whitespace shows nothing.
func TestDataWithLeadingWhitespace(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, data, want string }{
		{"space", ` "hello"`, `hello`},
		{"newline and tab", "\n\t\r \"hello\"", `hello`},
		{"space before an object", ` {"a": 1}`, `{"a":1}`},
		{"only whitespace", " \n\t", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.NotPanics(t, func() {
				assert.Equal(t, tt.want, body(t, "Note", tt.data, ""))
			})
		})
	}
	t.Run("protocol", func(t *testing.T) {
		t.Parallel()
		assert.NotPanics(t, func() {
			out := renderAll(t, Options{Location: time.UTC}, []*record.Record{
				{TS: t0, Type: record.TypeProtocol, Event: "pusher:x", Data: []byte(` "hi"`)},
				{TS: t0, Type: record.TypeProtocol, Event: "pusher:y", Data: []byte("  ")},
			})
			require.Equal(t, "09:16:54.123  pusher:x      hi\n09:16:54.123  pusher:y\n", out)
		})
	})
}
