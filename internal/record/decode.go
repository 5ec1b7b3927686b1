package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/jsonsafe"
)

// Validate reports whether line (one line of a recording, without or with
// its newline) is a single JSON object, and if not, says why. It is the
// check replay runs on every line it passes through untouched.
func Validate(line []byte) error {
	s := trimSpace(bytesString(line))
	if s == "" {
		return errors.New("empty line: a record is one JSON object")
	}
	switch jsonsafe.ValidString(s) {
	case nil:
	case jsonsafe.ErrTooDeep:
		return jsonsafe.ErrTooDeep
	default:
		return syntaxError(s)
	}
	if s[0] != '{' {
		return fmt.Errorf("a JSON %s, not an object: a record is one JSON object such as {\"type\":\"event\",...}", jsonKind(s[0]))
	}
	return nil
}

// Decode parses one JSON record line, as tmsws writes them, into a Record.
// A missing ts gives the zero time; a missing (or empty) type means
// "event"; data keeps the raw JSON of its value, whatever it is; fields it
// does not know are ignored and a null counts as missing. Malformed JSON,
// anything but an object, and a known field of the wrong type (ts not an
// RFC 3339 string, code not an integer, ...) return an error saying why.
// The Record shares no memory with line.
func Decode(line []byte) (Record, error) {
	var r Record
	if err := Validate(line); err != nil {
		return r, err
	}
	var err error
	gjson.Parse(bytesString(line)).ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null && k.Str != "data" {
			return true
		}
		err = r.setField(k.Str, v)
		return err == nil
	})
	if err != nil {
		return Record{}, err
	}
	if r.Type == "" {
		r.Type = TypeEvent
	}
	return r, nil
}

func (r *Record) setField(key string, v gjson.Result) error {
	switch key {
	case "ts":
		s, err := stringField(key, v)
		if err != nil {
			return err
		}
		t, perr := time.Parse(time.RFC3339Nano, s)
		if perr != nil {
			return fmt.Errorf("ts %s is not an RFC 3339 time such as \"2026-11-26T09:16:54.123Z\"", clip(v.Raw))
		}
		// Records are written in UTC: a time whose UTC year has no four
		// digits (0000-01-01T00:00:00+01:00) could not be written back.
		if y := t.UTC().Year(); y < 0 || y > 9999 {
			return fmt.Errorf("ts %s is outside the years 0000 to 9999 in UTC", clip(v.Raw))
		}
		r.TS = t
	case "type":
		return setString(&r.Type, key, v)
	case "channel":
		return setString(&r.Channel, key, v)
	case "event":
		return setString(&r.Event, key, v)
	case "data":
		r.Data = jsonsafe.FixUTF8([]byte(v.Raw)) // a copy, valid UTF-8
	case "user_id":
		if v.Type == gjson.Number {
			r.UserID = strings.Clone(v.Raw)
			return nil
		}
		return setString(&r.UserID, key, v)
	case "socket_id":
		return setString(&r.SocketID, key, v)
	case "cached":
		if v.Type != gjson.True && v.Type != gjson.False {
			return fmt.Errorf("cached is %s, not true or false", describe(v))
		}
		r.Cached = v.Type == gjson.True
	case "message":
		return setString(&r.Message, key, v)
	case "code":
		return setInt(&r.Code, key, v)
	case "attempt":
		return setInt(&r.Attempt, key, v)
	case "delay":
		s, err := stringField(key, v)
		if err != nil {
			return err
		}
		d, perr := time.ParseDuration(s)
		if perr != nil {
			return fmt.Errorf("delay %s is not a duration such as \"4.5s\"", clip(v.Raw))
		}
		r.Delay = d
	case "violations":
		if !v.IsArray() {
			return fmt.Errorf("violations is %s, not an array of strings", describe(v))
		}
		var err error
		r.Violations = nil // a key given twice: the last one, as for the other fields
		v.ForEach(func(_, s gjson.Result) bool {
			if s.Type != gjson.String {
				err = fmt.Errorf("violations holds %s, not only strings", describe(s))
				return false
			}
			r.Violations = append(r.Violations, strings.Clone(s.Str))
			return true
		})
		return err
	}
	return nil
}

func stringField(key string, v gjson.Result) (string, error) {
	if v.Type != gjson.String {
		return "", fmt.Errorf("%s is %s, not a string", key, describe(v))
	}
	return v.Str, nil
}

func setString(dst *string, key string, v gjson.Result) error {
	s, err := stringField(key, v)
	if err != nil {
		return err
	}
	*dst = strings.Clone(s)
	return nil
}

func setInt(dst *int, key string, v gjson.Result) error {
	if v.Type != gjson.Number {
		return fmt.Errorf("%s is %s, not an integer", key, describe(v))
	}
	f := v.Num
	if f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32 {
		return fmt.Errorf("%s %s is not an integer", key, clip(v.Raw))
	}
	*dst = int(v.Int())
	return nil
}

// describe names a JSON value's kind for an error message.
func describe(v gjson.Result) string {
	switch v.Type {
	case gjson.Number:
		return "a number (" + clip(v.Raw) + ")"
	case gjson.String:
		return "a string (" + clip(v.Raw) + ")"
	case gjson.True, gjson.False:
		return v.Raw
	case gjson.Null:
		return "null"
	}
	if v.IsArray() {
		return "an array"
	}
	return "an object"
}

// clip shortens a raw value quoted in an error message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

func jsonKind(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// syntaxError explains why s is not JSON. It runs only on lines already
// found invalid, so the slower encoding/json parser costs nothing on the
// common path.
func syntaxError(s string) error {
	var v json.RawMessage
	err := json.Unmarshal([]byte(s), &v)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case err != nil:
		return fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return errors.New("invalid JSON")
}

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// bytesString views b as a string without copying; the string must not
// outlive b's contents (Decode copies everything it keeps).
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
