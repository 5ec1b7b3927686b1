package format

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stdDecode is what decode must equal: encoding/json with UseNumber.
func stdDecode(doc []byte) (any, error) {
	if !json.Valid(doc) {
		return nil, assert.AnError
	}
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func TestDecodeEqualsEncodingJSON(t *testing.T) {
	t.Parallel()
	records, err := os.ReadFile("testdata/records.jsonl")
	require.NoError(t, err)
	docs := strings.Split(strings.TrimSpace(string(records)), "\n")
	docs = append(docs, `"a\u00e9\ud83d\ude00b"`, `"lone \ud83d surrogate"`, `"\ude00"`, "\"bad \xff utf8\"", `[1,-0.5e+10,0,1E3]`,
		`{"a":{"a":{"a":[[[]]]}}}`, ` { "k" : [ true , false , null ] } `, `{}`, `[]`, `"\"\\\/\b\f\n\r\t"`)
	for _, doc := range docs {
		want, err := stdDecode([]byte(doc))
		require.NoError(t, err, doc)
		got, err := decode([]byte(doc))
		require.NoError(t, err, doc)
		assert.Equal(t, want, got, doc)
	}
	for _, bad := range []string{``, `{`, `{"a"}`, `{"a":}`, `[1,]`, `01`, `1.`, `-`, `1e`, `"abc`, "\"a\x01\"", `tru`, `nul`, `{"a":1}x`, `"\x"`, `"\u12"`, `[1 2]`, `{"a":1 "b":2}`, `{1:2}`} {
		_, err := decode([]byte(bad))
		assert.Error(t, err, "%q", bad)
	}
}

func FuzzDecode(f *testing.F) {
	records, err := os.ReadFile("testdata/records.jsonl")
	require.NoError(f, err)
	for _, line := range strings.Split(strings.TrimSpace(string(records)), "\n") {
		f.Add([]byte(line))
	}
	f.Add([]byte(`"\ud83d\ude00\ud800"`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		want, werr := stdDecode(doc)
		got, gerr := decode(doc)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("encoding/json: %v, decode: %v, for %q", werr, gerr, doc)
		}
		if werr == nil {
			assert.Equal(t, want, got, "%q", doc)
		}
	})
}
