package trigger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/record"
)

// runClient connects, subscribes the channel, sends the client event
// through the pusher client's one writer, and watches opts.Wait for a
// pusher:error refusing it.
func runClient(ctx context.Context, opts *Options, log *cmdutil.StatusLog) error {
	s := opts.Settings
	channel := opts.Channels[0]
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
		// One retry, soon: a one-shot command should fail fast, not sit
		// through listen's reconnect policy.
		ReconnectAttempts: 1,
		ReconnectDelay:    300 * time.Millisecond,
		HandshakeTimeout:  opts.Timeout,
		MaxFrame:          s.MaxFrame,
		Sink:              sink,
		Log:               log,
	})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runDone := make(chan error, 1)
	go func() { runDone <- client.Run(runCtx) }()
	// end stops the client and waits for it to close the connection.
	end := func() {
		stop()
		<-runDone
	}

	res := result{Via: "client", Event: opts.Event, Channels: opts.Channels, Bytes: len(opts.Data)}
	timer := time.NewTimer(opts.Timeout)
	defer timer.Stop()
	select {
	case <-sink.subscribed:
	case err := <-runDone:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			err = errors.New("the connection ended before " + channel + " was subscribed")
		}
		return err
	case <-timer.C:
		end()
		if !sink.connected.Load() {
			return &pusher.ConnError{URL: wsURL, Reason: "no connection within --timeout " + opts.Timeout.String(),
				Hint: "check --host, --port and --scheme, or raise --timeout"}
		}
		return &cmdutil.TimeoutError{Msg: "subscribe " + channel + ": not confirmed within --timeout " + opts.Timeout.String()}
	case <-ctx.Done():
		end()
		return ctx.Err()
	}

	msg := []byte(`{"event":`)
	msg = record.AppendString(msg, opts.Event)
	msg = append(msg, `,"channel":`...)
	msg = record.AppendString(msg, channel)
	msg = append(msg, `,"data":`...)
	msg = append(msg, opts.Data...)
	msg = append(msg, '}')

	sink.arm()
	start := time.Now()
	sendCtx, cancelSend := context.WithTimeout(ctx, opts.Timeout)
	err = client.Send(sendCtx, msg)
	cancelSend()
	res.MS = millis(time.Since(start)) // the write, not the watch after it
	if err != nil {
		end()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &pusher.ConnError{URL: wsURL, Reason: "sending " + opts.Event + " failed", Err: err,
			Hint: "the connection broke while sending: try again"}
	}
	res.SocketID = sink.socketID()
	log.Debug("trigger", fmt.Sprintf("wrote %s on %s; watching %s for a refusal", opts.Event, channel, opts.Wait))

	wait := time.NewTimer(opts.Wait)
	defer wait.Stop()
	select {
	case rec := <-sink.refusals:
		end()
		e := refusal(opts.Event, channel, rec)
		res.Error = e.Error()
		if werr := writeResult(opts, res); werr != nil {
			return werr
		}
		return e
	case err := <-runDone:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			err = errors.New("the connection ended right after sending " + opts.Event)
		}
		return err
	case <-wait.C:
	case <-ctx.Done():
		end()
		return ctx.Err()
	}
	end()
	res.OK = true
	log.Info("trigger", fmt.Sprintf("sent %s on %s (socket %s, %d bytes; no refusal within %s)", opts.Event, channel, res.SocketID, len(opts.Data), opts.Wait))
	return writeResult(opts, res)
}

// refusal explains a pusher:error that answered the client event.
func refusal(event, channel string, rec record.Record) *auth.Error {
	e := &auth.Error{Op: "send " + event + " on " + channel, Message: auth.CleanMessage(rec.Message)}
	e.Detail = fmt.Sprintf("refused by the server with pusher:error %d", rec.Code)
	lower := strings.ToLower(rec.Message)
	switch {
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

// watch is the pusher client's Sink for --client: it tells when the channel
// is subscribed and, once armed, passes on every pusher:error.
type watch struct {
	channel    string
	subscribed chan struct{}
	refusals   chan record.Record
	connected  atomic.Bool
	armed      atomic.Bool

	once sync.Once
	mu   sync.Mutex
	sid  string
}

func newWatch(channel string) *watch {
	return &watch{channel: channel, subscribed: make(chan struct{}), refusals: make(chan record.Record, 1)}
}

func (w *watch) arm() { w.armed.Store(true) }

func (w *watch) socketID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sid
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
			select {
			case w.refusals <- *r:
			default: // the first refusal is the one reported
			}
		}
	}
	return nil
}

func (w *watch) Flush() error { return nil }
