// Package filter selects records with the --event globs and --where
// conditions of the CLI contract. A Filter is compiled once from the flags
// and then run on every record, so matching avoids allocating.
//
// The rule: a filter keeps the records that match it, as grep and jq do,
// whatever their type. An --event glob matches an event record by its
// name, full (App\Events\MessageSent) or short (MessageSent, after the last
// backslash); a member record by its type ("member_*" keeps joins and
// leaves); and any other record by its type (subscribed, connected) or,
// when it carries one, the name of the pusher: frame it came from. A glob
// written with Echo's leading dot (.App\Events\MessageSent, .message.sent)
// is matched against the full name only, as Echo's
// .listen('.message.sent') is. --where conditions are evaluated on every
// record: a member record has no data.message, so data.message.user_id=8
// drops it, and type=member_added keeps joins. Without --event and --where
// every record passes, and Counts says that only events count toward
// --count; with them, every record they keep counts.
//
// Replay's --channel globs (CompileWithChannels) select by the recorded
// channel name instead, so they apply to every record that names a channel
// and to every event and member change (which always belong to one: without
// a channel name they match only a glob that matches the empty name, such
// as "*"). Lifecycle records without a channel (connected, reconnecting,
// ...) pass them.
//
// The decoded path (Match, for listen, subscribe and pretty replay) and the
// raw path (MatchJSON and MatchJSONType, for replay --json and --serve) give
// the same answer for a record line that record.AppendJSON wrote.
package filter

import (
	"strings"
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
	channels []glob
	globs    []glob
	conds    []cond
}

