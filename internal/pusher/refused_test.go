package pusher

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMentions pins which occurrences of a channel name in a server's
// message count: a whole name, at the start or after a character that no
// channel name holds, found however often a longer name contains it first.
func TestMentions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		msg, name string
		want      bool
	}{
		{"private-b", "private-b", true},                           // the whole message
		{"private-b is refused", "private-b", true},                // at the very start
		{"refused: private-b", "private-b", true},                  // after a space
		{"of 1.1:private-b, but got", "private-b", true},           // after ':', Pusher's signed string
		{"presence-private-b", "private-b", false},                 // the tail of a longer name
		{"xprivate-b then private-b", "private-b", true},           // a later whole mention still counts
		{"xprivate-b then yprivate-b", "private-b", false},         // never whole
		{"aaprivate-b", "private-b", false},                        // found at 2, preceded by a name byte
		{"nothing here", "private-b", false},                       // absent
		{"private-", "private-b", false},                           // a prefix of the name is not the name
		{"", "private-b", false},                                   // an empty message
		{"private-b", "", false},                                   // no name names nothing
		{"a:private-b:private-b", "private-b", true},               // the first whole one
		{"-private-b", "private-b", false},                         // '-' is a name byte
		{"@private-b", "private-b", false},                         // so is '@'
		{"\"private-b\"", "private-b", true},                       // quoted
		{"chat.private-b.7 private-b.7", "private-b.7", true},      // found twice, the second whole
		{"zzzzzzzzzzzz private-bzz", "private-b", true},            // whole at its start (the end is not checked)
		{"zzzzzzzzzzzzzzzzzzzzzzzzzprivate-b", "private-b", false}, // deep inside a longer word
		{"xaabaa", "aa", false},                                    // found at 1 and at 4 (the second search starts at 2): neither whole
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, mentions(tt.msg, tt.name), "mentions(%q, %q)", tt.msg, tt.name)
	}
}

// TestRefusedChannelPicks: the longest pending name the message names as a
// whole, the oldest on a tie, the oldest pending one when it names none.
func TestRefusedChannelPicks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pending []string
		msg     string
		want    string
	}{
		{[]string{"private-a", "private-b"}, "Connection is unauthorized", "private-a"},
		{[]string{"private-a", "private-b"}, "bad signature for private-b", "private-b"},
		{[]string{"private-a", "private-b"}, "private-b and private-a", "private-a"}, // a tie: the oldest
		{[]string{"private-b", "private-a"}, "private-a and private-b", "private-b"}, // a tie: the oldest
		{[]string{"private-room", "private-room.2"}, "refused private-room.2", "private-room.2"},
		{[]string{"private-room.2", "private-room"}, "refused private-room.2", "private-room.2"},
		{[]string{"private-room.2", "private-room"}, "refused private-room", "private-room"},
	}
	for _, tt := range tests {
		s := &session{pending: tt.pending}
		assert.Equal(t, tt.want, s.refusedChannel(tt.msg), "pending %v, message %q", tt.pending, tt.msg)
	}
}
