package trigger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// clientFrame is the client event exactly as it is written on the socket:
// {"event":…,"channel":…,"data":{…}}. It refuses data that is not a JSON
// object (Reverb answers 4200 "Invalid message format") and a frame over
// --max-message-size (Reverb closes the connection with 1009 and drops the
// event), before anything connects.
func clientFrame(opts *Options) ([]byte, error) {
	channel := opts.Channels[0]
	if len(opts.Data) == 0 || opts.Data[0] != '{' {
		return nil, &cmdutil.UsageError{
			Msg:  "-d for a client event must be a JSON object, not " + jsonKind(opts.Data),
			Hint: `Reverb requires object data and answers anything else with 4200 "Invalid message format": wrap it, e.g. -d '{"text":"hi"}'`,
		}
	}
	msg := []byte(`{"event":`)
	msg = record.AppendString(msg, opts.Event)
	msg = append(msg, `,"channel":`...)
	msg = record.AppendString(msg, channel)
	msg = append(msg, `,"data":`...)
	msg = append(msg, opts.Data...)
	msg = append(msg, '}')
	if limit := opts.MaxMessageSize; limit > 0 && int64(len(msg)) > limit {
		envelope := int64(len(msg) - len(opts.Data))
		fit := "no data fits"
		if limit > envelope {
			fit = fmt.Sprintf("at most %d bytes of data fit", limit-envelope)
		}
		return nil, &cmdutil.UsageError{
			Msg: fmt.Sprintf("the client event is %d bytes, over --max-message-size %d: %d of them are the -d data, %d the event name, channel and envelope (%s)",
				len(msg), limit, len(opts.Data), envelope, fit),
			Hint: "Reverb closes the connection with 1009 on a message over its max_message_size (REVERB_APP_MAX_MESSAGE_SIZE, default 10,000 bytes) and the event is lost: " +
				"send less, e.g. an id the clients fetch the rest with; for a server with a higher limit raise --max-message-size (0 skips the check)",
		}
	}
	return msg, nil
}

