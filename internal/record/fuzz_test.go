package record

import (
	"bytes"
	"encoding/json"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzz targets for the record codec: Decode reads recordings that anyone
// may have written, and AppendJSON/AppendString write what every command
// prints. Run them with scripts/fuzz, or one of them with
//
//	go test ./internal/record -run '^$' -fuzz '^FuzzDecode$' -fuzztime 30s

// fuzzLines are the seed lines shared by the targets of this file: normal
// Laravel-shaped records, and the hostile ones every reader of outside JSON
// must survive.
func fuzzLines() []string {
	const deepGrowsStack = 10_000_000 // overflows a recursive parser's stack
	seeds := []string{
		"",
		" ",
		"\r",
		"{}",
		`{"ts":"2026-11-26T09:16:54.123Z","type":"event","channel":"private-chat.42","event":"App\\Events\\MessageSent","data":{"message":{"id":7,"content":"hi","user_id":8}},"socket_id":"123.456"}`,
		`{"ts":"2026-11-26T09:16:54.123+01:00","type":"member_added","channel":"presence-chat.42","user_id":9,"data":{"name":"Bob"}}`,
		`{"ts":"2026-11-26T09:16:55Z","type":"reconnecting","message":"closed with 4200","code":4200,"attempt":2,"delay":"4.5s"}`,
		`{"type":"event","event":"client-typing","channel":"presence-chat.42","data":{"typing":true},"user_id":"8"}`,
		`{"event":"e","data":"not json {"}`,
		`{"event":"e","data":null,"channel":null}`,
		`[1,2]`,
		`"a string"`,
		`{"event":`,
		`{"ts":"yesterday"}`,
		`{"code":1e30}`,
		`{"code":18446744074}`,
		`{"code":-2147483649}`,
		`{"attempt":4.5}`,
		`{"delay":"9999999999999999h"}`,
		`{"user_id":1e400}`,
		// Nesting: just past encoding/json's limit, and far past any stack.
		`{"event":"e","data":` + strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001) + `}`,
		`{"event":"e","data":` + strings.Repeat(`{"a":`, 10_001) + "1" + strings.Repeat("}", 10_001) + `}`,
		strings.Repeat("[", 10_001),
		strings.Repeat("{", 10_001),
		strings.Repeat("[", deepGrowsStack),
		`{"event":"e","data":` + strings.Repeat("[", deepGrowsStack) + `}`,
		`{"event":"e","data":"` + strings.Repeat("[", deepGrowsStack) + `"}`,
		`{"event":"e","data":"` + strings.Repeat("{", 100_000) + `"}`,
		// Huge, flat.
		`{"event":"e","data":{"text":"` + strings.Repeat("x", 3<<20) + `"}}`,
		`{"event":"e","data":[` + strings.Repeat("1,", 1<<20) + `1]}`,
		// Invalid UTF-8, inside and outside data.
		"{\"event\":\"e\",\"data\":\"\xff\xfe\"}",
		"{\"event\":\"e\",\"data\":{\"m\":\"\xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80\"}}",
		"{\"event\":\"\xff\",\"channel\":\"\xc0\xaf\",\"message\":\"\xe2\x82\"}",
		`{"event":"e","data":"` + strings.Repeat("\xff", 1<<20) + `"}`,
		// Terminal control characters, escaped and raw.
		`{"event":"\u001b[2J\u001b]0;x\u0007","channel":"\u009b31m","data":{"m":"\u202egnp.exe"}}`,
		"{\"event\":\"\x1b]0;x\x07\",\"data\":\"\x1b[31m\"}",
		"{\"event\":\"e\",\"message\":\"\xc2\x9b31m \xe2\x80\xae \xe2\x80\xa8\"}",
		`{"event":"e","message":"\ud800 \udfff \u0000"}`,
		// Line endings inside a line.
		"{\"event\":\"e\",\r\"data\":[1,\r2]}",
		"{\"event\":\"e\"}\r\n",
	}
	return seeds
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzLines() {
		if seedWanted(s) {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		verr := Validate(line)
		r, err := Decode(line)
		if err != nil {
			// The message may quote the line, invalid bytes and all:
			// replay escapes it when it reports the line.
			if err.Error() == "" {
				t.Fatal("Decode failed without saying why")
			}
			return
		}
		if verr != nil {
			t.Fatalf("Decode accepted a line Validate refuses (%v)", verr)
		}
		if r.Type == "" {
			t.Fatal("Decode returned an empty type; a missing type is an event")
		}
		if r.Data != nil && !json.Valid(r.Data) {
			t.Fatalf("Decode kept data that is not JSON: %.200q", r.Data)
		}
		if bytes.ContainsAny(line, "\n") {
			// Replay hands Decode lines split at newlines; a newline in
			// the middle is not one line, and may stay in a raw data value.
			return
		}
		out := r.AppendJSON(nil)
		checkLine(t, out)
		r2, err := Decode(out)
		if err != nil {
			t.Fatalf("Decode refuses the line AppendJSON wrote of a decoded record: %v\nline: %.300q", err, out)
		}
		// What Decode read is what it reads back, with invalid UTF-8 in
		// the string fields turned into U+FFFD.
		want := r
		for _, s := range []*string{&want.Type, &want.Channel, &want.Event, &want.UserID, &want.SocketID, &want.Message} {
			*s = replaceInvalid(*s)
		}
		if !r2.TS.Equal(want.TS) {
			t.Fatalf("ts %v came back as %v", want.TS, r2.TS)
		}
		want.TS, r2.TS = time.Time{}, time.Time{}
		if !reflect.DeepEqual(want, r2) {
			t.Fatalf("decode, encode and decode changed the record:\nfirst:  %+v\nsecond: %+v\nline: %.300q", want, r2, out)
		}
	})
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{
		"", "hello", `App\Events\MessageSent`, "a\"b\\c", "line\nbreak\r\ttab",
		"\x00\x01\x1f\x7f", "\x1b[2J\x1b]0;x\x07", "\u009b31m", "\xc2\x9b", "\u202egnp.exe", "\u2028\u2029",
		"\xff", "\xc3\x28", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "ünïcødé ✓ 😀",
		strings.Repeat("[", 10_001), strings.Repeat("\xff", 1<<20), strings.Repeat("é", 1<<20),
	} {
		if seedWanted(s) {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString([]byte("x"), s)
		if out[0] != 'x' {
			t.Fatal("AppendString overwrote the buffer it appends to")
		}
		out = out[1:]
		if !utf8.Valid(out) {
			t.Fatalf("AppendString(%.200q) = %.200q: not valid UTF-8", s, out)
		}
		for _, c := range out {
			if c < 0x20 {
				t.Fatalf("AppendString(%.200q) = %.200q: raw control byte %#x", s, out, c)
			}
		}
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("AppendString(%.200q) = %.200q: not a JSON string literal: %v", s, out, err)
		}
		if want := replaceInvalid(s); got != want {
			t.Fatalf("AppendString(%.200q) decodes to %.200q, want %.200q", s, got, want)
		}
	})
}

