package render

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/record"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/render")

const goldenDir = "../../testdata/render"

var t0 = time.Date(2026, 11, 26, 9, 16, 54, 123456789, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// session is a realistic chat session as listen --show-protocol sees it.
func session() []*record.Record {
	const (
		chat     = "private-chat.42"
		presence = "presence-chat.42"
		sock     = "123.456"
	)
	return []*record.Record{
		{TS: at(0), Type: record.TypeConnected, SocketID: sock},
		{TS: at(41), Type: record.TypeSubscribed, Channel: chat, Data: []byte(`{}`), SocketID: sock},
		{TS: at(45), Type: record.TypeSubscribed, Channel: presence, SocketID: sock,
			Data: []byte(`{"presence":{"count":2,"ids":["8","9"],"hash":{"8":{"name":"Alice"},"9":{}}}}`)},
		{TS: at(1200), Type: record.TypeMemberAdded, Channel: presence, UserID: "42", Data: []byte(`{"name":"Bob"}`), SocketID: sock},
		{TS: at(2301), Type: record.TypeEvent, Channel: presence, Event: "client-typing", UserID: "42",
			Data: []byte(`{"user":{"id":42,"name":"Bob"},"typing":true}`), SocketID: sock},
		{TS: at(3010), Type: record.TypeEvent, Channel: chat, Event: `App\Events\UserIsTyping`,
			Data: []byte(`{"user":{"id":8,"name":"Alice"}}`), SocketID: sock},
		{TS: at(4500), Type: record.TypeEvent, Channel: chat, Event: `App\Events\MessageSent`, SocketID: sock,
			Data: []byte(`{"message":{"id":7,"content":"hi there","user_id":8,"temp_id":"tmp-1","user":{"name":"Alice"}},"user":{"id":8,"name":"Alice"}}`)},
		{TS: at(4502), Type: record.TypeEvent, Channel: chat, Event: `App\Events\UserIsTyping`,
			Data: []byte(`{"user":{"id":8,"name":"Alice"},"typing":false}`), SocketID: sock},
		{TS: at(6100), Type: record.TypeEvent, Channel: chat, Event: `App\Events\MessagesRead`,
			Data: []byte(`{"user_id":9,"message_ids":[5,6,7]}`), SocketID: sock},
		{TS: at(7000), Type: record.TypeEvent, Channel: chat, Event: `App\Events\MessageSent`, SocketID: sock,
			Data: []byte(`{"message":{"id":8,"body":"line one\nline two \u001b[31mred\u001b[0m","user_id":9}}`)},
		{TS: at(7500), Type: record.TypeEvent, Channel: chat, Event: `App\Events\MessageDeleted`,
			Data: []byte(`{ "message_id": 6, "deleted_by": { "id": 9 } }`), SocketID: sock},
		{TS: at(8000), Type: record.TypeEvent, Channel: "public-news", Event: "Announcement",
			Data: []byte(`"maintenance at 22:00"`), SocketID: sock},
		{TS: at(9000), Type: record.TypeProtocol, Event: "pusher:pong", Data: []byte(`{}`), SocketID: sock},
		{TS: at(9500), Type: record.TypeMemberRemoved, Channel: presence, UserID: "42", SocketID: sock},
		{TS: at(10000), Type: record.TypeDisconnected, Message: "server closed the connection", Code: 4200},
		{TS: at(10001), Type: record.TypeReconnecting, Attempt: 1, Delay: 3 * time.Second, Message: "close 4200"},
		{TS: at(13050), Type: record.TypeConnected, SocketID: "123.789"},
		{TS: at(13090), Type: record.TypeSubscriptionError, Channel: "private-chat.99",
			Data: []byte(`{"type":"AuthError","error":"authorize private-chat.99: 403 Forbidden","status":403}`)},
		{TS: at(14000), Type: record.TypeError, Message: "Application is over connection quota", Code: 4004},
		{TS: at(15000), Type: record.TypeSubscribed, Channel: "cache-prices", Data: []byte(`{}`), SocketID: "123.789"},
		{TS: at(15001), Type: record.TypeEvent, Channel: "cache-prices", Event: `App\Events\PriceChanged`, Cached: true,
			Data: []byte(`{"usd":"1.08"}`), SocketID: "123.789"},
		{TS: at(15002), Type: record.TypeSubscribed, Channel: "cache-rates", Data: []byte(`{}`), SocketID: "123.789"},
		{TS: at(15003), Type: record.TypeCacheMiss, Channel: "cache-rates", SocketID: "123.789"},
		{TS: at(16000), Type: record.TypeEvent, Channel: "cache-prices", Event: `App\Events\PriceChanged`,
			Data: []byte(`{"usd":"1.09"}`), SocketID: "123.789"},
	}
}

func renderAll(t testing.TB, opts Options, recs []*record.Record) string {
	var buf bytes.Buffer
	p := NewPretty(&buf, opts)
	for _, r := range recs {
		require.NoError(t, p.Write(r))
	}
	require.NoError(t, p.Flush())
	return buf.String()
}

func TestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		opts Options
	}{
		{"session.golden", Options{Location: time.UTC}},
		{"session_color.golden", Options{Color: true, Location: time.UTC}},
		{"session_socket.golden", Options{ShowSocket: true, Location: time.UTC}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got := renderAll(t, tt.opts, session())
			path := filepath.Join(goldenDir, tt.file)
			if *update {
				require.NoError(t, os.MkdirAll(goldenDir, 0o755))
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./internal/render -update to create it")
			assert.Equal(t, string(want), got)
		})
	}
}

