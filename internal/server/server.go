// Package server is an in-process Pusher protocol 7 server: the WebSocket
// side of Pusher Channels, Laravel Reverb and Soketi (connect, ping,
// public/private/presence/encrypted/cache subscriptions, client events),
// the signed HTTP API (POST events and batch_events, GET channels, a
// channel, its users and connections; see httpapi.go and httpapi_get.go),
// a Laravel-style POST /broadcasting/auth that signs for
// anyone (authendpoint.go), and playback of a recording to every subscriber
// (playback.go).
//
// It serves the embedded server of replay --serve and demo, and the client's
// tests, which inject faults real servers cannot be made to produce: refused
// handshakes, close codes, TCP drops, silence, raw frames and refused
// subscriptions (see fault.go).
//
// Where Pusher Channels and Laravel Reverb differ, Config.Like chooses
// which one it imitates (like.go has the list): its zero value, LikePusher,
// is Pusher (object errors, close codes, no server pings), what the
// client's tests are written against; replay --serve and demo set
// LikeReverb, as a team's stand-in for its production Reverb (string
// errors, 4009 for a bad signature, no close codes but 1009, client events
// on public channels, pings to idle clients). Config.Path mounts the
// WebSocket and the HTTP API under a prefix, as Reverb's REVERB_SERVER_PATH.
//
// Every byte a client sends is taken as an attacker's: messages over
// Config.MaxMessageSize are closed with 1009 as Reverb does, JSON passes
// jsonsafe (nesting) before any parser, client-chosen values are quoted
// clipped and escaped, relayed bytes have invalid UTF-8 replaced, each
// connection's send queue is bounded in bytes (queue.go), and browser pages
// are let in only from loopback and Config.AllowOrigins (origin.go).
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Defaults of Config.
const (
	DefaultAddr         = "127.0.0.1:0" // a free loopback port
	DefaultAppID        = "app-id"
	DefaultAppKey       = "app-key"
	DefaultAppSecret    = "app-secret"
	DefaultMaxEventData = 10240 // bytes of an HTTP API event's data, Pusher's limit
	DefaultLoopGap      = time.Second
	// DefaultMaxMessageSize is Reverb's max_message_size: the largest
	// message, in bytes, a client may send. replay --serve and demo use it;
	// Config's zero value means no limit.
	DefaultMaxMessageSize = 10000
)

