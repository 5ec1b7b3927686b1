package record

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestViolationsAreEncodedLastAndDecoded(t *testing.T) {
	t.Parallel()
	r := Record{
		TS: time.Date(2026, 11, 26, 9, 16, 54, 0, time.UTC), Type: TypeEvent, Channel: "private-chat.42",
		Event: "MessageSent", Data: []byte(`{"message":{"user_id":"8"}}`), UserID: "8", SocketID: "1.2",
		Violations: []string{"/message/user_id: expected integer, got string", `/status: expected one of "sent", got "seen"`},
	}
	line := r.AppendJSON(nil)
	assert.Equal(t, `{"ts":"2026-11-26T09:16:54Z","type":"event","channel":"private-chat.42","event":"MessageSent","data":{"message":{"user_id":"8"}},"user_id":"8","socket_id":"1.2",`+
		`"violations":["/message/user_id: expected integer, got string","/status: expected one of \"sent\", got \"seen\""]}`+"\n", string(line))
	got, err := Decode(line)
	require.NoError(t, err)
	assert.Equal(t, r, got)

	r.Violations = nil
	assert.NotContains(t, string(r.AppendJSON(nil)), "violations", "omitted when there are none")
	r.Violations = []string{}
	assert.NotContains(t, string(r.AppendJSON(nil)), "violations", "omitted when empty")
}

func TestDecodeViolationsOfTheWrongType(t *testing.T) {
	t.Parallel()
	for _, line := range []string{`{"violations":"x"}`, `{"violations":[1]}`, `{"violations":["a",{}]}`, `{"violations":{}}`} {
		_, err := Decode([]byte(line))
		assert.ErrorContains(t, err, "violations", line)
	}
	r, err := Decode([]byte(`{"violations":null}`))
	require.NoError(t, err)
	assert.Nil(t, r.Violations)
	r, err = Decode([]byte(`{"violations":[]}`))
	require.NoError(t, err)
	assert.Empty(t, r.Violations)
	r, err = Decode([]byte(`{"violations":["old"],"violations":["new"]}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"new"}, r.Violations, "the last of a key given twice")
}

func TestAppendViolations(t *testing.T) {
	t.Parallel()
	v := []string{"/a: expected integer, got string", "q\"\n\x1b"}
	field := `"violations":["/a: expected integer, got string","q\"\n\u001b"]`
	tests := []struct{ line, want string }{
		{`{"type":"event","data":{"a":"1"}}`, `{"type":"event","data":{"a":"1"},` + field + `}`},
		{`{"type":"event","data":{"a":"1"}}` + "\n", `{"type":"event","data":{"a":"1"},` + field + "}\n"},
		{`{"type":"event"}` + " \r\n", `{"type":"event",` + field + "} \r\n"},
		{`{ "type" : "event" }`, `{ "type" : "event" ,` + field + `}`},
		{`{}`, `{` + field + `}`},
		{"{ \t}\n", "{ \t" + field + "}\n"},
		{`not a record`, `not a record`},
	}
	for _, tt := range tests {
		got := AppendViolations([]byte(tt.line), v)
		assert.Equal(t, tt.want, string(got), tt.line)
		if json.Valid([]byte(tt.line)) {
			assert.True(t, json.Valid(got), "still JSON: %s", got)
		}
	}
	// Within the spare capacity of a reused buffer.
	buf := make([]byte, 0, 256)
	buf = append(buf, `{"a":1}`+"\n"...)
	got := AppendViolations(buf, v[:1])
	assert.Equal(t, `{"a":1,"violations":["/a: expected integer, got string"]}`+"\n", string(got))
	assert.Equal(t, &buf[:1][0], &got[0], "in place when it fits")
}

func TestAppendViolationsWithoutViolationsAllocatesNothing(t *testing.T) {
	line := []byte(`{"type":"event","data":{"a":1}}` + "\n")
	var out []byte
	allocs := testing.AllocsPerRun(100, func() { out = AppendViolations(line, nil) })
	assert.Zero(t, allocs)
	assert.Equal(t, &line[0], &out[0])
	assert.Len(t, out, len(line))
}

// FuzzAppendViolations: whatever record line replay passes through, the
// line with violations added decodes to the same record with them.
func FuzzAppendViolations(f *testing.F) {
	for _, s := range fuzzLines() {
		if len(s) < 1<<16 {
			f.Add(s, "/a: expected integer, got string")
		}
	}
	f.Add(`{"a":1}`+"\r\n", "x\x00\xff\"")
	f.Add(`{ }`, "")
	f.Fuzz(func(t *testing.T, line, v string) {
		before, err := Decode([]byte(line))
		if err != nil || before.Violations != nil || strings.Contains(line, `"violations"`) {
			return
		}
		got := AppendViolations([]byte(line), []string{v, "second"})
		after, err := Decode(got)
		if err != nil {
			t.Fatalf("%q with violations: %v: %q", line, err, got)
		}
		var w string // v as AppendString writes it: each invalid byte a U+FFFD
		if err := json.Unmarshal(AppendString(nil, v), &w); err != nil {
			t.Fatal(err)
		}
		if want := []string{w, "second"}; !reflect.DeepEqual(after.Violations, want) {
			t.Fatalf("violations %q, want %q", after.Violations, want)
		}
		after.Violations = nil
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("the rest changed: %+v, want %+v", after, before)
		}
	})
}
