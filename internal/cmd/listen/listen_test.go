package listen

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/cmdutil/cmdtest"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	return cmdtest.Parse(t, NewCmdListen, nil, args...)
}

func TestListenFlags(t *testing.T) {
	t.Parallel()
	o, err := parse(t, "-c", "private-chat.42", "--channel", "presence-chat.42", "-e", "MessageSent", "--where", "data.x=1",
		"--json", "-o", "out.jsonl", "--count", "3", "--duration", "1m", "--show-protocol", "--reconnect-attempts", "0", "--reconnect-delay", "1s",
		"--host", "example.test", "--token", "secret-token")
	require.NoError(t, err)
	assert.Equal(t, []string{"private-chat.42", "presence-chat.42"}, o.Channels)
	assert.Equal(t, []string{"MessageSent"}, o.Events)
	assert.Equal(t, []string{"data.x=1"}, o.Wheres)
	assert.True(t, o.JSON)
	assert.Equal(t, "out.jsonl", o.Output)
	assert.Equal(t, 3, o.Count)
	assert.Equal(t, time.Minute, o.Duration)
	assert.True(t, o.ShowProtocol)
	assert.Equal(t, 0, o.ReconnectAttempts)
	assert.Equal(t, time.Second, o.ReconnectDelay)
	assert.Equal(t, "example.test", o.Settings.Host)
	assert.Equal(t, "secret-token", o.Settings.Token)
}

func TestListenDefaults(t *testing.T) {
	t.Parallel()
	o, err := parse(t, "-c", "chat")
	require.NoError(t, err)
	assert.Equal(t, 5, o.ReconnectAttempts)
	assert.Equal(t, 3*time.Second, o.ReconnectDelay)
	assert.Equal(t, "tms.amusoft.uz", o.Settings.Host)
	assert.Equal(t, 443, o.Settings.Port)
	assert.Equal(t, "wss://tms.amusoft.uz:443/app/1puo7oyhapqfczgdmt1d?protocol=7&client=tmsws&version=test", o.Settings.WebSocketURL("test"))
	assert.Equal(t, "https://tms.amusoft.uz/broadcasting/auth", o.Settings.AuthURL)
}

func TestListenUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{},
		{"-c", "a", "-c", "a"},
		{"-c", "bad name"},
		{"-c", "a", "--json", "--pretty"},
		{"-c", "a", "--count", "-1"},
		{"-c", "a", "--reconnect-attempts", "-2"},
		{"private-chat.42"},
	} {
		_, err := parse(t, args...)
		var ue *cmdutil.UsageError
		assert.ErrorAs(t, err, &ue, "%v", args)
	}
}