// Config configures a Server; zero fields take the defaults shown.
type Config struct {
	// Addr is where Start listens, host:port; default "127.0.0.1:0" (a free
	// loopback port).
	Addr      string
	AppID     string // the HTTP API's /apps/{id}; default "app-id"
	AppKey    string // default "app-key"
	AppSecret string // default "app-secret"
	// EncryptionMasterKey (32 bytes) derives the shared secret of each
	// private-encrypted- channel that /broadcasting/auth hands out and
	// playback encrypts with. nil means a random key per Server.
	EncryptionMasterKey []byte
	// MaxEventData is the largest HTTP API event data in bytes; larger is
	// refused with 413. 0 means DefaultMaxEventData, negative no limit.
	MaxEventData int

	// Recording, when set, is played to every subscriber of its channels
	// (see playback.go). The server reads it while it runs: do not change
	// it after New or Start.
	Recording *Recording
	// Speed scales the recording's timing: 1 plays it as recorded, 2 twice
	// as fast, 0 (the default) everything at once.
	Speed float64
	// Loop starts the recording again after its last item, LoopGap later,
	// for as long as the subscription lasts.
	Loop bool
	// LoopGap is the pause between two rounds of a looped recording, not
	// scaled by Speed; default 1s.
	LoopGap time.Duration

	// Now is the clock the HTTP API checks auth_timestamp against; default
	// time.Now.
	Now func() time.Time

	// Like is the server imitated where Pusher and Reverb differ (see
	// like.go); the zero value is LikePusher.
	Like            Like
	ActivityTimeout int // seconds, sent in connection_established; default 30
	// ErrorStyle is how pusher:error data is encoded: default ErrorObject,
	// always ErrorString with LikeReverb.
	ErrorStyle ErrorStyle
	// PingInterval is how long a client may stay silent before the server
	// pings it, and then how long it has to answer before it is dropped
	// (ping.go). 0 means ActivityTimeout with LikeReverb and no pings with
	// LikePusher; negative means no pings.
	PingInterval time.Duration
	// Path is a prefix the WebSocket (Path/app/{key}) and the HTTP API
	// (Path/apps/{id}/...) are served under, as Reverb's REVERB_SERVER_PATH
	// and pusher-js wsPath: "" for none, or an escaped URL path starting
	// with "/", such as "/ws" (a trailing "/" is dropped). The HTTP API's
	// signature is computed on the path without it, as Reverb does.
	// /broadcasting/auth, the Laravel app's route, stays where it is.
	Path string
	// MaxMessageSize closes connections that send a larger message with
	// 1009, as Reverb does (DefaultMaxMessageSize there), from the first
	// frame on; 0 means no limit.
	MaxMessageSize int64
	// MaxQueueBytes bounds the frames queued for one connection, in bytes
	// (see queue.go): a client that stops reading is dropped as too slow
	// once frames that cannot wait (relayed client events, presence
	// members, subscription replies) would take it over; Publish and
	// playback wait instead. 0 means DefaultMaxQueueBytes (4 MiB).
	MaxQueueBytes int
	// AllowOrigins are the browser origins, besides loopback ones, that
	// may open a WebSocket or call /broadcasting/auth: exact
	// "scheme://host[:port]" values compared case-insensitively, or "*"
	// for any origin. Requests without an Origin header (non-browser
	// clients) and from http(s)://localhost, 127.0.0.0/8 or [::1] on any
	// port are always allowed; others are refused with 403 (see origin.go).
	AllowOrigins []string
	// SocketID, when set, chooses the socket id of the nth connection
	// (1-based); the default is random "\d+\.\d+".
	SocketID func(n int) string
	// NoHistory stops keeping received frames, finished connections and
	// subscribe counts, for long-running servers: Received and WaitFrame
	// then see nothing, WaitConn only live connections, and SubscribeCount
	// is 0.
	NoHistory bool
	// Logf, when set, is told about connections and subscriptions. It may
	// be called with the server locked, so it must not call the Server.
	Logf func(format string, args ...any)
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.AppID == "" {
		c.AppID = DefaultAppID
	}
	if c.AppKey == "" {
		c.AppKey = DefaultAppKey
	}
	if c.AppSecret == "" {
		c.AppSecret = DefaultAppSecret
	}
	if c.ActivityTimeout <= 0 {
		c.ActivityTimeout = 30
	}
	if c.MaxEventData == 0 {
		c.MaxEventData = DefaultMaxEventData
	}
	if c.LoopGap <= 0 {
		c.LoopGap = DefaultLoopGap
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Like == LikeReverb {
		c.ErrorStyle = ErrorString
	}
	c.Path = strings.TrimRight(c.Path, "/")
	if c.EncryptionMasterKey == nil {
		c.EncryptionMasterKey = make([]byte, masterKeyLen)
		_, _ = rand.Read(c.EncryptionMasterKey) // crypto/rand.Read never fails
	}
}

const masterKeyLen = 32

// check reports a Config that cannot work.
func (c *Config) check() error {
	switch {
	case len(c.EncryptionMasterKey) != masterKeyLen:
		return fmt.Errorf("the encryption master key is %d bytes, not 32: give 32 bytes (base64 of 32 random bytes), or none for a random one",
			len(c.EncryptionMasterKey))
	case c.Speed < 0:
		return fmt.Errorf("speed %g is negative: use 0 (all at once), 1 (as recorded) or more", c.Speed)
	case math.IsNaN(c.Speed):
		return errors.New("speed is not a number: use 0 (all at once), 1 (as recorded) or more")
	case c.MaxMessageSize < 0:
		return fmt.Errorf("max message size %d is negative: use 0 (no limit) or a number of bytes", c.MaxMessageSize)
	case c.Like != LikePusher && c.Like != LikeReverb:
		return fmt.Errorf("unknown server to behave like (%d): use LikePusher or LikeReverb", c.Like)
	}
	if err := CheckPath(c.Path); err != nil {
		return err
	}
	for _, o := range c.AllowOrigins {
		if err := CheckAllowOrigin(o); err != nil {
			return err
		}
	}
	return nil
}

// Server is a Pusher protocol server. Create it with New (then mount
// Handler) or Start; it is safe for concurrent use.
type Server struct {
	cfg      Config
	upgrader websocket.Upgrader
	handler  http.Handler

	ln      net.Listener // set by Start
	httpSrv *http.Server // set by Start
	wg      sync.WaitGroup

	epoch time.Time // the zero of the connections' activity clock (ping.go)

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every state change
	closed   bool
	nextNum  int
	live     map[*Conn]struct{}
	byNum    map[int]*Conn // every connection, or only live ones with NoHistory
	channels map[string]*channel
	cached   map[string]cachedEvent // LikePusher: cache channels' last events (cache.go)
	attempts map[string]int         // pusher:subscribe frames per channel, unless NoHistory
	received []Frame
	silent   bool

	handshakeFault func(n int) *Refusal
	subscribeFault func(n int, channel string) *SubscribeRefusal

	recorded map[string][]Item // the recording's items by channel; read-only
	playing  int               // playback goroutines running, guarded by mu
	guests   atomic.Int64      // presence users handed out by /broadcasting/auth
}

// channel is the state of one channel: its subscribers and, for presence
// channels, its unique users.
type channel struct {
	subs  map[*Conn]member
	users map[string]int    // presence: user_id → connections subscribed as it
	order []string          // presence: user ids in join order
	info  map[string][]byte // presence: user_info of each user's first join
	last  []byte            // LikeReverb cache channel: the last event sent (cache.go)
}

// member is one connection's identity on a presence channel.
type member struct {
	userID string
	info   []byte
}

// New returns a server that is not listening yet; serve Handler() or use
// Start. It panics when cfg cannot work (a master key that is not 32 bytes,
// a negative Speed); Start returns those problems as errors.
func New(cfg Config) *Server {
	cfg.EncryptionMasterKey = bytes.Clone(cfg.EncryptionMasterKey)
	cfg.setDefaults()
	if err := cfg.check(); err != nil {
		panic("server.New: " + err.Error())
	}
	s := &Server{
		cfg:      cfg,
		epoch:    time.Now(),
		changed:  make(chan struct{}),
		live:     make(map[*Conn]struct{}),
		byNum:    make(map[int]*Conn),
		channels: make(map[string]*channel),
		cached:   make(map[string]cachedEvent),
		attempts: make(map[string]int),
	}
	s.recorded = s.indexRecording(cfg.Recording)
	// serveWS has checked the origin (checkOrigin) before upgrading.
	s.upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	routes := http.NewServeMux()
	routes.HandleFunc("GET /app/{key}", s.serveWS)
	routes.HandleFunc("POST /apps/{app_id}/events", s.serveEvents)
	routes.HandleFunc("POST /apps/{app_id}/batch_events", s.serveBatchEvents)
	routes.HandleFunc("GET /apps/{app_id}/channels", s.serveChannels)
	routes.HandleFunc("GET /apps/{app_id}/channels/{channel_name}", s.serveChannel)
	routes.HandleFunc("GET /apps/{app_id}/channels/{channel_name}/users", s.serveChannelUsers)
	routes.HandleFunc("GET /apps/{app_id}/connections", s.serveConnections)
	if cfg.Path == "" {
		routes.HandleFunc(AuthPath, s.serveAuth)
		s.handler = routes
	} else {
		s.handler = &prefixed{prefix: unescapedPath(cfg.Path), routes: routes, auth: s.serveAuth}
	}
	return s
}

// Start listens on Config.Addr (by default a free loopback port) and
// serves until Close.
func Start(cfg Config) (*Server, error) {
	cfg.EncryptionMasterKey = bytes.Clone(cfg.EncryptionMasterKey)
	cfg.setDefaults()
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("start pusher server: %w", err)
	}
	s := New(cfg)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("start pusher server: listen on %s: %w; is another server using that port? choose another address", cfg.Addr, err)
	}
	s.ln = ln
	s.httpSrv = &http.Server{
		Handler: s.handler,
		// A request's headers and body must arrive in time, so a client
		// trickling them cannot hold a goroutine for ever; a WebSocket,
		// once upgraded, has no deadline but the protocol's.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       60 * time.Second,
		// net/http's own complaints (a panic in a handler, a bad TLS
		// hello) go to Logf, not straight to stderr.
		ErrorLog: log.New(logWriter{s}, "", 0),
	}
	s.wg.Go(func() { _ = s.httpSrv.Serve(ln) })
	s.logf("pusher server listening on %s (app id %s, key %s)", s.Addr(), clip(s.cfg.AppID), clip(s.cfg.AppKey))
	return s, nil
}

