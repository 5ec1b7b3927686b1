package pusher

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/jsonsafe"
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
// Frame shares no memory with msg (the session reuses frame buffers).
func ParseFrame(msg []byte) (Frame, error) {
	var f Frame
	switch jsonsafe.Valid(msg) {
	case nil:
	case jsonsafe.ErrTooDeep:
		return f, errMalformed(jsonsafe.ErrTooDeep.Error())
	default:
		return f, errMalformed("not valid JSON")
	}
	root := gjson.ParseBytes(msg)
	if !root.IsObject() {
		return f, errMalformed("not a JSON object")
	}
	var err error
	root.ForEach(func(key, value gjson.Result) bool {
		switch key.Str {
		case "event":
			f.Event = value.String()
		case "channel":
			f.Channel = value.String()
		case "data":
			f.Data, err = decodeData(value)
		case "user_id":
			f.UserID = value.String()
		}
		return err == nil
	})
	if err != nil {
		return Frame{}, err
	}
	if f.Event == "" {
		return f, errMalformed(`no "event" field`)
	}
	return f, nil
}

type malformedError string

func (e malformedError) Error() string { return "malformed frame: " + string(e) }

func errMalformed(s string) error { return malformedError(s) }

// decodeData turns the wire's data value into raw JSON, decoding a JSON
// string exactly once. The result never contains a raw newline, so a record
// built from it stays one line, and it is valid UTF-8: invalid bytes become
// U+FFFD, as in every other field of a record. A string that holds JSON
// nested deeper than jsonsafe.MaxDepth makes the frame malformed, as the
// same JSON would outside a string.
func decodeData(v gjson.Result) ([]byte, error) {
	if v.Type == gjson.String {
		s := v.Str
		switch jsonsafe.ValidString(s) {
		case nil:
			return jsonsafe.FixUTF8(compactLine([]byte(s))), nil
		case jsonsafe.ErrTooDeep:
			return nil, errMalformed("data: " + jsonsafe.ErrTooDeep.Error())
		}
		return record.AppendString(nil, s), nil
	}
	if v.Type == gjson.Null && v.Raw == "" {
		return nil, nil
	}
	return jsonsafe.FixUTF8(compactLine([]byte(v.Raw))), nil
}

// compactLine removes insignificant whitespace when the JSON spans lines.
func compactLine(b []byte) []byte {
	if bytes.IndexByte(b, '\n') < 0 && bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return record.AppendString(nil, string(b))
	}
	return out.Bytes()
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
