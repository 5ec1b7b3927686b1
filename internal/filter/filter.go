// Package filter selects records with the --event globs and --where
// conditions of the CLI contract. A Filter is compiled once from the flags
// and then run on every record, so matching avoids allocating.
//
// The rule: --event and --where apply to records of type "event" only. Every
// other record (member_added, member_removed, and with --show-protocol the
// connection lifecycle and protocol records) passes untouched, so presence
// changes and status lines are never hidden by a filter meant for events.
package filter

import (
	"time"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/record"
)

// UsageError is a malformed --event pattern or --where condition: bad usage,
// exit code 2. Msg says what is wrong and shows the right form.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Filter is a compiled set of --event patterns (any may match) and --where
// conditions (all must hold). The zero value and a nil *Filter match
// everything. A Filter is safe for concurrent use.
type Filter struct {
	globs []glob
	conds []cond
}

// Compile parses the --event patterns and --where conditions. Malformed
// input returns a *UsageError.
func Compile(events []string, wheres []string) (*Filter, error) {
	f := &Filter{}
	for _, p := range events {
		g, err := compileGlob(p)
		if err != nil {
			return nil, err
		}
		f.globs = append(f.globs, g)
	}
	for _, w := range wheres {
		c, err := compileCond(w)
		if err != nil {
			return nil, err
		}
		f.conds = append(f.conds, c)
	}
	return f, nil
}

// Empty reports whether the filter has no patterns and no conditions, so
// every record passes.
func (f *Filter) Empty() bool {
	return f == nil || (len(f.globs) == 0 && len(f.conds) == 0)
}

// Match reports whether r passes the filter. Records whose Type is not
// "event" always pass (see the package comment).
func (f *Filter) Match(r *record.Record) bool {
	if f.Empty() || r.Type != record.TypeEvent {
		return true
	}
	if !f.matchEvent(r.Event) {
		return false
	}
	var whole string // the record as JSON, built at most once, for rare paths
	for i := range f.conds {
		c := &f.conds[i]
		var v operand
		switch c.src {
		case srcData:
			if r.Data != nil {
				if c.sub == "" {
					v = fromResult(gjson.Parse(bytesString(r.Data)))
				} else {
					v = fromResult(gjson.Get(bytesString(r.Data), c.sub))
				}
			}
		case srcChannel:
			v = fromField(r.Channel)
		case srcEvent:
			v = fromField(r.Event)
		case srcType:
			v = fromField(r.Type)
		case srcUserID:
			v = fromField(r.UserID)
		case srcSocketID:
			v = fromField(r.SocketID)
		case srcTS:
			var b [40]byte
			v = fromField(string(r.TS.UTC().AppendFormat(b[:0], time.RFC3339Nano)))
		default:
			if whole == "" {
				whole = string(r.AppendJSON(nil))
			}
			v = fromResult(gjson.Get(whole, c.path))
		}
		if !c.holds(v) {
			return false
		}
	}
	return true
}

// MatchJSON is Match for a raw JSON record line, as replay reads them. A
// line without "type" is an event, as the contract says.
func (f *Filter) MatchJSON(line []byte) bool {
	if f.Empty() {
		return true
	}
	s := bytesString(line)
	if t := gjson.Get(s, "type"); t.Exists() && t.String() != record.TypeEvent {
		return true
	}
	if len(f.globs) > 0 {
		var buf [128]byte
		if !f.matchEvent(eventName(s, &buf)) {
			return false
		}
	}
	for i := range f.conds {
		c := &f.conds[i]
		if !c.holds(fromResult(gjson.Get(s, c.path))) {
			return false
		}
	}
	return true
}

func (f *Filter) matchEvent(name string) bool {
	if len(f.globs) == 0 {
		return true
	}
	short := record.ShortEvent(name)
	for i := range f.globs {
		g := &f.globs[i]
		if g.match(name) || (len(short) != len(name) && g.match(short)) {
			return true
		}
	}
	return false
}

// eventName is the "event" of a JSON record line. Laravel names arrive with
// escaped backslashes (`App\\Events\\MessageSent`), which gjson.Get would
// unescape into a new string on every line; the simple escapes are undone
// here into buf instead, and gjson handles the rest. The result may point
// into buf.
func eventName(line string, buf *[128]byte) string {
	raw := topLevelRaw(line, "event")
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || len(raw)-2 > len(buf) {
		return gjson.Get(line, "event").String()
	}
	raw = raw[1 : len(raw)-1]
	n := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' {
			i++
			if i == len(raw) {
				return gjson.Get(line, "event").String()
			}
			switch c = raw[i]; c {
			case '\\', '"', '/':
			default: // \n, \uXXXX and friends
				return gjson.Get(line, "event").String()
			}
		}
		buf[n] = c
		n++
	}
	return bytesString(buf[:n])
}

// topLevelRaw returns the raw JSON value of key in the object json, or ""
// when json is not an object or has no such key (keys written with escapes
// are not recognised, which only sends the caller to gjson). Like gjson it
// does not validate what it skips.
func topLevelRaw(json, key string) string {
	i := skipSpace(json, 0)
	if i >= len(json) || json[i] != '{' {
		return ""
	}
	i++
	for {
		i = skipSpace(json, i)
		if i >= len(json) || json[i] != '"' {
			return ""
		}
		end := skipValue(json, i)
		k := json[i:end]
		i = skipSpace(json, end)
		if i >= len(json) || json[i] != ':' {
			return ""
		}
		i = skipSpace(json, i+1)
		end = skipValue(json, i)
		if end <= i {
			return ""
		}
		if len(k) == len(key)+2 && k[1:len(k)-1] == key {
			return json[i:end]
		}
		i = skipSpace(json, end)
		if i >= len(json) || json[i] != ',' {
			return ""
		}
		i++
	}
}

func skipSpace(json string, i int) int {
	for i < len(json) && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value starting at i.
func skipValue(json string, i int) int {
	depth := 0
	for ; i < len(json); i++ {
		switch json[i] {
		case '"':
			for i++; i < len(json) && json[i] != '"'; i++ {
				if json[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return min(i+1, len(json))
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return i
			}
		}
	}
	return len(json)
}

// bytesString views b as a string without copying. The string must not
// outlive the call it is made for, and b must not change meanwhile: gjson
// results taken from it are compared and dropped before Match returns.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