// logWriter passes net/http's log lines to Logf.
type logWriter struct{ s *Server }

func (w logWriter) Write(p []byte) (int, error) {
	w.s.logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// IsLoopbackAddr reports whether a server listening on addr (host:port)
// can be reached from this machine only: the host is "localhost" or a
// loopback IP (127.0.0.0/8, ::1). An empty host (":7101"), an unspecified
// IP (0.0.0.0, ::), any other IP and any other host name count as exposed:
// decide before listening, from the address as given.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i] // a zone: fe80::1%eth0
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Handler serves WebSocket upgrades on GET Path/app/{key}, the auth
// endpoint on /broadcasting/auth and the HTTP API on POST
// Path/apps/{id}/events and Path/apps/{id}/batch_events.
func (s *Server) Handler() http.Handler { return s.handler }

// Path is the prefix of the WebSocket and the HTTP API (Config.Path
// without a trailing slash), "" for none.
func (s *Server) Path() string { return s.cfg.Path }

// Like is the server imitated (Config.Like).
func (s *Server) Like() Like { return s.cfg.Like }

// Addr is the address really listened on after Start, e.g.
// "127.0.0.1:40123", or "[::]:7101" for every interface; "" otherwise.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// dialAddr is Addr with an unspecified host (0.0.0.0, ::) replaced by
// 127.0.0.1, so that it can be dialled.
func (s *Server) dialAddr() string {
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil {
		return s.Addr()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// URL is the WebSocket base URL after Start for a client on this machine,
// "ws://127.0.0.1:port" (a client appends Path() and /app/{key}): an unspecified
// listening address is dialled as 127.0.0.1. "" before Start.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	return "ws://" + s.dialAddr()
}

// HTTPURL is the server's root URL after Start, "http://127.0.0.1:port":
// the auth endpoint is at AuthPath under it, the HTTP API at
// Path()+"/apps/{id}/...". "" before Start.
func (s *Server) HTTPURL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.dialAddr()
}

// AuthURL is the URL of the served /broadcasting/auth after Start; ""
// otherwise.
func (s *Server) AuthURL() string {
	if s.ln == nil {
		return ""
	}
	return s.HTTPURL() + AuthPath
}

// AppID is the app id of the HTTP API's /apps/{id} (configured or default).
func (s *Server) AppID() string { return s.cfg.AppID }

// AppKey is the key clients connect with (configured or default).
func (s *Server) AppKey() string { return s.cfg.AppKey }

// AppSecret is the secret signatures are checked against (configured or
// default).
func (s *Server) AppSecret() string { return s.cfg.AppSecret }

// Close stops the listener and drops every connection without a close
// frame, as Reverb does on shutdown, then waits for their goroutines. Later
// calls do nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	conns := s.liveLocked()
	s.mu.Unlock()

	var err error
	if s.httpSrv != nil {
		err = s.httpSrv.Close()
	}
	for _, c := range conns {
		_ = c.ws.Close()
	}
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("close pusher server: %w", err)
	}
	return nil
}

