// Package format prints JSON documents (records, channels, summaries)
// through a user's jq expression (--jq, with gojq) or Go template
// (--template), as gh's --jq and --template do: compiled once, run per
// document.
//
// jq output follows gh --jq: a string result is printed raw, any other
// value as compact JSON, one result per line. A template's output gets a
// newline unless it ends in one, so each document is one line by default.
// On a terminal, text that came from the document is escaped (termsafe)
// before it is printed: a payload cannot move the cursor or forge a line;
// a template's own colours (the color helper) stay.
package format

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/itchyny/gojq"

	"github.com/amusoft/tmsws/internal/termsafe"
)

// Options are how the output is shown.
type Options struct {
	// Terminal: the output is a terminal; document text is escaped.
	Terminal bool
	// Color: the template's color helper colours (--color, NO_COLOR, the
	// terminal); without it, color returns the text as it is.
	Color bool
	// Now is the clock of timeago; nil means time.Now.
	Now func() time.Time
}

// Formatter runs one jq expression or one template on each document. It is
// safe for concurrent use: replay formats on several goroutines.
type Formatter struct {
	code   *gojq.Code
	needle []byte      // what a document must hold to give output (prefilter.go); nil: no such rule
	proj   *projection // the part of a document the expression sees (project.go); nil: all of it
	pre    *precheck   // its leading select's condition, when that sees less (prefilter.go)
	tpl    *template.Template
	opts   Options
}

// Error is a --jq or --template that does not compile: bad usage (exit 2).
// Msg says where (the column, for jq) and Hint shows the expression with a
// caret under the place.
type Error struct {
	Flag string // "--jq" or "--template"
	Msg  string
	Hint string
}

func (e *Error) Error() string { return e.Flag + ": " + e.Msg }

// With returns a copy of f that shows its output as opts say.
func (f *Formatter) With(opts Options) *Formatter {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	g := *f
	g.opts = opts
	if f.tpl != nil {
		g.tpl = template.Must(f.tpl.Clone()).Funcs(funcs(opts))
	}
	return &g
}

// Compile compiles a jq expression or a template; exactly one of them is
// set (both empty returns nil, nil).
func Compile(jq, tpl string, opts Options) (*Formatter, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch {
	case jq != "" && tpl != "":
		return nil, &Error{Flag: "--jq", Msg: "--jq and --template exclude each other", Hint: "give one of them"}
	case jq != "":
		code, q, err := compileJQ(jq)
		if err != nil {
			return nil, err
		}
		f := &Formatter{code: code, needle: needleOf(q), proj: projectionOf(q), opts: opts}
		if f.proj == nil {
			f.pre = precheckOf(q)
		}
		return f, nil
	case tpl != "":
		t, err := template.New("template").Option("missingkey=zero").Funcs(funcs(opts)).Parse(tpl)
		if err != nil {
			return nil, &Error{Flag: "--template", Msg: strings.TrimPrefix(err.Error(), "template: "),
				Hint: "a Go text/template over the record's JSON fields, e.g. --template '{{.event}} {{.data.message.content}}'"}
		}
		return &Formatter{tpl: t, opts: opts}, nil
	}
	return nil, nil
}

const jqManual = "jq's syntax is in its manual: https://jqlang.org/manual/"

func compileJQ(expr string) (*gojq.Code, *gojq.Query, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		e := &Error{Flag: "--jq", Msg: err.Error()}
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			e.Msg = fmt.Sprintf("%s at column %d of %q", err.Error(), columnOf(expr, pe.Offset), expr)
		}
		e.Hint = jqManual
		return nil, nil, e
	}
	// No environment: $ENV and env would hand TMSWS_TOKEN and
	// TMSWS_APP_SECRET to the output.
	code, err := gojq.Compile(q, gojq.WithEnvironLoader(func() []string { return nil }))
	if err != nil {
		return nil, nil, &Error{Flag: "--jq", Msg: err.Error(), Hint: jqManual}
	}
	return code, q, nil
}

// columnOf is the 1-based column of the character before byte offset
// (gojq's Offset is after the token that failed), counted in characters
// on the expression's last line up to there.
func columnOf(expr string, offset int) int {
	if offset > len(expr) {
		offset = len(expr)
	}
	if offset < 0 {
		offset = 0
	}
	line := expr[:offset]
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	n := len([]rune(line))
	if n == 0 {
		return 1
	}
	return n
}

// Append appends what doc (one valid JSON value: a record, a channel, a
// summary) gives: zero or more lines, each ending in a newline. A runtime error of the expression or template (a
// field of a string, say) is returned; dst then holds the lines before it.
func (f *Formatter) Append(dst, doc []byte) ([]byte, error) {
	if f.needle != nil && !mayPrint(f.needle, doc) {
		return dst, nil
	}
	if f.pre != nil && f.pre.cannotPass(doc) {
		return dst, nil
	}
	var v any
	var err error
	if f.proj != nil {
		v, err = decodeProjected(doc, f.proj)
	} else {
		v, err = decode(doc)
	}
	if err != nil {
		return dst, fmt.Errorf("decode the record: %w", err)
	}
	if f.code != nil {
		return f.appendJQ(dst, v)
	}
	return f.appendTemplate(dst, v)
}

func (f *Formatter) appendJQ(dst []byte, v any) ([]byte, error) {
	iter := f.code.RunWithContext(context.Background(), v)
	for {
		out, ok := iter.Next()
		if !ok {
			return dst, nil
		}
		if err, ok := out.(error); ok {
			var he *gojq.HaltError
			if errors.As(err, &he) && he.Value() == nil {
				return dst, nil // halt: stop without an error
			}
			return dst, fmt.Errorf("--jq: %w", err)
		}
		start := len(dst)
		if s, ok := out.(string); ok {
			dst = append(dst, s...)
		} else {
			b, err := gojq.Marshal(out)
			if err != nil {
				return dst, fmt.Errorf("--jq: %w", err)
			}
			dst = append(dst, b...)
		}
		if f.opts.Terminal {
			dst = escapeLines(dst, start)
		}
		dst = append(dst, '\n')
	}
}

func (f *Formatter) appendTemplate(dst []byte, v any) ([]byte, error) {
	if f.opts.Terminal {
		v = escapeStrings(v)
	}
	var b bytes.Buffer
	if err := f.tpl.Execute(&b, v); err != nil {
		return dst, fmt.Errorf("--template: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	if b.Len() == 0 {
		return dst, nil
	}
	dst = append(dst, b.Bytes()...)
	if dst[len(dst)-1] != '\n' {
		dst = append(dst, '\n')
	}
	return dst, nil
}

// escapeLines escapes dst[start:] for a terminal, keeping its newlines:
// a jq string with a newline is two lines, as jq -r prints it.
func escapeLines(dst []byte, start int) []byte {
	out := dst[start:]
	if termsafe.IsSafe(string(out)) {
		return dst
	}
	text := string(out)
	dst = dst[:start]
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = termsafe.Append(dst, line)
	}
	return dst
}

// escapeStrings returns v with every string (keys included) escaped for a
// terminal.
func escapeStrings(v any) any {
	switch x := v.(type) {
	case string:
		return termsafe.String(x)
	case []any:
		for i := range x {
			x[i] = escapeStrings(x[i])
		}
		return x
	case map[string]any:
		for k, e := range x {
			if sk := termsafe.String(k); sk != k {
				delete(x, k)
				k = sk
			}
			x[k] = escapeStrings(e)
		}
		return x
	}
	return v
}
