package termsafe

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestString(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"héllo ✓ 日本", "héllo ✓ 日本"},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"\x1b]52;c;ZXZpbA==\x1b\\", `\x1b]52;c;ZXZpbA==\x1b\`},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"a\rb\bc\n", `a\rb\x08c\n`},
		{"\x7f", `\x7f`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`},
		{"iso \u2066x\u2069", `iso \u2066x\u2069`},
		{"ls\u2028ps\u2029", `ls\u2028ps\u2029`},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	} {
		assert.Equal(t, tt.want, String(tt.in), "%q", tt.in)
		assert.Equal(t, tt.want == tt.in, IsSafe(tt.in), "%q", tt.in)
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "short", Clip("short", 10))
	assert.Equal(t, "aaaa…", Clip(strings.Repeat("a", 10_000), 4))
	assert.Equal(t, `\x1b[…`, Clip("\x1b[31m", 2), "escaped after cutting")
	// A cut never splits a character.
	assert.Equal(t, "日…", Clip("日本語", 4))
}