// Publish sends {"event","channel","data"} to every connection subscribed
// to channel except the one whose socket id is excludeSocketID (the HTTP
// API's socket_id, Laravel's toOthers). data is sent as a JSON string.
// Publish waits while a subscriber's queue is full, so a client that reads
// slowly slows the publisher down.
//
// On a cache channel the event becomes the channel's last event (cache.go),
// sent to later subscribers right after their subscription_succeeded.
func (s *Server) Publish(channel, event, data string, excludeSocketID string) {
	msg := frame(event, channel, jsonString(data), "")
	for _, c := range s.publishTo(channel, msg) {
		if excludeSocketID == "" || c.socketID != excludeSocketID {
			c.sendWait(websocket.TextMessage, msg)
		}
	}
}

// publishTo returns the connections subscribed to channel, and keeps msg
// as its last event if it is a cache channel, both under one lock: whoever
// is in the channel has already had subscription_succeeded and the cached
// event queued (joinLocked), so msg cannot overtake them, and whoever
// joins later gets msg from the cache instead.
func (s *Server) publishTo(channel string, msg []byte) []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[channel]
	s.keepLastLocked(channel, ch, msg)
	if ch == nil {
		return nil
	}
	conns := make([]*Conn, 0, len(ch.subs))
	for c := range ch.subs {
		conns = append(conns, c)
	}
	return conns
}

// Connections returns the number of live connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

// Subscribers returns the number of connections subscribed to channel.
func (s *Server) Subscribers(channel string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscribersLocked(channel)
}