// checkLine fails unless out is exactly one line of valid UTF-8 JSON that
// encoding/json accepts. A carriage return in a raw data value is JSON
// whitespace and no line break for a JSON-lines reader, so it may stay.
func checkLine(t *testing.T, out []byte) {
	t.Helper()
	if len(out) == 0 || out[len(out)-1] != '\n' {
		t.Fatalf("AppendJSON wrote no final newline: %.300q", out)
	}
	body := out[:len(out)-1]
	if i := bytes.IndexByte(body, '\n'); i >= 0 {
		t.Fatalf("AppendJSON wrote more than one line (a newline at byte %d): %.300q", i, out)
	}
	if !utf8.Valid(body) {
		t.Fatalf("AppendJSON wrote invalid UTF-8: %.300q", out)
	}
	// Numbers are kept as text: 1e400 is JSON, if no float64.
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil || dec.InputOffset() != int64(len(body)) {
		t.Fatalf("AppendJSON wrote a line encoding/json refuses: %v\nline: %.300q", err, out)
	}
}

// replaceInvalid replaces every byte that is not part of valid UTF-8 with
// U+FFFD, one for each byte, as AppendString promises.
func replaceInvalid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// seedWanted reports whether a seed joins the corpus. The seeds over
// 128 KiB (the multi-megabyte ones, 10,000,000 levels of nesting) run in
// go test, once each, but stay out while fuzzing: copying, mutating and
// minimizing them would take most of the engine's time, a few hundred
// executions per second instead of thousands.
func seedWanted(s string) bool {
	if len(s) <= 128<<10 {
		return true
	}
	fl := flag.Lookup("test.fuzz")
	return fl == nil || fl.Value.String() == ""
}
