package pusher

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/record"
)

// Fuzz targets for what any server can send: every text frame goes through
// ParseFrame, and every pusher:error through ErrorData. Run them with
// scripts/fuzz, or one of them with
//
//	go test ./internal/pusher -run '^$' -fuzz '^FuzzParseFrame$' -fuzztime 30s

// fuzzFrames are the seed frames: what Pusher, Soketi and Reverb send for a
// Laravel app, and the hostile frames any server could send.
func fuzzFrames() []string {
	const deepGrowsStack = 10_000_000 // overflows a recursive parser's stack
	return []string{
		"",
		"{}",
		`{"event":"pusher:connection_established","data":"{\"socket_id\":\"123.456\",\"activity_timeout\":30}"}`,
		`{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":1e30}"}`,
		`{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":18446744074}"}`,
		`{"event":"pusher:connection_established","data":{"socket_id":"1.2","activity_timeout":-5}}`,
		`{"event":"pusher:connection_established","data":{"socket_id":"1.2","activity_timeout":"30"}}`,
		`{"event":"pusher:connection_established","data":{"socket_id":"1.2","activity_timeout":1e400}}`,
		`{"event":"pusher_internal:subscription_succeeded","channel":"presence-chat.42","data":"{\"presence\":{\"ids\":[\"8\",\"9\"],\"hash\":{\"8\":{\"name\":\"Ann\"},\"9\":{\"name\":\"Bob\"}},\"count\":2}}"}`,
		`{"event":"pusher_internal:member_added","channel":"presence-chat.42","data":"{\"user_id\":9,\"user_info\":{\"name\":\"Bob\"}}"}`,
		`{"event":"App\\Events\\MessageSent","channel":"private-chat.42","data":"{\"message\":{\"id\":7,\"content\":\"hi\",\"url\":\"https:\\/\\/x\\/y\"}}"}`,
		`{"event":"client-typing","channel":"presence-chat.42","data":{"typing":true},"user_id":"8"}`,
		`{"event":"pusher:error","data":{"code":4001,"message":"App not found"}}`,
		`{"event":"pusher:error","data":"{\"code\":4009,\"message\":\"Connection is unauthorized\"}"}`,
		`{"event":"pusher:error","data":"Invalid signature"}`,
		`{"event":"pusher:error","data":{"code":1e30,"message":"x"}}`,
		`{"event":"pusher:error","data":{"code":18446744074}}`,
		`{"event":"pusher:error","data":{"code":"4200"}}`,
		`{"event":"pusher:pong"}`,
		"{\"event\":\"e\",\"data\":\"{\\n  \\\"a\\\": 1\\r\\n}\"}",
		`{"event":"e","data":null}`,
		`{"event":"e","data":""}`,
		`{"event":"e","channel":{"a":1},"user_id":9}`,
		`[1,2]`,
		`{"event":`,
		// Nesting: past encoding/json's limit, and far past any stack, in
		// the frame and inside the data string.
		`{"event":"e","data":` + strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001) + `}`,
		`{"event":"e","data":"` + strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001) + `"}`,
		`{"event":"e","data":"` + strings.Repeat(`{\"a\":`, 10_001) + "1" + strings.Repeat("}", 10_001) + `"}`,
		strings.Repeat("[", deepGrowsStack),
		strings.Repeat("{", 10_001),
		`{"event":"e","data":` + strings.Repeat("[", deepGrowsStack) + `}`,
		`{"event":"e","data":"` + strings.Repeat("[", deepGrowsStack) + `"}`,
		`{"event":"e","data":"` + strings.Repeat("{", deepGrowsStack) + `"}`,
		// Huge, flat.
		`{"event":"e","data":"{\"text\":\"` + strings.Repeat("x", 3<<20) + `\"}"}`,
		`{"event":"e","data":[` + strings.Repeat("1,", 1<<20) + `1]}`,
		// Invalid UTF-8, in data strings, data objects and names.
		"{\"event\":\"e\",\"data\":\"\xff\xfe\"}",
		"{\"event\":\"e\",\"data\":\"{\\\"m\\\":\\\"\xff\\\"}\"}",
		"{\"event\":\"e\",\"data\":{\"m\":\"\xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80\"}}",
		"{\"event\":\"\xff\",\"channel\":\"\xc0\xaf\",\"user_id\":\"\xe2\x82\"}",
		`{"event":"e","data":"` + strings.Repeat("\xff", 1<<20) + `"}`,
		// Terminal control characters, escaped and raw.
		`{"event":"\u001b[2J\u001b]0;x\u0007","channel":"\u009b31m","data":"{\"m\":\"\u202egnp.exe\"}"}`,
		"{\"event\":\"\x1b]0;x\x07\",\"data\":\"\x1b[31m\"}",
		"{\"event\":\"e\",\"data\":\"\xc2\x9b31m \xe2\x80\xae \xe2\x80\xa8\"}",
		`{"event":"e","data":"\ud800 \udfff \u0000"}`,
	}
}

// fuzzTS is the time of every record the targets build.
var fuzzTS = time.Date(2026, 11, 26, 9, 16, 54, 123456789, time.UTC)

