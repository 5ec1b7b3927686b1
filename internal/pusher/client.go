// Package pusher is the Pusher protocol 7 client: dial, handshake,
// keepalive, channel authorization and subscription, presence, encrypted
// channels, and reconnection with resubscription.
package pusher

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/record"
)

// Authorizer signs a private, presence or encrypted channel for a socket.
type Authorizer interface {
	Authorize(ctx context.Context, socketID, channel string) (auth.Result, error)
}

// Sink receives every record in order, from one goroutine. Flush is called
// whenever no further frame is waiting. A Write error ends Run; ErrStop ends
// it without an error.
//
// A record is valid until Write returns; copy what you keep. The client
// reuses the record and the memory of its Data (and of its Violations)
// for the next frame. Its strings (Channel, Event, UserID, SocketID,
// Message) are ordinary strings and may be kept as they are.
type Sink interface {
	Write(r *record.Record) error
	Flush() error
}

// Logger receives the status lines (stderr talk). Tags are "connection",
// "auth" and "channel". Debug lines are only wanted with -v.
type Logger interface {
	Info(tag, msg string)
	Warn(tag, msg string)
	Debug(tag, msg string)
}

// Options configure a Client. Zero durations take the defaults noted.
type Options struct {
	URL       string // ws[s]://host:port/app/KEY?protocol=7&client=tmsws&version=V
	Header    http.Header
	TLSConfig *tls.Config

	Channels   []string
	Authorizer Authorizer

	// The first connection is made once: when it fails, Run returns its
	// ConnError at once (a misconfiguration far more often than an
	// outage). Once a connection has succeeded, a lost one is made again:
	// ReconnectAttempts is how many reconnects in a row may fail before Run
	// gives up, 0 retries forever; the count starts again once a
	// connection is back with every channel subscribed. ReconnectDelay is
	// the first delay (3s); it grows by half on each failure, jittered, up
	// to MaxReconnectDelay. A 4200–4299 close reconnects at once, unless it
	// is the second in a row on a connection shorter than ReconnectDelay
	// (see reconnectDelay).
	ReconnectAttempts int
	ReconnectDelay    time.Duration

	MaxActivity      time.Duration // idle time before a ping, capped by the server's activity_timeout (120s)
	PongTimeout      time.Duration // wait for any frame after a ping (30s)
	HandshakeTimeout time.Duration // dial, upgrade and first frame (10s)
	WriteTimeout     time.Duration // each write (10s)

	// MaxFrame is the largest frame accepted, the first included
	// (DefaultMaxFrame); a larger one drops the connection with 1009 and
	// a reconnect follows (on the first connection: Run fails). ReadAhead bounds the bytes read but not yet
	// handled (DefaultReadAhead), so a slow Sink slows the socket down
	// instead of filling memory.
	MaxFrame  int64
	ReadAhead int64

	Sink Sink
	Log  Logger
}

// Defaults of the read limits.
const (
	DefaultMaxFrame  = 16 << 20
	DefaultReadAhead = 4 << 20
)

// MaxReconnectDelay caps the delay between reconnect attempts (unless
// ReconnectDelay itself is larger).
const MaxReconnectDelay = 30 * time.Second

// Windows of the two "right after" rules (see session.go): a pusher:error
// is the cause of a TCP drop only when the drop is the next thing read and
// comes within ErrorDropWindow of it; on a cache channel the first event
// after the confirmation is the server's cached one only when it comes
// within CacheWindow of it.
const (
	ErrorDropWindow = time.Second
	CacheWindow     = time.Second
)

// Client is one logical connection that survives reconnects.
type Client struct {
	opts Options
	// connected is set once a handshake has succeeded: from then on a lost
	// connection is made again; before, a failure ends Run.
	connected bool
	// everSubscribed is set once every channel has been confirmed; from
	// then on passing authorization failures are retried.
	everSubscribed bool
	// The windows of the "right after" rules; tests shrink them.
	errorDropWindow, cacheWindow time.Duration
	rand                         func() float64
	// now is the clock that measures how long a connection lasted; tests
	// replace it to age one.
	now func() time.Time
	// sleep waits for d or ctx; tests replace it to observe delays.
	sleep func(ctx context.Context, d time.Duration) error
	// sends carries Send's frames to the live session's run loop, the only
	// writer of data frames.
	sends chan sendRequest

	// The channels added with Subscribe, in order, and as a set; live is
	// the session that runs (nil between connections). See dynamic.go.
	mu      sync.Mutex
	dynamic []string
	dynSet  map[string]bool
	live    *liveSession
}

