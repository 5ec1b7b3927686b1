// Package schema is tmsws's payload contracts: it infers one JSON Schema
// (2020-12) per event name from recorded events (tmsws schema infer), and
// loads such a document to check each event's data against its event's
// schema (--schema on listen, replay and subscribe).
package schema

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/jsonsafe"
)

// The inference rules, per position in the data (the root, a property, the
// items of an array), over every sample seen there:
//
//   - type: every JSON type seen; "integer" when every number was integral
//     (1, 1.0, 1e3), else "number"; several types become a list
//     (["string","null"] where null was seen).
//   - required: the properties present in every object seen there.
//   - format: "date-time" (RFC 3339) or "uuid" when every string was one.
//   - enum: a small closed set of strings: at least EnumMinSamples strings,
//     at most EnumMaxValues distinct values, each seen at least
//     EnumMinRepeats times and at most EnumMaxLen bytes long, and not a
//     property named like an id (id, *_id, *Id, *uuid) or a timestamp
//     (*_at); only where nothing but strings (and null) was seen.
//   - items: one schema merged from every element of every array.
//   - additionalProperties stays open: a new field keeps the contract.
//
// Data is hostile: positions deeper than MaxDepth only get their type, an
// object records at most MaxProperties properties, an event at most
// maxNodes positions, and no string is kept but short enum candidates.
const (
	EnumMinSamples = 10
	EnumMaxValues  = 5
	EnumMinRepeats = 2
	EnumMaxLen     = 32
	MaxDepth       = 32
	MaxProperties  = 1000
	maxNodes       = 1 << 16
)

// Type bits, in the order they are written in a type list (null last).
const (
	tBoolean = 1 << iota
	tInteger
	tNumber // a number that is not integral
	tString
	tArray
	tObject
	tNull
)

var typeNames = []struct {
	bit  int
	name string
}{{tBoolean, "boolean"}, {tInteger, "integer"}, {tNumber, "number"}, {tString, "string"}, {tArray, "array"}, {tObject, "object"}, {tNull, "null"}}

// node is what was seen at one position of an event's data.
type node struct {
	types   int
	noEnum  bool           // enum ruled out (id-like name, too many or long values)
	strs    map[string]int // enum candidates and their counts
	nstr    int            // string samples
	notDate bool           // a string that is no RFC 3339 date-time was seen
	notUUID bool           // a string that is no uuid was seen

	nobj    int // object samples
	props   map[string]*node
	present map[string]int // property → objects it was present in
	seenIn  map[string]int // property → the last object sample (1-based) it was counted in

	items *node // merged array elements
}

type eventSamples struct {
	root    *node
	samples int
	nodes   int
}

// Inferrer builds one JSON Schema (2020-12) per event name from samples.
// It is not safe for concurrent use.
type Inferrer struct {
	events map[string]*eventSamples
}

// NewInferrer returns an empty Inferrer.
func NewInferrer() *Inferrer { return &Inferrer{events: map[string]*eventSamples{}} }

// Add adds one sample of event: data is the record's raw JSON data (nil:
// the event had no data, taken as null). Data that is not JSON, or nested
// deeper than jsonsafe.MaxDepth, is skipped.
func (in *Inferrer) Add(event string, data []byte) {
	if data == nil {
		data = []byte("null")
	}
	if jsonsafe.Valid(data) != nil {
		return // not JSON, or nested deeper than jsonsafe.MaxDepth (Check says so)
	}
	ev := in.events[event]
	if ev == nil {
		ev = &eventSamples{root: &node{}, nodes: 1}
		in.events[event] = ev
	}
	ev.samples++
	ev.add(ev.root, "", gjson.ParseBytes(data), 0)
}

func (ev *eventSamples) newNode(name string) *node {
	ev.nodes++
	return &node{noEnum: idLike(name)}
}

func (ev *eventSamples) add(n *node, name string, v gjson.Result, depth int) {
	switch v.Type {
	case gjson.Null:
		n.types |= tNull
	case gjson.True, gjson.False:
		n.types |= tBoolean
	case gjson.Number:
		if isIntegral(v.Raw) {
			n.types |= tInteger
		} else {
			n.types |= tNumber
		}
	case gjson.String:
		n.types |= tString
		n.addString(v.Str)
	case gjson.JSON:
		if v.IsArray() {
			n.types |= tArray
			if depth >= MaxDepth {
				return
			}
			v.ForEach(func(_, el gjson.Result) bool {
				if n.items == nil {
					if ev.nodes >= maxNodes {
						return false
					}
					n.items = ev.newNode(name)
				}
				ev.add(n.items, name, el, depth+1)
				return true
			})
			return
		}
		n.types |= tObject
		n.nobj++
		if depth >= MaxDepth {
			return
		}
		v.ForEach(func(k, val gjson.Result) bool {
			key := k.Str
			c := n.props[key]
			if c == nil {
				if len(n.props) >= MaxProperties || ev.nodes >= maxNodes {
					return true
				}
				if n.props == nil {
					n.props, n.present, n.seenIn = map[string]*node{}, map[string]int{}, map[string]int{}
				}
				key = strings.Clone(key)
				c = ev.newNode(key)
				n.props[key] = c
			}
			if n.seenIn[key] != n.nobj { // a key given twice counts once
				n.seenIn[key] = n.nobj
				n.present[key]++
			}
			ev.add(c, key, val, depth+1)
			return true
		})
	}
}

