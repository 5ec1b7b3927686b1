// Package demo implements `tmsws demo`: the embedded server plays the
// bundled chat session and listen shows it, with no setup and no network.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws"
	"github.com/amusoft/tmsws/internal/cmd/listen"
	"github.com/amusoft/tmsws/internal/cmd/replay"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/filter"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/server"
)

// The channels of the bundled recording: a private chat and its presence
// channel, as the TMS app subscribes them.
var channels = []string{"private-chat.42", "presence-chat.42"}

// Options are the parsed flags of `tmsws demo`.
type Options struct {
	IO       *iostreams.IO
	Version  string
	Color    string
	Verbose  bool
	Loop     bool
	Speed    float64 // 0: as fast as possible
	Recorded []byte  // the recording to play; the embedded one by default

	cmdutil.SelectFlags // -e, --where, --json, --pretty, --wide, --jq, --template, --schema
}

// NewCmdDemo builds `tmsws demo`.
func NewCmdDemo(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Version: f.Version, Recorded: tmsws.DemoRecording}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Play a bundled chat session through an embedded server and show it",
		Long: `Start the embedded Pusher server on a free loopback port with a bundled recording
of a TMS chat session, connect the listener to it through a private and a
presence channel with real channel authorization, and show the events:
messages sent, typing on and off, messages read, members joining and leaving.
No setup, no network, no login.

The session lasts ` + lasts(tmsws.DemoRecording) + ` (its first record to its last) and the
demo ends after it; --speed 2 plays it twice as fast, --speed 0 all at once,
and --loop again and again until Ctrl-C. -e and --where show only the
records they select, as they do for listen and replay (the rule is below).`,
		Example: `  tmsws demo
  tmsws demo --json | jq -r 'select(.type == "event" and (.event | endswith("MessageSent"))) | .data.message.content'
  tmsws demo -e MessageSent --where data.message.user_id=8
  tmsws demo --speed 4
  tmsws demo --speed 0 --json > session.jsonl
  tmsws demo --speed 0 --jq 'select(.type == "event" and (.event | endswith("MessageSent"))) | .data.message.content'
  tmsws demo --speed 0 --schema testdata/schemas/demo.schema.json`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cmdutil.Usagef("demo takes no arguments, got %q", args[0])
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
			if err := cmdutil.CheckSpeed(opts.Speed); err != nil {
				return err
			}
			if err := opts.SelectFlags.Validate(f.IO.ErrOut); err != nil {
				return err
			}
			opts.Color, opts.Verbose = f.Flags.Color, f.Flags.Verbose
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return Run(c.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Loop, "loop", false, "play the session again and again until interrupted")
	// The words of replay's --speed, which has another default.
	cmd.Flags().Float64Var(&opts.Speed, "speed", 1, "keep the recorded timing scaled by `X` (2 = twice as fast); 0 = as fast as possible")
	cmdutil.AddSelectFlags(cmd, &opts.SelectFlags, cmdutil.EventFlag, cmdutil.WhereFlag, cmdutil.JSONFlag, cmdutil.PrettyFlag,
		cmdutil.JQFlag, cmdutil.TemplateFlag, cmdutil.SchemaFlag)
	return cmd
}

// withChannels is the demo's flags for listen, with the recording's
// channels: the compiled --jq or --template and --schema come along.
func (o *Options) withChannels(channels []string) cmdutil.SelectFlags {
	sf := o.SelectFlags
	sf.Channels = channels
	return sf
}

// lasts says how long the recording plays at the default --speed 1, in
// whole seconds: "about 11 seconds".
func lasts(recorded []byte) string {
	length, err := Length(recorded)
	if err != nil {
		return "as long as it was recorded"
	}
	switch n := int(math.Round(length.Seconds())); n {
	case 1:
		return "about 1 second"
	default:
		return fmt.Sprintf("about %d seconds", n)
	}
}

// Length is the time from the first record of a recording to its last, as
// the embedded server plays it at --speed 1.
func Length(recorded []byte) (time.Duration, error) {
	rec, err := load(context.Background(), recorded, nil, nil)
	if err != nil {
		return 0, err
	}
	return span(rec), nil
}

