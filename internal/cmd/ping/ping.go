// Package ping implements `tmsws ping`: publish probe events through the
// signed HTTP API, receive them on the WebSocket, and report delivery
// latency, loss, duplicates and order; --max-p99 and --max-loss make it a
// CI gate.
package ping

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/pusherapi"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// ProbeEvent is the name of the probe events (pusher: names are reserved).
const ProbeEvent = "tmsws-ping"

// DefaultChannelPrefix starts the name of the fresh channel ping uses
// without -c; 8 random hex characters follow.
const DefaultChannelPrefix = "private-tmsws-ping-"

// minSubscribeWait is the least time the subscription is given to be
// confirmed (more with a longer --timeout): a short --timeout is meant for
// the probes.
const minSubscribeWait = 10 * time.Second

// Limits of the flags.
const (
	maxCount = 100000
	maxRate  = 10000
)

// Options are the parsed flags of `tmsws ping`.
type Options struct {
	IO       *iostreams.IO
	Settings *config.Settings
	Version  string

	Channel string // "" means a fresh DefaultChannelPrefix channel
	Count   int
	Rate    float64 // probes per second
	Timeout time.Duration
	JSON    bool
	gates

	// Pings is how many pusher:ping round trips are timed at the end.
	Pings int

	// publisher replaces the HTTP API client in tests.
	publisher publisher
}

// publisher publishes one event: the HTTP API.
type publisher interface {
	Trigger(ctx context.Context, ev pusherapi.Event) error
}

// NewCmdPing builds `tmsws ping`. runF replaces the behaviour in flag tests.
func NewCmdPing(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Version: f.Version, Pings: 3}
	cmd := &cobra.Command{
		Use:   "ping [-c CHANNEL] [--count N] [--rate R] [--max-p99 D] [--max-loss N]",
		Short: "Measure end-to-end delivery latency: publish probes through the HTTP API, receive them on the socket",
		Long: `Measure how long an event takes from the server's HTTP API to a subscriber, the
path a Laravel broadcast takes. tmsws subscribes to a channel, publishes --count
probe events (named tmsws-ping) through the signed HTTP API at --rate per second,
receives them on the WebSocket and matches them by run id and sequence number
(other events on the channel are ignored). A probe's latency is the time from
just before its HTTP request to its arrival on the socket: both ends are this
process, so clock skew does not matter. Probes not received within --timeout
of the last send are lost. At the end it times --pings pusher:ping →
pusher:pong round trips on the WebSocket.

It needs the app id (--app-id or TMSWS_APP_ID) and the app secret (--app-secret
or TMSWS_APP_SECRET): the HTTP API is signed with them. Without -c the channel
is a fresh private-tmsws-ping-XXXXXXXX, signed locally with the app secret. A
private or presence channel given with -c is authorized as listen authorizes it
(see --sign-locally and --no-sign-locally); its other subscribers receive the
probes too (apps ignore an event they do not listen for). private-encrypted-
channels are not supported.

The report on stdout gives sent, received, lost, duplicated, out of order (a
probe whose number is lower than one already received), the latency's min,
p50, p90, p99 and max, and the WebSocket round trip's min, median and max.
Percentiles are nearest-rank: the p-th is the smallest latency with at least p%
of the probes at or below it (no interpolation). On a terminal a histogram of
the latencies follows; --json prints one JSON object instead, with
milliseconds (null when nothing was measured).

As a CI gate, --max-p99 D fails when the p99 latency is over D (or unknown: no
probe received) and --max-loss N when more than N probes were lost: the
report is printed, then tmsws exits with 5.`,
		Example: `  tmsws ping --app-id app-id --app-secret app-secret
  tmsws ping --count 100 --rate 50 --max-p99 300ms --max-loss 0
  tmsws ping -c private-chat.42 --json | jq .latency_ms.p99`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &cmdutil.UsageError{Msg: fmt.Sprintf("unexpected argument %q", args[0]), Hint: "the channel goes with -c: tmsws ping -c " + args[0]}
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
			opts.HasP99 = c.Flags().Changed("max-p99")
			opts.HasLoss = c.Flags().Changed("max-loss")
			if err := opts.validate(); err != nil {
				return err
			}
			s, err := f.Settings(c)
			if err != nil {
				return err
			}
			opts.Settings = s
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return Run(c.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Channel, "channel", "c", "", "channel to probe (default: a fresh "+DefaultChannelPrefix+"XXXXXXXX, signed with the app secret)")
	fl.IntVar(&opts.Count, "count", 20, "how many probe events to publish")
	fl.Float64Var(&opts.Rate, "rate", 10, "probes published per second")
	fl.DurationVar(&opts.Timeout, "timeout", 5*time.Second, "how long to wait after the last send for the probes still out, and for each pong (and for the subscription, at least 10s)")
	fl.DurationVar(&opts.MaxP99, "max-p99", 0, "fail (exit 5) when the p99 latency is over this, e.g. 300ms (no gate unless given)")
	fl.IntVar(&opts.MaxLoss, "max-loss", 0, "fail (exit 5) when more than this many probes are lost (no gate unless given)")
	fl.IntVar(&opts.Pings, "pings", 3, "pusher:ping round trips timed at the end; 0 times none")
	fl.BoolVar(&opts.JSON, "json", false, "print the report as one JSON object")
	fl.String(config.FlagAppID, "", "the app id of the HTTP API's /apps/{id} (env "+config.EnvAppID+")")
	return cmd
}

