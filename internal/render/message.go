package render

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/jsonscan"
)

// A chat line reads up to nine members of its payload's "message" object
// (content or body or text, the user's name, user_id, id, temp_id, ...).
// Looked up one path at a time, each scanned the message from its start:
// two and a half scans of a 300-byte object per line, 42% of a pretty
// frame. messageFields finds them all in one pass. Where gjson's rules
// could make a path answer differently than a plain member lookup (an
// escaped key, a member named twice, a second "message", an array on the
// way), it says so and the paths are looked up one by one as before
// (FuzzMessageFields holds the two equal).

// messageKeys are the members of "message" the chat line reads.
var messageKeys = [...]string{"content", "body", "text", "user", "sender", "user_name", "user_id", "id", "temp_id"}

// messageFields holds the raw values of messageKeys in data's "message"
// object ("" when absent); ok is false when the one-pass reading cannot
// stand for the path lookups.
type messageFields struct {
	ok  bool
	raw [len(messageKeys)]string
}

// scanMessage reads data's "message" members in one pass over data.
func scanMessage(data string) (f messageFields) {
	i := jsonscan.SkipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return f
	}
	seen := false
	for i = jsonscan.SkipSpace(data, i+1); i < len(data) && data[i] != '}'; {
		end := jsonscan.StringEnd(data, i)
		if end < 0 {
			return messageFields{}
		}
		k := data[i+1 : end-1]
		if strings.IndexByte(k, '\\') >= 0 {
			return messageFields{}
		}
		if i = jsonscan.SkipSpace(data, end); i >= len(data) || data[i] != ':' {
			return messageFields{}
		}
		i = jsonscan.SkipSpace(data, i+1)
		if k == "message" {
			if seen || i >= len(data) || data[i] != '{' {
				return messageFields{} // a second one, or not an object
			}
			seen = true
			if end = f.members(data, i); end < 0 {
				return messageFields{}
			}
		} else if end = jsonscan.ValueEnd(data, i); end < 0 {
			return messageFields{}
		}
		if i = jsonscan.SkipSpace(data, end); i < len(data) && data[i] == ',' {
			i = jsonscan.SkipSpace(data, i+1)
		}
	}
	f.ok = seen && i < len(data)
	return f
}

// members reads the object at s[i] (a '{') into f and returns the index
// after it; -1 when it cannot stand for the path lookups.
func (f *messageFields) members(s string, i int) int {
	for i = jsonscan.SkipSpace(s, i+1); i < len(s) && s[i] != '}'; {
		end := jsonscan.StringEnd(s, i)
		if end < 0 {
			return -1
		}
		k := s[i+1 : end-1]
		if strings.IndexByte(k, '\\') >= 0 {
			return -1
		}
		if i = jsonscan.SkipSpace(s, end); i >= len(s) || s[i] != ':' {
			return -1
		}
		i = jsonscan.SkipSpace(s, i+1)
		if end = jsonscan.ValueEnd(s, i); end < 0 {
			return -1
		}
		for n, key := range messageKeys {
			if k == key {
				if f.raw[n] != "" {
					return -1 // named twice
				}
				f.raw[n] = s[i:end]
			}
		}
		if i = jsonscan.SkipSpace(s, end); i < len(s) && s[i] == ',' {
			i = jsonscan.SkipSpace(s, i+1)
		}
	}
	if i >= len(s) {
		return -1
	}
	return i + 1
}

// getMessage is p.get(data, path), from f for a path into "message".
func (p *Pretty) getMessage(f *messageFields, data, path string) gjson.Result {
	rest, inMessage := strings.CutPrefix(path, "message.")
	if !f.ok || !inMessage {
		return p.get(data, path)
	}
	key, sub, more := strings.Cut(rest, ".")
	for n, k := range messageKeys {
		if k != key {
			continue
		}
		raw := f.raw[n]
		switch {
		case raw == "":
			return gjson.Result{}
		case !more:
			return p.value(raw)
		case raw[0] == '[':
			return p.get(data, path) // gjson's rules for arrays
		}
		return p.get(raw, sub)
	}
	return p.get(data, path)
}

// findMessage is p.find(data, paths...), from f for paths into "message".
func (p *Pretty) findMessage(f *messageFields, data string, paths ...string) (gjson.Result, bool) {
	for _, path := range paths {
		v := p.getMessage(f, data, path)
		if v.Exists() && v.Type != gjson.Null && (v.Type != gjson.String || v.Str != "") {
			return v, true
		}
	}
	return gjson.Result{}, false
}
