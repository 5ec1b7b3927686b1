package render

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/record"
)

// lookupPaths are the paths the renderer reads, and some beyond them.
var lookupPaths = []string{
	"message.content", "message.body", "message.text", "content",
	"message.user.name", "user.name", "message.sender.name", "message.user_name", "message.user_id",
	"message.id", "id", "message.temp_id", "temp_id", "user_name", "name", "user_id", "user.id",
	"typing", "is_typing", "message_ids", "ids", "message_id", "a.b.c.d", "", ".", "a.", ".a",
}

// lookupDocs are data documents of every shape: Laravel's escapes,
// duplicate and escaped keys, arrays on the way, values of every type,
// documents that are not JSON (a file can hold anything).
var lookupDocs = []string{
	`{"message":{"id":7,"content":"hi there","user_id":8,"temp_id":"tmp-1","user":{"name":"Alice"}},"user":{"id":8,"name":"Alice"}}`,
	`{"message":{"id":8,"body":"line one\nline two \u001b[31mred\u001b[0m","user_id":9}}`,
	`{"message":{"content":"Sch\u00f6n, see https:\/\/example.com\/x \ud83d\ude00 \ud83d \\ \"q\"","user":{"name":"J\u00fcrgen"}}}`,
	` { "message" : { "content" : "a" , "content" : "b" } , "message" : {"content":"c"} } `,
	`{"mes\u0073age":{"content":"escaped key"},"message":{"content":"plain"}}`,
	`{"message":{"con\"tent":"x","content":"y"}}`,
	`{"message":["content",{"content":"in an array"}],"content":null}`,
	`{"message":"just a string","content":""}`,
	`{"typing":false,"is_typing":true,"message_ids":[5,6,7],"ids":{"a":1},"id":1.5e3,"user_id":-0}`,
	`{"name":true,"user_name":{"first":"A"},"temp_id":[],"user":{"id":null}}`,
	`{"a":{"b":{"c":{"d":"deep"}}}}`,
	`{"":{"":"empty keys"}}`,
	`{"":{},"":{"":""}}`,
	`{"message":{"id":1},"message":{"content":"under the second"}}`,
	`[{"message":{"content":"top-level array"}}]`,
	`"a string"`, `12`, `null`, ``, `{`, `{"message":`, `{"message":{"content":"unterminated`,
	`{"message" "content"}`, `{"message":{"content":1,}}`, "{\"message\":{\"content\":\"\xff\xfe\"}}",
}

// checkGet fails when p.get disagrees with gjson.Get on data and path.
func checkGet(t *testing.T, p *Pretty, data, path string) {
	t.Helper()
	want := gjson.Get(data, path)
	p.text = p.text[:0]
	got := p.get(data, path)
	if got.Type != want.Type || got.Str != want.Str || got.Raw != want.Raw || got.Num != want.Num || got.Exists() != want.Exists() {
		t.Fatalf("get(%q, %q) = %#v, gjson.Get = %#v", data, path, got, want)
	}
}

func TestGetAgreesWithGJSON(t *testing.T) {
	t.Parallel()
	p := NewPretty(io.Discard, Options{})
	for _, d := range lookupDocs {
		for _, path := range lookupPaths {
			checkGet(t, p, d, path)
		}
		if n, ok := countKeys(d); ok {
			if want := gjson.Get(d, "@keys.#").Int(); int64(n) != want {
				t.Fatalf("countKeys(%q) = %d, want %d", d, n, want)
			}
		}
	}
}

// FuzzGet checks get against gjson.Get on any document, for the paths the
// renderer reads, and that a whole Write of it does not fail.
//
//	go test ./internal/render -run '^$' -fuzz '^FuzzGet$' -fuzztime 30s
func FuzzGet(f *testing.F) {
	for _, d := range lookupDocs {
		f.Add(d)
	}
	p := NewPretty(io.Discard, Options{})
	f.Fuzz(func(t *testing.T, data string) {
		if !gjson.Valid(data) {
			// gjson's answers on text that is not JSON are its own;
			// get need only be safe there.
			for _, path := range lookupPaths {
				p.get(data, path)
			}
			return
		}
		for _, path := range lookupPaths {
			checkGet(t, p, data, path)
		}
		if n, ok := countKeys(data); ok {
			if want := gjson.Get(data, "@keys.#").Int(); int64(n) != want {
				t.Fatalf("countKeys(%q) = %d, want %d", data, n, want)
			}
		}
	})
}

// TestPrettyAllocatesAtMostTwicePerRecord: a chat line of a Laravel
// payload, whose strings json_encode escapes ("/" and every non-ASCII
// letter), costs no allocation, and no record of the sample session more
// than two (issue 13's target for the pretty path).
func TestPrettyAllocatesAtMostTwicePerRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	p := NewPretty(io.Discard, Options{Color: true, Location: time.UTC})
	laravel := &record.Record{TS: t0, Type: record.TypeEvent, Channel: "private-chat.42", Event: `App\Events\MessageSent`,
		Data: []byte(`{"message":{"id":12345,"content":"Sch\u00f6n, see https:\/\/example.com\/x","temp_id":"tmp-1","user":{"id":8,"name":"J\u00fcrgen"}}}`)}
	if n := testing.AllocsPerRun(100, func() { _ = p.Write(laravel) }); n != 0 {
		t.Errorf("a Laravel MessageSent costs %.0f allocations, want 0", n)
	}
	var out strings.Builder
	q := NewPretty(&out, Options{Location: time.UTC})
	_ = q.Write(laravel)
	if !strings.Contains(out.String(), "Jürgen: Schön, see https://example.com/x") {
		t.Errorf("the escapes are not decoded: %q", out.String())
	}
	for _, r := range session() {
		if n := testing.AllocsPerRun(20, func() { _ = p.Write(r) }); n > 2 {
			t.Errorf("%s %s costs %.0f allocations, want at most 2", r.Type, r.Event, n)
		}
	}
}
