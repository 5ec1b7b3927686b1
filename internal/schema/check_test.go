package schema

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chat.schema.json")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

func loadDoc(t *testing.T, doc []byte) *Set {
	t.Helper()
	s, err := Load(writeFile(t, string(doc)))
	require.NoError(t, err)
	return s
}

const chatSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$defs": {
    "App\\Events\\MessageSent": {
      "type": "object",
      "required": ["message"],
      "properties": {
        "message": {
          "type": "object",
          "required": ["content", "user_id"],
          "properties": {
            "user_id": {"type": "integer"},
            "content": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "a/b~c": {"type": "integer"},
            "user": {"$ref": "#/$defs/User"}
          }
        },
        "status": {"enum": ["sent", "read"]},
        "kind": {"const": "chat"},
        "nothing": false,
        "n": {"multipleOf": 2},
        "tags": {"type": "array", "maxItems": 1, "items": {"type": "string", "minLength": 2}}
      }
    },
    "MessagesRead": {"type": "object"},
    "User": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
  }
}`

func TestCheckMessages(t *testing.T) {
	t.Parallel()
	set := loadDoc(t, []byte(chatSchema))
	const ev = `App\Events\MessageSent`
	tests := []struct {
		name, data string
		want       []string
	}{
		{"valid", `{"message":{"user_id":8,"content":"hi","extra":"new fields are fine"}}`, nil},
		{"type", `{"message":{"user_id":"8","content":"hi"}}`, []string{"/message/user_id: expected integer, got string"}},
		{"required", `{"message":{"user_id":8}}`, []string{"/message: missing required property content"}},
		{"two required", `{"message":{}}`, []string{"/message: missing required property content", "/message: missing required property user_id"}},
		{"enum", `{"message":{"user_id":8,"content":"hi"},"status":"seen"}`, []string{`/status: expected one of "sent", "read", got "seen"`}},
		{"const", `{"message":{"user_id":8,"content":"hi"},"kind":"news"}`, []string{`/kind: expected "chat", got "news"`}},
		{"format", `{"message":{"user_id":8,"content":"hi","created_at":"yesterday"}}`, []string{`/message/created_at: expected a date-time, got "yesterday"`}},
		{"false schema", `{"message":{"user_id":8,"content":"hi"},"nothing":1}`, []string{"/nothing: not allowed here"}},
		{"other keywords in the validator's words", `{"message":{"user_id":8,"content":"hi"},"tags":["a","bc"]}`,
			[]string{"/tags/0: expected at least 2 characters, got 1", "/tags: expected at most 1 items, got 2"}},
		{"the rest in the validator's words", `{"message":{"user_id":8,"content":"hi"},"n":7}`, []string{"/n: multipleOf: got 7, want 2"}},
		{"root", `"just text"`, []string{"/: expected object, got string"}},
		{"no data", "", []string{"/: expected object, got null"}},
		{"pointer escapes", `{"message":{"user_id":8,"content":"hi","a/b~c":"x"}}`, []string{"/message/a~1b~0c: expected integer, got string"}},
		{"ref", `{"message":{"user_id":8,"content":"hi","user":{}}}`, []string{"/message/user: missing required property id"}},
		{"sorted", `{"message":{"user_id":"8"},"status":"x"}`, []string{
			"/message/user_id: expected integer, got string", "/message: missing required property content", `/status: expected one of "sent", "read", got "x"`}},
		{"not JSON", `{"a":`, []string{"/: data is not JSON: not checked"}},
		{"too deep", strings.Repeat("[", 1001) + strings.Repeat("]", 1001), []string{"/: data nested deeper than 1000 levels: not checked"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var data []byte
			if tt.data != "" {
				data = []byte(tt.data)
			}
			got, known := set.Check(ev, data)
			assert.True(t, known)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCheckLookup(t *testing.T) {
	t.Parallel()
	set := loadDoc(t, []byte(chatSchema))
	assert.Equal(t, []string{`App\Events\MessageSent`, "MessagesRead", "User"}, set.Events())
	_, known := set.Check(`App\Events\MessagesRead`, []byte(`{}`))
	assert.True(t, known, "the short name, after the last backslash")
	_, known = set.Check("MessagesRead", []byte(`{}`))
	assert.True(t, known)
	_, known = set.Check(`App\Events\MessageSent`, []byte(`{"message":{"user_id":8,"content":""}}`))
	assert.True(t, known, "the full name")
	v, known := set.Check("MessageSent", []byte(`1`))
	assert.False(t, known, "a def keyed by the full name is not one of the short name")
	assert.Nil(t, v)
	_, known = set.Check("UserIsTyping", []byte(`{}`))
	assert.False(t, known)
}

func TestCheckIsBoundedAndEscaped(t *testing.T) {
	t.Parallel()
	var props, data strings.Builder
	for i := range 30 {
		if i > 0 {
			props.WriteString(",")
			data.WriteString(",")
		}
		fmt.Fprintf(&props, `"p%02d":{"type":"integer"}`, i)
		fmt.Fprintf(&data, `"p%02d":"x"`, i)
	}
	set := loadDoc(t, []byte(`{"$defs":{"E":{"properties":{`+props.String()+`}}}}`))
	got, _ := set.Check("E", []byte(`{`+data.String()+`}`))
	require.Len(t, got, MaxViolations+1)
	assert.Equal(t, "/p00: expected integer, got string", got[0])
	assert.Equal(t, "… 10 more", got[MaxViolations])

	long := strings.Repeat("k", 10_000) + `\u001b[2J\u202e`
	set = loadDoc(t, []byte(`{"$defs":{"E":{"additionalProperties":{"enum":["a"]}}}}`))
	got, _ = set.Check("E", []byte(`{"`+long+`":"`+strings.Repeat("\\u001b", 1000)+strings.Repeat("v", 1<<20)+`"}`))
	require.Len(t, got, 1)
	assert.Less(t, len(got[0]), 400, "a hostile key and value stay short: %s", got[0])
	assert.NotContains(t, got[0], "\x1b")
	assert.Contains(t, got[0], "…")
	assert.Contains(t, got[0], "/kkkk")

	got, _ = set.Check("E", []byte(`{"\u001b]52;c;x\u0007":"b"}`))
	set2 := loadDoc(t, []byte(`{"$defs":{"E":{"additionalProperties":false,"properties":{"s":{"pattern":"^a+$"}}}}}`))
	v, _ := set2.Check("E", []byte(`{"s":"b","x":1,"y":2}`))
	assert.Equal(t, []string{`/: unexpected properties "x", "y"`, `/s: expected a match of ^a+$, got "b"`}, v)
	require.Len(t, got, 1)
	assert.NotContains(t, got[0], "\x1b")
	assert.NotContains(t, got[0], "\x07")
	assert.Contains(t, got[0], `\x1b]52`)
}

func TestCheckConcurrently(t *testing.T) {
	t.Parallel()
	set := loadDoc(t, []byte(chatSchema))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				data := fmt.Sprintf(`{"message":{"user_id":%d,"content":"hi"}}`, i)
				want := []string(nil)
				if (g+i)%3 == 1 {
					data = fmt.Sprintf(`{"message":{"user_id":%d,"content":"hi"},"tags":["a"]}`, i)
					want = []string{"/tags/0: expected at least 2 characters, got 1"}
				}
				if (g+i)%3 == 0 {
					data = fmt.Sprintf(`{"message":{"user_id":"%d"}}`, i)
					want = []string{"/message/user_id: expected integer, got string", "/message: missing required property content"}
				}
				got, known := set.Check(`App\Events\MessageSent`, []byte(data))
				assert.True(t, known)
				assert.Equal(t, want, got)
			}
		}()
	}
	wg.Wait()
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name, text, path string
		want             string
	}{
		{"not found", "", filepath.Join(dir, "missing.json"), "no such file"},
		{"a directory", "", dir, "is a directory"},
		{"not JSON", `{"$defs":`, "", "not JSON"},
		{"trailing garbage", `{"$defs":{}} x`, "", "not JSON"},
		{"too deep", strings.Repeat("[", 2000), "", "nested deeper than 1000 levels"},
		{"an array", `[]`, "", `has no "$defs" object`},
		{"no $defs", `{"type":"object"}`, "", `has no "$defs" object`},
		{"$defs not an object", `{"$defs":[]}`, "", `has no "$defs" object`},
		{"a def that does not compile", `{"$defs":{"App\\Events\\MessageSent":{"type":"strnig"}}}`, "", `the schema of App\Events\MessageSent does not compile`},
		{"a bad pattern", `{"$defs":{"E":{"pattern":"("}}}`, "", "the schema of E does not compile"},
		{"a $ref to another file", `{"$defs":{"E":{"$ref":"other.json"}}}`, "", "only references within the file are followed"},
		{"a $ref to the network", `{"$defs":{"E":{"$ref":"https://example.com/s.json"}}}`, "", "only references within the file are followed"},
		{"a dangling $ref", `{"$defs":{"E":{"$ref":"#/$defs/Nope"}}}`, "", "the schema of E does not compile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tt.path
			if path == "" {
				path = writeFile(t, tt.text)
			}
			_, err := Load(path)
			require.Error(t, err)
			var le *LoadError
			require.True(t, errors.As(err, &le), "%T", err)
			assert.Equal(t, path, le.Path)
			assert.Contains(t, err.Error(), "schema "+path+": ")
			assert.Contains(t, err.Error(), tt.want)
			assert.NotEmpty(t, le.Hint)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

func TestLoadKeysWithSlashesAndBackslashes(t *testing.T) {
	t.Parallel()
	set := loadDoc(t, []byte(`{"$defs":{"a/b~c d%20":{"type":"integer"},"App\\Events\\X":{"type":"string"}}}`))
	got, known := set.Check("a/b~c d%20", []byte(`"x"`))
	assert.True(t, known)
	assert.Equal(t, []string{"/: expected integer, got string"}, got)
	got, known = set.Check(`App\Events\X`, []byte(`1`))
	assert.True(t, known)
	assert.Equal(t, []string{"/: expected string, got integer"}, got)
}
