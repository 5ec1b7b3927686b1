package filter

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// A --where condition is PATH, or PATH OP VALUE with OP one of
//
//	=  !=  >  >=  <  <=  ~
//
// PATH is a gjson path over the JSON record (`data.message.user_id`,
// `channel`, `user_id`). The expression is split at the first operator
// character outside parentheses, brackets and braces (so gjson queries such
// as `data.items.#(id>3).name` keep their operators) and not escaped with a
// backslash. Spaces around the operator are ignored.
//
// VALUE may be quoted: "a b" is a JSON string literal, 'a b' is taken as is.
// A quoted value always compares as a string.
//
// Semantics:
//   - a bare PATH holds when the path exists in the record (null included);
//   - a condition on a path that does not exist never holds, `!=` included,
//     as in gjson's own queries: test existence with a bare path;
//   - when both sides are numbers (a JSON number, or a string that reads as
//     one, so user_id=42 matches 42 and "42") they compare numerically,
//     integers exactly whatever their size;
//   - when both sides are RFC 3339 times (ts, Laravel's created_at) they
//     compare as instants, so ts>=2026-11-26T09:00:00Z works whatever the
//     precision or zone of either side;
//   - otherwise they compare as strings: the string's text, true, false,
//     null, or the raw JSON of an object or array; `>` and friends order
//     strings byte-wise;
//   - `~` matches a Go regular expression (RE2 syntax) against that text.

type opKind uint8

const (
	opExists opKind = iota
	opEq
	opNe
	opGt
	opGe
	opLt
	opLe
	opRegex
)

type source uint8

const (
	srcRecord source = iota // any other path: evaluated over the record's JSON
	srcData
	srcChannel
	srcEvent
	srcType
	srcUserID
	srcSocketID
	srcTS
)

type cond struct {
	path string // gjson path over the record
	src  source
	sub  string // srcData: the path inside data; "" for data itself
	op   opKind

	val    string         // the value's text
	valNum bool           // val is a number (never for a quoted value)
	valInt bool           // val is an integer literal
	valF   float64        // val as a float, when valNum
	re     *regexp.Regexp // opRegex
	valT   time.Time      // val as an RFC 3339 time, when isTime
	isTime bool
}

const operators = "=!<>~"

const usageForm = "use path=value, !=, >, >=, <, <=, ~ (regex), or a bare path"

func compileCond(expr string) (cond, error) {
	opAt := findOperator(expr)
	path := expr
	if opAt >= 0 {
		path = expr[:opAt]
	}
	path = strings.TrimSpace(path)
	if path == "" {
		return cond{}, usagef(`--where "%s": missing path before the operator; %s, e.g. data.message.user_id=42`, expr, usageForm)
	}
	c := cond{path: path, op: opExists}
	c.src, c.sub = classify(path)
	if opAt < 0 {
		return c, nil
	}

	end := opAt
	for end < len(expr) && strings.IndexByte(operators, expr[end]) >= 0 {
		end++
	}
	opText := expr[opAt:end]
	switch opText {
	case "=", "==":
		c.op = opEq
	case "!=":
		c.op = opNe
	case ">":
		c.op = opGt
	case ">=":
		c.op = opGe
	case "<":
		c.op = opLt
	case "<=":
		c.op = opLe
	case "~":
		c.op = opRegex
	default:
		return cond{}, usagef(`--where "%s": unknown operator "%s"; %s%s`, expr, opText, usageForm, operatorHint(path, opText, expr[end:]))
	}

	raw := strings.TrimSpace(expr[end:])
	if raw == "" {
		return cond{}, usagef(`--where "%s": missing value after "%s"; write e.g. %s%s42, or %s%s"" for the empty string, or a bare path to test that it exists`, expr, opText, path, opText, path, opText)
	}
	quoted := false
	switch {
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return cond{}, usagef(`--where "%s": malformed quoted value %s; a "..." value is a JSON string: close it and write \" and \\ inside, or use '...' to take the text as it is, e.g. %s%s'a\b'`, expr, raw, path, opText)
		}
		c.val, quoted = s, true
	case raw[0] == '\'':
		if len(raw) < 2 || raw[len(raw)-1] != '\'' {
			return cond{}, usagef(`--where "%s": unterminated quoted value %s; close the quotes, e.g. %s%s'a b'`, expr, raw, path, opText)
		}
		c.val, quoted = raw[1:len(raw)-1], true
	default:
		c.val = raw
	}
	if !quoted {
		if ok, isInt := numberText(c.val); ok {
			f, err := strconv.ParseFloat(c.val, 64)
			if err == nil {
				c.valNum, c.valInt, c.valF = true, isInt, f
			}
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, c.val); err == nil {
		c.valT, c.isTime = t, true
	}
	if c.op == opRegex {
		re, err := regexp.Compile(c.val)
		if err != nil {
			return cond{}, usagef(`--where "%s": bad regular expression: %v; use Go RE2 syntax, e.g. %s~"^hi"`, expr, err, path)
		}
		c.re = re
	}
	return c, nil
}

