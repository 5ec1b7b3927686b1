package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/termsafe"
	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"
)

// Fault injection: what tests need a server to do that a real one cannot be
// made to do on demand. Faults chosen in advance are hooks called with the
// connection number (1 for the first WebSocket upgrade, 2 for the next, ...);
// faults triggered at a chosen moment are methods on Server (every live
// connection) or on a Conn from WaitConn.

// After is what the server does once it has refused a handshake.
type After int

const (
	// ThenClose sends a close frame with the refusal's code (Soketi).
	ThenClose After = iota
	// ThenDrop closes TCP without a close frame, so the client sees 1006
	// (Reverb's 4001).
	ThenDrop
	// ThenStayOpen leaves the socket open and served (Reverb's 4004 and
	// "Origin not allowed").
	ThenStayOpen
)

// Refusal answers a connection with pusher:error as its first frame
// instead of pusher:connection_established.
type Refusal struct {
	// Code is the error code, and the close code with ThenClose. 0 sends
	// "code":null and a close frame without a status code.
	Code    int
	Message string
	Style   ErrorStyle // how the error's data is encoded, whatever Config.ErrorStyle says
	Then    After
}

// SetHandshakeFault installs fn, asked about every new connection: a
// non-nil Refusal refuses connection n. nil removes the hook.
func (s *Server) SetHandshakeFault(fn func(n int) *Refusal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handshakeFault = fn
}

// RefusalStyle is the wire shape of a refused subscription.
type RefusalStyle int

const (
	// SoketiRefusal sends pusher:subscription_error on the channel with
	// data {"type":"AuthError","error":"The connection is unauthorized.","status":401}.
	SoketiRefusal RefusalStyle = iota
	// ReverbRefusal sends pusher:error without a channel, data a JSON
	// string {"code":4009,"message":"Connection is unauthorized"}.
	ReverbRefusal
	// PusherRefusal sends pusher:error without a channel, data
	// {"code":null,"message":"Invalid signature: Expected HMAC SHA256 hex digest of ..., but got ..."}
	// encoded in the server's ErrorStyle.
	PusherRefusal
)

// SubscribeRefusal refuses a subscription whatever its auth. Zero fields
// take the style's defaults shown on RefusalStyle.
type SubscribeRefusal struct {
	Style   RefusalStyle
	Message string
	Code    int    // ReverbRefusal and PusherRefusal
	Type    string // SoketiRefusal
	Status  int    // SoketiRefusal
}

// SetSubscribeFault installs fn, asked about every pusher:subscribe with a
// well-formed channel name that is not already subscribed: a non-nil
// SubscribeRefusal refuses connection n's subscription to channel. nil
// removes the hook.
func (s *Server) SetSubscribeFault(fn func(n int, channel string) *SubscribeRefusal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subscribeFault = fn
}

// frame builds the refusal; auth is what the client sent, for Pusher's
// message.
func (r SubscribeRefusal) frame(style ErrorStyle, socketID, channel, auth string) []byte {
	switch r.Style {
	case ReverbRefusal:
		code, msg := or(r.Code, CodeUnauthorized), orString(r.Message, "Connection is unauthorized")
		return errorFrame(ErrorString, "", code, msg)
	case PusherRefusal:
		msg := r.Message
		if msg == "" {
			msg = "Invalid signature: Expected HMAC SHA256 hex digest of " + socketID + ":" + channel + ", but got " + termsafe.Clip(auth, maxSigned)
		}
		return errorFrame(style, "", r.Code, msg)
	default:
		d := []byte(`{"type":`)
		d = record.AppendString(d, orString(r.Type, "AuthError"))
		d = append(d, `,"error":`...)
		d = record.AppendString(d, orString(r.Message, "The connection is unauthorized."))
		d = append(d, `,"status":`...)
		d = strconv.AppendInt(d, int64(or(r.Status, 401)), 10)
		d = append(d, '}')
		return frame("pusher:subscription_error", channel, d, "")
	}
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Number is the connection's number: 1 for the server's first WebSocket
// upgrade, 2 for the next, and so on.
func (c *Conn) Number() int { return c.num }

// SocketID is the connection's socket id, the one sent in
// connection_established unless the handshake was refused.
func (c *Conn) SocketID() string { return c.socketID }

// Done is closed once the connection has ended and left its channels.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close sends a close frame with code and reason after the frames already
// queued, then closes TCP once the client answers or after a second. Code
// 1006 cannot be sent in a frame; it means Drop.
func (c *Conn) Close(code int, reason string) {
	if code == websocket.CloseAbnormalClosure {
		c.Drop()
		return
	}
	c.enqueueWait(outbound{kind: outClose, code: code, reason: closeReason(reason)}, nil)
}

// Drop closes TCP without a close frame, after the frames already queued;
// the client sees 1006.
func (c *Conn) Drop() { c.enqueueWait(outbound{kind: outDrop}, nil) }

// SetSilent makes the connection stop answering pusher:ping and WebSocket
// pings and drop every message the server would send it, the handshake
// included (handshake refusals, SendRaw, Close and Drop still work). Frames
// already queued still go out.
func (c *Conn) SetSilent(on bool) { c.silent.Store(on) }

// SendRaw queues one frame as is, even when silent: msgType is
// websocket.TextMessage, BinaryMessage, PingMessage or PongMessage.
func (c *Conn) SendRaw(msgType int, payload []byte) {
	c.enqueueWait(outbound{kind: outMessage, msgType: msgType, data: payload}, nil)
}

// Subscribed reports whether the connection is subscribed to channel.
func (c *Conn) Subscribed(channel string) bool {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	_, ok := c.channels[channel]
	return ok
}

// WaitSubscribed blocks until the connection is subscribed to channel.
func (c *Conn) WaitSubscribed(ctx context.Context, channel string) error {
	var ended bool
	err := c.srv.waitFor(ctx, func() bool {
		_, ok := c.channels[channel]
		_, live := c.srv.live[c]
		ended = !live
		return ok || ended
	})
	switch {
	case err != nil:
		return fmt.Errorf("wait for connection %d to subscribe to %s: %w", c.num, channel, err)
	case ended:
		return fmt.Errorf("wait for connection %d to subscribe to %s: %w", c.num, channel, errConnEnded)
	}
	return nil
}

var errConnEnded = errors.New("the connection ended")

// CloseAll closes every live connection with code and reason, as Conn.Close.
func (s *Server) CloseAll(code int, reason string) {
	for _, c := range s.liveConns() {
		c.Close(code, reason)
	}
}

// DropAll closes every live connection's TCP without a close frame.
func (s *Server) DropAll() {
	for _, c := range s.liveConns() {
		c.Drop()
	}
}

// SetSilent silences, or un-silences, every live connection and every new
// one, as Conn.SetSilent.
func (s *Server) SetSilent(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent = on
	for c := range s.live {
		c.SetSilent(on)
	}
}

// SendRaw sends one frame as is to every live connection, as Conn.SendRaw.
func (s *Server) SendRaw(msgType int, payload []byte) {
	for _, c := range s.liveConns() {
		c.SendRaw(msgType, payload)
	}
}

func (s *Server) liveConns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveLocked()
}

