package pusherjstest_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/pusherjstest"
	"github.com/amusoft/tmsws/internal/server"
)

// A pusher-js client started through the package subscribes to a public
// channel of the embedded server and reports the event published on it.
func TestStartDrivesPusherJS(t *testing.T) {
	srv, err := server.Start(server.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	host, port, err := net.SplitHostPort(srv.Addr())
	require.NoError(t, err)

	run := pusherjstest.Start(t, pusherjstest.Target{Host: host, Port: port, Key: srv.AppKey(), AuthURL: srv.AuthURL()},
		"pusherjs/listen", "TMSWS_CHANNEL=chat", "TMSWS_EXPECT=1")
	run.NextOf("", "subscribed")
	srv.Publish("chat", "MessageSent", `{"id":7}`, "")
	lines, code := run.Wait()
	require.Equal(t, 0, code)
	events := pusherjstest.LinesOf(lines, "event")
	require.Len(t, events, 1)
	assert.Equal(t, "MessageSent", events[0].Event)
	assert.JSONEq(t, `{"id":7}`, string(events[0].Data))
}
