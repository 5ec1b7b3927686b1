package laraveltest

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPHPJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"slash escaped", "a/b", `"a\/b"`},
		{"quotes and backslash", `say "hi" \o/`, `"say \"hi\" \\o\/"`},
		{"non-ASCII as lowercase \\u", "Zoë ü", `"Zo\u00eb \u00fc"`},
		{"outside the BMP as a surrogate pair", "😀", `"\ud83d\ude00"`},
		{"control characters", "a\tb\nc\x01", `"a\tb\nc\u0001"`},
		{"HTML characters kept", "<a href='x'>&</a>", `"<a href='x'>&<\/a>"`},
		{"struct field order kept", struct {
			UserID   string `json:"user_id"`
			UserInfo any    `json:"user_info"`
		}{"8", map[string]string{"name": "Alice"}}, `{"user_id":"8","user_info":{"name":"Alice"}}`},
		{"raw JSON order kept", json.RawMessage(`{"z":1,"a":[true,false,null,1.5]}`), `{"z":1,"a":[true,false,null,1.5]}`},
		{"empty containers", map[string]any{"a": []int{}, "b": map[string]int{}}, `{"a":[],"b":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := PHPJSON(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
			// Whatever PHP escapes, it is still the same JSON value.
			std, err := json.Marshal(tt.in)
			require.NoError(t, err)
			assert.JSONEq(t, string(std), string(got))
		})
	}
}

func TestPHPJSONRejectsUnencodable(t *testing.T) {
	t.Parallel()
	_, err := PHPJSON(make(chan int))
	require.Error(t, err)
}