func TestColorOffHasNoEscapes(t *testing.T) {
	t.Parallel()
	out := renderAll(t, Options{Location: time.UTC}, session())
	assert.NotContains(t, out, "\x1b")
	out = renderAll(t, Options{Color: true, Location: time.UTC}, session())
	assert.Contains(t, out, "\x1b[")
}

func TestEveryRecordIsOneLine(t *testing.T) {
	t.Parallel()
	recs := session()
	out := renderAll(t, Options{Color: true, Location: time.UTC}, recs)
	assert.Equal(t, len(recs), strings.Count(out, "\n"))
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		assert.NotContains(t, line, "\r")
		assert.False(t, strings.HasSuffix(line, " "), "trailing space: %q", line)
	}
}

// body renders one event without colour and returns what follows the
// time, channel and tag columns.
func body(t *testing.T, event, data, userID string) string {
	t.Helper()
	r := &record.Record{TS: t0, Type: record.TypeEvent, Channel: "c", Event: event, UserID: userID}
	if data != "" {
		r.Data = []byte(data)
	}
	var buf bytes.Buffer
	require.NoError(t, NewPretty(&buf, Options{Location: time.UTC}).Write(r))
	line := buf.String()
	prefix := "09:16:54.123  c  " + record.ShortEvent(event)
	require.True(t, strings.HasPrefix(line, prefix), "line %q", line)
	require.True(t, strings.HasSuffix(line, "\n"))
	return strings.TrimLeft(strings.TrimSuffix(line[len(prefix):], "\n"), " ")
}

// TestCacheMarks: a cached event carries a dim "cached" before its body
// (and alone when it has none); a miss says so.
func TestCacheMarks(t *testing.T) {
	t.Parallel()
	recs := []*record.Record{
		{TS: t0, Type: record.TypeEvent, Channel: "cache-x", Event: "Price", Cached: true, Data: []byte(`{"usd":1}`)},
		{TS: t0, Type: record.TypeEvent, Channel: "cache-x", Event: "Price", Cached: true},
		{TS: t0, Type: record.TypeEvent, Channel: "cache-x", Event: "Price", Data: []byte(`{"usd":2}`)},
		{TS: t0, Type: record.TypeCacheMiss, Channel: "cache-x"},
	}
	assert.Equal(t, "09:16:54.123  cache-x  Price         cached  {\"usd\":1}\n"+
		"09:16:54.123  cache-x  Price         cached\n"+
		"09:16:54.123  cache-x  Price         {\"usd\":2}\n"+
		"09:16:54.123  cache-x  cache_miss    nothing cached\n", renderAll(t, Options{Location: time.UTC}, recs))
	colored := renderAll(t, Options{Color: true, Location: time.UTC}, recs[:1])
	assert.Contains(t, colored, "\x1b[2mcached\x1b[22m", "dim")
}

func TestEventBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, event, data, userID, want string
	}{
		// MessageSent: sender, content and ids from the likely places
		{"message full", `App\Events\MessageSent`,
			`{"message":{"id":7,"content":"hi","user_id":8,"temp_id":"tmp-1","user":{"name":"Alice"}}}`, "",
			`Alice: hi (id 7, temp_id tmp-1)`},
		{"message top user", "MessageSent", `{"message":{"content":"hi"},"user":{"name":"Bob"}}`, "", `Bob: hi`},
		{"message sender", "MessageSent", `{"message":{"text":"yo","sender":{"name":"Carol"}}}`, "", `Carol: yo`},
		{"message user_name", "MessageSent", `{"message":{"body":"b","user_name":"Dan"}}`, "", `Dan: b`},
		{"message user_id", "MessageSent", `{"message":{"content":"c","user_id":8}}`, "", `user 8: c`},
		{"message no sender", "MessageSent", `{"content":"bare","temp_id":"t-9"}`, "", `bare (temp_id t-9)`},
		{"message only temp id", "MessageSent", `{"message":{"content":"hi there","temp_id":"tmp-1","user":{"name":"alice"}}}`, "",
			`alice: hi there (temp_id tmp-1)`},
		{"message null content falls back", "MessageSent", `{"message":{"content":null,"id":3}}`, "",
			`{"message":{"content":null,"id":3}}`},
		{"message unknown shape falls back", "MessageSent", `{"msg": {"txt": "hi"}}`, "", `{"msg":{"txt":"hi"}}`},
		{"message string data", "MessageSent", `"just text"`, "", `just text`},
		{"message updated uses the same reader", "MessageUpdated", `{"message":{"id":7,"content":"edited"}}`, "",
			`edited (id 7)`},
		// typing
		{"typing on", `App\Events\UserIsTyping`, `{"user":{"name":"Alice"}}`, "", `Alice is typing…`},
		{"typing off", "UserIsTyping", `{"user":{"name":"Alice"},"typing":false}`, "", `Alice stopped typing`},
		{"typing is_typing", "UserIsTyping", `{"user_name":"Eve","is_typing":false}`, "", `Eve stopped typing`},
		{"typing name", "UserIsTyping", `{"name":"Fay","typing":true}`, "", `Fay is typing…`},
		{"typing user_id", "UserIsTyping", `{"user_id":5}`, "", `user 5 is typing…`},
		{"client typing frame user", "client-typing", `{"typing":true}`, "42", `user 42 is typing…`},
		{"client typing nobody", "client-typing", `{}`, "", `someone is typing…`},
		// read receipts
		{"read ids", `App\Events\MessagesRead`, `{"user":{"name":"Alice"},"message_ids":[3,4,5]}`, "", `Alice read 3, 4, 5`},
		{"read ids key", "MessagesRead", `{"user_id":9,"ids":["a","b"]}`, "", `user 9 read a, b`},
		{"read one", "MessagesRead", `{"user_name":"Gus","message_id":12}`, "", `Gus read 12`},
		{"read no ids", "MessagesRead", `{"user":{"name":"Hal"}}`, "", `Hal read messages`},
		{"read unknown falls back", "MessagesRead", `{"chat_id":1}`, "", `{"chat_id":1}`},
		// anything else
		{"other compact", `App\Events\ChatCreated`, "{\n  \"chat\": {\"id\": 1, \"title\": \"a b\"},\n  \"x\": [1, 2]\n}", "",
			`{"chat":{"id":1,"title":"a b"},"x":[1,2]}`},
		{"other string", "Announcement", `"hello \"world\""`, "", `hello "world"`},
		{"other number", "Counter", `42`, "", `42`},
		{"no data", "Ping", ``, "", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, body(t, tt.event, tt.data, tt.userID))
		})
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, event, data, want string
	}{
		{"newline and escape in content", "MessageSent",
			`{"message":{"content":"a\nb\r\tc \u001b[2J\u0007 d\u007f"}}`, `a\nb\r\tc \x1b[2J\x07 d\x7f`},
		{"C1 and bidi controls", "MessageSent",
			`{"message":{"content":"x\u009b31m \u202egnp.exe \u2028y"}}`, `x\u009b31m \u202egnp.exe \u2028y`},
		{"string data", "Note", `"line1\nline2\u001b]0;title\u0007"`, `line1\nline2\x1b]0;title\x07`},
		{"json escapes stay escaped", "Other", `{"a":"\u001b[31m"}`, `{"a":"\u001b[31m"}`},
		{"raw controls in broken json", "Other", "{\"a\":\"\x1b[31m\x00\"}", `{"a":"\x1b[31m\x00"}`},
		{"invalid utf-8 string", "Other", "\"ok \xff\"", "ok \uFFFD"},
		{"invalid utf-8 json", "Other", "{\"a\":\"ok \xff\"}", "{\"a\":\"ok \uFFFD\"}"},
		{"sender name", "MessageSent", `{"message":{"content":"hi","user":{"name":"Eve\u001b[0m\n"}}}`, `Eve\x1b[0m\n: hi`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, body(t, tt.event, tt.data, ""))
		})
	}

	t.Run("channel and event names", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		p := NewPretty(&buf, Options{Location: time.UTC})
		require.NoError(t, p.Write(&record.Record{TS: t0, Type: record.TypeEvent,
			Channel: "evil\x1b[2J", Event: "App\\Events\\Na\nme\x1b", Data: []byte(`1`)}))
		assert.Equal(t, `09:16:54.123  evil\x1b[2J  Na\nme\x1b    1`+"\n", buf.String())
	})
}

