package server

import (
	"crypto/hmac"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/termsafe"
)

const (
	writeWait  = 10 * time.Second // deadline of every write
	closeGrace = time.Second      // how long a close frame waits for the client's reply
)

// Conn is one client connection. Its reading goroutine handles the
// protocol; every write goes through one queue drained by its writer
// goroutine, so frames leave in the order they were queued.
type Conn struct {
	srv      *Server
	ws       *websocket.Conn
	num      int
	socketID string
	q        queue
	done     chan struct{} // closed when the connection has ended
	silent   atomic.Bool
	overflow atomic.Bool // the queue overflowed and the connection was dropped
	doneOnce sync.Once

	channels  map[string]struct{}  // guarded by srv.mu
	playbacks map[string]*playback // by channel, guarded by srv.mu
}

type outKind int

const (
	outMessage outKind = iota // a data or ping/pong frame
	outClose                  // a close frame, then TCP close after closeGrace
	outDrop                   // TCP close without a close frame
)

type outbound struct {
	kind    outKind
	msgType int
	data    []byte
	code    int
	reason  string
	pb      *playback // a playback frame, dropped once its playback has stopped
}

// outboundCost is what a queued frame costs beyond its bytes, so that a
// flood of tiny frames (pongs to a client that never reads) is bounded too.
const outboundCost = int(unsafe.Sizeof(outbound{}))

// cost is what o counts against the connection's queue budget; close and
// drop cost nothing, so they are never refused or kept waiting.
func (o *outbound) cost() int {
	if o.kind != outMessage {
		return 0
	}
	return len(o.data) + outboundCost
}

func newConn(s *Server, ws *websocket.Conn, num int, socketID string, silent bool) *Conn {
	c := &Conn{
		srv:       s,
		ws:        ws,
		num:       num,
		socketID:  socketID,
		done:      make(chan struct{}),
		channels:  make(map[string]struct{}),
		playbacks: make(map[string]*playback),
	}
	c.q.init(s.cfg.MaxQueueBytes)
	c.silent.Store(silent)
	return c
}

// send queues a message unless the connection is silent. It never blocks,
// so it may be called with srv.mu held: a connection with more than
// Config.MaxQueueBytes queued is dropped as too slow.
func (c *Conn) send(msgType int, data []byte) {
	if c.silent.Load() {
		return
	}
	c.enqueue(outbound{kind: outMessage, msgType: msgType, data: data})
}

// sendWait is send for callers that do not hold srv.mu (Publish): while
// the queue holds more than half its budget it waits for room, so a fast
// publisher is slowed to the client's pace instead of dropping it, and the
// other half stays free for the frames send queues without waiting. A
// client that stops reading is dropped by the writer's deadline, which ends
// the wait.
func (c *Conn) sendWait(msgType int, data []byte) {
	if c.silent.Load() {
		return
	}
	c.enqueueWait(outbound{kind: outMessage, msgType: msgType, data: data}, nil)
}

func (c *Conn) enqueue(o outbound) {
	if c.q.push(o) && !c.overflow.Swap(true) {
		c.srv.logf("connection %d (socket %s): more than %d bytes queued for it, dropping it as too slow",
			c.num, c.socketID, c.q.max)
		_ = c.ws.Close()
	}
}

// enqueueWait queues o once there is room for it, and reports whether it
// was queued: false when the connection ended, or stop was closed, first.
func (c *Conn) enqueueWait(o outbound, stop <-chan struct{}) bool {
	for {
		queued, room := c.q.pushOrWait(o)
		if room == nil {
			return queued
		}
		select {
		case <-room:
		case <-c.done:
			return false
		case <-stop:
			return false
		}
	}
}

func (c *Conn) sendError(channel string, code int, message string) {
	c.send(websocket.TextMessage, errorFrame(c.srv.cfg.ErrorStyle, channel, code, message))
}