func (s *Server) subscribersLocked(channel string) int {
	if ch := s.channels[channel]; ch != nil {
		return len(ch.subs)
	}
	return 0
}

// SubscribeCount returns how many pusher:subscribe frames for channel the
// server has received, whether they succeeded or not.
func (s *Server) SubscribeCount(channel string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[channel]
}

// WaitConnections blocks until exactly n connections are live.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	err := s.waitFor(ctx, func() bool { return len(s.live) == n })
	if err != nil {
		return fmt.Errorf("wait for %d connections (have %d): %w", n, s.Connections(), err)
	}
	return nil
}

// WaitSubscribed blocks until exactly n connections are subscribed to
// channel. To wait for a subscription made after a reconnect, prefer
// WaitConn followed by Conn.WaitSubscribed.
func (s *Server) WaitSubscribed(ctx context.Context, channel string, n int) error {
	err := s.waitFor(ctx, func() bool { return s.subscribersLocked(channel) == n })
	if err != nil {
		return fmt.Errorf("wait for %d subscribers on %s (have %d): %w", n, channel, s.Subscribers(channel), err)
	}
	return nil
}

// WaitConn blocks until the nth connection (1-based, in the order the
// server accepted WebSocket upgrades, refused ones included) exists and
// returns it.
func (s *Server) WaitConn(ctx context.Context, n int) (*Conn, error) {
	var c *Conn
	err := s.waitFor(ctx, func() bool {
		c = s.byNum[n]
		return c != nil
	})
	if err != nil {
		return nil, fmt.Errorf("wait for connection %d: %w", n, err)
	}
	return c, nil
}

// waitFor blocks until cond, evaluated with s.mu held, is true.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notifyLocked wakes every waitFor.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) liveLocked() []*Conn {
	conns := make([]*Conn, 0, len(s.live))
	for c := range s.live {
		conns = append(conns, c)
	}
	return conns
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// serveWS upgrades the request, sends the handshake (or a refusal) and
// serves the connection until it ends.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !s.checkOrigin(w, r) {
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	if s.cfg.MaxMessageSize > 0 {
		ws.SetReadLimit(s.cfg.MaxMessageSize)
	}
	c := s.register(ws)
	if c == nil {
		_ = ws.Close() // Close has started
		return
	}
	defer s.wg.Done()
	s.logf("connection %d (socket %s) from %s", c.num, c.socketID, r.RemoteAddr)

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	if refusal := s.refusalFor(r.PathValue("key"), c.num); refusal != nil {
		s.logf("connection %d refused: %d %s", c.num, refusal.Code, refusal.Message)
		c.refuse(*refusal)
	} else {
		c.send(websocket.TextMessage, establishedFrame(c.socketID, s.cfg.ActivityTimeout))
	}
	c.startKeepalive()
	c.readLoop()
	<-writerDone
}

// refusalFor returns how to refuse connection n: an unknown app key is
// always refused with 4001, then the handshake fault decides.
func (s *Server) refusalFor(key string, n int) *Refusal {
	if key != s.cfg.AppKey {
		then := ThenClose
		if s.cfg.Like == LikeReverb {
			then = ThenDrop // Reverb: the error, then a TCP close (PusherController)
		}
		return &Refusal{Code: CodeAppNotFound, Message: "Application does not exist", Style: s.cfg.ErrorStyle, Then: then}
	}
	s.mu.Lock()
	fault := s.handshakeFault
	s.mu.Unlock()
	if fault == nil {
		return nil
	}
	return fault(n)
}

// register numbers a new connection, gives it a socket id and makes it
// live; it returns nil once Close has started. The connection's goroutine is
// counted in s.wg under s.mu, so Close never waits before it is added.
func (s *Server) register(ws *websocket.Conn) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.wg.Add(1)
	s.nextNum++
	c := newConn(s, ws, s.nextNum, s.newSocketIDLocked(s.nextNum), s.silent)
	s.live[c] = struct{}{}
	s.byNum[c.num] = c
	s.notifyLocked()
	return c
}

// unregister removes a finished connection from every channel, telling
// presence channels' other members when its user left.
func (s *Server) unregister(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range c.channels {
		s.leaveLocked(c, name)
	}
	delete(s.live, c)
	if s.cfg.NoHistory {
		delete(s.byNum, c.num)
	}
	// Done is closed before the waiters hear of it: whoever saw the
	// connection count drop (WaitConnections) finds Done closed too.
	c.doneOnce.Do(func() { close(c.done) })
	s.notifyLocked()
}

