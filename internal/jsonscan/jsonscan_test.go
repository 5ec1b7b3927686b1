package jsonscan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/tidwall/gjson"
)

func TestEndsAndSpace(t *testing.T) {
	t.Parallel()
	s := ` {"a":"x\"y","b":[1,{"c":"]"}],"d":12.5e3 } `
	assert.Equal(t, 1, SkipSpace(s, 0))
	assert.Equal(t, len(s)-1, ValueEnd(s, 1), "the object, brackets in strings ignored")
	assert.Equal(t, 12, StringEnd(s, 6), `"x\"y"`)
	assert.Equal(t, -1, StringEnd(`"open`, 0))
	assert.Equal(t, -1, StringEnd(`x`, 0))
	assert.Equal(t, -1, ValueEnd(`[1,2`, 0))
	assert.Equal(t, -1, ValueEnd(``, 0))
	assert.Equal(t, 4, ValueEnd([]byte(`true,`), 0), "bytes as strings")
	assert.Equal(t, 3, ValueEnd(`-12`, 0))
}

// Unescape decodes as gjson does, on strings and bytes alike.
func TestUnescapeIsGjsons(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`plain`, `a\"b\\c\/d`, `\b\f\n\r\t`, `caf\u00e9`, `\ud83d\ude00`, `\ud83dx`, `\ude00`, `J\u00F6rg`,
		`\u12`, `end\`, `\ud83d\u0041`, `mixed \u00e9\n\"q\"`,
	} {
		want := gjson.Parse(`"` + body + `"`).Str
		if body == `\u12` || body == `end\` {
			want = map[string]string{`\u12`: "", `end\`: "end"}[body] // cut short: the text stops
		}
		assert.Equal(t, want, string(Unescape(nil, body)), "%q", body)
		assert.Equal(t, want, string(Unescape(nil, []byte(body))), "%q as bytes", body)
	}
}
