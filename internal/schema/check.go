package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// Set is a loaded schema document, compiled once: one schema per event
// name. It is safe for concurrent use.
type Set struct {
	defs map[string]*jsonschema.Schema
}

// LoadError is a schema file that cannot be used: it says the path, what is
// wrong and how to fix it. It is bad usage (exit 2).
type LoadError struct {
	Path string
	Msg  string
	Hint string
	Err  error
}

func (e *LoadError) Error() string { return "schema " + e.Path + ": " + e.Msg }

func (e *LoadError) Unwrap() error { return e.Err }

// maxFile is the largest schema file Load reads.
const maxFile = 16 << 20

const inferHint = "write one with tmsws schema infer RECORDING -o FILE, or see its help for the format"

// Load reads the schema document at path: an object whose "$defs" holds
// one JSON Schema per event name (what tmsws schema infer writes). A def
// may be keyed by the full event name (App\Events\MessageSent) or the short
// one (MessageSent). Every def is compiled now; formats (date-time, uuid,
// ...) are asserted; a $ref may point within the file only.
func Load(path string) (*Set, error) {
	fail := func(err error, msg, hint string) error {
		return &LoadError{Path: path, Msg: msg, Hint: hint, Err: err}
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fail(err, "no such file", "give the path of a schema file; "+inferHint)
		}
		return nil, fail(err, "cannot be read: "+errText(err), "check the path and its permissions")
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fail(nil, "is a directory", "give the schema file itself; "+inferHint)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fail(err, "cannot be read: "+errText(err), "check the path and its permissions")
	}
	if len(raw) > maxFile {
		return nil, fail(nil, "larger than 16 MiB", "a schema file holds one small schema per event name; "+inferHint)
	}
	if err := jsonsafe.Valid(raw); err != nil {
		msg := "not JSON"
		if err == jsonsafe.ErrTooDeep {
			msg = "nested deeper than " + strconv.Itoa(jsonsafe.MaxDepth) + " levels"
		} else if _, jerr := jsonschema.UnmarshalJSON(bytes.NewReader(raw)); jerr != nil {
			msg = "not JSON: " + errText(jerr)
		}
		return nil, fail(err, msg, "fix the JSON, or "+inferHint)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fail(err, "not JSON: "+errText(err), "fix the JSON, or "+inferHint)
	}
	obj, _ := doc.(map[string]any)
	defs, _ := obj["$defs"].(map[string]any)
	if obj == nil || defs == nil {
		return nil, fail(nil, `has no "$defs" object keyed by event name`, `put one schema per event under "$defs", e.g. {"$defs":{"MessageSent":{"type":"object"}}}; `+inferHint)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	base := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	c := newCompiler()
	if err := c.AddResource(base, doc); err != nil {
		return nil, fail(err, "not a valid schema document: "+errText(err), "fix it, or "+inferHint)
	}
	set := &Set{defs: make(map[string]*jsonschema.Schema, len(defs))}
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		frag := "/$defs/" + strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")
		sch, err := c.Compile(base + "#" + (&url.URL{Fragment: frag}).EscapedFragment())
		if err != nil {
			return nil, fail(err, fmt.Sprintf("the schema of %s does not compile: %s", clipText(name, 80), errText(err)),
				"fix that entry of $defs (a JSON Schema 2020-12), or "+inferHint)
		}
		set.defs[name] = sch
	}
	return set, nil
}

func newCompiler() *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	return c
}

// noLoader refuses every $ref outside the file: a schema never reaches the
// network or other files.
type noLoader struct{}

func (noLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("a $ref to %s: only references within the file are followed", clipText(u, 80))
}

// errText is an error's text for one line, escaped and clipped.
func errText(err error) string {
	return clipText(strings.Join(strings.Fields(err.Error()), " "), 300)
}

