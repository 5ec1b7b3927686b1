package schema

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// inferOne infers the schema of one event from samples and returns its
// def, decoded.
func inferOne(t *testing.T, samples ...string) map[string]any {
	t.Helper()
	in := NewInferrer()
	for _, s := range samples {
		if s == "<nil>" {
			in.Add("E", nil)
			continue
		}
		in.Add("E", []byte(s))
	}
	var doc map[string]any
	require.NoError(t, json.Unmarshal(in.Document(), &doc))
	def := doc["$defs"].(map[string]any)["E"].(map[string]any)
	delete(def, "$comment")
	return def
}

func js(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestInferRules(t *testing.T) {
	t.Parallel()
	statuses := func(vals ...string) []string {
		var out []string
		for i := 0; i < 10; i++ {
			out = append(out, fmt.Sprintf(`{"status":%q}`, vals[i%len(vals)]))
		}
		return out
	}
	tests := []struct {
		name    string
		samples []string
		want    string
	}{
		{"integer", []string{`1`, `-7`, `1.0`, `2e3`, `0`, `-0.0`, `1.50e1`}, `{"type":"integer"}`},
		{"number when one is not integral", []string{`1`, `1.5`}, `{"type":"number"}`},
		{"a small exponent is not integral", []string{`15e-1`}, `{"type":"number"}`},
		{"a huge exponent is only a number", []string{`1e1001`}, `{"type":"number"}`},
		{"boolean", []string{`true`, `false`}, `{"type":"boolean"}`},
		{"nullable", []string{`"a"`, `null`}, `{"type":["string","null"]}`},
		{"no data is null", []string{`<nil>`, `{}`}, `{"type":["object","null"]}`},
		{"mixed types as a list", []string{`"a"`, `1`, `true`, `[]`, `{}`}, `{"type":["boolean","integer","string","array","object"]}`},
		{"required in every sample", []string{`{"a":1,"b":"x"}`, `{"a":2}`},
			`{"properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["a"],"type":"object"}`},
		{"a key twice counts once", []string{`{"a":1,"a":2}`, `{"b":1}`},
			`{"properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"type":"object"}`},
		{"null present still counts as present", []string{`{"a":null}`, `{"a":"x"}`},
			`{"properties":{"a":{"type":["string","null"]}},"required":["a"],"type":"object"}`},
		{"nested", []string{`{"m":{"u":{"id":8}}}`},
			`{"properties":{"m":{"properties":{"u":{"properties":{"id":{"type":"integer"}},"required":["id"],"type":"object"}},"required":["u"],"type":"object"}},"required":["m"],"type":"object"}`},
		{"items merged from every element", []string{`[1,"a"]`, `[{"x":1},{"x":2,"y":true}]`, `[]`},
			`{"items":{"properties":{"x":{"type":"integer"},"y":{"type":"boolean"}},"required":["x"],"type":["integer","string","object"]},"type":"array"}`},
		{"empty arrays only", []string{`[]`}, `{"type":"array"}`},
		{"date-time", []string{`"2026-11-26T09:16:52.300000Z"`, `"2026-11-26T10:16:52+01:00"`}, `{"format":"date-time","type":"string"}`},
		{"date-time needs every sample", []string{`"2026-11-26T09:16:52Z"`, `"yesterday"`}, `{"type":"string"}`},
		{"date-time with nulls", []string{`"2026-11-26T09:16:52Z"`, `null`}, `{"format":"date-time","type":["string","null"]}`},
		{"uuid", []string{`"0b9e4b1c-3f5a-4f7e-9a51-6f1d2a3b4c5d"`, `"0B9E4B1C-3F5A-4F7E-9A51-6F1D2A3B4C5D"`}, `{"format":"uuid","type":"string"}`},
		{"uuid needs every sample", []string{`"0b9e4b1c-3f5a-4f7e-9a51-6f1d2a3b4c5d"`, `"0b9e4b1c-3f5a-4f7e-9a51-6f1d2a3b4c5x"`}, `{"type":"string"}`},
		{"enum for a small closed set", statuses("sent", "read"),
			`{"properties":{"status":{"enum":["read","sent"],"type":"string"}},"required":["status"],"type":"object"}`},
		{"enum of five", statuses("a", "b", "c", "d", "e"),
			`{"properties":{"status":{"enum":["a","b","c","d","e"],"type":"string"}},"required":["status"],"type":"object"}`},
		{"no enum of six", append(statuses("a", "b", "c", "d", "e"), `{"status":"f"}`, `{"status":"f"}`),
			`{"properties":{"status":{"type":"string"}},"required":["status"],"type":"object"}`},
		{"no enum under ten samples", statuses("sent", "read")[:9],
			`{"properties":{"status":{"type":"string"}},"required":["status"],"type":"object"}`},
		{"no enum when a value is seen once", append(statuses("sent", "read"), `{"status":"seen"}`),
			`{"properties":{"status":{"type":"string"}},"required":["status"],"type":"object"}`},
		{"no enum of long text", repeat(`"`+strings.Repeat("x", 33)+`"`, 10), `{"type":"string"}`},
		{"enum of 32 bytes", repeat(`"`+strings.Repeat("x", 32)+`"`, 10), `{"enum":["` + strings.Repeat("x", 32) + `"],"type":"string"}`},
		{"enum with null", append(repeat(`"a"`, 10), `null`), `{"enum":["a",null],"type":["string","null"]}`},
		{"no enum beside other types", append(repeat(`"a"`, 10), `1`), `{"type":["integer","string"]}`},
		{"no enum for ids", repeat(`{"id":"a","user_id":"b","chatId":"c","uuid":"d","created_at":"e"}`, 10),
			`{"properties":{"chatId":{"type":"string"},"created_at":{"type":"string"},"id":{"type":"string"},"user_id":{"type":"string"},"uuid":{"type":"string"}},"required":["chatId","created_at","id","user_id","uuid"],"type":"object"}`},
		{"no enum for the items of ids", repeat(`{"message_ids":["1","2"]}`, 10),
			`{"properties":{"message_ids":{"items":{"type":"string"},"type":"array"}},"required":["message_ids"],"type":"object"}`},
		{"no enum for timestamps", repeat(`"2026-11-26T09:16:52Z"`, 10), `{"format":"date-time","type":"string"}`},
		{"not JSON is skipped", []string{`{"a":`, `1`}, `{"type":"integer"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.JSONEq(t, tt.want, js(t, inferOne(t, tt.samples...)))
		})
	}
}

func TestDocumentShape(t *testing.T) {
	t.Parallel()
	in := NewInferrer()
	in.Add(`App\Events\MessageSent`, []byte(`{"message":{"id":1,"content":"<hi> & bye"}}`))
	in.Add(`App\Events\MessageSent`, []byte(`{"message":{"id":2,"content":"x"}}`))
	in.Add("client-typing", []byte(`{"typing":true}`))
	doc := string(in.Document())
	want := `{
  "$comment": "` + Comment + `",
  "$defs": {
    "App\\Events\\MessageSent": {
      "$comment": "inferred from 2 samples",
      "properties": {
        "message": {
          "properties": {
            "content": {
              "type": "string"
            },
            "id": {
              "type": "integer"
            }
          },
          "required": [
            "content",
            "id"
          ],
          "type": "object"
        }
      },
      "required": [
        "message"
      ],
      "type": "object"
    },
    "client-typing": {
      "$comment": "inferred from 1 sample",
      "properties": {
        "typing": {
          "type": "boolean"
        }
      },
      "required": [
        "typing"
      ],
      "type": "object"
    }
  },
  "$schema": "https://json-schema.org/draft/2020-12/schema"
}
`
	assert.Equal(t, want, doc)
	assert.NotContains(t, doc, "additionalProperties", "new fields keep the contract")
	assert.Equal(t, `{"$comment":"`+Comment+`","$defs":{},"$schema":"`+Draft+`"}`, compact(t, NewInferrer().Document()), "no samples")
}

func compact(t *testing.T, b []byte) string {
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	return js(t, v)
}

func TestDocumentIsDeterministic(t *testing.T) {
	t.Parallel()
	samples := []string{
		`{"a":1,"b":{"c":[1,2,{"d":"x"}]},"e":"2026-11-26T09:16:52Z"}`,
		`{"z":null,"y":"q","a":1.5}`,
		`{"status":"sent"}`, `{"status":"read"}`, `{"status":"sent"}`, `{"status":"read"}`, `{"status":"sent"}`,
		`{"status":"read"}`, `{"status":"sent"}`, `{"status":"read"}`, `{"status":"sent"}`, `{"status":"read"}`,
	}
	first := ""
	for range 20 {
		in := NewInferrer()
		for i, s := range samples {
			in.Add(fmt.Sprintf("E%d", i%3), []byte(s))
		}
		doc := string(in.Document())
		if first == "" {
			first = doc
		}
		require.Equal(t, first, doc)
	}
}

func TestInferHostileInput(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"a":`, 900) + "1" + strings.Repeat("}", 900)
	tooDeep := strings.Repeat("[", 2_000_000)
	big := `{"text":"` + strings.Repeat("x", 1<<20) + `"}`
	var many strings.Builder
	many.WriteString("{")
	for i := range 5000 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `"k%d":%d`, i, i)
	}
	many.WriteString("}")

	in := NewInferrer()
	in.Add("deep", []byte(deep))
	in.Add("tooDeep", []byte(tooDeep))
	for range 20 {
		in.Add("big", []byte(big))
	}
	in.Add("many", []byte(many.String()))
	doc := in.Document()
	assert.Less(t, len(doc), 200_000, "no sample's strings are kept")
	assert.NotContains(t, string(doc), "xxxx")
	assert.NotContains(t, string(doc), `"tooDeep"`, "data past jsonsafe's depth is skipped")

	var d map[string]any
	require.NoError(t, json.Unmarshal(doc, &d))
	defs := d["$defs"].(map[string]any)
	depth := 0
	for s := defs["deep"].(map[string]any); ; depth++ {
		p, ok := s["properties"].(map[string]any)
		if !ok {
			assert.Equal(t, "object", s["type"], "the position past the limit keeps its type")
			break
		}
		s = p["a"].(map[string]any)
	}
	assert.Equal(t, MaxDepth, depth)
	props := defs["many"].(map[string]any)["properties"].(map[string]any)
	assert.Len(t, props, MaxProperties)

	set := loadDoc(t, doc)
	for _, s := range []struct{ ev, data string }{{"deep", deep}, {"big", big}, {"many", many.String()}} {
		v, known := set.Check(s.ev, []byte(s.data))
		assert.True(t, known)
		assert.Empty(t, v, "the samples pass the schema inferred from them: %s", s.ev)
	}
}

func TestInferNodeBudget(t *testing.T) {
	t.Parallel()
	// Every sample new keys at every level: the positions stop at maxNodes.
	in := NewInferrer()
	for i := range 200 {
		var b strings.Builder
		b.WriteString("{")
		for j := range 500 {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"k%d_%d":{"x%d":[1]}`, i, j, i)
		}
		b.WriteString("}")
		in.Add("E", []byte(b.String()))
	}
	assert.LessOrEqual(t, in.events["E"].nodes, maxNodes)
}

func TestIsIntegral(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]bool{
		"0": true, "-0": true, "12": true, "1.0": true, "1.000": true, "1e3": true, "1E+3": true, "1.5e1": true, "150e-1": true, "100e-2": true,
		"0.0e-5": true, "1.5": false, "15e-1": false, "1e-1": false, "1e1001": false, "1e-1001": false, "0.1": false, "1.25e1": false,
	} {
		assert.Equal(t, want, isIntegral(raw), raw)
	}
}