func (o *Options) validate() error {
	if o.Channel != "" {
		if err := cmdutil.CheckChannel(o.Channel); err != nil {
			return err
		}
		if strings.HasPrefix(o.Channel, auth.EncryptedPrefix) {
			return &cmdutil.UsageError{Msg: "ping does not probe private-encrypted- channels",
				Hint: "use a private- or public channel, or leave out -c for a fresh " + DefaultChannelPrefix + "channel"}
		}
	}
	switch {
	case o.Count < 1 || o.Count > maxCount:
		return cmdutil.Usagef("--count must be between 1 and %d, got %d", maxCount, o.Count)
	case !(o.Rate > 0) || o.Rate > maxRate:
		return cmdutil.Usagef("--rate must be more than 0 and at most %d per second, got %v", maxRate, o.Rate)
	case o.Timeout <= 0:
		return cmdutil.Usagef("--timeout must be positive, got %s", o.Timeout)
	case o.HasP99 && o.MaxP99 < 0:
		return cmdutil.Usagef("--max-p99 must be 0 or more, got %s", o.MaxP99)
	case o.HasLoss && o.MaxLoss < 0:
		return cmdutil.Usagef("--max-loss must be 0 or more, got %d", o.MaxLoss)
	case o.Pings < 0 || o.Pings > 100:
		return cmdutil.Usagef("--pings must be between 0 and 100, got %d", o.Pings)
	}
	return nil
}