// Events is the names of the schemas in the set, sorted.
func (s *Set) Events() []string {
	out := make([]string, 0, len(s.defs))
	for name := range s.defs {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// MaxViolations is how many violations Check returns one by one; a last
// one then says how many more there were ("… 7 more").
const MaxViolations = 20

// Check validates data (an event's raw JSON data; nil is no data, checked
// as null) against the schema of event: the def keyed by the full name, or
// else by the short name after the last backslash. known is false when the
// set has no schema for the event. Violations are "POINTER: what is wrong"
// ("/message/user_id: expected integer, got string"), sorted, at most
// MaxViolations and a count of the rest, each clipped and escaped. It is
// safe for concurrent use.
func (s *Set) Check(event string, data []byte) (violations []string, known bool) {
	sch := s.lookup(event)
	if sch == nil {
		return nil, false
	}
	if data == nil {
		data = []byte("null")
	}
	switch jsonsafe.Valid(data) {
	case nil:
	case jsonsafe.ErrTooDeep:
		return []string{"/: data nested deeper than " + strconv.Itoa(jsonsafe.MaxDepth) + " levels: not checked"}, true
	default:
		return []string{"/: data is not JSON: not checked"}, true
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []string{"/: data is not JSON: not checked"}, true
	}
	err := sch.Validate(v)
	if err == nil {
		return nil, true
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []string{"/: " + errText(err)}, true
	}
	seen := map[string]bool{}
	var out []string
	collect(ve, v, func(msg string) {
		if !seen[msg] {
			seen[msg] = true
			out = append(out, msg)
		}
	})
	sort.Strings(out)
	if len(out) > MaxViolations {
		more := len(out) - MaxViolations
		out = append(out[:MaxViolations:MaxViolations], "… "+strconv.Itoa(more)+" more")
	}
	return out, true
}

func (s *Set) lookup(event string) *jsonschema.Schema {
	if sch := s.defs[event]; sch != nil {
		return sch
	}
	return s.defs[record.ShortEvent(event)]
}

// collect calls fn with a message for every leaf of the error tree; root
// is the instance validated.
func collect(e *jsonschema.ValidationError, root any, fn func(string)) {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			collect(c, root, fn)
		}
		return
	}
	ptr := pointer(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Group, *kind.Schema, *kind.Reference:
		return // wrappers without a cause say nothing
	case *kind.Required:
		for _, m := range k.Missing {
			fn(ptr + ": missing required property " + clipText(m, 64))
		}
		return
	case *kind.Type:
		if k.Got == "number" { // the validator calls every number so
			if n, ok := at(root, e.InstanceLocation).(json.Number); ok && isIntegral(string(n)) {
				k = &kind.Type{Got: "integer", Want: k.Want}
			}
		}
		fn(ptr + ": " + describe(k))
		return
	}
	fn(ptr + ": " + describe(e.ErrorKind))
}

// at is the value at loc within v, or nil.
func at(v any, loc []string) any {
	for _, tok := range loc {
		switch c := v.(type) {
		case map[string]any:
			v = c[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

var printer = message.NewPrinter(language.English)

func describe(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		return "expected " + strings.Join(k.Want, " or ") + ", got " + k.Got
	case *kind.Enum:
		want := make([]string, 0, len(k.Want))
		for i, w := range k.Want {
			if i == 8 {
				want = append(want, "…")
				break
			}
			want = append(want, value(w))
		}
		if len(want) == 1 {
			return "expected " + want[0] + ", got " + value(k.Got)
		}
		return "expected one of " + strings.Join(want, ", ") + ", got " + value(k.Got)
	case *kind.Const:
		return "expected " + value(k.Want) + ", got " + value(k.Got)
	case *kind.Format:
		return "expected a " + clipText(k.Want, 40) + ", got " + value(k.Got)
	case *kind.FalseSchema:
		return "not allowed here"
	case *kind.MinLength:
		return "expected at least " + strconv.Itoa(k.Want) + " characters, got " + strconv.Itoa(k.Got)
	case *kind.MaxLength:
		return "expected at most " + strconv.Itoa(k.Want) + " characters, got " + strconv.Itoa(k.Got)
	case *kind.MinItems:
		return "expected at least " + strconv.Itoa(k.Want) + " items, got " + strconv.Itoa(k.Got)
	case *kind.MaxItems:
		return "expected at most " + strconv.Itoa(k.Want) + " items, got " + strconv.Itoa(k.Got)
	case *kind.Pattern:
		return "expected a match of " + clipText(k.Want, 60) + ", got " + value(k.Got)
	case *kind.AdditionalProperties:
		names := append([]string(nil), k.Properties...)
		sort.Strings(names) // the validator lists them in map order
		props := make([]string, 0, len(names))
		for i, p := range names {
			if i == 5 {
				props = append(props, "…")
				break
			}
			props = append(props, value(p))
		}
		return "unexpected properties " + strings.Join(props, ", ")
	}
	return clipText(k.LocalizedString(printer), 200)
}

// value shows a JSON value in a message, clipped.
func value(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return clipText(string(b), 40)
}

// pointer is the JSON pointer of an instance location, each token clipped,
// the whole clipped: "/" for the root.
func pointer(loc []string) string {
	if len(loc) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, tok := range loc {
		if b.Len() > 200 {
			b.WriteString("/…")
			break
		}
		b.WriteByte('/')
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
		b.WriteString(clipText(tok, 64))
	}
	return b.String()
}

// clipText escapes s for a terminal line and cuts it to about max bytes,
// on a character boundary, ending it with "…".
func clipText(s string, max int) string {
	cut := false
	if len(s) > max {
		i := max
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s, cut = s[:i], true
	}
	out := string(termsafe.Append(nil, s))
	if cut {
		out += "…"
	}
	return out
}

// Format checks with the validator's own rules, so an inferred format
// always holds for the samples it came from.
var (
	dateTime = mustFormat("date-time")
	uuid     = mustFormat("uuid")
)

func mustFormat(name string) *jsonschema.Schema {
	c := newCompiler()
	if err := c.AddResource("tmsws:format", map[string]any{"format": name}); err != nil {
		panic(err)
	}
	return c.MustCompile("tmsws:format")
}

func isDateTime(s string) bool {
	return len(s) >= 20 && len(s) <= 64 && s[4] == '-' && dateTime.Validate(s) == nil
}

func isUUID(s string) bool {
	return len(s) == 36 && s[8] == '-' && uuid.Validate(s) == nil
}