// Compile parses the --event patterns and --where conditions. Malformed
// input returns a *UsageError.
func Compile(events []string, wheres []string) (*Filter, error) {
	f := &Filter{}
	for _, p := range events {
		g, err := compileEventGlob(p)
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

// CompileWithChannels is Compile with replay's --channel globs over the
// recorded channel names (any may match; see the package comment for which
// records they apply to). Malformed input returns a *UsageError.
func CompileWithChannels(channels, events, wheres []string) (*Filter, error) {
	f, err := Compile(events, wheres)
	if err != nil {
		return nil, err
	}
	for _, p := range channels {
		g, err := compileGlobFor(channelFlag, p)
		if err != nil {
			return nil, err
		}
		f.channels = append(f.channels, g)
	}
	return f, nil
}

// Empty reports whether the filter has no patterns and no conditions, so
// every record passes.
func (f *Filter) Empty() bool {
	return f == nil || (len(f.channels) == 0 && len(f.globs) == 0 && len(f.conds) == 0)
}

// Counts reports whether a record of type typ that passed the filter counts
// toward --count: with --event or --where, every record they kept does (so
// --count 2 prints exactly 2 records); without them, only events do.
func (f *Filter) Counts(typ string) bool {
	return typ == record.TypeEvent || (f != nil && (len(f.globs) > 0 || len(f.conds) > 0))
}

// Match reports whether r passes the filter (see the package comment for
// the rule).
func (f *Filter) Match(r *record.Record) bool {
	if f.Empty() {
		return true
	}
	if len(f.channels) > 0 && !f.matchChannel(r.Type, r.Channel) {
		return false
	}
	if !f.matchName(r.Type, r.Event) {
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
	return f.MatchJSONType(line, RecordType(line))
}

// MatchJSONType is MatchJSON for a line whose type the caller has already
// read with RecordType, so a reader that needs the type itself reads it
// once.
func (f *Filter) MatchJSONType(line []byte, typ string) bool {
	if f.Empty() {
		return true
	}
	s := bytesString(line)
	if len(f.channels) > 0 {
		var buf [128]byte
		if !f.matchChannel(typ, stringField(s, "channel", &buf)) {
			return false
		}
	}
	if len(f.globs) > 0 {
		var buf [128]byte
		var event string
		if namedByEvent(typ) {
			event = eventName(s, &buf)
		}
		if !f.matchName(typ, event) {
			return false
		}
	}
	for i := range f.conds {
		c := &f.conds[i]
		var v operand
		if c.src == srcType {
			v = fromField(typ) // a line without type is an event
		} else {
			v = fromResult(gjson.Get(s, c.path))
		}
		if !c.holds(v) {
			return false
		}
	}
	return true
}

// matchChannel applies the --channel globs to a record of type typ.
func (f *Filter) matchChannel(typ, channel string) bool {
	if channel == "" {
		switch typ {
		case record.TypeEvent, record.TypeMemberAdded, record.TypeMemberRemoved:
		default:
			return true // a lifecycle record of the connection
		}
	}
	for i := range f.channels {
		if f.channels[i].match(channel) {
			return true
		}
	}
	return false
}

// RecordType is the "type" of a JSON record line: one of the record.Type*
// constants, "event" when the line has no type (or an empty one), as the
// contract says, or the line's own type when it is none of the known ones.
func RecordType(line []byte) string {
	s := bytesString(line)
	raw := topLevelRaw(s, "type")
	var t string
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && strings.IndexByte(raw, '\\') < 0 {
		t = raw[1 : len(raw)-1]
	} else {
		t = gjson.Get(s, "type").String()
	}
	switch t {
	case "", record.TypeEvent:
		return record.TypeEvent
	case record.TypeMemberAdded:
		return record.TypeMemberAdded
	case record.TypeMemberRemoved:
		return record.TypeMemberRemoved
	case record.TypeSubscribed:
		return record.TypeSubscribed
	case record.TypeSubscriptionError:
		return record.TypeSubscriptionError
	case record.TypeConnected:
		return record.TypeConnected
	case record.TypeDisconnected:
		return record.TypeDisconnected
	case record.TypeReconnecting:
		return record.TypeReconnecting
	case record.TypeError:
		return record.TypeError
	case record.TypeProtocol:
		return record.TypeProtocol
	}
	return strings.Clone(t) // t may point into line
}

// namedByEvent reports whether the --event globs look at the "event" of a
// record of type typ: they do for all but member records, which carry none
// (so the raw path need not look for one on every member line).
func namedByEvent(typ string) bool {
	return typ != record.TypeMemberAdded && typ != record.TypeMemberRemoved
}

// matchName applies the --event globs to a record of type typ whose
// "event" is event: an event by its full or short name (the full one only
// for a glob written with Echo's leading dot), a member record by its type,
// any other record by its type or, when it has one, its event (the name of
// the pusher: frame it came from).
func (f *Filter) matchName(typ, event string) bool {
	if len(f.globs) == 0 {
		return true
	}
	if typ == record.TypeEvent {
		short := record.ShortEvent(event)
		for i := range f.globs {
			g := &f.globs[i]
			if g.match(event) || (!g.exact && len(short) != len(event) && g.match(short)) {
				return true
			}
		}
		return false
	}
	if !namedByEvent(typ) {
		event = ""
	}
	for i := range f.globs {
		g := &f.globs[i]
		if g.match(typ) || (event != "" && g.match(event)) {
			return true
		}
	}
	return false
}

// eventName is the "event" of a JSON record line. Laravel names arrive with
// escaped backslashes (`App\\Events\\MessageSent`), which gjson.Get would
// unescape into a new string on every line; the simple escapes are undone
// here into buf instead, and gjson handles the rest. The result may point
// into buf or line.
func eventName(line string, buf *[128]byte) string { return stringField(line, "event", buf) }

// stringField is the string value of a top-level key of a JSON record line,
// as eventName describes.
func stringField(line, key string, buf *[128]byte) string {
	raw := topLevelRaw(line, key)
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return gjson.Get(line, key).String()
	}
	if strings.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1]
	}
	if len(raw)-2 > len(buf) {
		return gjson.Get(line, key).String()
	}
	raw = raw[1 : len(raw)-1]
	n := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' {
			i++
			if i == len(raw) {
				return gjson.Get(line, key).String()
			}
			switch c = raw[i]; c {
			case '\\', '"', '/':
			default: // \n, \uXXXX and friends
				return gjson.Get(line, key).String()
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
			i = stringEnd(json, i)
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

// stringEnd returns the index of the quote closing the JSON string that
// starts with the quote at json[i], or len(json) when it is not closed.
// Quotes are found with strings.IndexByte, which is much faster than a
// byte loop on the long strings of a record; a quote is escaped when an odd
// number of backslashes precede it.
func stringEnd(json string, i int) int {
	for j := i + 1; ; j++ {
		k := strings.IndexByte(json[j:], '"')
		if k < 0 {
			return len(json)
		}
		j += k
		bs := 0
		for p := j - 1; p > i && json[p] == '\\'; p-- {
			bs++
		}
		if bs%2 == 0 {
			return j
		}
	}
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
