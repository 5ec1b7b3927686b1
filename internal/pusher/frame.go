package pusher

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/jsonscan"
	"github.com/amusoft/tmsws/internal/record"
)

// Frame is one decoded Pusher message. Data is raw JSON: when the wire
// carried data as a JSON string holding JSON (the Pusher norm) it is that
// inner JSON, when the string was not JSON it is the string as a JSON
// literal, when data was already an object it is the object, and it is nil
// when the frame had no data key (Reverb's pong).
type Frame struct {
	Event   string
	Channel string
	Data    []byte
	UserID  string
}

// ParseFrame decodes a text frame in one pass over its top-level keys. The
// Frame shares no memory with msg (the session reuses frame buffers), nor
// with anything else: the caller owns its Data.
func ParseFrame(msg []byte) (Frame, error) {
	var p frameParser
	return p.parse(msg)
}

// frameParser decodes the frames of one session and reuses its memory
// from frame to frame, so the listen hot path allocates nothing in steady
// state:
//
//   - the Data of the Frame it returns lives in the parser's scratch
//     buffers and is valid only until the next parse: a record built from
//     it is valid until the Sink's Write returns (see handle), and whatever
//     keeps data longer (presence member maps, a sink) copies it;
//   - Event, Channel and UserID are ordinary strings, never views of msg or
//     of a scratch buffer, safe to keep forever; the names seen often are
//     interned, so a frame of a known event on a known channel makes none.
//
// The zero frameParser interns nothing and returns Data in memory of its
// own (what ParseFrame does).
type frameParser struct {
	names map[string]string // interned names; nil: intern nothing
	str   []byte            // a name being unescaped
	data  []byte            // the data, unescaped or copied
	alt   []byte            // the data quoted as a JSON string, when it is not JSON
	cbuf  bytes.Buffer      // the data compacted, when it spans lines
}

func newFrameParser() *frameParser {
	return &frameParser{names: make(map[string]string, 16)}
}

// A server chooses its names: the intern table holds at most maxInterned
// names of at most maxInternLen bytes, and starts over when it is full, so a
// server sending a million distinct names costs allocations, not memory.
const (
	maxInterned  = 512
	maxInternLen = 256
)

func (p *frameParser) parse(msg []byte) (Frame, error) {
	p.trim()
	var f Frame
	switch jsonsafe.Valid(msg) {
	case nil:
	case jsonsafe.ErrTooDeep:
		return f, errMalformed(jsonsafe.ErrTooDeep.Error())
	default:
		return f, errMalformed("not valid JSON")
	}
	// msg is valid JSON from here on; the scan still checks its bounds.
	i := jsonscan.SkipSpace(msg, 0)
	if i == len(msg) || msg[i] != '{' {
		return f, errMalformed("not a JSON object")
	}
	for i = jsonscan.SkipSpace(msg, i+1); i < len(msg) && msg[i] != '}'; {
		end := jsonscan.StringEnd(msg, i)
		if end < 0 {
			return Frame{}, errMalformed("not valid JSON")
		}
		key := msg[i+1 : end-1]
		if i = jsonscan.SkipSpace(msg, end); i == len(msg) || msg[i] != ':' {
			return Frame{}, errMalformed("not valid JSON")
		}
		i = jsonscan.SkipSpace(msg, i+1)
		if bytes.IndexByte(key, '\\') >= 0 {
			p.str = jsonscan.Unescape(p.str[:0], key)
			key = p.str
		}
		field := bytesString(key)
		if field == "data" && i < len(msg) && msg[i] == '"' {
			// The Pusher norm, and most of the bytes: scanned and
			// unescaped in one pass.
			if p.data, end = unescapeString(p.data[:0], msg, i); end < 0 {
				return Frame{}, errMalformed("not valid JSON")
			}
			var err error
			if f.Data, err = p.decodeString(p.data); err != nil {
				return Frame{}, err
			}
		} else {
			if end = jsonscan.ValueEnd(msg, i); end < 0 {
				return Frame{}, errMalformed("not valid JSON")
			}
			val := msg[i:end]
			switch field {
			case "event":
				f.Event = p.name(val)
			case "channel":
				f.Channel = p.name(val)
			case "data":
				var err error
				if f.Data, err = p.decodeData(val); err != nil {
					return Frame{}, err
				}
			case "user_id":
				f.UserID = p.name(val)
			}
		}
		if i = jsonscan.SkipSpace(msg, end); i < len(msg) && msg[i] == ',' {
			i = jsonscan.SkipSpace(msg, i+1)
		}
	}
	if f.Event == "" {
		return f, errMalformed(`no "event" field`)
	}
	return f, nil
}

// name is a name field's value as a string (gjson's String: a string's
// text, "" for null, the JSON of anything else), never a view of raw.
func (p *frameParser) name(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	if raw[0] != '"' {
		return p.intern(unsafeBytes(gjson.Parse(bytesString(raw)).String()))
	}
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') >= 0 {
		p.str = jsonscan.Unescape(p.str[:0], s)
		s = p.str
	}
	return p.intern(s)
}