// load reads the recording, keeping the records that -e and --where
// select, as replay --serve does.
func load(ctx context.Context, recorded []byte, events, wheres []string) (*server.Recording, error) {
	flt, err := filter.Compile(events, wheres)
	if err != nil {
		return nil, err
	}
	rec, malformed, err := replay.LoadRecording(ctx, []string{"-"}, bytes.NewReader(recorded), flt, 0)
	if err != nil {
		return nil, fmt.Errorf("load the demo recording: %w", err)
	}
	if len(malformed) > 0 {
		return nil, fmt.Errorf("the demo recording is damaged: %s", malformed[0])
	}
	return rec, nil
}

// span is the time from the recording's first item to its last.
func span(rec *server.Recording) time.Duration {
	if len(rec.Items) == 0 {
		return 0
	}
	return rec.Items[len(rec.Items)-1].Offset - rec.Items[0].Offset
}

// Run plays the recording and shows it until it ends (or ctx ends with
// --loop).
func Run(ctx context.Context, opts *Options) error {
	rec, err := load(ctx, opts.Recorded, opts.Events, opts.Wheres)
	if err != nil {
		return err
	}
	if len(rec.Items) == 0 {
		if len(opts.Events) == 0 && len(opts.Wheres) == 0 {
			return errors.New("the demo recording is damaged: it holds no record")
		}
		return &cmdutil.UsageError{Msg: "no record of the demo session matches -e and --where",
			Hint: "the session has the events MessageSent, UserIsTyping and MessagesRead and member_added and member_removed records; see tmsws demo --json"}
	}
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	log := cmdutil.NewStatusLog(opts.IO.ErrOut, opts.IO.ColorEnabled(opts.Color, opts.IO.ErrTTY), opts.Verbose)
	srv, err := server.Start(server.Config{
		Addr:           "127.0.0.1:0",
		AppKey:         "tmsws-demo",
		AppSecret:      hex.EncodeToString(secret),
		Like:           server.LikeReverb, // what a TMS app runs against
		Recording:      rec,
		Speed:          opts.Speed,
		Loop:           opts.Loop,
		MaxMessageSize: server.DefaultMaxMessageSize,
		NoHistory:      true, // it may loop for hours
		Logf:           func(format string, args ...any) { log.Debug("server", fmt.Sprintf(format, args...)) },
	})
	if err != nil {
		return fmt.Errorf("start the embedded server: %w", err)
	}
	defer srv.Close()
	host, portStr, _ := net.SplitHostPort(srv.Addr())
	port, _ := strconv.Atoi(portStr)
	log.Info("demo", "playing a recorded chat session through the embedded server at "+srv.Addr()+" (Ctrl-C to stop)")

	// The demo ends when every selected record has been shown; the
	// session's length at this speed plus some slack is only a safety net.
	stopAfter := len(rec.Items)
	duration := 10 * time.Second
	if opts.Speed > 0 {
		duration = (time.Duration(float64(span(rec))/opts.Speed) + duration).Round(time.Second)
	}
	if opts.Loop {
		stopAfter, duration = 0, 0
	}
	base := "http://" + srv.Addr()
	lopts := &listen.Options{
		IO:      opts.IO,
		Version: opts.Version,
		Settings: &config.Settings{
			Profile:     "demo",
			Host:        host,
			Port:        port,
			Scheme:      "http",
			Key:         "tmsws-demo",
			APIURL:      base,
			AuthURL:     base + "/broadcasting/auth",
			Token:       "demo-token", // the embedded endpoint signs for anyone
			TokenSource: "the demo",
			HTTPTimeout: 5 * time.Second,
			Color:       opts.Color,
			Verbose:     opts.Verbose,
		},
		SelectFlags:       opts.withChannels(channels),
		Duration:          duration,
		StopAfter:         stopAfter,
		ReconnectAttempts: 3,
		ReconnectDelay:    200 * time.Millisecond,
	}
	if err := listen.Run(ctx, lopts); err != nil {
		return err
	}
	log.Info("demo", "that was a recorded session; next, point tmsws listen at your server (tmsws listen --help)")
	return nil
}
