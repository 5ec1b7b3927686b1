package jsonsafe

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func nested(depth int, open, close string) string {
	return strings.Repeat(open, depth) + strings.Repeat(close, depth)
}

func TestDepth(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		in   string
		want error
	}{
		{"flat", `{"a":[1,2,{"b":3}]}`, nil},
		{"at the limit", nested(MaxDepth, "[", "]"), nil},
		{"one over", nested(MaxDepth+1, "[", "]"), ErrTooDeep},
		{"objects over", strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1), ErrTooDeep},
		{"mixed over", strings.Repeat(`[{"a":`, MaxDepth/2+1) + "1" + strings.Repeat("}]", MaxDepth/2+1), ErrTooDeep},
		{"brackets inside a string do not count", `{"s":"` + strings.Repeat("[", 3*MaxDepth) + `"}`, nil},
		{"escaped quote keeps the string open", `["\"` + strings.Repeat("[", 2*MaxDepth) + `"]`, nil},
		{"many siblings are not deep", "[" + strings.Repeat("[],", 5*MaxDepth) + "[]]", nil},
		{"unclosed but deep", strings.Repeat("[", MaxDepth+1), ErrTooDeep},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Depth([]byte(tt.in)))
			assert.Equal(t, tt.want, DepthString(tt.in))
		})
	}
}

// TestValidDoesNotRecurseOnHostileInput is the crash of the hardening
// issue: 10,000,000 '[' and as many ']' overflowed gjson's recursive
// validator.
func TestValidDoesNotRecurseOnHostileInput(t *testing.T) {
	t.Parallel()
	in := []byte(nested(10_000_000, "[", "]"))
	assert.Equal(t, ErrTooDeep, Valid(in))
	assert.Equal(t, ErrInvalid, Valid([]byte(`{"a":`)))
	assert.NoError(t, Valid([]byte(`{"a":[1,{"b":null}]}`)))
	assert.NoError(t, ValidString(nested(MaxDepth, "[", "]")))
}

func TestFixUTF8(t *testing.T) {
	t.Parallel()
	valid := []byte(`{"m":"héllo ✓"}`)
	assert.Same(t, &valid[0], &FixUTF8(valid)[0], "valid input is returned as it is")

	bad := []byte("{\"m\":\"a\xffb\xc3\"}")
	fixed := FixUTF8(bad)
	require.True(t, utf8.Valid(fixed))
	assert.Equal(t, `{"m":"a\ufffdb\ufffd"}`, string(fixed))
	var v struct{ M string }
	require.NoError(t, json.Unmarshal(fixed, &v))
	assert.Equal(t, "a\uFFFDb\uFFFD", v.M)
	// An encoded surrogate is not UTF-8 either: each of its bytes is replaced.
	assert.Equal(t, `"\ufffd\ufffd\ufffd"`, string(FixUTF8([]byte("\"\xed\xa0\x80\""))))
}

func BenchmarkValidLine(b *testing.B) {
	line := []byte(`{"ts":"2026-11-26T09:16:54.123456789Z","type":"event","channel":"private-chat.42","event":"App\\Events\\MessageSent","data":{"message":{"id":7,"chat_id":42,"user_id":8,"content":"hi there, how are you?","temp_id":"tmp-1"},"user":{"id":8,"name":"Alice"}},"socket_id":"123.456"}`)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if Valid(line) != nil {
			b.Fatal("invalid")
		}
	}
}
