package format

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/itchyny/gojq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shape writes a projection as JSON: true for a value needed whole, an
// object of keys otherwise; "all" when there is none (everything needed).
func shape(p *projection) any {
	if p == nil {
		return "all"
	}
	if p.whole {
		return true
	}
	m := map[string]any{}
	for k, c := range p.keys {
		m[k] = shape(c)
	}
	return m
}

func TestPrecheckOf(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string]bool{
		`select(.type == "event" and (.data.message.user_id | tostring) == "8")`: true,
		`select(.data.message.user_id == 8) | .`:                                 true,
		`select(.data.x) | tojson`:                                               true,
		`select(keys | length > 3)`:                                              false, // the condition needs it all
		`.data.message.content`:                                                  false,
		`select(.a)?`:                                                            false,
		`def f: .; select(.a)`:                                                   false,
		`select(.a), .b`:                                                         false,
	} {
		f, err := Compile(expr, "", Options{})
		require.NoError(t, err, expr)
		assert.Equal(t, want, f.pre != nil, expr)
	}
}

func TestProjectionOf(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string]string{
		`.data.message.content`:       `{"data":{"message":{"content":true}}}`,
		`.data | .message | .content`: `{"data":{"message":{"content":true}}}`,
		`select(.event == "E" and .data.message.user_id == 8) | .data.message.content`: `{"event":true,"data":{"message":{"user_id":true,"content":true}}}`,
		`{event, id: .data.message.id}`:                           `{"event":true,"data":{"message":{"id":true}}}`,
		`[.channel, .type] | join("/")`:                           `{"channel":true,"type":true}`,
		`.data.message.tags[]?`:                                   `{"data":{"message":{"tags":true}}}`,
		`.data | keys`:                                            `{"data":true}`,
		`.data.user.name // "nobody"`:                             `{"data":{"user":{"name":true}}}`,
		`if .type == "member_added" then .user_id else empty end`: `{"type":true,"user_id":true}`,
		`.data as $d | $d.message`:                                `{"data":true}`,
		`"\(.event): \(.data.message.content)"`:                   `{"event":true,"data":{"message":{"content":true}}}`,
		`.["event"]`:                                              `{"event":true}`,
		`try .data.x catch "bad"`:                                 `{"data":{"x":true}}`,
		`select(.cached | not) | .event`:                          `{"cached":true,"event":true}`,
		// All of it.
		`.`:                                `"all"`,
		`select(.event == "E")`:            `"all"`,
		`keys`:                             `"all"`,
		`length`:                           `"all"`,
		`.[]`:                              `"all"`,
		`to_entries`:                       `"all"`,
		`.. | numbers`:                     `"all"`,
		`def f: .a; f`:                     `"all"`,
		`. as $r | $r.event`:               `"all"`,
		`reduce .data[] as $x (0; . + $x)`: `"all"`,
		`.a = 1`:                           `"all"`,
		`if .x then . else 1 end`:          `"all"`,
		`if .x then 1 end`:                 `"all"`,
		`tojson`:                           `"all"`,
		`@csv`:                             `"all"`,
		`getpath(["data"])`:                `"all"`,
		`.[.key]`:                          `"all"`,
	} {
		q, err := gojq.Parse(expr)
		require.NoError(t, err, expr)
		got, err := json.Marshal(shape(projectionOf(q)))
		require.NoError(t, err)
		assert.JSONEq(t, want, string(got), expr)
	}
}