// writeLoop writes queued frames until the connection ends. A failed write
// drops the connection; the read loop then notices and cleans up.
func (c *Conn) writeLoop() {
	for {
		select {
		case <-c.done:
			return
		case <-c.q.wake:
		}
		written := 0
		for {
			o, ok := c.q.next(written)
			if !ok {
				break
			}
			// A playback frame is dropped when its channel was left after
			// it was queued.
			if o.pb == nil || !o.pb.stopped.Load() {
				if err := c.write(o); err != nil && !errors.Is(err, websocket.ErrCloseSent) {
					_ = c.ws.Close()
				}
			}
			written = o.cost()
		}
	}
}

func (c *Conn) write(o outbound) error {
	deadline := time.Now().Add(writeWait)
	switch o.kind {
	case outClose:
		err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(o.code, o.reason), deadline)
		time.AfterFunc(closeGrace, func() { _ = c.ws.Close() })
		return err
	case outDrop:
		return c.ws.Close()
	}
	switch o.msgType {
	case websocket.PingMessage, websocket.PongMessage, websocket.CloseMessage:
		return c.ws.WriteControl(o.msgType, o.data, deadline)
	}
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		return err
	}
	return c.ws.WriteMessage(o.msgType, o.data)
}

// readLoop handles the client's frames until the connection ends.
func (c *Conn) readLoop() {
	defer c.finish()
	c.ws.SetPingHandler(c.onPing)
	c.ws.SetPongHandler(func(appData string) error {
		c.srv.record(c, websocket.PongMessage, []byte(appData))
		return nil
	})
	for {
		msgType, data, err := c.ws.ReadMessage()
		if err != nil {
			c.srv.logf("connection %d (socket %s) ended: %v", c.num, c.socketID, err)
			if errors.Is(err, websocket.ErrReadLimit) {
				c.linger()
			}
			return
		}
		if msgType == websocket.BinaryMessage {
			// "Binary WebSocket frames are not supported" (Pusher protocol).
			c.sendError("", CodeInvalidMessage, "Invalid message format")
		} else {
			c.handle(data)
		}
		// Recorded after handling, so a test that saw the frame also sees
		// its effects (replies queued or, when silent, dropped).
		c.srv.record(c, msgType, data)
	}
}

// linger follows the 1009 close frame gorilla sent for an oversized
// message: it shuts down the sending side and discards what the client is
// still sending for up to closeGrace, so the close frame is read instead of
// being lost to the TCP reset that closing a socket with unread data sends.
func (c *Conn) linger() {
	nc := c.ws.NetConn()
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = nc.SetReadDeadline(time.Now().Add(closeGrace))
	_, _ = io.Copy(io.Discard, nc)
}

// onPing answers a WebSocket ping frame with a pong unless silent.
func (c *Conn) onPing(appData string) error {
	if !c.silent.Load() {
		err := c.ws.WriteControl(websocket.PongMessage, []byte(appData), time.Now().Add(writeWait))
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			_ = c.ws.Close()
		}
	}
	c.srv.record(c, websocket.PingMessage, []byte(appData))
	return nil
}

// finish ends the connection: it leaves every channel, stops the writer
// and closes the socket.
func (c *Conn) finish() {
	c.srv.unregister(c)
	c.doneOnce.Do(func() { close(c.done) })
	c.q.close()
	_ = c.ws.Close()
}

// refuse answers the handshake with pusher:error instead of
// connection_established, then closes, drops or keeps the socket.
func (c *Conn) refuse(r Refusal) {
	c.enqueue(outbound{kind: outMessage, msgType: websocket.TextMessage, data: errorFrame(r.Style, "", r.Code, r.Message)})
	switch r.Then {
	case ThenClose:
		code := r.Code
		if code == 0 {
			code = websocket.CloseNoStatusReceived // a close frame without a status
		}
		c.enqueue(outbound{kind: outClose, code: code, reason: closeReason(r.Message)})
	case ThenDrop:
		c.enqueue(outbound{kind: outDrop})
	case ThenStayOpen:
	}
}

