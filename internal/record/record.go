// Package record is the JSON record tmsws writes for every event and
// connection change: one object per line on stdout, in --output files, and
// what replay reads back.
package record

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Record types, as named by the CLI contract.
const (
	TypeEvent             = "event"
	TypeMemberAdded       = "member_added"
	TypeMemberRemoved     = "member_removed"
	TypeSubscribed        = "subscribed"
	TypeSubscriptionError = "subscription_error"
	TypeConnected         = "connected"
	TypeDisconnected      = "disconnected"
	TypeReconnecting      = "reconnecting"
	TypeError             = "error"
	TypeProtocol          = "protocol"
	// TypeCacheMiss is a cache channel's pusher:cache_miss: the server had
	// no last event to replay on subscribing.
	TypeCacheMiss = "cache_miss"
)

// Record is one line of output. Data holds raw JSON: the event's data
// decoded once when it arrived as a JSON string, or a JSON string literal
// when it was not JSON; nil when the frame had none.
type Record struct {
	TS       time.Time
	Type     string
	Channel  string
	Event    string
	Data     []byte // raw JSON value, or nil
	UserID   string
	SocketID string
	// Cached marks the event a cache channel's server replayed from its
	// cache right after the subscription: its last event, sent before this
	// run (or before the reconnect), not a new one.
	Cached bool

	// Lifecycle details (connected, reconnecting, disconnected, error,
	// subscription_error). Zero values are omitted.
	Message string
	Code    int
	Attempt int
	Delay   time.Duration

	// Violations are the ways the event's data broke its --schema contract
	// ("/message/user_id: expected integer, got string"), encoded last as
	// "violations":[…] and omitted when there are none.
	Violations []string
}

// IsDefault reports whether the record belongs to the default JSON output
// (events, presence changes and cache misses: on a cache channel a miss is
// all a subscription shows); the others need --show-protocol.
func (r *Record) IsDefault() bool { return IsDefaultType(r.Type) }

// IsDefaultType is IsDefault for a record of type typ.
func IsDefaultType(typ string) bool {
	switch typ {
	case TypeEvent, TypeMemberAdded, TypeMemberRemoved, TypeCacheMiss:
		return true
	}
	return false
}

// ShortEvent is the event name after the last backslash, so
// `App\Events\MessageSent` becomes `MessageSent`.
func ShortEvent(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '\\' {
			return name[i+1:]
		}
	}
	return name
}

// AppendJSON appends the record as one JSON object and a newline to buf.
// It allocates nothing beyond growing buf.
func (r *Record) AppendJSON(buf []byte) []byte {
	buf = append(buf, `{"ts":"`...)
	buf = r.TS.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","type":`...)
	buf = AppendString(buf, r.Type)
	if r.Channel != "" {
		buf = append(buf, `,"channel":`...)
		buf = AppendString(buf, r.Channel)
	}
	if r.Event != "" {
		buf = append(buf, `,"event":`...)
		buf = AppendString(buf, r.Event)
	}
	if r.Cached {
		buf = append(buf, `,"cached":true`...)
	}
	if r.Data != nil {
		buf = append(buf, `,"data":`...)
		buf = append(buf, r.Data...)
	}
	if r.UserID != "" {
		buf = append(buf, `,"user_id":`...)
		buf = AppendString(buf, r.UserID)
	}
	if r.SocketID != "" {
		buf = append(buf, `,"socket_id":`...)
		buf = AppendString(buf, r.SocketID)
	}
	if r.Message != "" {
		buf = append(buf, `,"message":`...)
		buf = AppendString(buf, r.Message)
	}
	if r.Code != 0 {
		buf = append(buf, `,"code":`...)
		buf = strconv.AppendInt(buf, int64(r.Code), 10)
	}
	if r.Attempt != 0 {
		buf = append(buf, `,"attempt":`...)
		buf = strconv.AppendInt(buf, int64(r.Attempt), 10)
	}
	if r.Delay != 0 {
		buf = append(buf, `,"delay":`...)
		buf = AppendString(buf, r.Delay.String())
	}
	if len(r.Violations) > 0 {
		buf = appendViolations(buf, r.Violations)
	}
	return append(buf, "}\n"...)
}

// appendViolations appends `,"violations":["…",…]`.
func appendViolations(buf []byte, v []string) []byte {
	buf = append(buf, `,"violations":[`...)
	for i, s := range v {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = AppendString(buf, s)
	}
	return append(buf, ']')
}

// AppendViolations adds `,"violations":[…]` to a raw record line (one JSON
// object, with or without its line ending), just before its closing brace,
// so a line that passes through byte for byte can carry its violations.
// With no violations it returns line untouched and allocates nothing. Like
// append, it may write into line's memory: use only the result afterwards.
// A line without a closing brace (not a record) comes back unchanged.
func AppendViolations(line []byte, v []string) []byte {
	if len(v) == 0 {
		return line
	}
	end := len(line) - 1
	for end >= 0 && line[end] != '}' {
		end--
	}
	if end < 0 {
		return line
	}
	empty := true // {} and { }: no comma before the field
	for i := end - 1; i >= 0; i-- {
		if c := line[i]; c == '{' {
			break
		} else if !isSpace(c) {
			empty = false
			break
		}
	}
	n := len(line)
	line = appendViolations(line, v)
	if empty {
		// drop the leading comma: shift the field one byte left
		copy(line[n:], line[n+1:])
		line = line[:len(line)-1]
	}
	// Rotate the tail (the brace and what follows it) after the field.
	reverse(line[end:n])
	reverse(line[n:])
	reverse(line[end:])
	return line
}

func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD so every line stays valid JSON.
func AppendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