// With or without the projection, every expression gives the same output
// and the same errors on every document; with the needle too, on every
// valid one (Append's callers hand it valid JSON: the needle skips a
// document it cannot print without reading it).
func TestProjectionNeverChangesTheAnswer(t *testing.T) {
	t.Parallel()
	records, err := os.ReadFile("testdata/records.jsonl")
	require.NoError(t, err)
	docs := strings.Split(strings.TrimSpace(string(records)), "\n")
	docs = append(docs,
		`{"event":"E","data":"a string","data":{"message":{"content":"last key wins"}}}`,
		`{"event":"E","data":{"message":"not an object"}}`,
		`{"event":"E","data":{"message":[1,2,3]}}`,
		`{"event":"E","data":[{"message":1}]}`,
		`{"event":"E","data":null}`,
		`{"event":"E","junk":[1,{"a":"\u00e9\ud83d\ude00"},true,false,null,-1.5e3],"data":{"message":{"content":"c"}}}`,
		`{"event":"E","bad":"\x"}`,
		`{"event":"E","bad":[1,}`,
		`{"event":"E","bad":01}`,
		`{"event":"E","bad":tru}`,
		`[1,2]`, `"str"`, `7`, `null`, `{}`,
	)
	exprs := []string{
		`.data.message.content`, `.data | .message | .content`, `.data.message.content?`,
		`select(.event == "App\\Events\\MessageSent" and .data.message.user_id == 8) | .data.message.content`,
		`{event, id: .data.message.id}`, `[.channel, .type] | join("/")`, `.data.message.tags[]?`,
		`.data | keys`, `.data.user.name // "nobody"`, `if .type == "member_added" then .user_id else empty end`,
		`.data as $d | $d.message`, `"\(.event): \(.data.message.content)"`, `.["event"]`, `try .data.x catch "bad"`,
		`select(.cached | not) | .event`, `.data.message | length`, `.data.message[0]`, `.data[]?.message`,
		`(.data.message.content, .event) | ascii_downcase`, `[.data.message.id] | add`, `-.data.message.id`,
		`.data.message.id + 1`, `{(.event): .data.message.id}`, `.data.message.content | test("r")`,
		// Whole records out: the select's condition is prechecked.
		`select(.type == "event" and (.data.message.user_id | tostring) == "8")`,
		`select(.data.message.user_id)`, `select(.data.message.x.y)`, `select(.event, .type)`, `select(empty)`,
		`select(.data.message.tags[]? == "a")`, `select(.data.message.user_id == 8) | .`,
		`select((if (.type // "") == "" then "event" else .type end) as $t | $t == "event" and .event != null)`,
		`select(.data.message.content | length > 3)`, `select(.cached | not)`,
	}
	for _, expr := range exprs {
		with, err := Compile(expr, "", Options{})
		require.NoError(t, err, expr)
		projected := *with
		projected.needle = nil
		without := projected
		without.proj, without.pre = nil, nil
		for _, doc := range docs {
			b, berr := without.Append(nil, []byte(doc))
			for _, f := range []*Formatter{with, &projected} {
				if f == with && !json.Valid([]byte(doc)) {
					continue
				}
				a, aerr := f.Append(nil, []byte(doc))
				assert.Equal(t, string(b), string(a), "%s on %s", expr, doc)
				assert.Equal(t, berr == nil, aerr == nil, "%s on %s: %v / %v", expr, doc, berr, aerr)
				if aerr != nil && berr != nil && !strings.HasPrefix(berr.Error(), "decode") {
					assert.Equal(t, berr.Error(), aerr.Error(), "%s on %s", expr, doc)
				}
			}
		}
	}
}

func FuzzProjection(f *testing.F) {
	records, err := os.ReadFile("testdata/records.jsonl")
	require.NoError(f, err)
	for _, line := range strings.Split(strings.TrimSpace(string(records)), "\n") {
		f.Add([]byte(line))
	}
	with, err := Compile(`select(.event == "App\\Events\\MessageSent" and .data.message.user_id == 8) | {c: .data.message.content, t: .data.message.tags[]?}`, "", Options{})
	require.NoError(f, err)
	require.NotNil(f, with.proj)
	with.needle = nil // the needle skips invalid JSON unread; callers never give any
	without := *with
	without.proj = nil
	checked, err := Compile(`select(.type == "event" and (.data.message.user_id | tostring) == "8")`, "", Options{})
	require.NoError(f, err)
	require.NotNil(f, checked.pre)
	unchecked := *checked
	unchecked.pre = nil
	f.Fuzz(func(t *testing.T, doc []byte) {
		a, aerr := with.Append(nil, doc)
		b, berr := without.Append(nil, doc)
		if string(a) != string(b) || (aerr == nil) != (berr == nil) {
			t.Fatalf("on %q: projected %q, %v; whole %q, %v", doc, a, aerr, b, berr)
		}
		a, aerr = checked.Append(nil, doc)
		b, berr = unchecked.Append(nil, doc)
		if string(a) != string(b) || (aerr == nil) != (berr == nil) {
			t.Fatalf("on %q: prechecked %q, %v; not %q, %v", doc, a, aerr, b, berr)
		}
	})
}
