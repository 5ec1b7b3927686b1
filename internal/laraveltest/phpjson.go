package laraveltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// PHPJSON encodes v the way PHP's json_encode($v) does without flags, which
// is how Laravel and pusher-http-php encode auth responses and channel_data:
// "/" becomes "\/" and every non-ASCII character a lowercase \uXXXX escape.
//
// v is first encoded with encoding/json, so object keys keep the order that
// encoding/json gives them: struct field order, sorted map keys, or the order
// inside a json.RawMessage. Numbers are written as encoding/json writes them
// (PHP would write the float 1.0 as 1.0, Go writes 1).
func PHPJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T as JSON: %w", v, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	if err := transcode(dec, &out); err != nil {
		return nil, fmt.Errorf("re-encode %s the PHP way: %w", raw, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("re-encode %s the PHP way: trailing data", raw)
	}
	return out.Bytes(), nil
}

func transcode(dec *json.Decoder, out *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			out.WriteByte('{')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				key, err := dec.Token()
				if err != nil {
					return err
				}
				k, ok := key.(string)
				if !ok {
					return fmt.Errorf("object key %v is not a string", key)
				}
				writePHPString(out, k)
				out.WriteByte(':')
				if err := transcode(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // '}'
				return err
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := transcode(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return err
			}
			out.WriteByte(']')
		default:
			return fmt.Errorf("unexpected %v", t)
		}
	case string:
		writePHPString(out, t)
	case json.Number:
		out.WriteString(t.String())
	case bool:
		if t {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	case nil:
		out.WriteString("null")
	default:
		return fmt.Errorf("unexpected token %T", tok)
	}
	return nil
}

const hexDigits = "0123456789abcdef"

func writePHPString(out *bytes.Buffer, s string) {
	out.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			out.WriteString(`\"`)
		case '\\':
			out.WriteString(`\\`)
		case '/':
			out.WriteString(`\/`)
		case '\b':
			out.WriteString(`\b`)
		case '\f':
			out.WriteString(`\f`)
		case '\n':
			out.WriteString(`\n`)
		case '\r':
			out.WriteString(`\r`)
		case '\t':
			out.WriteString(`\t`)
		default:
			switch {
			case r < 0x20 || (r >= 0x80 && r <= 0xFFFF):
				writeU(out, r)
			case r > 0xFFFF && r <= utf8.MaxRune:
				r -= 0x10000
				writeU(out, 0xD800+(r>>10))
				writeU(out, 0xDC00+(r&0x3FF))
			default:
				out.WriteRune(r)
			}
		}
	}
	out.WriteByte('"')
}

func writeU(out *bytes.Buffer, r rune) {
	out.WriteString(`\u`)
	out.WriteByte(hexDigits[r>>12&0xF])
	out.WriteByte(hexDigits[r>>8&0xF])
	out.WriteByte(hexDigits[r>>4&0xF])
	out.WriteByte(hexDigits[r&0xF])
}