// intern returns b as a string, the same string for the same bytes while
// it is in the table.
func (p *frameParser) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := p.names[string(b)]; ok { // a lookup by string(b) does not allocate
		return s
	}
	s := string(b)
	if p.names != nil && len(s) <= maxInternLen {
		if len(p.names) >= maxInterned {
			clear(p.names)
		}
		p.names[s] = s
	}
	return s
}

// trim lets go of scratch buffers that a large frame grew past keepBuffer,
// as the session does with frame buffers: one 16 MB frame does not hold
// 16 MB for the rest of the connection. The last frame's Data goes with
// them, which is past its lifetime by the next parse.
func (p *frameParser) trim() {
	if cap(p.data) > keepBuffer {
		p.data = nil
	}
	if cap(p.alt) > keepBuffer {
		p.alt = nil
	}
	if cap(p.str) > keepBuffer {
		p.str = nil
	}
	if p.cbuf.Cap() > keepBuffer {
		p.cbuf = bytes.Buffer{}
	}
}

type malformedError string

func (e malformedError) Error() string { return "malformed frame: " + string(e) }

func errMalformed(s string) error { return malformedError(s) }

// decodeData turns the wire's data value into raw JSON, decoding a JSON
// string exactly once. The result never contains a raw newline, so a record
// built from it stays one line, and it is valid UTF-8: invalid bytes become
// U+FFFD, as in every other field of a record. A string that holds JSON
// nested deeper than jsonsafe.MaxDepth makes the frame malformed, as the
// same JSON would outside a string. The result is memory of its own.
func decodeData(v gjson.Result) ([]byte, error) {
	var p frameParser
	if v.Type == gjson.String {
		return p.decodeString(append([]byte(nil), v.Str...))
	}
	if v.Type == gjson.Null && v.Raw == "" {
		return nil, nil
	}
	return p.decodeData(unsafeBytes(v.Raw))
}

// decodeData is decodeData for the raw JSON of a data value (never empty),
// into p's scratch buffers.
func (p *frameParser) decodeData(raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if raw[0] == '"' {
		p.data = jsonscan.Unescape(p.data[:0], raw[1:len(raw)-1])
		return p.decodeString(p.data)
	}
	p.data = append(p.data[:0], raw...)
	return jsonsafe.FixUTF8(p.compactLine(p.data)), nil
}

// decodeString is the data of a frame whose data was the JSON string s
// (unescaped): its JSON when it holds JSON, else s as a JSON string. The
// result is s, or p's memory, or new memory.
func (p *frameParser) decodeString(s []byte) ([]byte, error) {
	switch jsonsafe.Valid(s) {
	case nil:
		return jsonsafe.FixUTF8(p.compactLine(s)), nil
	case jsonsafe.ErrTooDeep:
		return nil, errMalformed("data: " + jsonsafe.ErrTooDeep.Error())
	}
	p.alt = record.AppendString(p.alt[:0], bytesString(s))
	return p.alt, nil
}

// compactLine removes insignificant whitespace when the JSON spans lines.
func (p *frameParser) compactLine(b []byte) []byte {
	if bytes.IndexByte(b, '\n') < 0 && bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	p.cbuf.Reset()
	if err := json.Compact(&p.cbuf, b); err != nil {
		p.alt = record.AppendString(p.alt[:0], bytesString(b))
		return p.alt
	}
	return p.cbuf.Bytes()
}

// unescapeString appends the text of the JSON string that starts at b[i]
// to dst, as unescape does, in the same pass that finds its end: it returns
// the index just past the string, -1 when there is none.
func unescapeString(dst, b []byte, i int) ([]byte, int) {
	if i >= len(b) || b[i] != '"' {
		return dst, -1
	}
	dst = slices.Grow(dst, len(b)-i) // at most the rest of b
	i++
	start := i
	for i < len(b) {
		switch b[i] {
		default:
			i++
			continue
		case '"':
			return append(dst, b[start:i]...), i + 1
		case '\\':
		}
		dst = append(dst, b[start:i]...)
		var n int
		if dst, n = jsonscan.AppendEscape(dst, b[i:]); n == 0 {
			return dst, -1
		}
		i += n
		start = i
	}
	return dst, -1
}

// bytesString views b as a string without copying: for lookups and
// comparisons only, never to keep.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// unsafeBytes views s as bytes without copying: read only.
func unsafeBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// ErrorData reads a pusher:error payload in both forms: Pusher and Soketi
// send an object, Reverb a JSON string (already decoded by decodeData). A
// missing or null code is 0.
func ErrorData(data []byte) (code int, message string) {
	if len(data) == 0 {
		return 0, ""
	}
	r := gjson.ParseBytes(data)
	if r.Type == gjson.String {
		return 0, r.Str
	}
	return codeOf(r.Get("code")), r.Get("message").String()
}

// codeOf reads an error code or status, a number or a numeric string.
// Codes are close codes (4000–4999) or HTTP statuses: anything outside what
// a close frame can carry (1e400, -1, 2.5) is no code at all, not an
// overflow.
func codeOf(c gjson.Result) int {
	code := 0
	if c.Type == gjson.Number && c.Num == math.Trunc(c.Num) && c.Num >= 0 && c.Num <= 65535 {
		code = int(c.Num)
	} else if c.Type == gjson.String {
		code, _ = strconv.Atoi(c.Str)
	}
	if code < 0 || code > 65535 {
		return 0
	}
	return code
}
