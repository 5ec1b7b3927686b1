package format

import (
	"github.com/itchyny/gojq"
)

// A projection is the part of a document a jq expression can see: decoding
// only that part is most of what makes --jq fast, since decoding is most of
// its cost. .data.message.content sees one string of a record, not its ts,
// channel, socket_id or the message's other fields.
//
// The analysis follows each use of the input (.) through the expression.
// A path from the input (.a.b), taken as it is through a pipe, select or
// a variable binding, is a path of the document. Anything that uses a
// value otherwise (prints it, compares it, gives it to a function, iterates
// it, asks its keys or length) needs all of it. Whatever the analysis does
// not know (a def, reduce, a function other than select, empty, not and
// error, given the input, and so on) needs all of its input, and so, when
// the input is the document, all of the document: a projection can only
// leave out what the expression cannot look at. TestProjectionNeverChangesTheAnswer
// runs expressions of every kind with and without it.

// projection is a node of what an expression needs: all of the value
// (whole), or the listed keys of an object, each with its own projection.
type projection struct {
	whole bool
	keys  map[string]*projection
}

// lookup is the projection of key, nil when p does not list it (or is
// nil). It only reads: decoding uses it from several goroutines.
func (p *projection) lookup(key string) *projection {
	if p == nil {
		return nil
	}
	return p.keys[key]
}

// child is the projection of key, added when p does not list it yet.
func (p *projection) child(key string) *projection {
	if p.keys == nil {
		p.keys = map[string]*projection{}
	}
	c := p.keys[key]
	if c == nil {
		c = &projection{}
		p.keys[key] = c
	}
	return c
}

// flow is what a query's output is, seen from the document: a path of it
// (the projection node of that path), or something else (nil).
type flow = *projection

// projectionOf returns the projection of q, or nil when q needs the whole
// document.
func projectionOf(q *gojq.Query) *projection {
	root := &projection{}
	a := analysis{}
	out := a.query(q, root)
	a.use(out)
	if a.bail || root.whole {
		return nil
	}
	return root
}

type analysis struct {
	bail bool // something not understood: decode everything
}

// use marks a value as needed whole.
func (a *analysis) use(f flow) {
	if f != nil {
		f.whole = true
	}
}

// query analyses q with input in (a projection node of the document, or
// nil when the input is not the document's) and returns its output.
func (a *analysis) query(q *gojq.Query, in flow) flow {
	if q == nil || a.bail {
		return nil
	}
	if len(q.FuncDefs) > 0 || len(q.Imports) > 0 || q.Meta != nil {
		a.bail = true
		return nil
	}
	if q.Term != nil {
		return a.term(q.Term, in)
	}
	switch q.Op {
	case gojq.OpPipe:
		left := a.query(q.Left, in)
		if len(q.Patterns) > 0 {
			// L as $x | R: $x holds L's output, and R runs on the input.
			for _, p := range q.Patterns {
				if p.Name == "" || len(p.Array) > 0 || len(p.Object) > 0 {
					a.bail = true
					return nil
				}
			}
			a.use(left)
			return a.query(q.Right, in)
		}
		return a.query(q.Right, left)
	case gojq.OpComma, gojq.OpAdd, gojq.OpSub, gojq.OpMul, gojq.OpDiv, gojq.OpMod,
		gojq.OpEq, gojq.OpNe, gojq.OpGt, gojq.OpLt, gojq.OpGe, gojq.OpLe,
		gojq.OpAnd, gojq.OpOr, gojq.OpAlt:
		a.use(a.query(q.Left, in))
		a.use(a.query(q.Right, in))
		return nil
	}
	// Assignments and updates (=, |=, +=, ...) rewrite the input.
	a.use(in)
	a.bail = true
	return nil
}

// term analyses a term and its suffixes.
func (a *analysis) term(t *gojq.Term, in flow) flow {
	out := a.termBase(t, in)
	for _, s := range t.SuffixList {
		out = a.suffix(s, out, in)
	}
	return out
}

