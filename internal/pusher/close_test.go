package pusher

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/server"
)

// kaSigner signs private channels for the embedded server's default app.
var kaSigner = &auth.Signer{Key: "app-key", Secret: "app-secret"}

// closedWith waits for the server to finish with c and returns the close
// frame the client sent; it fails when the client sent none.
func closedWith(t *testing.T, c *server.Conn) server.ClientClose {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("connection %d did not end within 10s", c.Number())
	}
	cc, ok := c.ClientClose()
	require.True(t, ok, "connection %d ended without a close frame from the client", c.Number())
	return cc
}

// Leaving on purpose is a normal closure: a cancelled context (Ctrl-C,
// --duration) and a Sink that stops (--count) both send the server a close
// frame with 1000, on a Pusher-like and a Reverb-like server.
func TestLeavingOnPurposeClosesWith1000(t *testing.T) {
	t.Parallel()
	for _, like := range []server.Like{server.LikePusher, server.LikeReverb} {
		t.Run("cancel/"+like.String(), func(t *testing.T) {
			t.Parallel()
			r := kaStart(t, server.Config{Like: like}, Options{Channels: []string{"chat", "private-chat"}, Authorizer: kaSigner})
			c1 := r.firstConn(t, "private-chat")
			r.cancel()
			assert.ErrorIs(t, r.wait(t), context.Canceled)
			assert.Equal(t, server.ClientClose{Code: 1000}, closedWith(t, c1))
		})
		t.Run("stop/"+like.String(), func(t *testing.T) {
			t.Parallel()
			r := kaStartStop(t, server.Config{Like: like}, Options{Channels: []string{"chat"}}, "last")
			c1 := r.firstConn(t, "chat")
			r.srv.Publish("chat", "first", `{}`, "")
			r.srv.Publish("chat", "last", `{}`, "")
			assert.NoError(t, r.wait(t))
			assert.Equal(t, server.ClientClose{Code: 1000}, closedWith(t, c1))
		})
	}
}

// A connection refused in its handshake (pusher:error instead of
// connection_established, the socket left open) is closed with 1000 too.
func TestRefusedHandshakeClosesWith1000(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	srv.SetHandshakeFault(func(int) *server.Refusal {
		return &server.Refusal{Code: 4004, Message: "Application is over connection quota", Then: server.ThenStayOpen}
	})
	c := New(Options{URL: srv.URL() + "/app/app-key?protocol=7&client=tmsws&version=test", Channels: []string{"chat"}, Sink: newKASink()})
	err = c.Run(kaCtx(t))
	var ce *ConnError
	require.True(t, errors.As(err, &ce), "%v", err)
	assert.Equal(t, 4004, ce.Code)
	c1, err := srv.WaitConn(kaCtx(t), 1)
	require.NoError(t, err)
	assert.Equal(t, server.ClientClose{Code: 1000}, closedWith(t, c1))
}