// jsonKind names the kind of a compact JSON document.
func jsonKind(doc []byte) string {
	if len(doc) == 0 {
		return "nothing"
	}
	switch doc[0] {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// runClient connects, subscribes the channel, sends the client event frame
// through the pusher client's one writer, and watches opts.Wait for a
// pusher:error refusing it or the server closing the connection.
func runClient(ctx context.Context, opts *Options, frame []byte, log *cmdutil.StatusLog) error {
	s := opts.Settings
	channel := opts.Channels[0]
	if !cmdutil.NeedsAuth(channel) {
		log.Warn("trigger", "client events on the public channel "+termsafe.Clip(channel, 64)+
			": Reverb and Soketi relay them, Pusher Channels refuses them (4301); there use a private- or presence- channel")
	}
	authorizer, err := cmdutil.Authorizer(s, opts.Channels, log)
	if err != nil {
		return err
	}
	tlsConf, err := s.TLSConfig()
	if err != nil {
		return err
	}
	header := cmdutil.UpgradeHeader(s, opts.Version)
	wsURL := s.WebSocketURL(opts.Version)

	sink := newWatch(channel)
	client := pusher.New(pusher.Options{
		URL:        wsURL,
		Header:     header,
		TLSConfig:  tlsConf,
		Channels:   []string{channel},
		Authorizer: authorizer,
		// One retry, soon, before the event is sent: a one-shot command
		// should fail fast, not sit through listen's reconnect policy.
		// After the send the watch stops every reconnect (see Flush).
		ReconnectAttempts: 1,
		ReconnectDelay:    300 * time.Millisecond,
		HandshakeTimeout:  opts.Timeout,
		MaxFrame:          s.MaxFrame,
		Sink:              sink,
		Log:               quietAfterDrop{Logger: log, w: sink},
	})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	r := &running{done: make(chan error, 1), stop: stop}
	go func() { r.done <- client.Run(runCtx) }()

	res := result{Via: "client", Event: opts.Event, Channels: opts.Channels, Bytes: len(opts.Data)}
	timer := time.NewTimer(opts.Timeout)
	defer timer.Stop()
	select {
	case <-sink.subscribed:
	case err := <-r.done:
		r.finished(err)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			err = errors.New("the connection ended before " + channel + " was subscribed")
		}
		return err
	case <-timer.C:
		r.end()
		if !sink.connected.Load() {
			return &pusher.ConnError{URL: wsURL, Reason: "no connection within --timeout " + opts.Timeout.String(),
				Hint: "check --host, --port and --scheme, or raise --timeout"}
		}
		return &cmdutil.TimeoutError{Msg: "subscribe " + channel + ": not confirmed within --timeout " + opts.Timeout.String()}
	case <-ctx.Done():
		r.end()
		return ctx.Err()
	}

	// From here on a closed connection is a failure, not a reason to
	// reconnect: the event went with it.
	sink.arm()
	start := time.Now()
	sendCtx, cancelSend := context.WithTimeout(ctx, opts.Timeout)
	err = client.Send(sendCtx, frame)
	cancelSend()
	res.MS = millis(time.Since(start)) // the write, not the watch after it
	res.SocketID = sink.socketID()
	// failed reports a close after the send, with the result on stdout.
	failed := func(rec record.Record) error {
		r.end()
		e := closedAfterSend(opts.Event, channel, wsURL, len(frame), rec)
		res.Error = e.Error()
		if werr := writeResult(opts, res); werr != nil {
			return werr
		}
		return e
	}
	if err != nil {
		if ctx.Err() != nil {
			r.end()
			return ctx.Err()
		}
		// A write fails when the server has closed or dropped the
		// connection: the disconnected record that follows says how.
		if rec, ok := sink.awaitDrop(ctx, r, opts.Wait); ok {
			return failed(rec)
		}
		r.end()
		return &pusher.ConnError{URL: wsURL, Reason: "sending " + opts.Event + " failed", Err: err,
			Hint: "the connection broke while sending: try again"}
	}
	log.Debug("trigger", fmt.Sprintf("wrote %s on %s (%d bytes); watching %s for a refusal", opts.Event, channel, len(frame), opts.Wait))

	wait := time.NewTimer(opts.Wait)
	defer wait.Stop()
	select {
	case rec := <-sink.refusals:
		r.end()
		e := refusal(opts.Event, channel, rec)
		res.Error = e.Error()
		if werr := writeResult(opts, res); werr != nil {
			return werr
		}
		return e
	case rec := <-sink.drops:
		return failed(rec)
	case err := <-r.done:
		r.finished(err)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if rec, ok := sink.drop(); ok {
			return failed(rec)
		}
		if err == nil {
			err = errors.New("the connection ended right after sending " + opts.Event)
		}
		return err
	case <-wait.C:
	case <-ctx.Done():
		r.end()
		return ctx.Err()
	}
	// A close that came with the timer still counts.
	if rec, ok := sink.drop(); ok {
		return failed(rec)
	}
	r.end()
	res.OK = true
	log.Info("trigger", fmt.Sprintf("sent %s on %s (socket %s, %d bytes; no refusal within %s)", opts.Event, termsafe.Clip(channel, 64), res.SocketID, len(opts.Data), opts.Wait))
	return writeResult(opts, res)
}

// running is the pusher client's Run in its goroutine.
type running struct {
	done chan error
	stop context.CancelFunc
	over bool
}

// finished notes that Run's result was taken from done.
func (r *running) finished(error) { r.over = true }

// end stops the client and waits for it to close the connection.
func (r *running) end() {
	r.stop()
	if !r.over {
		<-r.done
		r.over = true
	}
}

// closedAfterSend explains a connection that closed or dropped after the
// client event was written: the server most likely refused the event
// (Reverb closes with 1009 above max_message_size and sends nothing else).
// It is exit code 4, through the *pusher.ConnError it wraps.
func closedAfterSend(event, channel, wsURL string, frameLen int, rec record.Record) error {
	ce := &pusher.ConnError{URL: wsURL, Code: rec.Code, Reason: rec.Message}
	switch {
	case rec.Code == websocket.CloseMessageTooBig:
		ce.Hint = fmt.Sprintf("the server refused a message this large (%d bytes): Reverb closes the connection with 1009 above its max_message_size "+
			"(REVERB_APP_MAX_MESSAGE_SIZE, default 10,000 bytes); send less data, or raise the server's limit and --max-message-size with it", frameLen)
	case pusher.CodeHint(rec.Code) != "":
		ce.Hint = pusher.CodeHint(rec.Code)
	default:
		ce.Hint = "the server closed the connection right after the event instead of relaying it: it probably refused it; check the server's logs"
	}
	return &sendClosedError{
		msg:  fmt.Sprintf("send %s on %s: the server closed the connection after it (%s): the event was most likely dropped", event, termsafe.Clip(channel, 64), rec.Message),
		conn: ce,
	}
}

type sendClosedError struct {
	msg  string
	conn *pusher.ConnError
}

func (e *sendClosedError) Error() string { return e.msg }
func (e *sendClosedError) Unwrap() error { return e.conn }

// refusal explains a pusher:error that answered the client event.
func refusal(event, channel string, rec record.Record) *auth.Error {
	e := &auth.Error{Op: "send " + event + " on " + termsafe.Clip(channel, 64), Message: auth.CleanMessage(rec.Message)}
	e.Detail = fmt.Sprintf("refused by the server with pusher:error %d", rec.Code)
	lower := strings.ToLower(rec.Message)
	public := !cmdutil.NeedsAuth(channel)
	switch {
	case public && (strings.Contains(lower, "private") || strings.Contains(lower, "public")):
		// Pusher's "Client event rejected - only supported on private and
		// presence channels".
		e.Kind = auth.Status
		e.Hint = "this server does not relay client events on public channels, as Pusher Channels does not (4301); Reverb and Soketi do: use a private- or presence- channel here"
	case rec.Code == 4009 || strings.Contains(lower, "not a member") || strings.Contains(lower, "unauthorized"):
		// Reverb's "The client is not a member of the specified channel."
		e.Kind = auth.Forbidden
		e.Hint = "the server only takes client events from members of the channel: check that the subscription was accepted (Reverb: accept_client_events_from)"
	case strings.Contains(lower, "rate") || strings.Contains(lower, "limit"):
		e.Kind = auth.Status
		e.Hint = "too many client events: Pusher allows 10 per second per connection; send fewer"
	case rec.Code == 4301 || strings.Contains(lower, "client"):
		e.Kind = auth.Status
		e.Hint = "the app does not accept client events: enable them (Pusher: App Settings → Enable client events; Reverb: accept_client_events_from; Soketi: SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES=true)"
	default:
		e.Kind = auth.Status
		e.Hint = "the server refused the client event: see its message"
	}
	return e
}

// errClosedAfterSend stops the pusher client's Run instead of a reconnect
// once the connection closed after the event was sent.
var errClosedAfterSend = errors.New("the connection closed after the client event was sent")

// watch is the pusher client's Sink for --client: it tells when the channel
// is subscribed and, once armed (the event is being sent), passes on every
// pusher:error and the first disconnect, after which it stops the client
// from reconnecting: Flush, which the client calls before it waits to
// reconnect, returns errClosedAfterSend.
type watch struct {
	channel    string
	subscribed chan struct{}
	refusals   chan record.Record
	drops      chan record.Record
	connected  atomic.Bool
	armed      atomic.Bool
	dropped    atomic.Bool

	once sync.Once
	mu   sync.Mutex
	sid  string
	last *record.Record // the disconnect, once dropped
}

func newWatch(channel string) *watch {
	return &watch{channel: channel, subscribed: make(chan struct{}),
		refusals: make(chan record.Record, 1), drops: make(chan record.Record, 1)}
}

func (w *watch) arm() { w.armed.Store(true) }

func (w *watch) socketID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sid
}