func (a *analysis) termBase(t *gojq.Term, in flow) flow {
	switch t.Type {
	case gojq.TermTypeIdentity:
		return in
	case gojq.TermTypeIndex:
		return a.index(t.Index, in, in)
	case gojq.TermTypeNull, gojq.TermTypeTrue, gojq.TermTypeFalse, gojq.TermTypeNumber:
		return nil
	case gojq.TermTypeString:
		if t.Str != nil {
			for _, q := range t.Str.Queries {
				a.use(a.query(q, in))
			}
		}
		return nil
	case gojq.TermTypeQuery:
		return a.query(t.Query, in)
	case gojq.TermTypeArray:
		if t.Array != nil {
			a.use(a.query(t.Array.Query, in))
		}
		return nil
	case gojq.TermTypeObject:
		for _, kv := range t.Object.KeyVals {
			switch {
			case kv.KeyQuery != nil:
				a.use(a.query(kv.KeyQuery, in))
			case kv.KeyString != nil:
				for _, q := range kv.KeyString.Queries {
					a.use(a.query(q, in))
				}
			case kv.Val == nil && len(kv.Key) > 0 && kv.Key[0] != '$':
				// {key} is {key: .key}
				if in != nil {
					a.use(in.child(kv.Key))
				}
			}
			if kv.Val != nil {
				a.use(a.query(kv.Val, in))
			}
		}
		return nil
	case gojq.TermTypeUnary:
		if t.Unary != nil {
			a.use(a.term(t.Unary.Term, in))
		}
		return nil
	case gojq.TermTypeIf:
		i := t.If
		a.use(a.query(i.Cond, in))
		a.use(a.query(i.Then, in))
		for _, e := range i.Elif {
			a.use(a.query(e.Cond, in))
			a.use(a.query(e.Then, in))
		}
		if i.Else != nil {
			a.use(a.query(i.Else, in))
		} else {
			a.use(in) // no else: the input is the output
		}
		return nil
	case gojq.TermTypeTry:
		a.use(a.query(t.Try.Body, in))
		a.query(t.Try.Catch, nil) // its input is the error
		return nil
	case gojq.TermTypeFunc:
		return a.function(t.Func, in)
	}
	// .., @format, reduce, foreach, label, break, ...
	a.use(in)
	a.bail = true
	return nil
}

// function analyses a call: select passes its input through, empty and
// error give nothing to see, not looks at its input; variables are values
// of their own; anything else needs all of its input and arguments.
func (a *analysis) function(f *gojq.Func, in flow) flow {
	if len(f.Name) > 0 && f.Name[0] == '$' {
		if f.Name == "$ENV" || f.Name == "$__loc__" || f.Name == "$__prog_args" {
			return nil
		}
		return nil // a variable: marked whole where it was bound
	}
	switch {
	case f.Name == "select" && len(f.Args) == 1:
		a.use(a.query(f.Args[0], in))
		return in
	case f.Name == "empty" && len(f.Args) == 0:
		return nil
	case f.Name == "not" && len(f.Args) == 0:
		a.use(in)
		return nil
	case f.Name == "error" && len(f.Args) <= 1:
		if len(f.Args) == 0 {
			a.use(in)
		}
		for _, q := range f.Args {
			a.use(a.query(q, in))
		}
		return nil
	}
	a.use(in)
	for _, q := range f.Args {
		a.use(a.query(q, in))
	}
	return nil
}

// index applies .key (or .["key"]) to from; other indexes and slices need
// all of from. in is the input of the term, for the queries of an index.
func (a *analysis) index(x *gojq.Index, from, in flow) flow {
	if x == nil {
		a.use(from)
		return nil
	}
	key, ok := x.Name, x.Name != ""
	if !ok && x.Str != nil && len(x.Str.Queries) == 0 && x.Start == nil && x.End == nil && !x.IsSlice {
		key, ok = x.Str.Str, true
	}
	if !ok && x.Start != nil && x.End == nil && !x.IsSlice {
		// .["key"]
		if t := onlyTerm(x.Start); t != nil && t.Type == gojq.TermTypeString && len(t.SuffixList) == 0 &&
			t.Str != nil && len(t.Str.Queries) == 0 {
			key, ok = t.Str.Str, true
		}
	}
	if ok {
		if from == nil {
			return nil
		}
		return from.child(key)
	}
	a.use(from)
	if x.Str != nil {
		for _, q := range x.Str.Queries {
			a.use(a.query(q, in))
		}
	}
	a.use(a.query(x.Start, in))
	a.use(a.query(x.End, in))
	return nil
}

func (a *analysis) suffix(s *gojq.Suffix, out, in flow) flow {
	switch {
	case s.Index != nil:
		return a.index(s.Index, out, in)
	case s.Iter:
		a.use(out)
		return nil
	case s.Optional:
		return out // .a? is .a, errors suppressed
	}
	a.use(out)
	a.bail = true
	return nil
}
