// Package dotenv reads a Laravel project's .env file the way
// vlucas/phpdotenv v5 (what Laravel 11 and 12 use) reads it, so tmsws sees
// the values Laravel sees: REVERB_*, PUSHER_*, VITE_REVERB_*, APP_URL.
//
// Values are secrets (REVERB_APP_SECRET): no error of this package quotes a
// value, or the text of a line that may hold one.
package dotenv

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode/utf8"
)

// MaxSize is the largest .env file Load reads. A Laravel .env is a few kB.
const MaxSize = 1 << 20

// Var is one variable of a .env file: its value after unquoting and
// interpolation, and its 1-based line (the first line of a multi-line value).
type Var struct {
	Value string
	Line  int
}

// File is a parsed .env file.
type File struct {
	Path string         // as given to Parse/Load
	Vars map[string]Var // the last definition of each name wins, as in phpdotenv
}

// Get returns the variable name; ok is false when the file does not define it.
func (f *File) Get(name string) (Var, bool) {
	if f == nil {
		return Var{}, false
	}
	v, ok := f.Vars[name]
	return v, ok
}

// Error is a .env problem: Path, Line (0 when none) and Msg, which says what
// to fix and never quotes a value.
type Error struct {
	Path string
	Line int
	Msg  string
}

// Error is "PATH:LINE: MSG", or "PATH: MSG" when Line is 0.
func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
}

// Load reads and parses path: a regular file (or a symlink to one) of at most
// MaxSize bytes.
func Load(path string, env func(string) string) (*File, error) {
	// Stat before opening: opening a FIFO would block.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &Error{Path: path, Msg: "cannot read the file: " + reason(err)}
	}
	if !fi.Mode().IsRegular() {
		return nil, &Error{Path: path, Msg: "not a regular file; give the path of the project's .env file"}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Path: path, Msg: "cannot read the file: " + reason(err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, &Error{Path: path, Msg: "cannot read the file: " + reason(err)}
	}
	if len(data) > MaxSize {
		return nil, &Error{Path: path, Msg: "larger than 1 MiB, too big for a .env file; check the path"}
	}
	return Parse(path, data, env)
}

// reason is err without the path a *fs.PathError repeats.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse parses data as vlucas/phpdotenv v5 does (see the package tests for
// each rule). env looks up the process environment for ${NAME}
// interpolation (nil: none); a non-empty value there wins over the file's
// earlier definition, as in Laravel's immutable repository.
func Parse(path string, data []byte, env func(string) string) (*File, error) {
	p := &parser{
		path: path,
		src:  strings.TrimPrefix(string(data), "\uFEFF"),
		line: 1,
		env:  env,
		file: &File{Path: path, Vars: map[string]Var{}},
	}
	for p.pos < len(p.src) {
		if err := p.entry(); err != nil {
			return nil, err
		}
	}
	return p.file, nil
}

// parser walks src once. Lines end in \r\n, \n or \r, as in phpdotenv.
type parser struct {
	path string
	src  string
	pos  int // next byte of src
	line int // line of src[pos]
	env  func(string) string
	file *File
}

func (p *parser) errorf(line int, format string, args ...any) *Error {
	return &Error{Path: p.path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// isSpace is whitespace inside a line (PHP's ctype_space without \r, \n).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\v' || c == '\f' }

func isEOL(c byte) bool { return c == '\n' || c == '\r' }

func trimSpace(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r < utf8.RuneSelf && isSpace(byte(r)) })
}

// atEOL: src[pos] ends the line, or the file has ended.
func (p *parser) atEOL() bool { return p.pos >= len(p.src) || isEOL(p.src[p.pos]) }

// newline consumes the line break at pos.
func (p *parser) newline() {
	if strings.HasPrefix(p.src[p.pos:], "\r\n") {
		p.pos++
	}
	p.pos++
	p.line++
}

// endLine skips the rest of the line (a comment) and its line break.
func (p *parser) endLine() {
	for !p.atEOL() {
		p.pos++
	}
	if p.pos < len(p.src) {
		p.newline()
	}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

// entry parses the line at pos: blank, a comment, or NAME=value (whose value
// may run on over more lines when quoted).
func (p *parser) entry() error {
	line := p.line
	end := strings.IndexAny(p.src[p.pos:], "\r\n")
	if end < 0 {
		end = len(p.src) - p.pos
	}
	text := p.src[p.pos : p.pos+end]
	if t := trimSpace(text); t == "" || t[0] == '#' {
		p.endLine()
		return nil
	}
	eq := strings.IndexByte(text, '=')
	if eq < 0 {
		return p.errorf(line, `not a NAME=value line: it has no "="; write NAME=value, or start the line with # to make it a comment`)
	}
	name, ok := parseName(text[:eq])
	if !ok {
		return p.errorf(line, "not a NAME=value line: a name is letters, digits, _ and ., not starting with a digit (export NAME=value is allowed)")
	}
	p.pos += eq + 1
	value, err := p.value(name)
	if err != nil {
		return err
	}
	if strings.IndexByte(value, 0) >= 0 || !utf8.ValidString(value) {
		return p.errorf(line, "the value of %s holds a NUL byte or invalid UTF-8 (perhaps from ${...}); save the file as UTF-8 text", name)
	}
	p.file.Vars[name] = Var{Value: value, Line: line}
	return nil
}

// parseName takes the text before "=": trimmed, with an optional "export "
// and optional quotes around the name, as phpdotenv allows.
func parseName(s string) (string, bool) {
	s = trimSpace(s)
	if len(s) > 7 && strings.HasPrefix(s, "export") && isSpace(s[6]) {
		s = trimSpace(s[6:])
	}
	if len(s) >= 3 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		s = s[1 : len(s)-1]
	}
	return s, validName(s)
}