// operatorHint guesses what was meant by an unknown operator.
func operatorHint(path, opText, rest string) string {
	switch opText {
	case "=>":
		return "; did you mean >=?"
	case "=<":
		return "; did you mean <=?"
	case "=~":
		return "; use ~ for a regular expression, e.g. " + path + `~"^hi"`
	case "<>":
		return "; use != for not equal"
	}
	for _, known := range []string{"!=", ">=", "<=", "==", "=", ">", "<", "~"} {
		if strings.HasPrefix(opText, known) {
			return "; to compare with a value that starts with " + opText[len(known):] + ", quote it: " +
				path + known + `"` + opText[len(known):] + strings.TrimSpace(rest) + `"`
		}
	}
	return ""
}

// findOperator returns the index of the first operator character of expr
// outside (), [] and {} and not escaped by a backslash, or -1.
func findOperator(expr string) int {
	depth := 0
	for i := 0; i < len(expr); i++ {
		switch ch := expr[i]; ch {
		case '\\':
			i++
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			if depth > 0 {
				depth--
			}
		default:
			if depth == 0 && strings.IndexByte(operators, ch) >= 0 {
				return i
			}
		}
	}
	return -1
}

// classify finds paths that Match can read straight from the Record.
func classify(path string) (source, string) {
	switch path {
	case "data":
		return srcData, ""
	case "channel":
		return srcChannel, ""
	case "event":
		return srcEvent, ""
	case "type":
		return srcType, ""
	case "user_id":
		return srcUserID, ""
	case "socket_id":
		return srcSocketID, ""
	case "ts":
		return srcTS, ""
	}
	if rest, ok := strings.CutPrefix(path, "data."); ok && rest != "" {
		return srcData, rest
	}
	return srcRecord, ""
}

// operand is one side of a comparison: the text of a record value and
// whether it reads as a number.
type operand struct {
	ok  bool // the path exists
	s   string
	num bool
	int bool // s is an integer literal
}

func fromResult(r gjson.Result) operand {
	switch r.Type {
	case gjson.Null:
		if !r.Exists() {
			return operand{}
		}
		return operand{ok: true, s: "null"}
	case gjson.False:
		return operand{ok: true, s: "false"}
	case gjson.True:
		return operand{ok: true, s: "true"}
	case gjson.Number:
		num, isInt := numberText(r.Raw)
		return operand{ok: true, s: r.Raw, num: num, int: isInt}
	case gjson.String:
		num, isInt := numberText(r.Str)
		return operand{ok: true, s: r.Str, num: num, int: isInt}
	default: // JSON object or array
		return operand{ok: true, s: r.Raw}
	}
}

// fromField is a string field of the record: absent when empty, as the
// JSON record omits it then.
func fromField(s string) operand {
	if s == "" {
		return operand{}
	}
	num, isInt := numberText(s)
	return operand{ok: true, s: s, num: num, int: isInt}
}

func (c *cond) holds(v operand) bool {
	if !v.ok {
		return false
	}
	switch c.op {
	case opExists:
		return true
	case opRegex:
		return c.re.MatchString(v.s)
	}
	cmp, done := 0, false
	if c.valNum && v.num {
		cmp, done = c.compareNumber(v), true
	} else if c.isTime && !v.num {
		if t, err := time.Parse(time.RFC3339Nano, v.s); err == nil {
			cmp, done = t.Compare(c.valT), true
		}
	}
	if !done {
		cmp = strings.Compare(v.s, c.val)
	}
	switch c.op {
	case opEq:
		return cmp == 0
	case opNe:
		return cmp != 0
	case opGt:
		return cmp > 0
	case opGe:
		return cmp >= 0
	case opLt:
		return cmp < 0
	case opLe:
		return cmp <= 0
	}
	return false
}

// compareNumber compares v with the condition's value: exactly when both are
// integers (IDs beyond 2^53 stay distinct), else as float64.
func (c *cond) compareNumber(v operand) int {
	if c.valInt && v.int {
		return compareIntText(v.s, c.val)
	}
	f, err := strconv.ParseFloat(v.s, 64)
	if err != nil { // out of range: fall back to the text
		return strings.Compare(v.s, c.val)
	}
	switch {
	case f < c.valF:
		return -1
	case f > c.valF:
		return 1
	}
	return 0
}

// numberText reports whether s is a decimal number: an optional sign,
// digits, an optional fraction and an optional exponent (no hex, no Inf or
// NaN, no underscores), and whether it is an integer.
func numberText(s string) (num, isInt bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return false, false
	}
	isInt = true
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == fs {
			return false, false
		}
		isInt = false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		es := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == es {
			return false, false
		}
		isInt = false
	}
	if i != len(s) {
		return false, false
	}
	return true, isInt
}

// compareIntText compares two integer literals of any length exactly.
func compareIntText(a, b string) int {
	aNeg, aMag := splitInt(a)
	bNeg, bMag := splitInt(b)
	if aNeg != bNeg {
		if aNeg {
			return -1
		}
		return 1
	}
	cmp := len(aMag) - len(bMag)
	if cmp == 0 {
		cmp = strings.Compare(aMag, bMag)
	}
	if aNeg {
		cmp = -cmp
	}
	switch {
	case cmp < 0:
		return -1
	case cmp > 0:
		return 1
	}
	return 0
}

// splitInt returns the sign and the magnitude without leading zeros; zero
// is never negative.
func splitInt(s string) (neg bool, mag string) {
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	if s == "0" {
		neg = false
	}
	return neg, s
}
