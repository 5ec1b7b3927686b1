package trigger

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/cmdutil/cmdtest"
	"github.com/amusoft/tmsws/internal/record"
)

func clientOpts(channel, data string, limit int64) *Options {
	return &Options{Client: true, Channels: []string{channel}, Event: "client-typing", Data: []byte(data), MaxMessageSize: limit}
}

func TestClientFrameIsWhatIsSent(t *testing.T) {
	t.Parallel()
	got, err := clientFrame(clientOpts(`private-"q".1`, `{"typing":true}`, DefaultMaxMessageSize))
	require.NoError(t, err)
	assert.Equal(t, `{"event":"client-typing","channel":"private-\"q\".1","data":{"typing":true}}`, string(got))
}

func TestClientFrameRefusesNonObjectData(t *testing.T) {
	t.Parallel()
	for data, kind := range map[string]string{
		`"typing"`: "a string", `42`: "a number", `-1.5`: "a number", `[1,2]`: "an array",
		`true`: "a boolean", `false`: "a boolean", `null`: "null",
	} {
		_, err := clientFrame(clientOpts("private-chat.42", data, DefaultMaxMessageSize))
		var ue *cmdutil.UsageError
		require.ErrorAs(t, err, &ue, data)
		assert.Equal(t, "-d for a client event must be a JSON object, not "+kind, ue.Msg)
		assert.Contains(t, ue.Hint, `Reverb requires object data and answers anything else with 4200 "Invalid message format"`)
	}
}

// The limit is on the whole frame, as Reverb's (Ratchet's) is on the whole
// message: a frame of exactly --max-message-size bytes passes, one byte
// more does not, and the error says how the bytes add up.
func TestClientFrameSizeLimit(t *testing.T) {
	t.Parallel()
	const envelope = len(`{"event":"client-typing","channel":"private-chat.42","data":}`)
	dataOf := func(n int) string { return `{"b":"` + strings.Repeat("x", n-8) + `"}` }

	at, err := clientFrame(clientOpts("private-chat.42", dataOf(10000-envelope), 10000))
	require.NoError(t, err)
	assert.Len(t, at, 10000)

	_, err = clientFrame(clientOpts("private-chat.42", dataOf(10000-envelope+1), 10000))
	var ue *cmdutil.UsageError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "the client event is 10001 bytes, over --max-message-size 10000: 9940 of them are the -d data, 61 the event name, channel and envelope (at most 9939 bytes of data fit)", ue.Msg)
	assert.Contains(t, ue.Hint, "Reverb closes the connection with 1009 on a message over its max_message_size (REVERB_APP_MAX_MESSAGE_SIZE, default 10,000 bytes)")
	assert.Contains(t, ue.Hint, "--max-message-size (0 skips the check)")

	// The 9,949 bytes of data.
	_, err = clientFrame(clientOpts("private-chat.42", dataOf(9949), 10000))
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, ue.Msg, "the client event is 10010 bytes, over --max-message-size 10000: 9949 of them are the -d data")

	// A channel name so long that no data fits.
	_, err = clientFrame(clientOpts("private-"+strings.Repeat("c", 200), `{}`, 100))
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, ue.Msg, "(no data fits)")

	// 0 turns the check off.
	big, err := clientFrame(clientOpts("private-chat.42", dataOf(20008), 0))
	require.NoError(t, err)
	assert.Len(t, big, 20008+envelope)
}

func TestMaxMessageSizeFlag(t *testing.T) {
	t.Parallel()
	args := []string{"--client", "-c", "chat", "-e", "client-typing", "-d", "{}"}
	for _, tt := range []struct {
		extra []string
		want  int64
	}{
		{nil, 10000},
		{[]string{"--max-message-size", "20000"}, 20000},
		{[]string{"--max-message-size", "64KiB"}, 64 << 10},
		{[]string{"--max-message-size", "0"}, 0},
	} {
		got, err := cmdtest.Parse(t, NewCmdTrigger, nil, append(args, tt.extra...)...)
		require.NoError(t, err, tt.extra)
		assert.Equal(t, tt.want, got.MaxMessageSize, tt.extra)
	}
	_, err := cmdtest.Parse(t, NewCmdTrigger, nil, append(args, "--max-message-size", "-1")...)
	require.Error(t, err)
}

// Public channels pass the flag checks now (Reverb relays client events on
// them); encrypted ones still do not.
func TestClientChannelKinds(t *testing.T) {
	t.Parallel()
	for _, ch := range []string{"chat", "cache-chat", "private-chat.42", "presence-chat.42", "chat:42"} {
		_, err := cmdtest.Parse(t, NewCmdTrigger, nil, "--client", "-c", ch, "-e", "client-typing", "-d", "{}")
		assert.NoError(t, err, ch)
	}
	_, err := cmdtest.Parse(t, NewCmdTrigger, nil, "--client", "-c", "private-encrypted-x", "-e", "client-typing", "-d", "{}")
	var ue *cmdutil.UsageError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "client events cannot be sent on the encrypted channel private-encrypted-x", ue.Msg)
}

// Before the send a disconnect is the client's to retry; after it, the
// watch reports it once and stops the reconnect: Flush, which the pusher
// client calls before it waits to reconnect, fails.
func TestWatchStopsTheReconnectAfterTheSend(t *testing.T) {
	t.Parallel()
	w := newWatch("private-chat.42")
	require.NoError(t, w.Write(&record.Record{Type: record.TypeDisconnected, Message: "connection lost"}))
	require.NoError(t, w.Flush())
	_, dropped := w.drop()
	assert.False(t, dropped, "a disconnect before the send is not the event's")

	w.arm()
	require.NoError(t, w.Write(&record.Record{Type: record.TypeDisconnected, Code: 1009, Message: "closed with 1009 Maximum message size exceeded"}))
	require.NoError(t, w.Write(&record.Record{Type: record.TypeDisconnected, Message: "a later one"}))
	assert.ErrorIs(t, w.Flush(), errClosedAfterSend)
	rec := <-w.drops
	assert.Equal(t, 1009, rec.Code)
	last, ok := w.drop()
	require.True(t, ok)
	assert.Equal(t, rec, last, "the first disconnect is the one reported")
}

// A failed write is explained by the disconnect that follows it; without
// one, awaitDrop gives up when Run ends or the wait is over.
func TestAwaitDropAfterAFailedWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWatch("chat")
	w.arm()
	r := &running{done: make(chan error, 1), stop: func() {}}
	go func() {
		_ = w.Write(&record.Record{Type: record.TypeDisconnected, Code: 1009, Message: "closed with 1009"})
	}()
	rec, ok := w.awaitDrop(ctx, r, time.Minute)
	require.True(t, ok)
	assert.Equal(t, 1009, rec.Code)

	quiet := newWatch("chat")
	quiet.arm()
	r = &running{done: make(chan error, 1), stop: func() {}}
	r.done <- errors.New("run ended")
	_, ok = quiet.awaitDrop(ctx, r, time.Minute)
	assert.False(t, ok)
	assert.True(t, r.over, "Run's result was taken: end must not wait for it again")
	r.end() // returns at once

	_, ok = newWatch("chat").awaitDrop(ctx, &running{done: make(chan error, 1), stop: func() {}}, 0)
	assert.False(t, ok, "the wait ends")
}