// newSocketIDLocked returns a Pusher socket id ("\d+\.\d+") that no live
// connection has, unless Config.SocketID chooses it.
func (s *Server) newSocketIDLocked(n int) string {
	if s.cfg.SocketID != nil {
		return s.cfg.SocketID(n)
	}
	for {
		id := strconv.Itoa(mrand.IntN(1e9)+1) + "." + strconv.Itoa(mrand.IntN(1e9)+1)
		if !s.socketIDInUseLocked(id) {
			return id
		}
	}
}

func (s *Server) socketIDInUseLocked(id string) bool {
	for c := range s.live {
		if c.socketID == id {
			return true
		}
	}
	return false
}

// joinLocked subscribes c to name. It sends subscription_succeeded to c
// and, when a presence user joins for the first time, member_added to the
// other subscribers, then on a cache channel the last event or
// pusher:cache_miss to c; all are queued under s.mu, before Publish can see
// c in the channel, so no published event can overtake them. Then it
// starts the playback of the channel's recorded items to c.
func (s *Server) joinLocked(c *Conn, name string, m member) {
	k := s.kindOf(name)
	ch := s.channels[name]
	if ch == nil {
		ch = &channel{subs: make(map[*Conn]member)}
		if k.presence {
			ch.users = make(map[string]int)
			ch.info = make(map[string][]byte)
		}
		s.channels[name] = ch
	}
	ch.subs[c] = m
	c.channels[name] = struct{}{}
	s.logPlaybackLocked(c, name)

	firstJoin := false
	if k.presence {
		firstJoin = ch.users[m.userID] == 0
		ch.users[m.userID]++
		if firstJoin {
			ch.order = append(ch.order, m.userID)
			ch.info[m.userID] = m.info
		}
	}
	s.confirmLocked(c, name, ch, k)
	if firstJoin {
		added := frame("pusher_internal:member_added", name, jsonString(string(memberAddedData(m.userID, m.info))), "")
		for other := range ch.subs {
			if other != c {
				other.send(websocket.TextMessage, added)
			}
		}
	}
	if k.cache {
		s.sendCachedLocked(c, name, ch)
	}
	s.startPlaybackLocked(c, name)
	s.notifyLocked()
}

// confirmLocked sends c subscription_succeeded for name: the members of a
// presence channel, "{}" otherwise.
func (s *Server) confirmLocked(c *Conn, name string, ch *channel, k kind) {
	data := jsonString("{}")
	if k.presence {
		data = jsonString(string(presenceData(ch.order, ch.info)))
	}
	c.send(websocket.TextMessage, frame("pusher_internal:subscription_succeeded", name, data, ""))
}

// resubscribeLocked answers a second subscription of c to name the way
// Reverb does: subscription_succeeded again (and the cache), nothing for
// the other members; the playback goes on.
func (s *Server) resubscribeLocked(c *Conn, name string) {
	ch := s.channels[name]
	if ch == nil {
		return
	}
	k := s.kindOf(name)
	s.confirmLocked(c, name, ch, k)
	if k.cache {
		s.sendCachedLocked(c, name, ch)
	}
}

// leaveLocked unsubscribes c from name, stopping its playback; when it was
// the last connection of a presence user, the other subscribers get
// member_removed.
func (s *Server) leaveLocked(c *Conn, name string) {
	delete(c.channels, name)
	s.stopPlaybackLocked(c, name)
	ch := s.channels[name]
	if ch == nil {
		return
	}
	m, ok := ch.subs[c]
	if !ok {
		return
	}
	delete(ch.subs, c)
	defer s.notifyLocked()
	if s.kindOf(name).presence {
		ch.users[m.userID]--
		if ch.users[m.userID] == 0 {
			delete(ch.users, m.userID)
			delete(ch.info, m.userID)
			for i, id := range ch.order {
				if id == m.userID {
					ch.order = append(ch.order[:i], ch.order[i+1:]...)
					break
				}
			}
			removed := frame("pusher_internal:member_removed", name, jsonString(string(memberRemovedData(m.userID))), "")
			for other := range ch.subs {
				other.send(websocket.TextMessage, removed)
			}
		}
	}
	if len(ch.subs) == 0 {
		delete(s.channels, name)
	}
}