func TestMembersAndLifecycle(t *testing.T) {
	t.Parallel()
	// Tags are padded to the width of UserIsTyping from the start.
	tests := []struct {
		name string
		rec  record.Record
		want string
	}{
		{"joined", record.Record{Type: record.TypeMemberAdded, Channel: "p", UserID: "42", Data: []byte(`{"name": "Alice"}`)},
			`09:16:54.123  p  → joined      Alice (user 42)`},
		{"joined with more info", record.Record{Type: record.TypeMemberAdded, Channel: "p", UserID: "42", Data: []byte(`{"name":"Alice","role":"admin"}`)},
			`09:16:54.123  p  → joined      Alice (user 42) {"name":"Alice","role":"admin"}`},
		{"joined with info but no name", record.Record{Type: record.TypeMemberAdded, Channel: "p", UserID: "42", Data: []byte(`{"role":"admin"}`)},
			`09:16:54.123  p  → joined      user 42 {"role":"admin"}`},
		{"left with a known name", record.Record{Type: record.TypeMemberRemoved, Channel: "p", UserID: "42", Data: []byte(`{"name":"Alice"}`)},
			`09:16:54.123  p  ← left        Alice (user 42)`},
		{"joined without info", record.Record{Type: record.TypeMemberAdded, Channel: "p", UserID: "42"},
			`09:16:54.123  p  → joined      user 42`},
		{"left", record.Record{Type: record.TypeMemberRemoved, Channel: "p", UserID: "42"},
			`09:16:54.123  p  ← left        user 42`},
		{"connected", record.Record{Type: record.TypeConnected, SocketID: "1.2"},
			`09:16:54.123  connected     socket 1.2`},
		{"subscribed", record.Record{Type: record.TypeSubscribed, Channel: "c", Data: []byte(`{}`)},
			`09:16:54.123  c  subscribed`},
		{"subscribed presence", record.Record{Type: record.TypeSubscribed, Channel: "p",
			Data: []byte(`{"presence":{"count":1,"hash":{"8":{"name":"Al"}}}}`)},
			`09:16:54.123  p  subscribed    1 member: Al`},
		{"subscription error message", record.Record{Type: record.TypeSubscriptionError, Channel: "c",
			Message: "auth refused", Code: 403}, `09:16:54.123  c  subscription_error  auth refused (code 403)`},
		{"subscription error data", record.Record{Type: record.TypeSubscriptionError, Channel: "c",
			Data: []byte(`{"error":"nope","status":401}`)}, `09:16:54.123  c  subscription_error  nope (code 401)`},
		{"subscription error odd data", record.Record{Type: record.TypeSubscriptionError, Channel: "c",
			Data: []byte(`{"x":1}`)}, `09:16:54.123  c  subscription_error  {"x":1}`},
		{"reconnecting", record.Record{Type: record.TypeReconnecting, Attempt: 2, Delay: 1500 * time.Millisecond, Message: "EOF"},
			`09:16:54.123  reconnecting  attempt 2 in 1.5s: EOF`},
		{"disconnected", record.Record{Type: record.TypeDisconnected, Code: 1006},
			`09:16:54.123  disconnected  (code 1006)`},
		{"error", record.Record{Type: record.TypeError, Message: "bad\nthing", Code: 4001},
			`09:16:54.123  error         bad\nthing (code 4001)`},
		{"protocol", record.Record{Type: record.TypeProtocol, Event: "pusher:ping", Data: []byte(`{ }`)},
			`09:16:54.123  pusher:ping   {}`},
		{"protocol string data", record.Record{Type: record.TypeProtocol, Event: "pusher:error", Data: []byte(`"x"`)},
			`09:16:54.123  pusher:error  x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.rec
			r.TS = t0
			var buf bytes.Buffer
			require.NoError(t, NewPretty(&buf, Options{Location: time.UTC}).Write(&r))
			assert.Equal(t, tt.want+"\n", buf.String())
		})
	}
}

func TestStableChannelColour(t *testing.T) {
	t.Parallel()
	names := []string{"private-chat.42", "private-chat.43", "presence-chat.42", "public-news", "private-chat.1"}
	a := newStyles(true)
	b := newStyles(true)
	seen := map[string]bool{}
	for _, n := range names {
		assert.Equal(t, a.channel(n), a.channel(n), "same Pretty, same name")
		assert.Equal(t, a.channel(n), b.channel(n), "another Pretty, same name")
		assert.NotEmpty(t, a.channel(n).pre)
		seen[a.channel(n).pre] = true
	}
	assert.NotEqual(t, a.channel("private-chat.42"), a.channel("private-chat.43"))
	assert.Greater(t, len(seen), 2, "names spread over the palette")

	// In the output too: every line of a channel starts its name with the
	// same sequence.
	var buf bytes.Buffer
	p := NewPretty(&buf, Options{Color: true, Location: time.UTC})
	for i := 0; i < 3; i++ {
		for _, n := range names[:2] {
			require.NoError(t, p.Write(&record.Record{TS: t0, Type: record.TypeEvent, Channel: n, Event: "E"}))
		}
	}
	out := buf.String()
	assert.Equal(t, 3, strings.Count(out, a.channel(names[0]).pre+names[0]))
	assert.Equal(t, 3, strings.Count(out, a.channel(names[1]).pre+names[1]))

	off := newStyles(false)
	assert.Equal(t, style{}, off.channel(names[0]))
	assert.Equal(t, style{}, off.kinds[kindError])
}

func TestTagColourByKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rec  record.Record
		want kind
	}{
		{record.Record{Type: record.TypeEvent, Event: `App\Events\MessageSent`}, kindMessage},
		{record.Record{Type: record.TypeEvent, Event: `App\Events\MessageDeleted`}, kindMessage},
		{record.Record{Type: record.TypeEvent, Event: `App\Events\UserIsTyping`}, kindTyping},
		{record.Record{Type: record.TypeEvent, Event: `client-typing`}, kindTyping},
		{record.Record{Type: record.TypeEvent, Event: `App\Events\MessagesRead`}, kindRead},
		{record.Record{Type: record.TypeEvent, Event: `client-message-read`}, kindRead},
		{record.Record{Type: record.TypeEvent, Event: `ChatCreated`}, kindOther},
		{record.Record{Type: record.TypeMemberAdded}, kindMember},
		{record.Record{Type: record.TypeMemberRemoved}, kindMember},
		{record.Record{Type: record.TypeError}, kindError},
		{record.Record{Type: record.TypeSubscriptionError}, kindError},
		{record.Record{Type: record.TypeConnected}, kindLifecycle},
		{record.Record{Type: record.TypeProtocol}, kindLifecycle},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, kindOf(&tt.rec), "%s %s", tt.rec.Type, tt.rec.Event)
	}
	st := newStyles(true)
	distinct := map[style]bool{}
	for k := kind(0); k < kindCount; k++ {
		distinct[st.kinds[k]] = true
	}
	assert.Len(t, distinct, int(kindCount), "each kind has its own colour")
}

func TestColumnsAlign(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := NewPretty(&buf, Options{Location: time.UTC})
	require.NoError(t, p.Write(&record.Record{TS: t0, Type: record.TypeEvent, Channel: "presence-chat.42", Event: "UserIsTyping", Data: []byte(`{}`)}))
	require.NoError(t, p.Write(&record.Record{TS: t0, Type: record.TypeEvent, Channel: "c", Event: "E", Data: []byte(`1`)}))
	require.NoError(t, p.Write(&record.Record{TS: t0, Type: record.TypeEvent, Channel: strings.Repeat("x", 60), Event: "E", Data: []byte(`2`)}))
	require.NoError(t, p.Write(&record.Record{TS: t0, Type: record.TypeEvent, Channel: "c", Event: "E", Data: []byte(`3`)}))
	assert.Equal(t, ""+
		"09:16:54.123  presence-chat.42  UserIsTyping  someone is typing…\n"+
		"09:16:54.123  c                 E             1\n"+
		"09:16:54.123  "+strings.Repeat("x", 60)+"  E             2\n"+ // too wide to set the width
		"09:16:54.123  c                 E             3\n", buf.String())
}

func TestLocation(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	tashkent := time.FixedZone("UZT", 5*3600)
	require.NoError(t, NewPretty(&buf, Options{Location: tashkent}).Write(&record.Record{TS: t0, Type: record.TypeConnected}))
	assert.Equal(t, "14:16:54.123  connected\n", buf.String())
}

type flushWriter struct {
	bytes.Buffer
	flushed int
	err     error
}

func (f *flushWriter) Flush() error { f.flushed++; return f.err }

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestFlushAndErrors(t *testing.T) {
	t.Parallel()
	fw := &flushWriter{}
	p := NewPretty(fw, Options{})
	require.NoError(t, p.Flush())
	assert.Equal(t, 1, fw.flushed)
	fw.err = errors.New("disk full")
	err := p.Flush()
	require.Error(t, err)
	assert.ErrorIs(t, err, fw.err)

	require.NoError(t, NewPretty(&bytes.Buffer{}, Options{}).Flush(), "a writer without Flush")

	err = NewPretty(failWriter{}, Options{}).Write(&record.Record{Type: record.TypeConnected})
	require.Error(t, err)
	assert.ErrorIs(t, err, io.ErrClosedPipe)
	assert.Contains(t, err.Error(), "write output")
}

func BenchmarkPretty(b *testing.B) {
	recs := session()
	for _, c := range []struct {
		name  string
		color bool
	}{{"NoColor", false}, {"Color", true}} {
		b.Run(c.name, func(b *testing.B) {
			p := NewPretty(io.Discard, Options{Color: c.color, Location: time.UTC})
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				for _, r := range recs {
					if err := p.Write(r); err != nil {
						b.Fatal(err)
					}
				}
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
			// Target: at most 2 per record (issue 13).
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N*len(recs)), "allocs/record")
		})
	}
}

func TestKnownChannelsAlignFromTheFirstLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := NewPretty(&buf, Options{Location: time.UTC, Channels: []string{"chat", "presence-chat.42"}})
	ts := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	require.NoError(t, p.Write(&record.Record{TS: ts, Type: record.TypeEvent, Channel: "chat", Event: "A", Data: []byte(`{}`)}))
	require.NoError(t, p.Write(&record.Record{TS: ts, Type: record.TypeEvent, Channel: "presence-chat.42", Event: "B", Data: []byte(`{}`)}))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, strings.Index(lines[1], "B"), strings.Index(lines[0], "A"), "the tag column lines up:\n%s", buf.String())
}

// TestLongBodiesAreCut: with MaxBody, a body longer than that many columns
// is cut and says how large the data was; without it nothing is cut.
func TestLongBodiesAreCut(t *testing.T) {
	t.Parallel()
	data := `{"blob":"` + strings.Repeat("é", 6000) + `"}` // 12,011 bytes, 6,011 runes
	rec := func() *record.Record {
		return &record.Record{TS: t0, Type: record.TypeEvent, Channel: "c", Event: "Unknown", Data: []byte(data)}
	}
	const prefix = "09:16:54.123  c  Unknown       "

	out := renderAll(t, Options{Location: time.UTC, MaxBody: 320}, []*record.Record{rec()})
	require.True(t, strings.HasPrefix(out, prefix), out)
	body := strings.TrimSuffix(out[len(prefix):], "\n")
	assert.Equal(t, `{"blob":"`+strings.Repeat("é", 320-9)+"… (11.7 KB, --wide or --json for all)", body)
	assert.True(t, utf8.ValidString(out), "no UTF-8 sequence is split")

	assert.Equal(t, prefix+data+"\n", renderAll(t, Options{Location: time.UTC}, []*record.Record{rec()}), "MaxBody 0: never cut")

	short := &record.Record{TS: t0, Type: record.TypeEvent, Channel: "c", Event: "Unknown", Data: []byte(`{"a":1}`)}
	assert.Equal(t, prefix+`{"a":1}`+"\n", renderAll(t, Options{Location: time.UTC, MaxBody: 320}, []*record.Record{short}))

	t.Run("exactly the limit is not cut", func(t *testing.T) {
		t.Parallel()
		d := `"` + strings.Repeat("x", 100) + `"`
		r := &record.Record{TS: t0, Type: record.TypeEvent, Channel: "c", Event: "Unknown", Data: []byte(d)}
		assert.Equal(t, prefix+strings.Repeat("x", 100)+"\n", renderAll(t, Options{Location: time.UTC, MaxBody: 100}, []*record.Record{r}))
		r.Data = []byte(`"` + strings.Repeat("x", 101) + `"`)
		assert.Equal(t, prefix+strings.Repeat("x", 100)+"… (103 bytes, --wide or --json for all)\n",
			renderAll(t, Options{Location: time.UTC, MaxBody: 100}, []*record.Record{r}))
	})

	t.Run("never inside an escape", func(t *testing.T) {
		t.Parallel()
		// The data's ESC shows as the four characters \x1b; a cut that
		// falls inside them keeps none of them.
		d := `"` + strings.Repeat("x", 48) + "\x1b[31m" + strings.Repeat("y", 60) + `"`
		r := &record.Record{TS: t0, Type: record.TypeEvent, Channel: "c", Event: "Unknown", Data: []byte(d)}
		out := renderAll(t, Options{Location: time.UTC, MaxBody: 50}, []*record.Record{r})
		assert.Equal(t, prefix+strings.Repeat("x", 48)+"… (115 bytes, --wide or --json for all)\n", out)

		// Colour sequences count for nothing and are closed after the cut.
		msg := `{"message":{"content":"` + strings.Repeat("z", 200) + `","user":{"name":"Alice"}}}`
		r = &record.Record{TS: t0, Type: record.TypeEvent, Channel: "c", Event: "MessageSent", Data: []byte(msg)}
		out = renderAll(t, Options{Location: time.UTC, Color: true, MaxBody: 60}, []*record.Record{r})
		st := newStyles(true)
		want := st.bold.pre + "Alice" + st.bold.post + ": " + strings.Repeat("z", 60-7) + "\x1b[0m" +
			st.faint.pre + "… (250 bytes, --wide or --json for all)" + st.faint.post + "\n"
		assert.True(t, strings.HasSuffix(out, want), "%q", out)
	})

	t.Run("a tiny limit still leaves something", func(t *testing.T) {
		t.Parallel()
		out := renderAll(t, Options{Location: time.UTC, MaxBody: 1}, []*record.Record{rec()})
		assert.Contains(t, out, `{"blob":"`+strings.Repeat("é", minBody-9)+"… (")
	})
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 4*120, BodyLimit(120))
	assert.Equal(t, 4*80, BodyLimit(0), "80 columns when the width is unknown")
}

func TestAppendSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0 bytes", 1023: "1023 bytes", 1024: "1.0 KB", 12595: "12.3 KB", 5 << 20: "5.0 MB"} {
		assert.Equal(t, want, string(appendSize(nil, n)))
	}
}

