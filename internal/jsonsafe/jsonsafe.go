// Package jsonsafe checks JSON that came from outside (a server's frames, a
// recording's lines, a client's messages, an HTTP answer) before anything
// that recurses over it sees it, and keeps the JSON tmsws writes valid
// UTF-8.
//
// gjson's validator and encoding/json recurse once per level of nesting, so
// 10,000,000 '[' in a frame overflow the stack. Every place where outside
// JSON enters calls Valid (or Depth before its own parser) once; from there
// on the nesting is at most MaxDepth levels.
package jsonsafe

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// MaxDepth is the deepest nesting of arrays and objects accepted anywhere.
// Real payloads nest a handful of levels.
const MaxDepth = 1000

// ErrTooDeep is JSON nested deeper than MaxDepth.
var ErrTooDeep = errors.New("JSON nested deeper than " + strconv.Itoa(MaxDepth) + " levels")

// ErrInvalid is text that is not JSON.
var ErrInvalid = errors.New("not valid JSON")

// Depth returns ErrTooDeep when b nests arrays and objects deeper than
// MaxDepth, nil otherwise. It does not check that b is JSON. Text with
// fewer than MaxDepth opening brackets cannot be too deep, so the common
// case costs two vectorised byte counts.
func Depth(b []byte) error {
	if bytes.Count(b, openBrace)+bytes.Count(b, openBracket) <= MaxDepth {
		return nil
	}
	return deepScan(b)
}

// DepthString is Depth for a string.
func DepthString(s string) error {
	return Depth(unsafeBytes(s))
}

var (
	openBrace   = []byte{'{'}
	openBracket = []byte{'['}
)

// deepScan measures the nesting of b outside strings, iteratively.
func deepScan(b []byte) error {
	depth := 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return ErrTooDeep
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// Valid returns nil when b is JSON nested at most MaxDepth levels,
// ErrTooDeep when it nests deeper, and ErrInvalid when it is not JSON.
func Valid(b []byte) error {
	if err := Depth(b); err != nil {
		return err
	}
	if !gjson.ValidBytes(b) {
		return ErrInvalid
	}
	return nil
}

// ValidString is Valid for a string.
func ValidString(s string) error {
	return Valid(unsafeBytes(s))
}

// FixUTF8 returns raw JSON with every byte that is not part of valid UTF-8
// replaced by the escape \ufffd, the way record.AppendString writes invalid
// bytes, so every line tmsws writes is valid UTF-8 JSON for strict parsers.
// Valid JSON holds non-ASCII bytes only inside strings, where the escape is
// valid. b itself is returned when it is already valid (the common case,
// checked without allocating).
func FixUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	start := 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, b[start:i]...)
			out = append(out, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(out, b[start:]...)
}

func unsafeBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