func randomHex(nbytes int) string {
	b := make([]byte, nbytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// Run subscribes, probes, waits, times the pongs, and prints the report;
// the gates' verdict is its error.
func Run(ctx context.Context, opts *Options) error {
	s := opts.Settings
	log := cmdutil.NewStatusLog(opts.IO.ErrOut, opts.IO.ColorEnabled(s.Color, opts.IO.ErrTTY), s.Verbose)
	if s.Insecure {
		log.Warn("connection", "--insecure: TLS certificates are not verified")
	}
	api := opts.publisher
	if api == nil {
		c, err := pusherapi.New(s, opts.Version)
		if err != nil {
			return err
		}
		api = c
	}

	channel := opts.Channel
	var authorizer pusher.Authorizer
	if channel == "" {
		// A channel of our own: the app secret the HTTP API needs signs it.
		channel = DefaultChannelPrefix + randomHex(4)
		authorizer = &auth.Signer{Key: s.Key, Secret: s.AppSecret}
	} else {
		for _, w := range cmdutil.ChannelWarnings([]string{channel}) {
			log.Warn("channel", w)
		}
		a, err := cmdutil.Authorizer(s, []string{channel}, log)
		if err != nil {
			return err
		}
		authorizer = a
	}
	tlsConf, err := s.TLSConfig()
	if err != nil {
		return err
	}

	p := &prober{opts: opts, api: api, log: log, channel: channel, run: randomHex(8), tally: newTally(),
		subscribed: make(chan struct{}), pongs: make(chan time.Time, 1)}
	p.client = pusher.New(pusher.Options{
		URL:        s.WebSocketURL(opts.Version),
		Header:     cmdutil.UpgradeHeader(s, opts.Version),
		TLSConfig:  tlsConf,
		Channels:   []string{channel},
		Authorizer: authorizer,
		MaxFrame:   s.MaxFrame,
		Sink:       p,
		Log:        log,
	})
	runCtx, cancel := context.WithCancel(ctx)
	p.runErr = make(chan error, 1)
	go func() { p.runErr <- p.client.Run(runCtx) }()
	err = p.probe(ctx)
	cancel()
	if p.runDone == nil {
		// What Run ends with now is our cancel: the probes are done.
		<-p.runErr
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}

	sum := p.tally.summary()
	sum.RTTs = p.rtts
	slices.Sort(sum.RTTs)
	failures := opts.gates.failures(sum)
	if opts.JSON {
		err = writeJSON(opts.IO.Out, channel, sum, failures)
	} else {
		err = writeTable(opts.IO.Out, channel, sum, failures)
		if err == nil && opts.IO.OutTTY {
			if _, err = fmt.Fprintln(opts.IO.Out); err == nil {
				err = writeHistogram(opts.IO.Out, sum.Latencies)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return gateError(failures)
}

// prober is one run: the sender's state, and the pusher.Sink that
// receives the probes and pongs.
type prober struct {
	opts    *Options
	api     publisher
	log     *cmdutil.StatusLog
	client  *pusher.Client
	channel string
	run     string // this run's id, in every probe
	tally   *tally
	rtts    []time.Duration

	subscribed chan struct{} // closed at the first confirmation
	subOnce    sync.Once
	pongs      chan time.Time

	runErr chan error
	// runDone is the error Run ended with while probing; nil while it
	// runs.
	runDone error
}

// Write is the sink: the confirmation, the probes of this run, the pongs.
func (p *prober) Write(r *record.Record) error {
	switch {
	case r.Type == record.TypeSubscribed && r.Channel == p.channel:
		p.subOnce.Do(func() { close(p.subscribed) })
	case r.Type == record.TypeProtocol && r.Event == "pusher:pong":
		select {
		case p.pongs <- r.TS:
		default:
		}
	case r.Type == record.TypeEvent && r.Channel == p.channel && r.Event == ProbeEvent:
		if gjson.GetBytes(r.Data, "run").String() != p.run {
			return nil
		}
		// A seq this run did not send (negative, beyond --count) is
		// ignored by the tally.
		seq := gjson.GetBytes(r.Data, "seq")
		if seq.Type != gjson.Number || float64(seq.Int()) != seq.Num {
			return nil
		}
		p.tally.received(int(seq.Int()), r.TS)
	}
	return nil
}

// Flush is part of pusher.Sink: nothing is buffered.
func (p *prober) Flush() error { return nil }

// ended is the error of a client.Run that ended while probing: the first
// connection failed, the subscription was refused, reconnecting gave up.
func (p *prober) ended(err error) error {
	if err == nil {
		err = errors.New("the connection ended before the probes were done")
	}
	p.runDone = err
	return err
}

// probe waits for the subscription, sends the probes, waits for them, and
// times the pongs.
func (p *prober) probe(ctx context.Context) error {
	opts := p.opts
	subWait := max(opts.Timeout, minSubscribeWait)
	timer := time.NewTimer(subWait)
	defer timer.Stop()
	select {
	case <-p.subscribed:
	case err := <-p.runErr:
		return p.ended(err)
	case <-timer.C:
		return &cmdutil.TimeoutError{Msg: fmt.Sprintf("the subscription to %s was not confirmed within %s", termsafe.Clip(p.channel, 64), subWait)}
	case <-ctx.Done():
		return ctx.Err()
	}
	p.log.Info("ping", fmt.Sprintf("subscribed %s: publishing %d probes at %s per second through the HTTP API", termsafe.Clip(p.channel, 64), opts.Count, strconv.FormatFloat(opts.Rate, 'g', -1, 64)))

	interval := time.Duration(float64(time.Second) / opts.Rate)
	start := time.Now()
	for seq := range opts.Count {
		if wait := time.Until(start.Add(time.Duration(seq) * interval)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case err := <-p.runErr:
				return p.ended(err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		at := time.Now()
		ev := pusherapi.Event{Name: ProbeEvent, Channels: []string{p.channel},
			Data: fmt.Sprintf(`{"seq":%d,"run":"%s","sent_ns":%d}`, seq, p.run, at.UnixNano())}
		p.tally.sending(seq, at)
		if err := p.api.Trigger(ctx, ev); err != nil {
			p.tally.unsent(seq)
			return fmt.Errorf("publish probe %d: %w", seq, err)
		}
	}

	timer.Reset(opts.Timeout)
	for !p.tally.allIn() {
		select {
		case <-p.tally.news:
		case <-timer.C:
			s := p.tally.summary()
			p.log.Warn("ping", fmt.Sprintf("%d of %d probes not received within --timeout %s of the last send: counted lost", s.Lost, s.Sent, opts.Timeout))
			return p.timePongs(ctx)
		case err := <-p.runErr:
			return p.ended(err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return p.timePongs(ctx)
}

// pingFrame asks the server for a pusher:pong.
var pingFrame = []byte(`{"event":"pusher:ping","data":{}}`)

// timePongs times opts.Pings pusher:ping → pusher:pong round trips, one
// after the other.
func (p *prober) timePongs(ctx context.Context) error {
	for range p.opts.Pings {
		select { // a late pong of an earlier ping is not this one's
		case <-p.pongs:
		default:
		}
		sctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
		at := time.Now()
		err := p.client.Send(sctx, pingFrame)
		if err == nil {
			select {
			case ts := <-p.pongs:
				p.rtts = append(p.rtts, ts.Sub(at))
			case err = <-p.runErr:
				cancel()
				return p.ended(err)
			case <-sctx.Done():
				err = sctx.Err()
			}
		}
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			p.log.Warn("ping", "no pusher:pong within --timeout "+p.opts.Timeout.String()+": the WebSocket round trip is not measured")
			return nil
		}
	}
	return nil
}
