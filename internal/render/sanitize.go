package render

import (
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/termsafe"
)

// appendSafe appends s for display on a terminal through the one escaper
// (termsafe).
func appendSafe(b []byte, s string) []byte { return termsafe.Append(b, s) }

// appendCompactJSON appends raw JSON without insignificant whitespace,
// sanitized like appendSafe. Escapes inside strings stay as they are
// (`\u001b` is six harmless characters), and text that is not JSON at all
// is still made safe.
func appendCompactJSON(b []byte, data string) []byte {
	inString := false
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case inString && c == '\\':
			b = append(b, '\\')
			i++
			if i < len(data) {
				b, i = termsafe.AppendAt(b, data, i)
			}
			continue
		case c == '"':
			inString = !inString
			b = append(b, c)
			i++
			continue
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			i++
			continue
		}
		b, i = termsafe.AppendAt(b, data, i)
	}
	return b
}

// appendValue appends a gjson value readably: a string's text, other JSON
// compacted.
func appendValue(b []byte, v gjson.Result) []byte {
	if v.Type == gjson.String {
		return appendSafe(b, v.Str)
	}
	return appendCompactJSON(b, v.Raw)
}

// isJSONString reports whether data is a JSON string literal, as when an
// event's data was not JSON.
func isJSONString(data string) bool {
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			return true
		}
		return false
	}
	return false
}

// bytesString views b as a string without copying; the result must not be
// kept beyond the Write call that made it.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