// drop returns the disconnect seen after arming, if any.
func (w *watch) drop() (record.Record, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		return record.Record{}, false
	}
	return *w.last, true
}

// awaitDrop waits up to d for the disconnect that follows a failed write.
func (w *watch) awaitDrop(ctx context.Context, r *running, d time.Duration) (record.Record, bool) {
	if d < 100*time.Millisecond {
		d = 100 * time.Millisecond
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case rec := <-w.drops:
		return rec, true
	case err := <-r.done:
		r.finished(err)
	case <-t.C:
	case <-ctx.Done():
	}
	return w.drop()
}

// Write runs on the pusher client's loop: it never blocks.
func (w *watch) Write(r *record.Record) error {
	switch r.Type {
	case record.TypeConnected:
		w.connected.Store(true)
		w.mu.Lock()
		w.sid = r.SocketID
		w.mu.Unlock()
	case record.TypeSubscribed:
		if r.Channel == w.channel {
			w.once.Do(func() { close(w.subscribed) })
		}
	case record.TypeError:
		if w.armed.Load() && r.Event == "pusher:error" && (r.Channel == "" || r.Channel == w.channel) {
			rec := *r
			rec.Data = bytes.Clone(r.Data) // kept past Write: a copy (see pusher.Sink)
			select {
			case w.refusals <- rec:
			default: // the first refusal is the one reported
			}
		}
	case record.TypeDisconnected:
		if w.armed.Load() && !w.dropped.Load() {
			rec := *r
			rec.Data = bytes.Clone(r.Data) // kept past Write: a copy (see pusher.Sink)
			w.mu.Lock()
			w.last = &rec
			w.mu.Unlock()
			w.dropped.Store(true)
			w.drops <- rec // buffered, written once
		}
	}
	return nil
}

// Flush ends the client's Run once the connection closed after the send,
// before it can reconnect and resubscribe as if nothing had happened.
func (w *watch) Flush() error {
	if w.dropped.Load() {
		return errClosedAfterSend
	}
	return nil
}

// quietAfterDrop is the client's status log without the "reconnecting"
// line that would follow a close after the send: there is no reconnect.
type quietAfterDrop struct {
	pusher.Logger
	w *watch
}

func (q quietAfterDrop) Warn(tag, msg string) {
	if q.w.dropped.Load() && tag == "connection" && strings.HasPrefix(msg, "reconnecting") {
		return
	}
	q.Logger.Warn(tag, msg)
}
