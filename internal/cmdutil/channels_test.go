package cmdutil

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckChannelRefusesOnlyWhatNoServerTakes(t *testing.T) {
	t.Parallel()
	accepted := []string{
		"chat", "private-chat.42", "presence-room.1", "private-encrypted-x", "#server-to-user-1",
		// Reverb takes these; Pusher and Soketi do not (ChannelWarnings).
		"chat:42", "private-chat/42", "чат", "private-App.Models.User.{id}", "a+b",
		strings.Repeat("x", PusherMaxChannelLen+1),
		strings.Repeat("x", MaxChannelLen),
	}
	for _, ch := range accepted {
		assert.NoError(t, CheckChannel(ch), "%.40q", ch)
	}

	refused := []struct {
		name, msg string
	}{
		{"", "empty channel name"},
		{"chat room", `invalid channel name "chat room": a space at byte 4`},
		{"chat\troom", `invalid channel name "chat\troom": whitespace (U+0009) at byte 4`},
		{"chat\n", `invalid channel name "chat\n": whitespace (U+000A) at byte 4`},
		{"a\u00a0b", `invalid channel name "a` + "\u00a0" + `b": whitespace (U+00A0) at byte 1`},
		{"x\x1b[2J", `invalid channel name "x\x1b[2J": a control character (U+001B) at byte 1`},
		{"x\x00", `invalid channel name "x\x00": a control character (U+0000) at byte 1`},
		{"x\u0085", `invalid channel name "x\u0085": whitespace (U+0085) at byte 1`},
		{"evil\u202ecod", `invalid channel name "evil\u202ecod": a bidi control character (U+202E) at byte 4`},
		{"bad\xffutf8", `invalid channel name "bad` + "\ufffd" + `utf8": not valid UTF-8`},
		{strings.Repeat("y", MaxChannelLen+1), `invalid channel name "` + strings.Repeat("y", 64) + `…": 10001 bytes long, over 10000`},
	}
	for _, tt := range refused {
		err := CheckChannel(tt.name)
		var ue *UsageError
		require.ErrorAs(t, err, &ue, "%.40q", tt.name)
		assert.Equal(t, tt.msg, ue.Msg)
		assert.NotEmpty(t, ue.Hint)
	}
}

func TestCheckChannelsRefusesDuplicates(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckChannels([]string{"a", "b:c"}))
	err := CheckChannels([]string{"a", "b", "a"})
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, `channel "a" given twice`, ue.Msg)
	require.ErrorAs(t, CheckChannels([]string{"ok", "not ok"}), &ue)
	assert.Contains(t, ue.Msg, `"not ok"`)
}

func TestChannelWarnings(t *testing.T) {
	t.Parallel()
	long165 := strings.Repeat("p", 165)
	long201 := "private-" + strings.Repeat("q", 193)
	tests := []struct {
		name string
		want string // "" for no warning
	}{
		{"private-chat.42", ""},
		{"presence-room_1=a@b,c;d", ""},
		{"#server-to-user-1", ""},
		{strings.Repeat("x", 164), ""},
		{"chat:42", `channel "chat:42" has characters outside Pusher's set (letters, digits and _ - = @ , . ;): Pusher Channels and Soketi refuse it; Reverb accepts it`},
		{"чат", `channel "чат" has characters outside Pusher's set (letters, digits and _ - = @ , . ;): Pusher Channels and Soketi refuse it; Reverb accepts it`},
		{long165, `channel "` + strings.Repeat("p", 64) + `…" is 165 characters long, over Pusher's 164: Pusher Channels refuses it (Soketi takes up to 200); Reverb accepts it`},
		{long201, `channel "private-` + strings.Repeat("q", 56) + `…" is 201 characters long, over Pusher's 164: Pusher Channels and Soketi refuse it; Reverb accepts it`},
		{"a/" + strings.Repeat("b", 170), `channel "a/` + strings.Repeat("b", 62) + `…" has characters outside Pusher's set (letters, digits and _ - = @ , . ;) and is 172 characters long, over Pusher's 164: Pusher Channels and Soketi refuse it; Reverb accepts it`},
	}
	for _, tt := range tests {
		got := ChannelWarnings([]string{tt.name})
		if tt.want == "" {
			assert.Nil(t, got, tt.name)
			continue
		}
		assert.Equal(t, []string{tt.want}, got)
	}
	// One line per name that needs one, in the order given.
	got := ChannelWarnings([]string{"ok", "a:b", "fine.too", "c/d"})
	require.Len(t, got, 2)
	assert.Contains(t, got[0], `"a:b"`)
	assert.Contains(t, got[1], `"c/d"`)
	assert.Nil(t, ChannelWarnings(nil))
}
