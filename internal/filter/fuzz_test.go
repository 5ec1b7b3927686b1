package filter

import (
	"encoding/json"
	"errors"
	"flag"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/record"
)

// FuzzCompile compiles arbitrary -e, --where and --channel flags (one per
// line of each argument) and runs what compiles on an arbitrary record line:
// a malformed flag is a *UsageError, never a panic; matching never panics; a
// glob matches exactly what a plain backtracking matcher over its tokens
// does; without --where a line selects the same way raw (MatchJSON, as
// replay --json runs) and decoded (Match, as listen and replay --pretty
// run), whatever its type; and the record written again as listen writes it
// (record.AppendJSON) selects the same way raw and decoded with --where too,
// member and lifecycle records included. Run it with scripts/fuzz, or with
//
//	go test ./internal/filter -run '^$' -fuzz '^FuzzCompile$' -fuzztime 30s
func FuzzCompile(f *testing.F) {
	const event = `{"ts":"2026-11-26T09:16:54.123Z","type":"event","channel":"private-chat.42","event":"App\\Events\\MessageSent","data":{"message":{"id":7,"content":"hi","user_id":8,"created_at":"2026-11-26T09:16:54.000000Z"}},"socket_id":"123.456"}`
	lines := []string{
		event,
		`{"type":"member_added","channel":"presence-chat.42","user_id":9,"data":{"name":"Bob"}}`,
		`{"ts":"2026-11-26T09:16:55Z","type":"member_removed","channel":"presence-chat.42","user_id":"9","socket_id":"1.2"}`,
		`{"type":"subscribed","channel":"presence-chat.42","event":"pusher_internal:subscription_succeeded","data":{"presence":{"count":2}}}`,
		`{"type":"protocol","event":"pusher:pong","socket_id":"1.2"}`,
		`{"type":"connected","socket_id":"1.2"}`,
		`{"type":"event","channel":"private-chat.42","event":"message.sent","data":{"message":{"user_id":8}}}`,
		`{"event":"client-typing","channel":"presence-chat.42","data":{"typing":true},"user_id":"8"}`,
		`{"event":"e","data":"not json {"}`,
		`{"event":"a","event":"b"}`,
		`{"event":"App\\\\Events\\u005cMessageSent","channel":"` + strings.Repeat("x", 200) + `"}`,
		`{"event":"e","data":{"n":18446744074,"f":1e30,"g":1e400,"id":99999999999999999999}}`,
		`[1,2]`,
		"",
		`{"event":`,
		`{"event":"e","data":` + strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001) + `}`,
		`{"event":"e","data":` + strings.Repeat(`{"a":`, 10_001) + "1" + strings.Repeat("}", 10_001) + `}`,
		`{"event":"e","data":"` + strings.Repeat("[", 100_000) + `"}`,
		`{"event":"e","data":{"text":"` + strings.Repeat("x", 3<<20) + `"}}`,
		"{\"event\":\"\xff\xfe\",\"channel\":\"\xc3\x28\",\"data\":{\"m\":\"\xed\xa0\x80\"}}",
		`{"event":"\u001b]0;x\u0007","channel":"\u009b31m","data":{"m":"\u202egnp.exe"}}`,
		"{\"event\":\"\x1b[2J\",\"data\":\"\xc2\x9b\"}",
	}
	flags := []struct{ events, wheres, channels string }{
		{"", "", ""},
		{"MessageSent", "data.message.user_id=8", "private-chat.*"},
		{`App\Events\*`, "data.message.id>=7\nuser_id!=9", ""},
		{"*Sent\nclient-*", `data.message.content~"^h"`, "presence-*\n*"},
		{"[MU]*", "ts>=2026-11-26T09:00:00Z", "private-chat.[0-9]*"},
		{"member_*", "user_id=9\ndata.name=Bob", "presence-*"},
		{".App\\Events\\MessageSent\n.message.sent", "type=event", ""},
		{"subscribed\npusher:*", "data.presence.count>1", ""},
		{"", "type=member_removed", ""},
		{"", "data.message.user_id=8", ""},
		{"[!a-z]*?", `data.message.created_at<"2027-01-01T00:00:00Z"`, "[^x]"},
		{"", "data.items.#(id>3).name", ""},
		{"", "data.n=18446744074\ndata.f>1e29\ndata.id=99999999999999999999", ""},
		{"", "data", ""},
		{"", "channel='a b'", ""},
		{"[abc", "", ""},
		{"[z-a]", "=1", "[]"},
		{"\xff", "data=>1", "\xc3\x28"},
		{"", "data~(", ""},
		{"", `data="\u`, ""},
		{"", "data='x", ""},
		{"", "data=", ""},
		{strings.Repeat("*a", 1000), strings.Repeat("(", 10_001) + "=1", strings.Repeat("[", 10_001)},
		{"", "data~" + strings.Repeat("(", 10_001) + strings.Repeat(")", 10_001), ""},
		{"", "data~" + strings.Repeat("a{1000}", 10), ""},
		{"\x1b]0;x\x07", "data.m=\u202e", "\u009b"},
	}
	for i, fl := range flags {
		if l := lines[i%len(lines)]; seedWanted(l) {
			f.Add(fl.events, fl.wheres, fl.channels, []byte(l))
		}
	}
	for _, l := range lines {
		if seedWanted(l) {
			f.Add("*", "data", "*", []byte(l))
		}
	}
	f.Fuzz(func(t *testing.T, events, wheres, channels string, line []byte) {
		evs, whs, chs := splitFlag(events), splitFlag(wheres), splitFlag(channels)
		flt, err := CompileWithChannels(chs, evs, whs)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Msg == "" {
				t.Fatalf("CompileWithChannels(%q, %q, %q) = %v (%T), want a *UsageError", chs, evs, whs, err, err)
			}
			if flt != nil {
				t.Fatal("CompileWithChannels returned a filter with its error")
			}
			return
		}
		if _, err := Compile(evs, whs); err != nil {
			t.Fatalf("Compile refuses what CompileWithChannels accepts: %v", err)
		}

		raw := flt.MatchJSON(line)
		if typed := flt.MatchJSONType(line, RecordType(line)); typed != raw {
			t.Fatalf("MatchJSONType = %v, MatchJSON = %v", typed, raw)
		}
		r, derr := record.Decode(line)
		if derr != nil {
			// Not a record: match a record made of its bytes instead.
			r = record.Record{Type: record.TypeEvent, Channel: string(line), Event: string(line), UserID: string(line)}
			if json.Valid(line) { // encoding/json's checker does not recurse
				r.Data = line
			}
		}
		decoded := flt.Match(&r)
		if derr == nil && len(whs) == 0 && !duplicateKeys(line) && decoded != raw {
			t.Fatalf("--json and --pretty disagree: MatchJSON = %v, Match of the decoded record = %v\nline: %.300q", raw, decoded, line)
		}
		if derr == nil {
			// The record as listen writes it (and -o records it): a later
			// replay --json of that line selects what listen selected.
			canon := r.AppendJSON(nil)
			if rc, err := record.Decode(canon); err == nil {
				if raw, decoded := flt.MatchJSON(canon), flt.Match(&rc); raw != decoded {
					t.Fatalf("a written record selects differently raw and decoded: MatchJSON = %v, Match = %v\nline: %.300q", raw, decoded, canon)
				}
			}
		}

		name := string(line)
		if len(name) > 512 {
			name = name[:512]
		}
		for _, gs := range [][]glob{flt.globs, flt.channels} {
			for i := range gs {
				g := &gs[i]
				for _, n := range []string{name, record.ShortEvent(name), g.src} {
					if len(g.toks)*len(n) > 1<<16 {
						continue // too slow for the reference
					}
					if got, want := g.match(n), refMatch(g.toks, n); got != want {
						t.Fatalf("glob %q on %q: match = %v, a backtracking matcher says %v", g.src, n, got, want)
					}
				}
			}
		}
	})
}

