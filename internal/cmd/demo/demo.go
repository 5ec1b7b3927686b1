// Package demo implements `tmsws demo`: the embedded server plays the
// bundled chat session and listen shows it, with no setup and no network.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
	Speed    float64
	Recorded []byte // the recording to play; the embedded one by default

	cmdutil.SelectFlags // --json, --pretty
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
No flags, no network, no login. It ends by itself after about 15 seconds;
--loop keeps it going until Ctrl-C.`,
		Example: `  tmsws demo
  tmsws demo --json | jq -r 'select(.type == "event" and (.event | endswith("MessageSent"))) | .data.message.content'
  tmsws demo --speed 4`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cmdutil.Usagef("demo takes no arguments, got %q", args[0])
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.Speed <= 0 {
				return cmdutil.Usagef("--speed must be more than 0, got %v", opts.Speed)
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
	cmd.Flags().Float64Var(&opts.Speed, "speed", 1, "play faster (2 = twice as fast)")
	cmdutil.AddSelectFlags(cmd, &opts.SelectFlags, cmdutil.JSONFlag, cmdutil.PrettyFlag)
	return cmd
}

// Run plays the recording and shows it until it ends (or ctx ends with
// --loop).
func Run(ctx context.Context, opts *Options) error {
	flt, err := filter.Compile(nil, nil)
	if err != nil {
		return err
	}
	rec, malformed, err := replay.LoadRecording(ctx, []string{"-"}, bytes.NewReader(opts.Recorded), flt, 0)
	if err != nil {
		return fmt.Errorf("load the demo recording: %w", err)
	}
	if len(malformed) > 0 || len(rec.Items) == 0 {
		return fmt.Errorf("the demo recording is damaged: %d items, %d malformed lines", len(rec.Items), len(malformed))
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

	// The demo ends when every recorded record has been shown; the session's
	// length at this speed plus some slack is only a safety net.
	stopAfter := len(rec.Items)
	length := rec.Items[len(rec.Items)-1].Offset - rec.Items[0].Offset
	duration := (time.Duration(float64(length)/opts.Speed) + 10*time.Second).Round(time.Second)
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
		SelectFlags:       cmdutil.SelectFlags{Channels: channels, JSON: opts.JSON, Pretty: opts.Pretty},
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
