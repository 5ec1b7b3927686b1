package pusher

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/server"
)

func TestSendWritesThroughTheLiveSession(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{Channels: []string{"private-chat.42"}})
	h.sink.next(t, record.TypeSubscribed)
	ctx := ctx10(t)
	require.NoError(t, h.client.Send(ctx, []byte(`{"event":"client-typing","channel":"private-chat.42","data":{"typing":true}}`)))
	f, err := h.srv.WaitFrame(ctx, func(f server.Frame) bool { return f.Event() == "client-typing" })
	require.NoError(t, err)
	assert.Equal(t, "private-chat.42", gjson.GetBytes(f.Data, "channel").String())
	assert.JSONEq(t, `{"typing":true}`, f.Payload().Raw)

	// A refusal of the frame comes back as an error record on the channel.
	require.NoError(t, h.client.Send(ctx, []byte(`{"event":"client-typing","channel":"private-other","data":{}}`)))
	rec := h.sink.next(t, record.TypeError)
	assert.Equal(t, server.CodeClientEventRefused, rec.Code)
	h.cancel()
	assert.ErrorIs(t, h.wait(t), context.Canceled)
}

func TestSendWithoutALiveSessionWaitsForCtx(t *testing.T) {
	t.Parallel()
	c := New(Options{URL: "ws://127.0.0.1:1/app/x", Sink: newSink()})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, c.Send(ctx, []byte(`{}`)), context.DeadlineExceeded)
}
