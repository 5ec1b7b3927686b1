package format

import (
	"bytes"
	"unicode/utf8"

	"github.com/itchyny/gojq"

	"github.com/amusoft/tmsws/internal/record"
)

// A needle lets --jq skip, without decoding, the records it cannot print:
// for an expression that starts with select(.KEY == "TEXT" ...) (the
// comparison first in a chain of and, the rest of the expression after a
// pipe), a record without the string "TEXT" anywhere cannot pass the
// select, and since and stops at a false left side, nothing after it is
// run either: no output, no error. The record's bytes are searched for the
// string as JSON encodes it; a record that could encode it another way (a
// \u or \/ escape anywhere) is decoded as usual, so the answer is always
// jq's. On a recording where a third of the records are other events,
// this saves a third of the work.

// needleOf returns what a document must contain for q to print anything,
// or nil when there is no such thing to say.
func needleOf(q *gojq.Query) []byte {
	if q == nil || len(q.FuncDefs) > 0 || len(q.Imports) > 0 || q.Meta != nil {
		return nil
	}
	// The first stage of the pipeline: a | b | c, whichever way it nests.
	for q.Op == gojq.OpPipe && len(q.Patterns) == 0 && q.Left != nil {
		q = q.Left
	}
	t := onlyTerm(q)
	if t == nil || t.Type != gojq.TermTypeFunc || len(t.SuffixList) > 0 ||
		t.Func.Name != "select" || len(t.Func.Args) != 1 {
		return nil
	}
	cond := t.Func.Args[0]
	for cond.Op == gojq.OpAnd && cond.Left != nil {
		cond = cond.Left
	}
	if t := onlyTerm(cond); t != nil && t.Type == gojq.TermTypeQuery && len(t.SuffixList) == 0 {
		return needleOf(&gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: "select", Args: []*gojq.Query{t.Query}}}})
	}
	if cond.Op != gojq.OpEq || cond.Left == nil || cond.Right == nil {
		return nil
	}
	lit, ok := keyEqualsString(cond.Left, cond.Right)
	if !ok {
		lit, ok = keyEqualsString(cond.Right, cond.Left)
	}
	if !ok {
		return nil
	}
	return record.AppendString(nil, lit)
}

// onlyTerm is q's term when q is nothing but one.
func onlyTerm(q *gojq.Query) *gojq.Term {
	if q == nil || q.Op != 0 || q.Term == nil || len(q.Patterns) > 0 || len(q.FuncDefs) > 0 {
		return nil
	}
	return q.Term
}

// keyEqualsString reports whether key is .KEY (a key of the document, which
// never fails on an object) and str a plain string literal, and gives it.
func keyEqualsString(key, str *gojq.Query) (string, bool) {
	k, s := onlyTerm(key), onlyTerm(str)
	if k == nil || s == nil || k.Type != gojq.TermTypeIndex || len(k.SuffixList) > 0 ||
		k.Index == nil || k.Index.Name == "" || s.Type != gojq.TermTypeString || len(s.SuffixList) > 0 ||
		s.Str == nil || len(s.Str.Queries) > 0 {
		return "", false
	}
	lit := s.Str.Str
	if !utf8.ValidString(lit) {
		return "", false
	}
	for i := 0; i < len(lit); i++ {
		if lit[i] < 0x20 {
			return "", false // \b and \f have two spellings besides \u
		}
	}
	return lit, true
}

var (
	unicodeEscape = []byte(`\u`)
	slashEscape   = []byte(`\/`)
)

// mayPrint reports whether doc can give output under the needle: it holds
// the needle, or could spell it another way, or is not an object.
func mayPrint(needle, doc []byte) bool {
	if bytes.Contains(doc, needle) {
		return true
	}
	doc = bytes.TrimLeft(doc, " \t\r\n")
	if len(doc) == 0 || doc[0] != '{' {
		return true
	}
	return bytes.Contains(doc, unicodeEscape) || bytes.Contains(doc, slashEscape)
}

// A precheck runs an expression's leading select(C) on the part of the
// record C looks at, before decoding it all: select(.type == "event" and
// (.data.message.user_id | tostring) == "8") prints whole records, so the
// expression needs all of each, but C needs two fields. A record on which
// C gives nothing truthy (and no error) cannot pass the select: it is
// skipped. Otherwise the expression runs as usual on the whole record,
// which gives the same output, or the same error, C being the same.
type precheck struct {
	code *gojq.Code
	proj *projection
}

// precheckOf returns the precheck of q, or nil when q does not start with
// a select whose condition needs less than the whole record.
func precheckOf(q *gojq.Query) *precheck {
	if q == nil || len(q.FuncDefs) > 0 || len(q.Imports) > 0 || q.Meta != nil {
		return nil
	}
	for q.Op == gojq.OpPipe && len(q.Patterns) == 0 && q.Left != nil {
		q = q.Left
	}
	t := onlyTerm(q)
	if t == nil || t.Type != gojq.TermTypeFunc || len(t.SuffixList) > 0 ||
		t.Func.Name != "select" || len(t.Func.Args) != 1 {
		return nil
	}
	cond := t.Func.Args[0]
	proj := projectionOf(cond)
	if proj == nil {
		return nil
	}
	code, err := gojq.Compile(cond, gojq.WithEnvironLoader(func() []string { return nil }))
	if err != nil {
		return nil
	}
	return &precheck{code: code, proj: proj}
}

// cannotPass reports whether the select's condition gives nothing truthy on
// doc, without an error: then the expression prints nothing for it.
func (p *precheck) cannotPass(doc []byte) bool {
	v, err := decodeProjected(doc, p.proj)
	if err != nil {
		return false // the whole decode reports it
	}
	iter := p.code.Run(v)
	for {
		out, ok := iter.Next()
		if !ok {
			return true
		}
		switch x := out.(type) {
		case error:
			return false // the whole run reports it
		case nil:
		case bool:
			if x {
				return false
			}
		default:
			return false
		}
	}
}
