// Package subscribe implements `tmsws subscribe`: the one-shot check for CI.
// It subscribes every channel, confirms each, optionally waits for expected
// events, and exits with a code that says what went wrong, all within one
// deadline.
package subscribe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/filter"
	"github.com/amusoft/tmsws/internal/format"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/stats"
)

// Options are the parsed flags of `tmsws subscribe`.
type Options struct {
	IO       *iostreams.IO
	Settings *config.Settings
	Version  string

	// -c, --expect (a glob; "" waits for nothing), --where, --count, and
	// --json (the summary object).
	cmdutil.SelectFlags

	Timeout time.Duration
	Stats   bool

	ReconnectAttempts int
	ReconnectDelay    time.Duration
}

// Defaults of the flags.
const (
	DefaultTimeout           = 30 * time.Second
	DefaultReconnectAttempts = 2
	DefaultReconnectDelay    = time.Second
)

// NewCmdSubscribe builds `tmsws subscribe`. runF replaces the behaviour in
// flag tests.
func NewCmdSubscribe(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Version: f.Version}
	cmd := &cobra.Command{
		Use:   "subscribe -c CHANNEL [-c CHANNEL...] [--expect PATTERN]",
		Short: "Check in CI that channels can be subscribed and events arrive",
		Long: `Subscribe every -c channel, confirm each (pusher_internal:subscription_succeeded),
and with --expect wait for events; exit 0 when everything arrived, else with a
code that says what went wrong. Everything, reconnects included, happens
within --timeout.

Private and presence channels are authorized as for listen: through the auth
endpoint with the stored token or --token/TMSWS_TOKEN, or signed locally when
an app secret is set and no --auth-url/--token flag asks for the endpoint
(--sign-locally/--no-sign-locally decide explicitly). On stderr, an [auth]
line per channel says which way it went, then one line per confirmed channel
with the time since the command started and, for presence channels, the
member count.

--expect PATTERN waits, once every channel is confirmed, for --count records
(default 1) whose name matches the glob and that pass every --where condition:
events, and member changes on presence channels, matched as listen -e matches
them (see the filter rule below). Matching records that arrive while other
channels are still being confirmed count too.

Output on stdout:
  without --json  the matched records, one JSON record per line as they arrive
                  (the same records as listen --json); nothing else
  with --json     one summary object at the end, success or not (a usage
                  error found after the flags were read included), holding the
                  matched events; all times are milliseconds since the
                  command started:
    {"ok":true,                       false on any failure, with "error"
     "error":"...",                   only when ok is false
     "socket_id":"123.456",           absent when never connected
     "connect_ms":12,                 absent when never connected
     "elapsed_ms":415,
     "channels":[{"channel":"presence-chat.42","subscribed":true,"ms":41,
                  "members":3,        presence channels only
                  "auth":"endpoint",  private and presence channels: "endpoint"
                                      (the auth endpoint) or "local" (signed
                                      with the app secret)
                  "error":"..."}],    when the channel was refused
     "expected":{"pattern":"MessageSent","where":["data.x=1"],"count":1,"matched":1},
                                      only with --expect
     "schema":{"file":"chat.schema.json","checked":3,"broken":0},
                                      only with --schema
     "events":[{"ts":"...","type":"event","channel":"...","event":"...","data":{...}}]}

Exit codes:
  0  every channel confirmed and every expected event arrived
  1  an unexpected error (also a 5xx from the auth endpoint)
  2  bad usage
  3  an authorization or a subscription was refused
  4  the connection failed (the first connection could not be made,
     handshake refused, reconnect attempts used up)
  5  a confirmation or an expected event did not arrive within --timeout
  6  with --schema: an event's data broke its contract (the run ends at the
     first one; the summary's "schema" says how many were checked)
  130/143  interrupted (SIGINT/SIGTERM); with --json the summary still comes`,
		Example: `  tmsws subscribe -c private-chat.42 -c presence-chat.42
  tmsws subscribe -c private-chat.42 --expect MessageSent --timeout 30s
  tmsws subscribe -c private-chat.42 --expect MessageSent --where data.message.user_id=8 --count 2
  tmsws subscribe -c private-chat.42 --expect .message.sent
  tmsws subscribe -c presence-chat.42 --expect member_added
  tmsws subscribe -c private-chat.42 --expect MessageSent --json | jq -e .ok
  tmsws subscribe -c presence-chat.42 --json | jq '.channels[0].members'
  tmsws subscribe -c presence-chat.42 --json --jq '.channels[0].members'
  tmsws subscribe -c private-chat.42 --expect MessageSent --schema chat.schema.json`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return opts.failed(time.Now(), &cmdutil.UsageError{Msg: fmt.Sprintf("unexpected argument %q", args[0]), Hint: "channels go with -c: tmsws subscribe -c " + args[0]})
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
			start := time.Now()
			if err := opts.validate(); err != nil {
				return opts.failed(start, err)
			}
			s, err := f.Settings(c)
			if err != nil {
				return opts.failed(start, err)
			}
			opts.Settings = s
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return Run(c.Context(), opts)
		},
	}
	cmdutil.AddSelectFlags(cmd, &opts.SelectFlags, cmdutil.ChannelsFlag, cmdutil.ExpectFlag, cmdutil.WhereFlag, cmdutil.CountFlag,
		cmdutil.JSONObjectFlag("the summary at the end, with the matched records,"), cmdutil.JQFlag, cmdutil.TemplateFlag, cmdutil.SchemaFlag)
	fl := cmd.Flags()
	fl.DurationVar(&opts.Timeout, "timeout", DefaultTimeout, "limit for everything: connecting, confirmations and expected events (exit 5 when over)")
	fl.BoolVar(&opts.Stats, "stats", false, "print a session summary on stderr at exit (always with -v)")
	fl.IntVar(&opts.ReconnectAttempts, "reconnect-attempts", DefaultReconnectAttempts, "once connected, reconnects in a row that may fail before giving up (exit 4); 0 retries until --timeout")
	fl.DurationVar(&opts.ReconnectDelay, "reconnect-delay", DefaultReconnectDelay, "first delay before reconnecting; it grows by half on each failure, jittered, up to 30s")
	return cmd
}

