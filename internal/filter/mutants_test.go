package filter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// TestRawPathAgreesWithGjsonOnBrokenLines feeds the raw path (RecordType
// and the "event" and "channel" fields read by MatchJSON) lines that are not
// valid JSON: the last line of a recording cut off mid-write, and values
// gjson reads its own way. The fast paths only skip gjson's work, so they
// must give gjson's answer on every line, and never panic.
func TestRawPathAgreesWithGjsonOnBrokenLines(t *testing.T) {
	t.Parallel()
	lines := []string{
		// cut off mid-write
		`{`,
		`{ `,
		`{"ts":"2026-11-26T09:16:54Z",`,
		`{"ts":"2026-11-26T09:16:54Z", `,
		`{"type"`,
		`{"type" `,
		`{"type":`,
		`{"type":"`,
		`{"type":"ev`,
		`{"event"`,
		`{"event":`,
		`{"event":"App\\Ev`,
		`{"channel":"private-chat.4`,
		`{"ts":"x","type"`,
		`{"ts":"x","event":`,
		// an empty value before the key: gjson finds no key after it
		`{"a":,"type":"subscribed"}`,
		`{"a": ,"event":"MessageSent","channel":"c"}`,
		// a value that is not a string but ends with a quote
		`{"type":ab"cd"}`,
		`{"event":x"y"}`,
		`{"channel":x"y"}`,
		// a string that is not closed
		`{"type":"abc`,
		`{"type":"a\"`,
		`{"event":"abc`,
		// an empty string
		`{"type":""}`,
		`{"event":"","channel":""}`,
	}
	for _, line := range lines {
		t.Run(line, func(t *testing.T) {
			t.Parallel()
			want := gjson.Get(line, "type").String()
			if want == "" {
				want = "event" // a line without a type is an event
			}
			assert.Equal(t, want, RecordType([]byte(line)), "RecordType")
			for _, key := range []string{"event", "channel"} {
				var buf [128]byte
				assert.Equal(t, gjson.Get(line, key).String(), stringField(line, key, &buf), "stringField(%s)", key)
			}

			// A filter reads the same fields: "*" matches any name, so
			// only the condition decides.
			f, err := CompileWithChannels([]string{"*"}, []string{"*"}, []string{"ts"})
			require.NoError(t, err)
			assert.Equal(t, gjson.Get(line, "ts").Exists(), f.MatchJSON([]byte(line)), "MatchJSON")
		})
	}
}

// TestNumberSpellings: a number compares as a number whatever its JSON
// spelling (a fraction, an exponent written e or E, with or without a sign,
// any digit 0 to 9), so a condition written one way matches a record written
// another. Text that only looks like the start of a number compares as text.
func TestNumberSpellings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		data  string
		where string
		want  bool
	}{
		{`{"v":1.9}`, `data.v=1.90`, true},
		{`{"v":1.9}`, `data.v=19e-1`, true},
		{`{"v":0.09}`, `data.v=9e-2`, true},
		{`{"v":100000}`, `data.v=1E5`, true},
		{`{"v":100000}`, `data.v=1E+5`, true},
		{`{"v":100000}`, `data.v=1e+5`, true},
		{`{"v":100000}`, `data.v>99999.5`, true},
		{`{"v":1E5}`, `data.v=100000`, true},
		{`{"v":0.00001}`, `data.v=1e-5`, true},
		{`{"v":0.00001}`, `data.v<1e-4`, true},
		{`{"v":0.00001}`, `data.v>1e-6`, true},
		{`{"v":10}`, `data.v=10e0`, true},
		{`{"v":10}`, `data.v=1e01`, true},
		{`{"v":1000000000}`, `data.v=1e9`, true},
		{`{"v":9000000000}`, `data.v=9e9`, true},
		{`{"v":"1.90"}`, `data.v=1.9`, true}, // a numeric string
		{`{"v":"1E5"}`, `data.v=100000`, true},
		// text that is not a number: compared as text
		{`{"v":"1e"}`, `data.v=1e`, true},
		{`{"v":"1e"}`, `data.v=1`, false},
		{`{"v":"1e-"}`, `data.v=1e-`, true},
		{`{"v":"1E"}`, `data.v=1E`, true},
		{`{"v":1}`, `data.v=1e`, false},
		{`{"v":16}`, `data.v=0x10`, false}, // no hex
	}
	for _, tt := range tests {
		t.Run(tt.data+" "+tt.where, func(t *testing.T) {
			t.Parallel()
			f, err := Compile(nil, []string{tt.where})
			require.NoError(t, err)
			r := *records["nodata"]
			r.Data = []byte(tt.data)
			assert.Equal(t, tt.want, f.Match(&r), "Match")
			assert.Equal(t, tt.want, f.MatchJSON(r.AppendJSON(nil)), "MatchJSON")
		})
	}
}
