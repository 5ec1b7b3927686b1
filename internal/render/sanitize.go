package render

import (
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

const hexDigits = "0123456789abcdef"

// appendSafe appends s for display on a terminal: control characters are
// escaped the way Go writes them (\n, \r, \t, \x1b), as are the C1 controls
// and the Unicode bidi and line-separator controls that could reorder or
// break a line (\u202e); invalid UTF-8 becomes U+FFFD.
func appendSafe(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		// Copy runs of printable ASCII in one go.
		j := i
		for j < len(s) && s[j] >= 0x20 && s[j] < 0x7f {
			j++
		}
		b = append(b, s[i:j]...)
		if j == len(s) {
			break
		}
		b, i = appendSafeAt(b, s, j)
	}
	return b
}

// appendSafeAt appends the character at s[i], escaped when it is unsafe,
// and returns the index of the next one.
func appendSafeAt(b []byte, s string, i int) ([]byte, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		switch {
		case c >= 0x20 && c != 0x7f:
			return append(b, c), i + 1
		case c == '\n':
			return append(b, '\\', 'n'), i + 1
		case c == '\r':
			return append(b, '\\', 'r'), i + 1
		case c == '\t':
			return append(b, '\\', 't'), i + 1
		}
		return append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf]), i + 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && n == 1 {
		return utf8.AppendRune(b, utf8.RuneError), i + 1
	}
	if unsafeRune(r) {
		return append(b, '\\', 'u',
			hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf]), i + n
	}
	return append(b, s[i:i+n]...), i + n
}

func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls: 0x9b is a CSI on some terminals
		return true
	case r == 0x200e, r == 0x200f, // LRM, RLM
		r >= 0x202a && r <= 0x202e, // embeddings and overrides
		r >= 0x2066 && r <= 0x2069, // isolates
		r == 0x2028, r == 0x2029:   // line and paragraph separators
		return true
	}
	return false
}

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
				b, i = appendSafeAt(b, data, i)
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
		b, i = appendSafeAt(b, data, i)
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
