package record

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// badUTF8 are byte sequences that are not UTF-8, each with the number of
// U+FFFD it becomes (one per byte): a lone continuation byte, bytes that
// never occur, a truncated sequence, an overlong encoding, a surrogate half
// and a code point beyond U+10FFFF.
var badUTF8 = []struct {
	s    string
	runs int
}{
	{"\x80", 1},
	{"\xff\xfe", 2},
	{"\xe2\x82", 2},
	{"\xc0\xaf", 2},
	{"\xc3\x28", 1}, // \xc3 then a plain "("
	{"\xed\xa0\x80", 3},
	{"\xf4\x90\x80\x80", 4},
}

// TestEncodedRecordsAreValidUTF8 checks the bytes AppendJSON writes, not
// what a JSON decoder makes of them (encoding/json replaces invalid bytes
// itself, so a round trip cannot tell): for a record of every type, with
// invalid UTF-8 in every string field, the line is valid UTF-8, each bad
// byte became one \ufffd, and the text around it is kept.
func TestEncodedRecordsAreValidUTF8(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 11, 26, 9, 16, 54, 0, time.UTC)
	// One record of each type, with the fields listen fills in for it.
	byType := map[string]Record{
		TypeEvent:             {Channel: "private-chat.42", Event: `App\Events\MessageSent`, Data: []byte(`{"m":"ünï"}`), UserID: "8", SocketID: "1.2"},
		TypeMemberAdded:       {Channel: "presence-chat.42", UserID: "9", Data: []byte(`{"name":"Bob"}`)},
		TypeMemberRemoved:     {Channel: "presence-chat.42", UserID: "9"},
		TypeSubscribed:        {Channel: "presence-chat.42", Event: "pusher_internal:subscription_succeeded", Data: []byte(`{}`)},
		TypeSubscriptionError: {Channel: "private-chat.42", Message: "auth refused", Code: 403},
		TypeConnected:         {SocketID: "1.2", Message: "ws://127.0.0.1:6001/app/key"},
		TypeDisconnected:      {Message: "closed", Code: 1006},
		TypeReconnecting:      {Message: "closed with 4200", Code: 4200, Attempt: 2, Delay: 1500 * time.Millisecond},
		TypeError:             {Message: "bad frame", Code: -1},
		TypeProtocol:          {Event: "pusher:pong", SocketID: "1.2"},
		TypeCacheMiss:         {Channel: "cache-prices", SocketID: "1.2"},
	}
	types := []string{TypeEvent, TypeMemberAdded, TypeMemberRemoved, TypeSubscribed, TypeSubscriptionError,
		TypeConnected, TypeDisconnected, TypeReconnecting, TypeError, TypeProtocol, TypeCacheMiss}
	require.Len(t, byType, len(types))

	for _, typ := range types {
		for _, bad := range badUTF8 {
			t.Run(typ+" "+strconv.Quote(bad.s), func(t *testing.T) {
				t.Parallel()
				r := byType[typ]
				r.TS, r.Type = ts, typ
				fields := 0
				for _, f := range []*string{&r.Channel, &r.Event, &r.UserID, &r.SocketID, &r.Message} {
					if *f != "" {
						*f = "a" + bad.s + *f + bad.s + "z"
						fields++
					}
				}
				require.NotZero(t, fields)
				line := r.AppendJSON(nil)
				require.Truef(t, utf8.Valid(line), "AppendJSON wrote invalid UTF-8: %q", line)
				assert.Equal(t, 2*fields*bad.runs, bytes.Count(line, []byte(`\ufffd`)), "one \\ufffd per bad byte: %s", line)
				assert.True(t, json.Valid(line), "%s", line)

				var got map[string]any
				require.NoError(t, json.Unmarshal(line, &got))
				assert.Equal(t, typ, got["type"])
				for key, f := range map[string]string{"channel": r.Channel, "event": r.Event, "user_id": r.UserID, "socket_id": r.SocketID, "message": r.Message} {
					if f != "" {
						assert.Equal(t, replaceInvalid(f), got[key], key)
					}
				}
			})
		}
	}
}

// TestAppendStringUTF8 pins the bytes AppendString writes for text with and
// without invalid UTF-8: valid text (multi-byte, U+2028, a real U+FFFD)
// passes through as it is, each bad byte becomes the six bytes \ufffd.
func TestAppendStringUTF8(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"ünïcødé ✓ 😀", `"ünïcødé ✓ 😀"`},
		{"\u2028\u2029", "\"\u2028\u2029\""},
		{"\uFFFD", "\"\uFFFD\""}, // a real U+FFFD is valid UTF-8
		{"\xff", `"\ufffd"`},
		{"a\xffb", `"a\ufffdb"`},
		{"\xff\xfe", `"\ufffd\ufffd"`},
		{"\xe2\x82", `"\ufffd\ufffd"`},
		{"\xe2\x82\xac\xe2\x82", `"€\ufffd\ufffd"`},
		{"\xc3\x28", `"\ufffd("`},
		{"\xc0\xaf", `"\ufffd\ufffd"`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
		{"\xf4\x90\x80\x80", `"\ufffd\ufffd\ufffd\ufffd"`},
		{"é\xff\"\n", `"é\ufffd\"\n"`},
		{"\xff\x1b", `"\ufffd\u001b"`},
	}
	for _, tt := range tests {
		got := AppendString([]byte("x"), tt.in)
		assert.Equal(t, "x"+tt.want, string(got), "AppendString(%q)", tt.in)
		assert.True(t, utf8.Valid(got), "AppendString(%q) = %q", tt.in, got)
	}
}