func FuzzParseFrame(f *testing.F) {
	for _, s := range fuzzFrames() {
		if seedWanted(s) {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		fr, err := ParseFrame(msg)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("ParseFrame failed without saying why")
			}
			return
		}
		if fr.Event == "" {
			t.Fatal("ParseFrame accepted a frame without an event")
		}
		if fr.Data != nil {
			if !utf8.Valid(fr.Data) || !json.Valid(fr.Data) {
				t.Fatalf("Frame.Data is not valid UTF-8 JSON: %.300q", fr.Data)
			}
			if bytes.ContainsAny(fr.Data, "\r\n") {
				t.Fatalf("Frame.Data spans lines: %.300q", fr.Data)
			}
		}
		// The record listen writes of this frame, and what replay reads
		// back of it.
		rec := record.Record{TS: fuzzTS, Type: record.TypeEvent, Channel: fr.Channel, Event: fr.Event,
			Data: fr.Data, UserID: fr.UserID, SocketID: "123.456"}
		line := rec.AppendJSON(nil)
		checkLine(t, line)
		back, err := record.Decode(line)
		if err != nil {
			t.Fatalf("replay refuses the record listen writes of this frame: %v\nline: %.300q", err, line)
		}
		want := rec
		for _, s := range []*string{&want.Channel, &want.Event, &want.UserID} {
			*s = replaceInvalid(*s)
		}
		if !back.TS.Equal(want.TS) {
			t.Fatalf("ts %v reads back as %v", want.TS, back.TS)
		}
		want.TS, back.TS = time.Time{}, time.Time{}
		if !reflect.DeepEqual(want, back) {
			t.Fatalf("the record does not read back as written:\nwrote: %+v\nread:  %+v", want, back)
		}
		// The idle time the session would keep: whatever the server says,
		// between a second and the 120s default cap.
		const maxActivity = 120 * time.Second
		if d := activityTimeout(gjson.GetBytes(fr.Data, "activity_timeout"), maxActivity); d < time.Second || d > maxActivity {
			t.Fatalf("activity_timeout %s gives an idle time of %v", gjson.GetBytes(fr.Data, "activity_timeout").Raw, d)
		}
	})
}

func FuzzErrorData(f *testing.F) {
	for _, s := range []string{
		"",
		"null",
		`{"code":4001,"message":"App not found"}`,
		`{"code":null,"message":"Invalid signature"}`,
		`{"code":"4009","message":"Connection is unauthorized"}`,
		`"Connection is unauthorized"`,
		`{"code":4200.5}`,
		`{"code":1e30}`,
		`{"code":-1e30}`,
		`{"code":18446744074}`,
		`{"code":9223372036854775808}`,
		`{"code":"99999999999999999999"}`,
		`{"code":1e400}`,
		`{"code":[4001]}`,
		`{"message":{"a":1}}`,
		`[1,2]`,
		`{"code":`,
		`{"code":4001,"message":"\u001b]0;x\u0007\u001b[2J\u009b\u202e"}`,
		"{\"code\":4001,\"message\":\"\xff\xfe\x1b[31m\"}",
		strings.Repeat("[", 10_001),
		`{"code":4001,"message":` + strings.Repeat("[", 10_001) + `}`,
		`{"message":"` + strings.Repeat("x", 3<<20) + `"}`,
	} {
		if seedWanted(s) {
			f.Add([]byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		code, msg := ErrorData(data)
		// The error record listen writes of it must read back in replay.
		rec := record.Record{TS: fuzzTS, Type: record.TypeError, SocketID: "123.456", Code: code, Message: msg}
		line := rec.AppendJSON(nil)
		checkLine(t, line)
		back, err := record.Decode(line)
		if err != nil {
			t.Fatalf("replay refuses the error record listen writes of %.200q: %v\nline: %.300q", data, err, line)
		}
		if back.Code != code || back.Message != replaceInvalid(msg) {
			t.Fatalf("the error record reads back as code %d %q, want %d %q", back.Code, back.Message, code, msg)
		}
		// Close and error codes are small: a number beyond int32 is not
		// one, whatever it saturates to.
		if code < math.MinInt32 || code > math.MaxInt32 {
			t.Fatalf("ErrorData(%.200q) = code %d, outside any close or error code", data, code)
		}
	})
}

// checkLine fails unless line is exactly one line of valid UTF-8 JSON that
// encoding/json accepts.
func checkLine(t *testing.T, line []byte) {
	t.Helper()
	if len(line) == 0 || line[len(line)-1] != '\n' {
		t.Fatalf("AppendJSON wrote no final newline: %.300q", line)
	}
	body := line[:len(line)-1]
	if i := bytes.IndexAny(body, "\r\n"); i >= 0 {
		t.Fatalf("AppendJSON wrote more than one line (byte %d is %q): %.300q", i, body[i], line)
	}
	if !utf8.Valid(body) {
		t.Fatalf("AppendJSON wrote invalid UTF-8: %.300q", line)
	}
	// Numbers are kept as text: 1e400 is JSON, if no float64.
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil || dec.InputOffset() != int64(len(body)) {
		t.Fatalf("AppendJSON wrote a line encoding/json refuses: %v\nline: %.300q", err, line)
	}
}

// replaceInvalid replaces every byte that is not part of valid UTF-8 with
// U+FFFD, one for each byte, as record.AppendString does.
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