func (o *Options) validate() error {
	if err := o.SelectFlags.Validate(o.IO.ErrOut); err != nil {
		return err
	}
	if o.Timeout <= 0 {
		return &cmdutil.UsageError{Msg: fmt.Sprintf("--timeout must be positive, got %s", o.Timeout), Hint: "e.g. --timeout 30s"}
	}
	if o.ReconnectAttempts < 0 {
		return cmdutil.Usagef("--reconnect-attempts must be 0 (until --timeout) or more, got %d", o.ReconnectAttempts)
	}
	if o.ReconnectDelay < 0 {
		return cmdutil.Usagef("--reconnect-delay must be positive, got %s", o.ReconnectDelay)
	}
	return nil
}

// Run subscribes, confirms and waits as opts says, all before
// opts.Timeout. It returns nil on success, a *cmdutil.TimeoutError when a
// confirmation or an expected event did not arrive in time, a
// *pusher.ConnError when no connection could be made, and the client's
// error (a refused subscription or authorization) otherwise.
func Run(ctx context.Context, opts *Options) error {
	start := time.Now()
	s := opts.Settings
	var flt *filter.Filter
	if opts.Expect != "" {
		var err error
		if flt, err = filter.Compile([]string{opts.Expect}, opts.Wheres); err != nil {
			return opts.failed(start, err)
		}
	}
	log := cmdutil.NewStatusLog(opts.IO.ErrOut, opts.IO.ColorEnabled(s.Color, opts.IO.ErrTTY), s.Verbose)
	if s.Insecure {
		log.Warn("connection", "--insecure: TLS certificates are not verified")
	}
	check, err := opts.SchemaCheck(log)
	if err != nil {
		return opts.failed(start, err)
	}
	authorizer, err := cmdutil.Authorizer(opts.Settings, opts.Channels, log)
	if err != nil {
		return opts.failed(start, err)
	}
	tlsConf, err := s.TLSConfig()
	if err != nil {
		return opts.failed(start, err)
	}

	var st *stats.Collector // nil: no summary
	if opts.Stats || s.Verbose {
		st = stats.New(start)
	}
	runCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	stdout := bufio.NewWriter(opts.IO.Out)
	k := newSink(opts, start, flt, log, st, stdout)
	k.schema = check
	if k.formatter = opts.Formatter(opts.IO, s.Color); k.formatter != nil && !opts.JSON {
		k.formatted = format.NewWriter(k.formatter, stdout, opts.IO.ErrOut)
	}
	k.deadline, _ = runCtx.Deadline()
	k.auth = authKind(authorizer)

	header := cmdutil.UpgradeHeader(s, opts.Version)
	url := s.WebSocketURL(opts.Version)
	client := pusher.New(pusher.Options{
		URL:               url,
		Header:            header,
		TLSConfig:         tlsConf,
		Channels:          opts.Channels,
		Authorizer:        authorizer,
		ReconnectAttempts: opts.ReconnectAttempts,
		ReconnectDelay:    opts.ReconnectDelay,
		MaxFrame:          s.MaxFrame,
		Sink:              k,
		// This command prints its own line per confirmed channel, with
		// the time it took; the client's plain one is for -v.
		Log: channelLinesAsDebug{log},
	})
	err = client.Run(runCtx)
	end := time.Now()
	switch {
	case err == nil:
	case ctx.Err() != nil:
		err = ctx.Err()
	case runCtx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
		err = k.timeoutError(url, opts.Timeout)
	}
	if check != nil {
		log.Info("schema", check.Summary())
	}
	if err == nil && k.formatted != nil {
		err = k.formatted.Err() // --jq or --template failed on some records
	}
	if err == nil {
		log.Info("subscribe", "ok: "+k.achieved()+" ("+since(start, end)+" since start)")
	}
	if ferr := k.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	_ = st.Print(opts.IO.ErrOut, end, opts.IO.ColorEnabled(s.Color, opts.IO.ErrTTY))
	if opts.JSON {
		if werr := k.writeSummary(opts.IO.Out, end, err); werr != nil && err == nil {
			err = fmt.Errorf("write the summary: %w", werr)
		}
	}
	return err
}

