package soketitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/websocket"
)

// Frame is one Pusher protocol message as a server sent it.
type Frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	UserID  string          `json:"user_id,omitempty"`
	Raw     []byte          `json:"-"`
}

// DataString is the frame's data with one level of JSON string encoding
// removed: the Pusher norm is a JSON document inside a string.
func (f Frame) DataString() string {
	var s string
	if json.Unmarshal(f.Data, &s) == nil {
		return s
	}
	return string(f.Data)
}

// Client is a bare Pusher protocol client over gorilla/websocket, for
// checking what a server sends. One goroutine may read and one may write.
type Client struct {
	Conn     *websocket.Conn
	SocketID string
}

// Dial connects to a Pusher WebSocket URL and waits for
// pusher:connection_established.
func Dial(ctx context.Context, wsURL string) (*Client, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", wsURL, err)
	}
	c := &Client{Conn: conn}
	f, err := c.Read(ctx)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake with %s: %w", wsURL, err)
	}
	if f.Event != "pusher:connection_established" {
		conn.Close()
		return nil, fmt.Errorf("handshake with %s: first frame is %s, not pusher:connection_established", wsURL, f.Raw)
	}
	var est struct {
		SocketID string `json:"socket_id"`
	}
	if err := json.Unmarshal([]byte(f.DataString()), &est); err != nil || est.SocketID == "" {
		conn.Close()
		return nil, fmt.Errorf("handshake with %s: no socket_id in %s", wsURL, f.Raw)
	}
	c.SocketID = est.SocketID
	return c, nil
}

// Close closes the connection with close code 1000.
func (c *Client) Close() error {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = c.Conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	return c.Conn.Close()
}

// Send writes {"event":event,"data":data[,"channel":channel]}; data is
// encoded as JSON (an object, as pusher-js sends it).
func (c *Client) Send(ctx context.Context, event string, data any, channel string) error {
	frame := struct {
		Event   string `json:"event"`
		Data    any    `json:"data"`
		Channel string `json:"channel,omitempty"`
	}{event, data, channel}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	deadline, _ := ctx.Deadline()
	if err := c.Conn.SetWriteDeadline(deadline); err != nil {
		return fmt.Errorf("send %s: %w", event, err)
	}
	if err := c.Conn.WriteJSON(frame); err != nil {
		return fmt.Errorf("send %s: %w", event, err)
	}
	return nil
}

// Subscribe sends pusher:subscribe the way pusher-js does; auth and
// channelData are left out when empty.
func (c *Client) Subscribe(ctx context.Context, channel, auth, channelData string) error {
	data := map[string]string{"channel": channel}
	if auth != "" {
		data["auth"] = auth
	}
	if channelData != "" {
		data["channel_data"] = channelData
	}
	return c.Send(ctx, "pusher:subscribe", data, "")
}

// Read returns the next frame.
func (c *Client) Read(ctx context.Context) (Frame, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	deadline, _ := ctx.Deadline()
	if err := c.Conn.SetReadDeadline(deadline); err != nil {
		return Frame{}, fmt.Errorf("read: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Conn.SetReadDeadline(time.Now()) })
	defer stop()
	_, raw, err := c.Conn.ReadMessage()
	if err != nil {
		if ctx.Err() != nil {
			return Frame{}, fmt.Errorf("read: %w (%v)", ctx.Err(), err)
		}
		return Frame{}, fmt.Errorf("read: %w", err)
	}
	var f Frame
	if err := json.Unmarshal(raw, &f); err != nil {
		return Frame{}, fmt.Errorf("read: frame %q is not JSON: %w", raw, err)
	}
	f.Raw = raw
	return f, nil
}

// ErrRejected is returned by WaitFor when the server answered with
// pusher:error or pusher:subscription_error instead.
var ErrRejected = errors.New("rejected by the server")

// WaitFor reads frames until one has this event and channel (an empty
// channel matches any) and returns it. A pusher:error, or a
// pusher:subscription_error for the channel, ends the wait with ErrRejected.
func (c *Client) WaitFor(ctx context.Context, event, channel string) (Frame, error) {
	for {
		f, err := c.Read(ctx)
		if err != nil {
			return f, fmt.Errorf("wait for %s on %q: %w", event, channel, err)
		}
		if f.Event == event && (channel == "" || f.Channel == channel) {
			return f, nil
		}
		if f.Event == "pusher:error" || (f.Event == "pusher:subscription_error" && (channel == "" || f.Channel == channel)) {
			return f, fmt.Errorf("wait for %s on %q: %w: %s", event, channel, ErrRejected, f.Raw)
		}
	}
}

func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, httpTimeout)
}
