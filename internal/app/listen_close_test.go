package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/server"
)

// listenClose waits for the server to finish with connection 1 and returns
// the close frame tmsws sent it.
func listenClose(t *testing.T, srv *server.Server) server.ClientClose {
	t.Helper()
	c, err := srv.WaitConn(ctxT(t), 1)
	require.NoError(t, err)
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not end within 10s")
	}
	cc, ok := c.ClientClose()
	require.True(t, ok, "tmsws ended the connection without a close frame")
	return cc
}

// listen ended by --count, by --duration or by an interrupt says goodbye to
// the server with a normal closure, 1000.
func TestListenEndsWithACloseFrame1000(t *testing.T) {
	t.Parallel()
	t.Run("count", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t)
		r := newCLI(t).pointAt(srv.Addr()).start("listen", "-c", "chat", "--count", "1")
		require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat", 1))
		srv.Publish("chat", "one", `{}`, "")
		srv.Publish("chat", "two", `{}`, "")
		res := r.wait(t)
		require.Equal(t, 0, res.code, res.stderr)
		assert.Equal(t, server.ClientClose{Code: 1000}, listenClose(t, srv))
	})
	t.Run("duration", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t)
		res := newCLI(t).pointAt(srv.Addr()).run("listen", "-c", "chat", "--duration", "300ms")
		require.Equal(t, 0, res.code, res.stderr)
		assert.Equal(t, server.ClientClose{Code: 1000}, listenClose(t, srv))
	})
	t.Run("interrupt", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t)
		r := newCLI(t).pointAt(srv.Addr()).start("listen", "-c", "chat")
		require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat", 1))
		r.cancel()
		r.wait(t)
		assert.Equal(t, server.ClientClose{Code: 1000}, listenClose(t, srv))
	})
}