// failed ends the command before it connected: with --json the summary
// still comes on stdout (ok false, the error), as the help promises; err is
// returned as it is, so the exit code stays its own (2 for bad usage).
func (o *Options) failed(start time.Time, err error) error {
	if !o.JSON || o.IO == nil {
		return err
	}
	k := newSink(o, start, nil, nil, nil, nil)
	if s := o.Settings; s != nil {
		k.auth = authEndpoint
		if s.SignLocally {
			k.auth = authLocal
		}
	}
	if werr := k.writeSummary(o.IO.Out, time.Now(), err); werr != nil {
		return errors.Join(err, fmt.Errorf("write the summary: %w", werr))
	}
	return err
}

// The "auth" of a private or presence channel in the summary.
const (
	authEndpoint = "endpoint" // through the auth endpoint (--auth-url)
	authLocal    = "local"    // signed locally with the app secret
)

// authKind says how a authorizes channels: authLocal for the app secret's
// Signer, authEndpoint for anything else, "" without an authorizer (no
// channel needs one).
func authKind(a pusher.Authorizer) string {
	switch a.(type) {
	case nil:
		return ""
	case *auth.Signer:
		return authLocal
	}
	return authEndpoint
}

// channelLinesAsDebug turns the client's "[channel]" status lines into debug
// lines (warnings stay). The client's "subscribed CH" lines are dropped: the
// sink prints its own line per channel, with the time since start, and a
// debug line when a reconnect confirms it again.
type channelLinesAsDebug struct{ *cmdutil.StatusLog }

func (l channelLinesAsDebug) Info(tag, msg string) {
	if tag == "channel" {
		if !strings.HasPrefix(msg, "subscribed ") {
			l.StatusLog.Debug(tag, msg)
		}
		return
	}
	l.StatusLog.Info(tag, msg)
}

// since is the time from start to t, to the millisecond.
func since(start, t time.Time) string {
	return t.Sub(start).Round(time.Millisecond).String()
}