// Frame is one frame a client sent, as the server received it.
type Frame struct {
	Conn     int    // connection number
	SocketID string // that connection's socket id
	Type     int    // websocket.TextMessage, BinaryMessage, PingMessage or PongMessage
	Data     []byte
}

// Event returns the frame's "event", or "" when it has none (or is not
// JSON: frames are kept as received, hostile ones included).
func (f Frame) Event() string {
	if f.Type != websocket.TextMessage || jsonsafe.Valid(f.Data) != nil {
		return ""
	}
	return gjson.GetBytes(f.Data, "event").String()
}

// Payload returns the frame's "data", decoded from a JSON string when it
// was sent as one.
func (f Frame) Payload() gjson.Result {
	if jsonsafe.Valid(f.Data) != nil {
		return gjson.Result{}
	}
	return payload(gjson.GetBytes(f.Data, "data"))
}

// Received returns every frame the clients have sent so far, in the order
// the server handled them.
func (s *Server) Received() []Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Frame(nil), s.received...)
}

// WaitFrame blocks until a received frame, earlier or later, matches and
// returns the first that does. match runs with the server locked and must
// not call the server.
func (s *Server) WaitFrame(ctx context.Context, match func(Frame) bool) (Frame, error) {
	var found Frame
	next := 0
	err := s.waitFor(ctx, func() bool {
		for ; next < len(s.received); next++ {
			if match(s.received[next]) {
				found = s.received[next]
				return true
			}
		}
		return false
	})
	if err != nil {
		return Frame{}, fmt.Errorf("wait for a matching client frame: %w", err)
	}
	return found, nil
}

// record keeps a received frame unless Config.NoHistory.
func (s *Server) record(c *Conn, msgType int, data []byte) {
	if s.cfg.NoHistory {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, Frame{Conn: c.num, SocketID: c.socketID, Type: msgType, Data: data})
	s.notifyLocked()
}

// ClientClose is the close frame a client sent.
type ClientClose struct {
	Code   int // 1005 (websocket.CloseNoStatusReceived) when the frame had no status code
	Reason string
}

// ClientClose returns the close frame the client sent, the answer to a
// server's close included; ok is false while it has sent none, and for good
// when the connection ended without one (a TCP drop, or a close the client
// never answered). Wait for Done before asking about a connection's end.
func (c *Conn) ClientClose() (cc ClientClose, ok bool) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if c.closeMsg == nil {
		return ClientClose{}, false
	}
	return *c.closeMsg, true
}

// noteClose keeps the close frame that ended the read loop, if err is one:
// gorilla reports a received close frame as a *websocket.CloseError, and a
// connection that ended without one as 1006, which no frame can carry.
func (c *Conn) noteClose(err error) {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code == websocket.CloseAbnormalClosure {
		return
	}
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	c.closeMsg = &ClientClose{Code: ce.Code, Reason: ce.Text}
	c.srv.notifyLocked()
}