// closeReason trims a reason to fit a close frame (125 bytes, 2 for the
// code), on a UTF-8 boundary.
func closeReason(reason string) string {
	const maxReason = 123
	if len(reason) <= maxReason {
		return reason
	}
	cut := maxReason
	for cut > 0 && reason[cut]&0xC0 == 0x80 {
		cut--
	}
	return reason[:cut]
}

// handle dispatches one text frame. Every frame is checked by jsonsafe
// before gjson reads it: nesting deeper than jsonsafe.MaxDepth is answered
// as invalid, like any other frame that is not JSON.
func (c *Conn) handle(data []byte) {
	if jsonsafe.Valid(data) != nil {
		c.sendError("", CodeInvalidMessage, "Invalid message format")
		return
	}
	msg := gjson.ParseBytes(data)
	event := msg.Get("event")
	if !msg.IsObject() || event.Type != gjson.String {
		c.sendError("", CodeInvalidMessage, "Invalid message format")
		return
	}
	switch name := event.Str; {
	case name == "pusher:ping":
		c.send(websocket.TextMessage, frame("pusher:pong", "", jsonString("{}"), ""))
	case name == "pusher:pong":
		// Proof of life only.
	case name == "pusher:subscribe":
		c.subscribe(payload(msg.Get("data")))
	case name == "pusher:unsubscribe":
		c.unsubscribe(payload(msg.Get("data")))
	case strings.HasPrefix(name, "client-"):
		c.clientEvent(name, msg)
	default:
		// Other events, pusher:signin included, are ignored as Soketi
		// does with user authentication off.
	}
}

// payload returns a client frame's data as an object: clients send an
// object, Reverb also accepts a JSON string holding one (checked by
// jsonsafe like the frame).
func payload(data gjson.Result) gjson.Result {
	if data.Type == gjson.String && jsonsafe.ValidString(data.Str) == nil {
		return gjson.Parse(data.Str)
	}
	return data
}

// Client-chosen values quoted in an error message or a log line are cut to
// a short, escaped prefix (termsafe.Clip): a channel name may be 500 MB
// long. Auth strings and the strings a client had to sign, which hold
// several values, are given more room.
const (
	maxQuoted = 64
	maxSigned = 256
)

// clip is a client-chosen value as an error message or a log line quotes it.
func clip(v string) string { return termsafe.Clip(v, maxQuoted) }