// validName: [A-Za-z_][A-Za-z0-9_.]*
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case i > 0 && (c == '.' || '0' <= c && c <= '9'):
		default:
			return false
		}
	}
	return true
}

// value parses from just after "=" to the end of the value's last line,
// line break included.
func (p *parser) value(name string) (string, error) {
	p.skipSpace()
	if p.atEOL() {
		p.endLine()
		return "", nil
	}
	switch p.src[p.pos] {
	case '\'':
		return p.singleQuoted(name)
	case '"':
		return p.doubleQuoted(name)
	}
	return p.unquoted(name)
}

// unquoted: up to the end of the line or a #; whitespace inside is an error
// ("unexpected whitespace" in phpdotenv).
func (p *parser) unquoted(name string) (string, error) {
	var b strings.Builder
	for !p.atEOL() {
		c := p.src[p.pos]
		switch {
		case c == '#':
			p.endLine()
			return b.String(), nil
		case isSpace(c):
			p.skipSpace()
			if !p.atEOL() && p.src[p.pos] != '#' {
				return "", p.errorf(p.line, "the value of %s holds whitespace; put the value in double quotes", name)
			}
			p.endLine()
			return b.String(), nil
		case c == '$':
			p.dollar(&b)
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	p.endLine()
	return b.String(), nil
}

// singleQuoted: literal up to the next ', which may be on a later line.
func (p *parser) singleQuoted(name string) (string, error) {
	start := p.line
	p.pos++
	var b strings.Builder
	for {
		switch {
		case p.pos >= len(p.src):
			return "", p.errorf(start, "the value of %s has no closing ' quote; add it", name)
		case p.src[p.pos] == '\'':
			p.pos++
			return b.String(), p.afterQuote(name)
		case isEOL(p.src[p.pos]):
			b.WriteByte('\n')
			p.newline()
		default:
			b.WriteByte(p.src[p.pos])
			p.pos++
		}
	}
}

// doubleQuoted: up to the next unescaped ", which may be on a later line;
// \" \\ \$ \n \r \t \f \v are escapes, and ${NAME} is interpolated.
func (p *parser) doubleQuoted(name string) (string, error) {
	start := p.line
	p.pos++
	var b strings.Builder
	for {
		if p.pos >= len(p.src) {
			return "", p.errorf(start, `the value of %s has no closing " quote; add it`, name)
		}
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), p.afterQuote(name)
		case c == '\\':
			if p.pos+1 >= len(p.src) {
				return "", p.errorf(start, `the value of %s has no closing " quote; add it`, name)
			}
			e, ok := escapes[p.src[p.pos+1]]
			if !ok {
				return "", p.errorf(p.line, `the value of %s has an unknown escape sequence; write \\ for a backslash (escapes: \" \\ \$ \n \r \t \f \v)`, name)
			}
			b.WriteByte(e)
			p.pos += 2
		case c == '$':
			p.dollar(&b)
		case isEOL(c):
			b.WriteByte('\n')
			p.newline()
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
}

var escapes = map[byte]byte{'"': '"', '\\': '\\', '$': '$', 'n': '\n', 'r': '\r', 't': '\t', 'f': '\f', 'v': '\v'}

// afterQuote: after the closing quote only whitespace and a # comment may
// follow on that line.
func (p *parser) afterQuote(name string) error {
	p.skipSpace()
	if !p.atEOL() && p.src[p.pos] != '#' {
		return p.errorf(p.line, "the value of %s has text after its closing quote; remove it, or start a comment with #", name)
	}
	p.endLine()
	return nil
}

// dollar writes the ${NAME} at pos interpolated: the process environment
// when it is set there and not empty, else the file's earlier definition,
// else empty. A $ that does not start ${NAME} is itself.
func (p *parser) dollar(b *strings.Builder) {
	rest := p.src[p.pos:]
	n := 0
	if strings.HasPrefix(rest, "${") {
		n = 2
		for n < len(rest) && isVarChar(rest[n]) {
			n++
		}
		if n == 2 || n >= len(rest) || rest[n] != '}' {
			n = 0
		}
	}
	if n == 0 {
		b.WriteByte('$')
		p.pos++
		return
	}
	b.WriteString(p.lookup(rest[2:n]))
	p.pos += n + 1
}

// isVarChar is a character of NAME in ${NAME} (phpdotenv's [a-zA-Z0-9_.]).
func isVarChar(c byte) bool {
	return c == '_' || c == '.' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

func (p *parser) lookup(name string) string {
	if p.env != nil {
		if v := p.env(name); v != "" {
			return v
		}
	}
	return p.file.Vars[name].Value
}
