// Package jsonscan holds the small, bounds-checked scanners that walk raw
// JSON without building anything: the frame parser of internal/pusher and
// the field lookups of internal/render use them on their hot paths. Each
// works on a string or a []byte alike, checks every index, and returns -1
// (or stops) where the text is not what it expects: the JSON it is given
// has usually been checked by jsonsafe.Valid, but a scan never relies on it.
package jsonscan

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Text is what the scanners read.
type Text interface{ ~string | ~[]byte }

// SkipSpace is the index of the first byte at or after i that is not JSON
// whitespace.
func SkipSpace[T Text](s T, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// StringEnd is the index just past the string literal that starts at s[i],
// -1 when there is none.
func StringEnd[T Text](s T, i int) int {
	if i >= len(s) || s[i] != '"' {
		return -1
	}
	for i++; i < len(s); i++ {
		switch s[i] {
		case '"':
			return i + 1
		case '\\':
			i++
		}
	}
	return -1
}

// ValueEnd is the index just past the value that starts at s[i], -1 when
// there is none: a string, an object or array (brackets counted outside
// strings, iteratively), or a scalar up to the next delimiter.
func ValueEnd[T Text](s T, i int) int {
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		return StringEnd(s, i)
	case '{', '[':
		depth := 0
		for ; i < len(s); i++ {
			switch s[i] {
			case '"':
				if i = StringEnd(s, i); i < 0 {
					return -1
				}
				i--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(s) {
		switch s[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}

// Unescape appends the text of the JSON string body s (without its quotes)
// to dst, as gjson decodes it: a pair of \u surrogates is one character, a
// lone surrogate becomes U+FFFD, other bytes are kept as they are, and an
// escape cut short ends the text.
func Unescape[T Text](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		var n int
		if dst, n = AppendEscape(dst, s[i:]); n == 0 {
			return dst
		}
		i += n
		start = i
	}
	return append(dst, s[start:]...)
}

// AppendEscape appends what the escape at the start of s stands for and
// returns how many bytes of s it took, 0 when it is cut short.
func AppendEscape[T Text](dst []byte, s T) ([]byte, int) {
	if len(s) < 2 {
		return dst, 0
	}
	switch c := s[1]; c {
	case 'b':
		return append(dst, '\b'), 2
	case 'f':
		return append(dst, '\f'), 2
	case 'n':
		return append(dst, '\n'), 2
	case 'r':
		return append(dst, '\r'), 2
	case 't':
		return append(dst, '\t'), 2
	case 'u':
		if len(s) < 6 {
			return dst, 0
		}
		r, n := hex4(s[2:6]), 6
		if r >= 0xD800 && r < 0xDC00 && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if r2 := hex4(s[8:12]); r2 >= 0xDC00 && r2 < 0xE000 {
				r, n = utf16.DecodeRune(r, r2), 12
			}
		}
		return utf8.AppendRune(dst, r), n
	default: // '"', '\\', '/'
		return append(dst, c), 2
	}
}

// hex4 reads the four hex digits of a \u escape.
func hex4[T Text](s T) rune {
	var r rune
	for i := range 4 {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
