package render

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/record"
)

func TestViolationsUnderTheEvent(t *testing.T) {
	t.Parallel()
	r := &record.Record{TS: at(0), Type: record.TypeEvent, Channel: "private-chat.42", Event: `App\Events\MessageSent`,
		Data:       []byte(`{"message":{"user_id":"8"}}`),
		Violations: []string{"/message/user_id: expected integer, got string", "/message: missing required property content"}}
	var buf bytes.Buffer
	p := NewPretty(&buf, Options{Location: t0.Location()})
	require.NoError(t, p.Write(r))
	assert.Equal(t, `09:16:54.123  private-chat.42  MessageSent   {"message":{"user_id":"8"}}`+"\n"+
		"              ✗ schema: /message/user_id: expected integer, got string\n"+
		"              ✗ schema: /message: missing required property content\n", buf.String())

	buf.Reset()
	p = NewPretty(&buf, Options{Location: t0.Location(), Color: true})
	require.NoError(t, p.Write(r))
	assert.Contains(t, buf.String(), "              \x1b[31m✗ schema: /message/user_id: expected integer, got string\x1b[0m\n", "red with colour on")
}

func TestViolationsAreSanitized(t *testing.T) {
	t.Parallel()
	r := &record.Record{TS: at(0), Type: record.TypeEvent, Channel: "c", Event: "E",
		Violations: []string{"/a\nb: got \x1b[2J\u202e"}}
	var buf bytes.Buffer
	p := NewPretty(&buf, Options{Location: t0.Location()})
	require.NoError(t, p.Write(r))
	out := buf.String()
	assert.NotContains(t, out, "\x1b")
	assert.NotContains(t, out, "\u202e")
	assert.Equal(t, 2, bytes.Count(buf.Bytes(), []byte("\n")), "one line for the event, one for the violation: %q", out)
}
