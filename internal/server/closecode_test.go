package server

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closeDial connects a bare gorilla client and reads its greeting; it
// returns the client and the server's side of the connection.
func closeDial(t *testing.T, s *Server) (*websocket.Conn, *Conn) {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(s.URL()+"/app/"+s.AppKey()+"?protocol=7&client=test&version=1", nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = ws.Close() })
	_, greeting, err := ws.ReadMessage()
	require.NoError(t, err)
	require.Contains(t, string(greeting), "pusher:connection_established")
	c, err := s.WaitConn(testCtx(t), 1)
	require.NoError(t, err)
	return ws, c
}

func closeStart(t *testing.T) *Server {
	t.Helper()
	s, err := Start(Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// ended waits for the server to finish with c.
func ended(t *testing.T, c *Conn) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(waitLimit):
		t.Fatalf("connection %d did not end within %v", c.Number(), waitLimit)
	}
}

func TestClientCloseCodeAndReasonAreRecorded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		payload []byte
		want    ClientClose
	}{
		{"normal", websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), ClientClose{Code: 1000}},
		{"going away with a reason", websocket.FormatCloseMessage(websocket.CloseGoingAway, "bye now"), ClientClose{Code: 1001, Reason: "bye now"}},
		{"application code", websocket.FormatCloseMessage(4321, "custom"), ClientClose{Code: 4321, Reason: "custom"}},
		{"no status code", nil, ClientClose{Code: websocket.CloseNoStatusReceived}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := closeStart(t)
			ws, c := closeDial(t, s)
			_, ok := c.ClientClose()
			assert.False(t, ok, "a live connection has sent no close frame")
			require.NoError(t, ws.WriteControl(websocket.CloseMessage, tc.payload, time.Now().Add(waitLimit)))
			ended(t, c)
			got, ok := c.ClientClose()
			require.True(t, ok, "the close frame was not recorded")
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestNoClientCloseWhenTheClientDrops(t *testing.T) {
	t.Parallel()
	s := closeStart(t)
	ws, c := closeDial(t, s)
	require.NoError(t, ws.NetConn().Close())
	ended(t, c)
	got, ok := c.ClientClose()
	assert.False(t, ok, "a TCP drop is no close frame, got %+v", got)
}

// A client answering the server's close echoes its code (RFC 6455 §5.5.1,
// gorilla's default close handler): the answer is what is recorded.
func TestClientAnswerToTheServersCloseIsRecorded(t *testing.T) {
	t.Parallel()
	s := closeStart(t)
	ws, c := closeDial(t, s)
	c.Close(4200, "please reconnect")
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, 4200, ce.Code)
			break
		}
	}
	ended(t, c)
	got, ok := c.ClientClose()
	require.True(t, ok)
	assert.Equal(t, 4200, got.Code)
}