// New returns a Client with defaults applied.
func New(opts Options) *Client {
	if opts.ReconnectDelay <= 0 {
		opts.ReconnectDelay = 3 * time.Second
	}
	if opts.MaxActivity <= 0 {
		opts.MaxActivity = 120 * time.Second
	}
	if opts.PongTimeout <= 0 {
		opts.PongTimeout = 30 * time.Second
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = 10 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.MaxFrame <= 0 {
		opts.MaxFrame = DefaultMaxFrame
	}
	if opts.ReadAhead <= 0 {
		opts.ReadAhead = DefaultReadAhead
	}
	if opts.Log == nil {
		opts.Log = nopLogger{}
	}
	return &Client{opts: opts, errorDropWindow: ErrorDropWindow, cacheWindow: CacheWindow,
		rand: rand.Float64, now: time.Now, sleep: sleepCtx, sends: make(chan sendRequest),
		dynSet: map[string]bool{}}
}

// Run connects and streams records to the Sink until ctx ends, the Sink
// stops it, a channel is refused, the first connection fails, or
// reconnecting fails for good. It returns ctx.Err() when ctx ended, nil on
// ErrStop.
func (c *Client) Run(ctx context.Context) error {
	failures := 0
	// quick counts the 4200–4299 endings in a row of connections that
	// lasted less than ReconnectDelay (see reconnectDelay).
	quick := 0
	for {
		first := !c.connected
		s, err := c.connect(ctx, first)
		lived := time.Duration(0)
		if err == nil {
			c.connected = true
			began := c.now()
			err = s.run(ctx)
			lived = c.now().Sub(began)
			if s.allSubscribed {
				failures = 0
			}
		}
		if errors.Is(err, ErrStop) {
			return c.flush(nil)
		}
		if ctx.Err() != nil {
			return c.flush(ctx.Err())
		}
		if s == nil && first {
			// One attempt: a first connection that fails is a wrong
			// host, port, scheme or key far more often than an outage,
			// and its error says which.
			return c.flush(err)
		}
		retryNow, fatal := c.classify(err)
		if fatal != nil {
			return c.flush(fatal)
		}
		failures++
		if c.opts.ReconnectAttempts > 0 && failures > c.opts.ReconnectAttempts {
			return c.flush(c.giveUp(err, failures-1))
		}
		var delay time.Duration
		delay, quick = c.reconnectDelay(retryNow, failures, quick, lived)
		c.emitReconnecting(err, failures, delay)
		if err := c.opts.Sink.Flush(); err != nil {
			return err
		}
		if err := c.sleep(ctx, delay); err != nil {
			return c.flush(err)
		}
	}
}

// isStatic reports whether channel is one of the Options.Channels.
func (c *Client) isStatic(channel string) bool { return slices.Contains(c.opts.Channels, channel) }

func (c *Client) flush(err error) error {
	if ferr := c.opts.Sink.Flush(); ferr != nil && err == nil {
		return ferr
	}
	return err
}

// classify decides what an ended session or a failed reconnect means:
// reconnect at once, reconnect after a delay, or stop with a final error.
// Once connected, only the server's own "do not come back" codes
// (4000–4099, 4300 and above) and refused channels stop: anything else,
// DNS and TLS failures and HTTP refusals of the upgrade included, can be
// the passing state of a server being restarted or redeployed, and is
// retried (every attempt is on stderr; --reconnect-attempts bounds them).
func (c *Client) classify(err error) (retryNow bool, fatal error) {
	var sub *SubscriptionError
	if errors.As(err, &sub) {
		return false, sub
	}
	var ce *ConnError
	if errors.As(err, &ce) {
		switch actionFor(ce.Code) {
		case actionStop:
			return false, ce
		case actionRetryNow:
			return true, nil
		}
		return false, nil
	}
	var d *disconnect
	if errors.As(err, &d) {
		switch actionFor(d.code) {
		case actionStop:
			hint := CodeHint(d.code)
			if hint == "" && d.code >= 4300 {
				hint = "the server ended the connection with an application error (4300 and above): like pusher-js, tmsws does not reconnect after it"
			}
			return false, &ConnError{URL: c.opts.URL, Code: d.code, Reason: d.reason, Hint: hint}
		case actionRetryNow:
			return true, nil
		}
		return false, nil
	}
	var ae *auth.Error
	if errors.As(err, &ae) && ae.Temporary() {
		return false, nil
	}
	if err == nil {
		return false, nil
	}
	return false, err
}

// reconnectDelay is the wait before the next reconnect, and the new count
// of quick endings. failures is the count of failures in a row, this one
// included; quick the 4200–4299 endings in a row before this one; lived
// how long the connection that just ended lasted (0 when none was made).
//
// A 4200–4299 close asks for a reconnect at once, and gets one when it
// ends a connection that was up and subscribed. Two cases back off
// instead: a reconnect that failed (failures > 1: the server refuses us
// again, whatever its code), and a second 4200–4299 in a row on a
// connection that lasted less than ReconnectDelay. The second case is a
// server that accepts every connection and closes it at once with 4200
// (pusher-js would reconnect in a hot loop): its delays grow like the
// failures' do, 3 s, 4.5 s, … up to the 30 s cap, even though each
// connection, subscribed, resets the failure count. A connection that
// outlived ReconnectDelay ends the run, so routine restarts an hour apart
// each reconnect at once. Any other ending (a drop, 4100–4199) ends it too.
func (c *Client) reconnectDelay(retryNow bool, failures, quick int, lived time.Duration) (time.Duration, int) {
	switch {
	case !retryNow:
		return c.delay(failures), 0
	case failures > 1:
		return c.delay(failures), quick
	case quick > 0 && lived < c.opts.ReconnectDelay:
		return c.delay(quick), quick + 1
	}
	return 0, 1
}

// delay is the wait before reconnect attempt n (1-based): the configured
// delay first, then growing by half each time with ±20% jitter, never
// above MaxReconnectDelay (or the configured delay, when that is larger).
// Growth stops at a sixth under the cap, so that once there the jitter
// still spreads the attempts (20–30 s) instead of piling them on 30 s.
func (c *Client) delay(n int) time.Duration {
	base := c.opts.ReconnectDelay
	if n <= 1 {
		return base
	}
	limit := max(MaxReconnectDelay, base)
	top := float64(limit) / 1.2
	d := float64(base)
	for i := 1; i < n && d < top; i++ {
		d *= 1.5
	}
	d = min(d, top) * (0.8 + 0.4*c.rand()) // rand < 1: d < limit
	return time.Duration(d).Round(time.Millisecond)
}

func (c *Client) giveUp(err error, attempts int) error {
	ce := &ConnError{URL: c.opts.URL, Attempts: attempts, Err: err}
	var inner *ConnError
	var d *disconnect
	switch {
	case errors.As(err, &inner):
		ce.Err, ce.Code, ce.Reason, ce.Hint = inner.Err, inner.Code, inner.Reason, inner.Hint
	case errors.As(err, &d):
		ce.Err, ce.Code, ce.Reason = d.err, d.code, d.reason
	}
	if ce.Hint == "" {
		ce.Hint = "the server stayed unreachable: check that it runs and that --host/--port/--scheme point at it; --reconnect-attempts 0 retries forever"
	}
	return ce
}

func (c *Client) emitReconnecting(cause error, attempt int, delay time.Duration) {
	of := "∞"
	if c.opts.ReconnectAttempts > 0 {
		of = strconv.Itoa(c.opts.ReconnectAttempts)
	}
	when := "now"
	if delay > 0 {
		when = "in " + delay.String()
	}
	// The URL is in the "connecting to" line already.
	why := strings.TrimPrefix(cause.Error(), "connect "+c.opts.URL+": ")
	c.opts.Log.Warn("connection", "reconnecting "+when+" (attempt "+strconv.Itoa(attempt)+"/"+of+"): "+why)
	r := record.Record{TS: time.Now(), Type: record.TypeReconnecting, Message: why, Attempt: attempt, Delay: delay}
	var d *disconnect
	var ce *ConnError
	if errors.As(cause, &d) {
		r.Code = d.code
	} else if errors.As(cause, &ce) {
		r.Code = ce.Code
	}
	_ = c.opts.Sink.Write(&r)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type nopLogger struct{}

func (nopLogger) Info(string, string)  {}
func (nopLogger) Warn(string, string)  {}
func (nopLogger) Debug(string, string) {}
