// Package listen implements `tmsws listen`: subscribe to channels and
// stream their events until stopped.
package listen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/filter"
	"github.com/amusoft/tmsws/internal/format"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/render"
	"github.com/amusoft/tmsws/internal/stats"
)

// Options are the parsed flags of `tmsws listen`.
type Options struct {
	IO       *iostreams.IO
	Settings *config.Settings
	Version  string

	cmdutil.SelectFlags // -c, -e, --where, --json, --pretty, -o, --count, --show-protocol

	Duration time.Duration
	Stats    bool

	// --all [GLOB...]: discover the channels through the HTTP API (all.go).
	All           bool
	Globs         []string
	DiscoverEvery time.Duration

	ReconnectAttempts int
	ReconnectDelay    time.Duration

	// StopAfter ends the run after this many records were shown (demo knows
	// how many its recording holds); 0 means no limit.
	StopAfter int

	// Tuning for tests; zero means the protocol defaults.
	PongTimeout time.Duration
	MaxActivity time.Duration
}

// NewCmdListen builds `tmsws listen`. runF replaces the behaviour in flag
// tests.
func NewCmdListen(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Version: f.Version}
	cmd := &cobra.Command{
		Use:   "listen {-c CHANNEL [-c CHANNEL...] | --all [GLOB...]}",
		Short: "Subscribe to channels and stream their events until stopped",
		Long: `Subscribe to one or more channels and stream their events until stopped.

Channels whose name starts with private- or presence- are authorized through
the app's /broadcasting/auth with the token stored for that server or --token,
or signed locally when an app secret is set and no --auth-url/--token flag asks
for the endpoint (--sign-locally/--no-sign-locally decide); each [auth] line
says which. private-encrypted- channels are decrypted (signing them locally
needs --encryption-master-key). On a terminal the
events are colour-coded lines; otherwise (or with --json) one JSON record per
line. Status lines go to stderr, so stdout is always clean for jq.

Whatever the server sends, tmsws stays up and small: a frame over
--max-frame (16 MiB) drops the connection (exit 4 on the first one, a
reconnect on a live one), JSON nested deeper than 1000 levels is reported
and skipped, at most 4 MiB are read ahead of a slow stdout, and the
server's text is escaped before it reaches the terminal. A new -o file is
created 0600.

With --all, listen is a debug console for a self-hosted server (Reverb,
Soketi; Pusher's own dashboard has one): it lists the occupied channels
through the HTTP API (needs --app-id and --app-secret) every
--discover-every (2s) and at once after each reconnect, and subscribes to
each new one, or to those matching the GLOB arguments ('private-chat.*').
Discovered private and presence channels are signed locally with the app
secret, even without --sign-locally (presence as the member tmsws-observer);
private-encrypted- ones need --encryption-master-key and are skipped
without it. A channel that only tmsws keeps occupied (its
subscription_count is 1, or a presence channel's user_count), or that is
gone from the list, is left once it has looked so for a grace period of
twice --discover-every; one that comes back is subscribed again. stderr
says "+ NAME" when a channel is joined and "- NAME" when it is left. At
most 1000 discovered channels are followed at a time (a warning says when
the server lists more: narrow it with a GLOB), and names that are no channel
names are skipped. -c
channels may be given too; filters, -o, --count and the output formats
apply as always.`,
		Example: `  tmsws listen -c private-chat.42
  tmsws listen -c private-chat.42 -c presence-chat.42 -e MessageSent -e UserIsTyping
  tmsws listen -c private-chat.42 -e MessageSent --json | jq .data.message.content
  tmsws listen -c presence-chat.42 -e 'member_*'
  tmsws listen -c private-chat.42 -e .message.sent
  tmsws listen -c private-chat.42 --where data.message.user_id=8 -o session.jsonl
  tmsws listen -c private-chat.42 -e MessageSent --jq .data.message.content
  tmsws listen -c private-chat.42 --template '{{timeago .ts}} {{short .event}}: {{.data.message.content}}'
  tmsws listen -c private-chat.42 --schema chat.schema.json
  tmsws listen -c chat --host 127.0.0.1 --port 6001 --scheme http --key app-key --app-secret app-secret
  tmsws listen --all --app-id app-id --app-secret app-secret
  tmsws listen --all 'private-chat.*' 'presence-*' -e MessageSent`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 && !opts.All {
				return &cmdutil.UsageError{Msg: fmt.Sprintf("unexpected argument %q", args[0]), Hint: "channels go with -c: tmsws listen -c " + args[0]}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if c.Flags().Changed("discover-every") && !opts.All {
				return &cmdutil.UsageError{Msg: "--discover-every needs --all", Hint: "e.g. tmsws listen --all --discover-every 5s"}
			}
			opts.Globs = args
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
	cmdutil.AddSelectFlags(cmd, &opts.SelectFlags, cmdutil.ChannelsFlag, cmdutil.EventFlag, cmdutil.WhereFlag,
		cmdutil.JSONFlag, cmdutil.PrettyFlag, cmdutil.OutputFlag, cmdutil.CountFlag, cmdutil.ShowProtocolFlag,
		cmdutil.JQFlag, cmdutil.TemplateFlag, cmdutil.SchemaFlag)
	fl := cmd.Flags()
	fl.DurationVar(&opts.Duration, "duration", 0, "stop after this long (exit 0), e.g. 30s, 5m")
	fl.BoolVar(&opts.Stats, "stats", false, "print a session summary on stderr at exit (always with -v): events per channel and event, rate, reconnects, largest payload")
	fl.IntVar(&opts.ReconnectAttempts, "reconnect-attempts", 0, "once connected, reconnects in a row that may fail before giving up (exit 4); 0 retries forever (the default)")
	fl.DurationVar(&opts.ReconnectDelay, "reconnect-delay", 3*time.Second, "first delay before reconnecting; it grows by half on each failure, jittered, up to 30s")
	fl.BoolVar(&opts.All, "all", false, "discover the occupied channels through the HTTP API (needs --app-id and --app-secret) and subscribe to each; arguments are globs over their names")
	fl.DurationVar(&opts.DiscoverEvery, "discover-every", DefaultDiscoverEvery, "with --all: how often to list the channels; one that only tmsws occupies is left after twice this")
	fl.String(config.FlagAppID, "", "with --all: the app id of the HTTP API's /apps/{id} (env "+config.EnvAppID+")")
	return cmd
}

func (o *Options) validate() error {
	o.ChannelsOptional = o.All // --all needs no -c
	if err := o.SelectFlags.Validate(o.IO.ErrOut); err != nil {
		return err
	}
	if o.All {
		if err := checkGlobs(o.Globs); err != nil {
			return err
		}
		if o.DiscoverEvery <= 0 {
			return cmdutil.Usagef("--discover-every must be positive, got %s", o.DiscoverEvery)
		}
	}
	if o.Duration < 0 {
		return cmdutil.Usagef("--duration must be positive, got %s", o.Duration)
	}
	if o.ReconnectAttempts < 0 {
		return cmdutil.Usagef("--reconnect-attempts must be 0 (forever) or more, got %d", o.ReconnectAttempts)
	}
	if o.ReconnectDelay < 0 {
		return cmdutil.Usagef("--reconnect-delay must be positive, got %s", o.ReconnectDelay)
	}
	return nil
}

// Run streams the channels of opts until ctx ends or opts says to stop.
// demo reuses it against the embedded server.
func Run(ctx context.Context, opts *Options) error {
	s := opts.Settings
	flt, err := filter.Compile(opts.Events, opts.Wheres)
	if err != nil {
		return err
	}
	errOut := opts.IO.ErrOut
	if opts.All {
		errOut = &lockedWriter{w: errOut} // the discovery writes from its own goroutine
	}
	log := cmdutil.NewStatusLog(errOut, opts.IO.ColorEnabled(s.Color, opts.IO.ErrTTY), s.Verbose)
	if s.Insecure {
		log.Warn("connection", "--insecure: TLS certificates are not verified")
	}

	check, err := opts.SchemaCheck(log)
	if err != nil {
		return err
	}
	authorizer, err := cmdutil.Authorizer(s, opts.Channels, log)
	if err != nil {
		return err
	}
	var disc *discovery // --all
	if opts.All {
		disc, authorizer, err = newDiscovery(opts, authorizer, log, errOut, opts.IO.ColorEnabled(s.Color, opts.IO.ErrTTY))
		if err != nil {
			return err
		}
	}
	tlsConf, err := s.TLSConfig()
	if err != nil {
		return err
	}

	var st *stats.Collector // nil: no summary
	if opts.Stats || s.Verbose {
		st = stats.New(time.Now())
	}
	sink := &sink{filter: flt, showProtocol: opts.ShowProtocol, max: opts.Count, maxShown: opts.StopAfter, stats: st, schema: check}
	stdout := bufio.NewWriterSize(opts.IO.Out, 64<<10)
	var formatted *format.Writer // --jq, --template
	if f := opts.Formatter(opts.IO, s.Color); f != nil {
		formatted = format.NewWriter(f, stdout, errOut)
		sink.out = &formatOut{w: formatted, buf: stdout}
	} else if opts.Pretty || (!opts.JSON && opts.IO.OutTTY) {
		sink.out = render.NewPretty(stdout, render.Options{Color: opts.IO.ColorEnabled(s.Color, opts.IO.OutTTY), Location: time.Local, Channels: opts.Channels, MaxBody: opts.BodyLimit(opts.IO)})
	} else {
		sink.out = &jsonOut{w: record.NewWriter(stdout), buf: stdout}
	}
	if opts.Output != "" {
		f, err := cmdutil.OpenOutput(ctx, opts.Output)
		if err != nil {
			return err
		}
		defer f.Close()
		sink.file = record.NewWriter(f)
	}

	runCtx := ctx
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}

	header := cmdutil.UpgradeHeader(s, opts.Version)
	client := pusher.New(pusher.Options{
		URL:               s.WebSocketURL(opts.Version),
		Header:            header,
		TLSConfig:         tlsConf,
		Channels:          opts.Channels,
		Authorizer:        authorizer,
		ReconnectAttempts: opts.ReconnectAttempts,
		ReconnectDelay:    opts.ReconnectDelay,
		PongTimeout:       opts.PongTimeout,
		MaxActivity:       opts.MaxActivity,
		MaxFrame:          s.MaxFrame,
		Sink:              disc.wrap(sink),
		Log:               log,
	})
	if disc != nil {
		if err := disc.start(runCtx, client); err != nil {
			return err
		}
	}
	err = client.Run(runCtx)
	disc.stop()
	if ferr := sink.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	_ = st.Print(opts.IO.ErrOut, time.Now(), opts.IO.ColorEnabled(s.Color, opts.IO.ErrTTY))
	if check != nil {
		log.Info("schema", check.Summary())
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return ctx.Err()
	case runCtx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
		log.Info("connection", "stopped after "+opts.Duration.String())
	default:
		return err
	}
	if formatted != nil {
		if err := formatted.Err(); err != nil {
			return err // --jq or --template failed on some records
		}
	}
	if check != nil {
		return check.Err() // exit 6 when an event broke its contract
	}
	return nil
}

