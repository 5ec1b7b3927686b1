package pusher

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/tidwall/gjson"

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

// ParseFrame decodes a text frame in one pass over its top-level keys.
func ParseFrame(msg []byte) (Frame, error) {
	var f Frame
	if !gjson.ValidBytes(msg) {
		return f, errMalformed("not valid JSON")
	}
	root := gjson.ParseBytes(msg)
	if !root.IsObject() {
		return f, errMalformed("not a JSON object")
	}
	root.ForEach(func(key, value gjson.Result) bool {
		switch key.Str {
		case "event":
			f.Event = value.String()
		case "channel":
			f.Channel = value.String()
		case "data":
			f.Data = decodeData(value)
		case "user_id":
			f.UserID = value.String()
		}
		return true
	})
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
// built from it stays one line.
func decodeData(v gjson.Result) []byte {
	if v.Type == gjson.String {
		s := v.Str
		if gjson.Valid(s) {
			return compactLine([]byte(s))
		}
		return record.AppendString(nil, s)
	}
	if v.Type == gjson.Null && v.Raw == "" {
		return nil
	}
	return compactLine([]byte(v.Raw))
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
	c := r.Get("code")
	if c.Type == gjson.Number {
		code = int(c.Int())
	} else if c.Type == gjson.String {
		code, _ = strconv.Atoi(c.Str)
	}
	return code, r.Get("message").String()
}