func (n *node) addString(s string) {
	n.nstr++
	if !n.notDate && !isDateTime(s) {
		n.notDate = true
	}
	if !n.notUUID && !isUUID(s) {
		n.notUUID = true
	}
	if n.noEnum {
		return
	}
	if len(s) > EnumMaxLen {
		n.noEnum, n.strs = true, nil
		return
	}
	if _, ok := n.strs[s]; !ok {
		if len(n.strs) >= EnumMaxValues {
			n.noEnum, n.strs = true, nil
			return
		}
		if n.strs == nil {
			n.strs = map[string]int{}
		}
		s = strings.Clone(s)
	}
	n.strs[s]++
}

// idLike reports whether a property's name says its values are ids or
// timestamps, which never make an enum however few were seen.
func idLike(name string) bool {
	l := strings.ToLower(name)
	return l == "id" || l == "ids" || strings.HasSuffix(l, "_id") || strings.HasSuffix(l, "_ids") ||
		strings.HasSuffix(name, "Id") || strings.HasSuffix(name, "Ids") || strings.HasSuffix(l, "uuid") ||
		strings.HasSuffix(l, "_at") || strings.HasSuffix(l, "token")
}

// isIntegral reports whether the JSON number text is a whole number small
// enough in exponent for a validator to tell (big.Rat refuses exponents
// past a million; "number" is always a safe answer).
func isIntegral(raw string) bool {
	s := strings.TrimPrefix(raw, "-")
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	e := 0
	if hasExp {
		x, err := strconv.Atoi(exp)
		if err != nil || x > 1000 || x < -1000 {
			return false
		}
		e = x
	}
	ip, frac, _ := strings.Cut(mant, ".")
	frac = strings.TrimRight(frac, "0")
	digits := strings.TrimLeft(ip+frac, "0")
	if digits == "" {
		return true // zero
	}
	zeros := len(digits) - len(strings.TrimRight(digits, "0"))
	return e-len(frac)+zeros >= 0
}

// Document is the whole schema file: {"$schema":…,"$comment":…,"$defs":{…}}
// with one definition per event name as recorded, keys sorted, indented
// two spaces. The same samples in the same order give the same bytes.
func (in *Inferrer) Document() []byte {
	defs := map[string]any{}
	for name, ev := range in.events {
		s := ev.root.schema()
		s["$comment"] = "inferred from " + strconv.Itoa(ev.samples) + " " + plural(ev.samples, "sample")
		defs[name] = s
	}
	doc := map[string]any{
		"$schema":  Draft,
		"$comment": Comment,
		"$defs":    defs,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		panic("schema: encode the document: " + err.Error()) // maps of strings, ints and bools cannot fail
	}
	return buf.Bytes()
}

// Draft is the JSON Schema dialect of the documents.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// Comment is the document's $comment.
const Comment = "Payload contracts inferred by tmsws schema infer: one schema per event name under $defs. " +
	"Edit freely; a def may be keyed by the short name (MessageSent). Check with --schema on listen, replay and subscribe."

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

func (n *node) schema() map[string]any {
	s := map[string]any{}
	var names []string
	for _, t := range typeNames {
		if n.types&t.bit == 0 || (t.bit == tInteger && n.types&tNumber != 0) {
			continue
		}
		names = append(names, t.name)
	}
	switch len(names) {
	case 0: // nothing seen: no constraint
	case 1:
		s["type"] = names[0]
	default:
		s["type"] = names
	}
	if n.types&tString != 0 && n.nstr > 0 {
		switch {
		case !n.notDate:
			s["format"] = "date-time"
		case !n.notUUID:
			s["format"] = "uuid"
		}
		if e := n.enum(); e != nil {
			s["enum"] = e
		}
	}
	if len(n.props) > 0 {
		props := map[string]any{}
		var req []string
		for k, c := range n.props {
			props[k] = c.schema()
			if n.present[k] == n.nobj {
				req = append(req, k)
			}
		}
		s["properties"] = props
		if len(req) > 0 {
			sort.Strings(req)
			s["required"] = req
		}
	}
	if n.items != nil {
		s["items"] = n.items.schema()
	}
	return s
}

// enum is the closed set of values at n, or nil when the rules rule it out.
func (n *node) enum() []any {
	if n.noEnum || n.nstr < EnumMinSamples || len(n.strs) == 0 || n.types&^(tString|tNull) != 0 {
		return nil
	}
	if !n.notDate || !n.notUUID {
		return nil
	}
	vals := make([]string, 0, len(n.strs))
	for v, c := range n.strs {
		if c < EnumMinRepeats {
			return nil
		}
		vals = append(vals, v)
	}
	sort.Strings(vals)
	out := make([]any, 0, len(vals)+1)
	for _, v := range vals {
		out = append(out, v)
	}
	if n.types&tNull != 0 {
		out = append(out, nil)
	}
	return out
}
