// Package termsafe is the one escaper for text that came from outside (a
// server, a file, a client) on its way to a terminal line, stdout and
// stderr alike: control characters are written the way Go writes them
// (\n, \r, \t, \x1b), as are the C1 controls and the Unicode bidi and
// line-separator controls that could reorder or break a line (\u202e);
// invalid UTF-8 becomes U+FFFD. An escape sequence from a payload can then
// neither move the cursor, retitle the window, write the clipboard (OSC 52)
// nor forge a line.
package termsafe

import (
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// Append appends s, escaped, to b.
func Append(b []byte, s string) []byte {
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
		b, i = AppendAt(b, s, j)
	}
	return b
}

// AppendAt appends the character at s[i], escaped when it is unsafe, and
// returns the index of the next one.
func AppendAt(b []byte, s string, i int) ([]byte, int) {
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

// IsSafe reports whether s would be shown unchanged.
func IsSafe(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			return false
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || unsafeRune(r) {
			return false
		}
		i += n
	}
	return true
}

// String returns s escaped; s itself when nothing needs escaping.
func String(s string) string {
	if IsSafe(s) {
		return s
	}
	return string(Append(make([]byte, 0, len(s)+16), s))
}

// Clip returns at most the first max bytes of s (cut on a character
// boundary), escaped, with "…" when something was cut: how an error message
// quotes a name or a value that someone else chose, which may be 10,000
// bytes long.
func Clip(s string, max int) string {
	if len(s) <= max {
		return String(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return string(append(Append(make([]byte, 0, cut+8), s[:cut]), "…"...))
}
