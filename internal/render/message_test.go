package render

import (
	"encoding/json"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The path lists appendMessage asks.
var messagePaths = [][]string{
	{"message.content", "message.body", "message.text", "content"},
	{"message.user.name", "user.name", "message.sender.name", "message.user_name"},
	{"message.user_id"},
	{"message.id", "id"},
	{"message.temp_id", "temp_id"},
}

var messageSamples = []string{
	`{"message":{"id":1201,"chat_id":42,"user_id":8,"content":"Morning!","temp_id":"tmp-1","created_at":"2026-11-26T09:16:52.200000Z","user":{"id":8,"name":"Alice"}}}`,
	`{"message":{"id":1,"content":"caf\u00e9 \/ \"q\"","user":{"name":"J\u00f6rg"}}}`,
	`{"message":{"body":"b","sender":{"name":"S"},"user_name":"U"}}`,
	`{"message":{"text":"","content":null,"body":"x"},"content":"top","user":{"name":"top user"},"id":9,"temp_id":"t"}`,
	`{"message":{"content":"a","content":"b"}}`,                // named twice
	`{"message":{"content":"a"},"message":{"content":"b"}}`,    // two messages
	`{"message":{"c\u006fntent":"escaped key","content":"x"}}`, // an escaped key
	`{"message":{"user":[{"name":"in an array"}],"content":"x"}}`,
	`{"message":{"user":"not an object","content":"x","user_id":"8"}}`,
	`{"message":"not an object","content":"top"}`,
	`{"message":[1,2],"content":"top"}`,
	`{"message":{"user":{"name":{"first":"A"}},"content":7}}`,
	`{"message":{"user":{"na\u006de":"N"},"content":"x"}}`,
	`{"message":{}}`, `{}`, `[]`, `"text"`, `null`, `{"message":{"content":"x"}} `,
}

// One pass over the message reads what the paths, one by one, read.
func TestMessageFieldsAnswerAsThePaths(t *testing.T) {
	t.Parallel()
	for _, data := range messageSamples {
		checkMessageFields(t, data)
	}
}

func checkMessageFields(t *testing.T, data string) {
	t.Helper()
	p := NewPretty(io.Discard, Options{})
	f := scanMessage(data)
	for _, paths := range messagePaths {
		want, wok := p.find(data, paths...)
		got, gok := p.findMessage(&f, data, paths...)
		assert.Equal(t, wok, gok, "%v on %s", paths, data)
		assert.Equal(t, want.Type, got.Type, "%v on %s", paths, data)
		assert.Equal(t, want.Raw, got.Raw, "%v on %s", paths, data)
		assert.Equal(t, want.Str, got.Str, "%v on %s", paths, data)
	}
}

// The common Laravel payload takes the one-pass way.
func TestMessageFieldsTakeTheCommonPayload(t *testing.T) {
	t.Parallel()
	f := scanMessage(messageSamples[0])
	require.True(t, f.ok)
	assert.Equal(t, `"Morning!"`, f.raw[0])
	assert.Equal(t, `{"id":8,"name":"Alice"}`, f.raw[3])
	for _, data := range messageSamples[4:7] {
		assert.False(t, scanMessage(data).ok, data)
	}
}

func FuzzMessageFields(f *testing.F) {
	for _, s := range messageSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		if !json.Valid([]byte(data)) {
			return // the renderer gets validated data
		}
		checkMessageFields(t, data)
	})
}