// output is where records are shown on stdout: JSON lines or pretty lines.
type output interface {
	Write(r *record.Record) error
	Flush() error
}

type jsonOut struct {
	w   *record.Writer
	buf *bufio.Writer
}

func (j *jsonOut) Write(r *record.Record) error { return j.w.Write(r) }

func (j *jsonOut) Flush() error {
	if err := j.w.Flush(); err != nil {
		return err
	}
	return j.buf.Flush()
}

// formatOut shows each record through --jq or --template.
type formatOut struct {
	w   *format.Writer
	buf *bufio.Writer
	rec []byte
}

func (o *formatOut) Write(r *record.Record) error {
	o.rec = r.AppendJSON(o.rec[:0])
	return o.w.Write(o.rec)
}

func (o *formatOut) Flush() error { return o.buf.Flush() }

var errCountReached = pusher.ErrStop

// sink filters records and writes them to stdout and the --output file.
type sink struct {
	filter       *filter.Filter
	showProtocol bool
	out          output
	file         *record.Writer
	count, max   int
	shown        int
	maxShown     int
	stats        *stats.Collector     // nil without --stats or -v
	schema       *cmdutil.SchemaCheck // nil without --schema
}

func (s *sink) Write(r *record.Record) error {
	s.stats.Seen(r)
	if !s.showProtocol && !r.IsDefault() {
		return nil
	}
	if !s.filter.Match(r) {
		return nil
	}
	if s.schema != nil {
		s.schema.Record(r)
	}
	if err := s.out.Write(r); err != nil {
		return err
	}
	if s.file != nil {
		if err := s.file.Write(r); err != nil {
			return fmt.Errorf("write --output file: %w", err)
		}
	}
	s.shown++
	s.stats.Shown(r)
	if s.maxShown > 0 && s.shown >= s.maxShown {
		return errCountReached
	}
	// A cache channel's replayed event happened before the run (and comes
	// again after each reconnect): shown, marked, but not counted.
	if !r.Cached && s.filter.Counts(r.Type) {
		s.count++
		if s.max > 0 && s.count >= s.max {
			return errCountReached
		}
	}
	return nil
}

func (s *sink) Flush() error {
	err := s.out.Flush()
	if s.file != nil {
		if ferr := s.file.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("write --output file: %w", ferr)
		}
	}
	return err
}
