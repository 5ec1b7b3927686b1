package doctor

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/amusoft/tmsws/internal/pusher"
)

// Soketi refuses a name outside Pusher's set with 4009 "The channel name is
// not allowed", the code of a bad signature: the hint puts the name first.
func TestRefusedNamesTheChannelNameFirst(t *testing.T) {
	t.Parallel()
	se := &pusher.SubscriptionError{Channel: "private-chat:42", Code: 4009, Message: "The channel name is not allowed."}
	out := refused(se)
	assert.Equal(t, se, out.err)
	assert.Equal(t, `likely the name: channel "private-chat:42" has characters outside Pusher's set (letters, digits and _ - = @ , . ;): `+
		`Pusher Channels and Soketi refuse it; Reverb accepts it; use a name in Pusher's set on such a server (otherwise: `+se.Hint()+`)`, out.hint)

	ok := &pusher.SubscriptionError{Channel: "private-chat.42", Code: 4009, Message: "Invalid signature"}
	assert.Equal(t, ok.Hint(), refused(ok).hint, "a name in Pusher's set keeps the server's hint")
}
