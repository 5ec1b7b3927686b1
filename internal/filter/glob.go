package filter

import (
	"fmt"
	"unicode/utf8"
)

// A glob is a compiled --event pattern or replay --channel pattern. The
// syntax is that of path.Match
// with two differences: `*` matches any run of characters, backslashes
// included, and `\` is an ordinary character rather than an escape, so
// `App\Events\*` means what it says.
//
//   - `*` matches any run of characters, possibly empty;
//   - `?` matches exactly one character;
//   - `[abc]` matches one of a, b, c; ranges such as `[a-z]` work, and
//     `[!a-z]` or `[^a-z]` negates.
//
// A `]` right after `[` (or after its `!`/`^`) is a literal `]`, as is a `-`
// at either end of a class.
type glob struct {
	src     string
	literal bool // no metacharacters: compare with ==
	exact   bool // an --event pattern written with Echo's leading dot: full names only
	toks    []token
}

type tokenKind uint8

const (
	tokLit tokenKind = iota
	tokAny
	tokStar
	tokClass
)

type token struct {
	kind   tokenKind
	lit    string      // tokLit
	ranges []runeRange // tokClass
	negate bool        // tokClass
}

type runeRange struct{ lo, hi rune }

// globFlag says which flag a pattern came from, for the error messages.
type globFlag struct {
	name     string // "--event"
	what     string // "an event name"
	examples string // `"MessageSent" or "*Sent"`
	class    string // an example with a character class
}

var (
	eventFlag   = globFlag{"--event", "an event name", `"MessageSent" or "*Sent"`, `"[A-Z]*Sent"`}
	channelFlag = globFlag{"--channel", "a channel name", `"private-chat.42" or "presence-*"`, `"private-chat.[0-9]*"`}
)

func compileGlob(pattern string) (glob, error) { return compileGlobFor(eventFlag, pattern) }

// compileEventGlob compiles an --event pattern. A leading dot is Echo's:
// `.listen('.App\\Events\\MessageSent')` and `.listen('.message.sent')` name
// one event exactly, without the namespace Echo otherwise puts before a
// name. The glob is then the rest of the pattern, tried against an event's
// full name only (see Filter.matchName).
func compileEventGlob(pattern string) (glob, error) {
	if pattern == "." {
		return glob{}, usagef(`--event ".": a leading dot names one event exactly, as in Echo; give the name after it, e.g. .App\Events\MessageSent or .message.sent`)
	}
	g, err := compileGlob(pattern) // errors quote the pattern as given
	if err != nil || pattern[0] != '.' {
		return g, err
	}
	// The dot is a literal, so the rest compiles whenever the whole did.
	g, err = compileGlob(pattern[1:])
	g.exact = true
	return g, err
}

func compileGlobFor(fl globFlag, pattern string) (glob, error) {
	if pattern == "" {
		return glob{}, usagef(`%s "": empty pattern; give %s or a glob such as %s`, fl.name, fl.what, fl.examples)
	}
	if !utf8.ValidString(pattern) {
		return glob{}, usagef(`%s %q: the pattern is not valid UTF-8`, fl.name, pattern)
	}
	g := glob{src: pattern}
	lit := -1 // start of the current literal run
	flush := func(end int) {
		if lit >= 0 {
			g.toks = append(g.toks, token{kind: tokLit, lit: pattern[lit:end]})
			lit = -1
		}
	}
	for i := 0; i < len(pattern); {
		switch pattern[i] {
		case '*':
			flush(i)
			// Consecutive stars are one star.
			if n := len(g.toks); n == 0 || g.toks[n-1].kind != tokStar {
				g.toks = append(g.toks, token{kind: tokStar})
			}
			i++
		case '?':
			flush(i)
			g.toks = append(g.toks, token{kind: tokAny})
			i++
		case '[':
			flush(i)
			tok, n, err := parseClass(fl, pattern, i)
			if err != nil {
				return glob{}, err
			}
			g.toks = append(g.toks, tok)
			i += n
		default:
			if lit < 0 {
				lit = i
			}
			i++
		}
	}
	flush(len(pattern))
	g.literal = len(g.toks) == 1 && g.toks[0].kind == tokLit
	return g, nil
}

// parseClass parses the class starting at pattern[start] == '[' and returns
// the token and the number of bytes it spans.
func parseClass(fl globFlag, pattern string, start int) (token, int, error) {
	tok := token{kind: tokClass}
	i := start + 1
	if i < len(pattern) && (pattern[i] == '!' || pattern[i] == '^') {
		tok.negate = true
		i++
	}
	first := true
	for {
		if i >= len(pattern) {
			return token{}, 0, usagef(`%s "%s": unterminated [ in the pattern; close the character class, e.g. %s, or use ? for any one character`, fl.name, pattern, fl.class)
		}
		if pattern[i] == ']' && !first {
			i++
			break
		}
		first = false
		lo, n := utf8.DecodeRuneInString(pattern[i:])
		i += n
		hi := lo
		// A range a-z; a '-' just before the closing ']' is a literal.
		if i+1 < len(pattern) && pattern[i] == '-' && pattern[i+1] != ']' {
			var m int
			hi, m = utf8.DecodeRuneInString(pattern[i+1:])
			i += 1 + m
			if hi < lo {
				return token{}, 0, usagef(`%s "%s": bad range %c-%c in [...]; write the lower end first, e.g. [a-z]`, fl.name, pattern, lo, hi)
			}
		}
		tok.ranges = append(tok.ranges, runeRange{lo, hi})
	}
	return tok, i - start, nil
}

func (t *token) classMatches(r rune) bool {
	in := false
	for _, rr := range t.ranges {
		if rr.lo <= r && r <= rr.hi {
			in = true
			break
		}
	}
	return in != t.negate
}

// match reports whether the whole of name matches the glob. It backtracks
// only to the most recent star, so it runs in O(len(name)*len(tokens)).
func (g *glob) match(name string) bool {
	if g.literal {
		return name == g.src
	}
	toks := g.toks
	ti, ni := 0, 0
	starTi, starNi := -1, 0
	for {
		if ti < len(toks) {
			t := &toks[ti]
			switch t.kind {
			case tokStar:
				starTi, starNi = ti, ni
				ti++
				continue
			case tokLit:
				if len(name)-ni >= len(t.lit) && name[ni:ni+len(t.lit)] == t.lit {
					ti++
					ni += len(t.lit)
					continue
				}
			case tokAny:
				if ni < len(name) {
					_, n := utf8.DecodeRuneInString(name[ni:])
					ti++
					ni += n
					continue
				}
			case tokClass:
				if ni < len(name) {
					r, n := utf8.DecodeRuneInString(name[ni:])
					if t.classMatches(r) {
						ti++
						ni += n
						continue
					}
				}
			}
		} else if ni == len(name) {
			return true
		}
		// Mismatch: let the last star swallow one more character.
		if starTi < 0 || starNi >= len(name) {
			return false
		}
		_, n := utf8.DecodeRuneInString(name[starNi:])
		starNi += n
		ti, ni = starTi+1, starNi
	}
}

func usagef(format string, args ...any) *UsageError {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}