// TestRecordWithoutTime: a record read without ts shows dashes, as wide as
// a time, instead of midnight.
func TestRecordWithoutTime(t *testing.T) {
	t.Parallel()
	out := renderAll(t, Options{Location: time.UTC}, []*record.Record{
		{Type: record.TypeEvent, Channel: "c", Event: "A", Data: []byte(`1`)},
		{TS: t0, Type: record.TypeEvent, Channel: "c", Event: "B", Data: []byte(`2`)},
	})
	assert.Equal(t, ""+
		"--:--:--      c  A             1\n"+
		"09:16:54.123  c  B             2\n", out)
}

// TestEventColumnNeverWidens: a long event name overflows its own line; the
// lines after it keep the column where it was.
func TestEventColumnNeverWidens(t *testing.T) {
	t.Parallel()
	out := renderAll(t, Options{Location: time.UTC}, []*record.Record{
		{TS: t0, Type: record.TypeEvent, Channel: "c", Event: "MessageSent", Data: []byte(`1`)},
		{TS: t0, Type: record.TypeEvent, Channel: "c", Event: `App\Events\ConversationParticipantAdded`, Data: []byte(`2`)},
		{TS: t0, Type: record.TypeEvent, Channel: "c", Event: "MessageSent", Data: []byte(`3`)},
		{TS: t0, Type: record.TypeEvent, Channel: "c", Event: "MessageDeleted", Data: []byte(`4`)},
		{TS: t0, Type: record.TypeEvent, Channel: "c", Event: "MessageSent", Data: []byte(`5`)},
	})
	assert.Equal(t, ""+
		"09:16:54.123  c  MessageSent   1\n"+
		"09:16:54.123  c  ConversationParticipantAdded  2\n"+
		"09:16:54.123  c  MessageSent   3\n"+
		"09:16:54.123  c  MessageDeleted  4\n"+
		"09:16:54.123  c  MessageSent   5\n", out)
}
