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

	ka          *keepalive   // server pings (ping.go); nil when off
	lastSeen    atomic.Int64 // when the client last sent anything, since srv.epoch
	usesControl atomic.Bool  // the client has sent a WebSocket control frame

	channels  map[string]struct{}  // guarded by srv.mu
	playbacks map[string]*playback // by channel, guarded by srv.mu
	closeMsg  *ClientClose         // the close frame the client sent, guarded by srv.mu (fault.go)
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
		c.usesControl.Store(true)
		c.touch()
		c.srv.record(c, websocket.PongMessage, []byte(appData))
		return nil
	})
	for {
		msgType, data, err := c.ws.ReadMessage()
		c.touch()
		if err != nil {
			c.noteClose(err)
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
	c.usesControl.Store(true)
	c.touch()
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
	c.stopKeepalive()
	c.srv.unregister(c) // closes c.done
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
	reverb := c.srv.cfg.Like == LikeReverb
	switch name := event.Str; {
	case name == "pusher:ping":
		if reverb {
			c.send(websocket.TextMessage, reverbPong)
		} else {
			c.send(websocket.TextMessage, pusherPong)
		}
	case name == "pusher:pong":
		// Proof of life only.
	case name == "pusher:subscribe":
		c.subscribe(payload(msg.Get("data")))
	case name == "pusher:unsubscribe":
		c.unsubscribe(payload(msg.Get("data")))
	case reverb:
		c.reverbEvent(name, msg)
	case strings.HasPrefix(name, "client-"):
		c.clientEvent(name, msg)
	default:
		// Other events, pusher:signin included, are ignored as Soketi
		// does with user authentication off.
	}
}

// The pong frames: Pusher's (as this server always sent it) and Reverb's,
// which has no data.
var (
	pusherPong = frame("pusher:pong", "", jsonString("{}"), "")
	reverbPong = []byte(`{"event":"pusher:pong"}`)
)

// reverbEvent handles, as Reverb's Server::message and ClientEvent::handle
// do, a frame that is not one of the four pusher: events above: any other
// pusher: event (pusher:signin included) is 4200 "Invalid message format";
// any other event must have a string channel and object, array or null
// data (a JSON string holding one is decoded), else 4200, and is ignored
// unless it is a client- event.
func (c *Conn) reverbEvent(name string, msg gjson.Result) {
	if strings.HasPrefix(name, "pusher:") {
		c.sendError("", CodeInvalidMessage, "Invalid message format")
		return
	}
	channel := msg.Get("channel")
	data, ok := reverbData(msg.Get("data"))
	if channel.Type != gjson.String || !ok {
		c.sendError("", CodeInvalidMessage, "Invalid message format")
		return
	}
	if strings.HasPrefix(name, "client-") {
		c.whisper(name, channel.Str, data)
	}
}

// reverbData is a client event's data as Reverb relays it: an object or an
// array, also from a JSON string holding one, or null when absent or null;
// ok is false for anything else (Reverb's rule 'data' => nullable|array).
func reverbData(d gjson.Result) (raw []byte, ok bool) {
	if d.Type == gjson.String && jsonsafe.ValidString(d.Str) == nil {
		d = gjson.Parse(d.Str)
	}
	switch {
	case !d.Exists() || d.Type == gjson.Null:
		return []byte("null"), true
	case d.IsObject() || d.IsArray():
		return jsonsafe.FixUTF8([]byte(d.Raw)), true
	}
	return nil, false
}

// whisper relays a client event the way Reverb does with its default
// accept_client_events_from=members: on any channel the sender is
// subscribed to, public ones included, with the sender's user_id on
// presence channels; a sender that is not subscribed gets a channel-less
// 4009. On a cache channel the relayed event becomes the last event, as
// Reverb's CacheChannel keeps everything it broadcasts.
func (c *Conn) whisper(event, channel string, data []byte) {
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, m, subscribed := s.memberLocked(c, channel)
	if !subscribed {
		c.sendError("", CodeUnauthorized, "The client is not a member of the specified channel.")
		return
	}
	out := frame(event, channel, data, m.userID)
	s.keepLastLocked(channel, ch, out)
	for other := range ch.subs {
		if other != c {
			other.send(websocket.TextMessage, out)
		}
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

	reverb := s.cfg.Like == LikeReverb
	switch {
	case !s.validName(channel):
		if reverb {
			c.sendError("", CodeInvalidMessage, "Invalid message format")
		} else {
			c.sendError("", 0, "Invalid channel name '"+clip(channel)+"'")
		}
		return
	case existing && !reverb:
		c.sendError("", 0, "Existing subscription to channel "+channel)
		return
	}
	if fault != nil {
		if r := fault(c.num, channel); r != nil {
			s.logf("connection %d: subscription to %s refused by fault", c.num, clip(channel))
			c.send(websocket.TextMessage, r.frame(s.cfg.ErrorStyle, c.socketID, channel, d.Get("auth").String()))
			return
		}
	}
	var (
		m       member
		code    int
		problem string
	)
	if reverb {
		m, code, problem = c.authorizeReverb(channel, d)
	} else {
		m, problem = c.authorize(channel, d)
	}
	if problem != "" {
		s.logf("connection %d: subscription to %s refused: %s", c.num, clip(channel), problem)
		c.sendError("", code, problem)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	// Logged before subscription_succeeded is queued, so a client that has
	// read it finds the line written.
	if _, again := c.channels[channel]; again {
		s.logf("connection %d (socket %s) subscribed to %s again", c.num, c.socketID, clip(channel))
		s.resubscribeLocked(c, channel)
		return
	}
	s.logf("connection %d (socket %s) subscribed to %s", c.num, c.socketID, clip(channel))
	s.joinLocked(c, channel, m)
}

// authorizeReverb checks a subscription the way Reverb does: channel_data,
// when given, must be a JSON string (else 4200); on a private or presence
// channel the part of auth after the first ":" must be the signature (the
// key before it is not looked at), else 4009 "Connection is unauthorized";
// a presence member needs a user_id (Reverb would let it in without one
// and report no members; this server answers 4200 instead).
func (c *Conn) authorizeReverb(channel string, d gjson.Result) (member, int, string) {
	const (
		invalid      = "Invalid message format"
		unauthorized = "Connection is unauthorized"
	)
	cd, given := d.Get("channel_data"), d.Get("auth")
	switch {
	case cd.Exists() && cd.Type != gjson.Null && (cd.Type != gjson.String || jsonsafe.ValidString(cd.Str) != nil):
		return member{}, CodeInvalidMessage, invalid
	case given.Exists() && given.Type != gjson.Null && given.Type != gjson.String:
		return member{}, CodeInvalidMessage, invalid
	}
	k := c.srv.kindOf(channel)
	if !k.auth {
		return member{}, 0, ""
	}
	_, sig, _ := strings.Cut(given.Str, ":")
	if !hmac.Equal([]byte(sig), []byte(auth.Sign(c.srv.cfg.AppSecret, stringToSign(c.socketID, channel, cd.Str)))) {
		return member{}, CodeUnauthorized, unauthorized
	}
	if !k.presence {
		return member{}, 0, ""
	}
	m, problem := presenceMember(cd.Str)
	if problem != "" {
		return member{}, CodeInvalidMessage, invalid
	}
	return m, 0, ""
}

// authorize checks the auth of a private or presence subscription and
// returns the member it identifies, or the message of Pusher's code-null
// pusher:error.
func (c *Conn) authorize(channel string, d gjson.Result) (member, string) {
	k := c.srv.kindOf(channel)
	if !k.auth {
		return member{}, ""
	}
	cfg := c.srv.cfg
	channelData := ""
	if k.presence {
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
	if !k.presence {
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
		s.logf("connection %d (socket %s) unsubscribed from %s", c.num, c.socketID, clip(channel.Str))
	}
}

// clientEvent relays a client-* event, as Pusher does (LikePusher), to the
// channel's other subscribers: only on private and presence channels the
// sender is subscribed to, with
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
	if !c.srv.kindOf(channel).auth {
		c.sendError(errChannel, CodeClientEventRefused, "Client event rejected - only supported on private and presence channels")
		return
	}
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, m, subscribed := s.memberLocked(c, channel)
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

// memberLocked returns channel's state and c's identity on it; subscribed
// is false when c is not subscribed to it (or it does not exist).
func (s *Server) memberLocked(c *Conn, channel string) (ch *channel, m member, subscribed bool) {
	ch = s.channels[channel]
	if ch != nil {
		m, subscribed = ch.subs[c]
	}
	return ch, m, subscribed
}
