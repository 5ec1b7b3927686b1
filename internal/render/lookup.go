package render

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/jsonscan"
)

// A line's fields are read from the data with get, gjson.Get for the
// simple dotted paths this package asks for ("message.user.name") that
// allocates nothing: gjson.Get unescapes every string it returns into new
// memory, and a Laravel payload escapes every "/" and every non-ASCII
// letter (json_encode's defaults), so a chat line would cost an allocation
// per field. get unescapes into p.text instead, which Write empties: a
// value's Str is valid until the next Write, as the record it came from.

// keepText is the largest p.text kept from one Write to the next.
const keepText = 256 << 10

// find is first for the hot paths: the first of paths present in data with
// a value that is neither null nor the empty string.
func (p *Pretty) find(data string, paths ...string) (gjson.Result, bool) {
	for _, path := range paths {
		v := p.get(data, path)
		if v.Exists() && v.Type != gjson.Null && (v.Type != gjson.String || v.Str != "") {
			return v, true
		}
	}
	return gjson.Result{}, false
}

// get is gjson.Get(data, path) for a path of plain object keys joined by
// dots (no wildcards, escapes, modifiers or array indexes). A key written
// with escapes in data sends the lookup to gjson.Get.
func (p *Pretty) get(data, path string) gjson.Result {
	raw, found, plain := lookup(data, path)
	if !plain {
		return gjson.Get(data, path)
	}
	if !found {
		return gjson.Result{}
	}
	return p.value(raw)
}

// lookup finds the raw value at path in obj. Like gjson, it takes the
// first key that matches, and when the rest of the path is not under it,
// the next one of the same name. plain is false when a key on the way has
// escapes (it could match once unescaped), or an object does not scan.
func lookup(obj, path string) (raw string, found, plain bool) {
	key, rest, more := strings.Cut(path, ".")
	i := jsonscan.SkipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return "", false, i >= len(obj) || obj[i] != '['
	}
	for i = jsonscan.SkipSpace(obj, i+1); i < len(obj) && obj[i] != '}'; {
		end := jsonscan.StringEnd(obj, i)
		if end < 0 {
			return "", false, false
		}
		k := obj[i+1 : end-1]
		if strings.IndexByte(k, '\\') >= 0 {
			return "", false, false
		}
		if i = jsonscan.SkipSpace(obj, end); i >= len(obj) || obj[i] != ':' {
			return "", false, false
		}
		i = jsonscan.SkipSpace(obj, i+1)
		if k == key && more {
			// Into the value at once: its end is needed only to go on.
			if raw, found, plain = lookup(obj[i:], rest); found || !plain {
				return raw, found, plain
			}
		}
		if end = jsonscan.ValueEnd(obj, i); end < 0 {
			return "", false, false
		}
		if k == key && !more {
			return obj[i:end], true, true
		}
		if i = jsonscan.SkipSpace(obj, end); i < len(obj) && obj[i] == ',' {
			i = jsonscan.SkipSpace(obj, i+1)
		}
	}
	return "", false, true
}

// value is the gjson.Result of one raw JSON value, a string unescaped into
// p.text.
func (p *Pretty) value(raw string) gjson.Result {
	if len(raw) < 2 || raw[0] != '"' {
		return gjson.Parse(raw) // numbers, literals, objects, arrays: no allocation
	}
	s := raw[1 : len(raw)-1]
	if strings.IndexByte(s, '\\') < 0 {
		return gjson.Result{Type: gjson.String, Raw: raw, Str: s}
	}
	start := len(p.text)
	p.text = jsonscan.Unescape(p.text, s)
	return gjson.Result{Type: gjson.String, Raw: raw, Str: bytesString(p.text[start:])}
}

// keyCount is gjson.Get(data, "@keys.#").Int().
func (p *Pretty) keyCount(data string) int {
	if n, ok := countKeys(data); ok {
		return n
	}
	return int(gjson.Get(data, "@keys.#").Int())
}

// countKeys is gjson.Get(obj, "@keys.#").Int() for an object without
// escaped keys; ok is false otherwise.
func countKeys(obj string) (n int, ok bool) {
	i := jsonscan.SkipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return 0, false
	}
	for i = jsonscan.SkipSpace(obj, i+1); i < len(obj) && obj[i] != '}'; {
		end := jsonscan.StringEnd(obj, i)
		if end < 0 || strings.IndexByte(obj[i:end], '\\') >= 0 {
			return 0, false
		}
		if i = jsonscan.SkipSpace(obj, end); i >= len(obj) || obj[i] != ':' {
			return 0, false
		}
		if end = jsonscan.ValueEnd(obj, jsonscan.SkipSpace(obj, i+1)); end < 0 {
			return 0, false
		}
		n++
		if i = jsonscan.SkipSpace(obj, end); i < len(obj) && obj[i] == ',' {
			i = jsonscan.SkipSpace(obj, i+1)
		}
	}
	return n, i < len(obj)
}

// The scanners below check their bounds and return -1 when a scan fails:
// data from a file need not be JSON.