// splitFlag turns one fuzz argument into repeated flag values, one a line.
func splitFlag(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// duplicateKeys reports whether the line's top-level object names a key
// twice; readers may then take either value.
func duplicateKeys(line []byte) bool {
	seen := map[string]bool{}
	dup := false
	gjson.ParseBytes(line).ForEach(func(k, _ gjson.Result) bool {
		dup = seen[k.Str]
		seen[k.Str] = true
		return !dup
	})
	return dup
}

// refMatch is the reference for glob.match: the textbook dynamic program
// over (token, byte offset), where a star either matches nothing or one
// more character.
func refMatch(toks []token, name string) bool {
	n := len(name)
	next := make([]int, n+1) // the offset after the character at each offset
	for i := 0; i < n; {
		_, size := utf8.DecodeRuneInString(name[i:])
		next[i] = i + size
		i += size
	}
	// dp[ti][ni]: toks[ti:] matches name[ni:]; only character starts count.
	dp := make([][]bool, len(toks)+1)
	for ti := range dp {
		dp[ti] = make([]bool, n+1)
	}
	dp[len(toks)][n] = true
	for ti := len(toks) - 1; ti >= 0; ti-- {
		t := &toks[ti]
		for ni := n; ni >= 0; ni-- {
			if ni < n && next[ni] == 0 {
				continue // inside a character
			}
			switch t.kind {
			case tokStar:
				dp[ti][ni] = dp[ti+1][ni] || (ni < n && dp[ti][next[ni]])
			case tokLit:
				dp[ti][ni] = strings.HasPrefix(name[ni:], t.lit) && dp[ti+1][ni+len(t.lit)]
			default:
				if ni < n {
					r, _ := utf8.DecodeRuneInString(name[ni:])
					dp[ti][ni] = (t.kind == tokAny || t.classMatches(r)) && dp[ti+1][next[ni]]
				}
			}
		}
	}
	return dp[0][0]
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