func (c *Conn) subscribe(d gjson.Result) {
	s := c.srv
	name := d.Get("channel")
	if !d.IsObject() || name.Type != gjson.String {
		c.sendError("", CodeInvalidMessage, "Invalid message format")
		return
	}
	channel := name.Str

	s.mu.Lock()
	if !s.cfg.NoHistory {
		s.attempts[channel]++ // any name a client sends: kept for tests only
	}
	_, existing := c.channels[channel]
	fault := s.subscribeFault
	s.mu.Unlock()

	switch {
	case !isValidChannel(channel):
		c.sendError("", 0, "Invalid channel name '"+clip(channel)+"'")
		return
	case existing:
		c.sendError("", 0, "Existing subscription to channel "+channel)
		return
	}
	if fault != nil {
		if r := fault(c.num, channel); r != nil {
			s.logf("connection %d: subscription to %s refused by fault", c.num, channel)
			c.send(websocket.TextMessage, r.frame(s.cfg.ErrorStyle, c.socketID, channel, d.Get("auth").String()))
			return
		}
	}
	m, problem := c.authorize(channel, d)
	if problem != "" {
		s.logf("connection %d: subscription to %s refused: %s", c.num, channel, problem)
		c.sendError("", 0, problem)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	// Logged before subscription_succeeded is queued, so a client that has
	// read it finds the line written.
	s.logf("connection %d (socket %s) subscribed to %s", c.num, c.socketID, channel)
	s.joinLocked(c, channel, m)
}

// authorize checks the auth of a private or presence subscription and
// returns the member it identifies, or the message of Pusher's code-null
// pusher:error.
func (c *Conn) authorize(channel string, d gjson.Result) (member, string) {
	if !needsAuth(channel) {
		return member{}, ""
	}
	cfg := c.srv.cfg
	channelData := ""
	if isPresence(channel) {
		cd := d.Get("channel_data")
		if cd.Type != gjson.String {
			return member{}, "Invalid presence subscription: channel_data must be a JSON string with a user_id"
		}
		channelData = cd.Str
	}
	given := d.Get("auth").String()
	sig := given
	if key, rest, ok := strings.Cut(given, ":"); ok {
		if key != cfg.AppKey {
			return member{}, "Invalid key in subscription auth data: '" + clip(key) + "'"
		}
		sig = rest
	}
	signed := stringToSign(c.socketID, channel, channelData)
	if !hmac.Equal([]byte(sig), []byte(auth.Sign(cfg.AppSecret, signed))) {
		return member{}, "Invalid signature: Expected HMAC SHA256 hex digest of " + termsafe.Clip(signed, maxSigned) + ", but got " + termsafe.Clip(sig, maxSigned)
	}
	if !isPresence(channel) {
		return member{}, ""
	}
	return presenceMember(channelData)
}

// presenceMember reads user_id (a string or a number) and user_info from
// a presence subscription's channel_data.
func presenceMember(channelData string) (member, string) {
	const bad = "Invalid presence subscription: channel_data must be a JSON string with a user_id"
	if jsonsafe.ValidString(channelData) != nil {
		return member{}, bad
	}
	cd := gjson.Parse(channelData)
	var id string
	switch uid := cd.Get("user_id"); uid.Type {
	case gjson.String:
		id = uid.Str
	case gjson.Number:
		id = uid.Raw
	}
	if id == "" {
		return member{}, bad
	}
	m := member{userID: id}
	if info := cd.Get("user_info"); info.Exists() {
		m.info = jsonsafe.FixUTF8([]byte(info.Raw))
	}
	return m, ""
}

func (c *Conn) unsubscribe(d gjson.Result) {
	channel := d.Get("channel")
	if !d.IsObject() || channel.Type != gjson.String {
		c.sendError("", CodeInvalidMessage, "Invalid message format")
		return
	}
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := c.channels[channel.Str]; ok {
		s.leaveLocked(c, channel.Str)
		s.logf("connection %d (socket %s) unsubscribed from %s", c.num, c.socketID, channel.Str)
	}
}

// clientEvent relays a client-* event to the channel's other subscribers:
// only on private and presence channels the sender is subscribed to, with
// the sender's user_id on presence channels. Its data goes out as sent,
// except for invalid UTF-8, which becomes \ufffd (a browser fails the
// connection on an invalid text frame). Refusals are Soketi-style
// pusher:error 4301 frames with the channel set when it is a valid name.
func (c *Conn) clientEvent(event string, msg gjson.Result) {
	channel := msg.Get("channel").String()
	errChannel := channel
	if !isValidChannel(channel) {
		errChannel = "" // not echoed: it may be anything, of any length
	}
	if !needsAuth(channel) {
		c.sendError(errChannel, CodeClientEventRefused, "Client event rejected - only supported on private and presence channels")
		return
	}
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[channel]
	var m member
	subscribed := false
	if ch != nil {
		m, subscribed = ch.subs[c]
	}
	if !subscribed {
		c.sendError(errChannel, CodeClientEventRefused, "Client event rejected - not subscribed to channel "+clip(channel))
		return
	}
	out := frame(event, channel, jsonsafe.FixUTF8([]byte(msg.Get("data").Raw)), m.userID)
	for other := range ch.subs {
		if other != c {
			other.send(websocket.TextMessage, out)
		}
	}
}
