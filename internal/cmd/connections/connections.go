// Package connections implements `tmsws connections`: the number of
// connections to the app, from Reverb's HTTP API.
package connections

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/english"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/pusherapi"
)

// Options are the parsed flags of `tmsws connections`.
type Options struct {
	IO       *iostreams.IO
	Settings *config.Settings
	Version  string
	JSON     bool
}

// NewCmdConnections builds `tmsws connections`. runF replaces the
// behaviour in flag tests.
func NewCmdConnections(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Version: f.Version}
	cmd := &cobra.Command{
		Use:   "connections",
		Short: "Count the connections to the app (Laravel Reverb)",
		Long: `Count the app's connections through Reverb's signed HTTP API
(GET {ws-path}/apps/{app-id}/connections), on the host and port of the
connection settings. Reverb counts the connections subscribed to at least one
channel. It needs the app id (--app-id or TMSWS_APP_ID) and the app secret
(--app-secret or TMSWS_APP_SECRET); in a Laravel project both come from the
.env (REVERB_APP_ID, REVERB_APP_SECRET).

On a terminal it prints "N connections"; otherwise, or with --json, the JSON
object {"connections":N}.

Only Reverb has this endpoint: Pusher Channels and Soketi answer 404, which
exits with 4 and says so ('tmsws channels' works on all three). A wrong secret
exits with 3, a server that cannot be reached or an unknown app id with 4, a
missing app id or secret with 2.`,
		Example: `  tmsws connections
  tmsws connections --json | jq .connections`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &cmdutil.UsageError{Msg: fmt.Sprintf("unexpected argument %q", args[0]), Hint: "tmsws connections takes no arguments"}
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
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
	fl.BoolVar(&opts.JSON, "json", false, `print {"connections":N} (the default when stdout is not a terminal)`)
	fl.String(config.FlagAppID, "", "the app id of the HTTP API's /apps/{id} (env "+config.EnvAppID+")")
	return cmd
}

// Run asks the server and prints the count.
func Run(ctx context.Context, opts *Options) error {
	client, err := pusherapi.New(opts.Settings, opts.Version)
	if err != nil {
		return err
	}
	n, err := client.Connections(ctx)
	if err != nil {
		return err
	}
	if opts.JSON || !opts.IO.OutTTY {
		_, err = fmt.Fprintf(opts.IO.Out, "{\"connections\":%d}\n", n)
		return err
	}
	_, err = fmt.Fprintln(opts.IO.Out, english.Count(n, "connection"))
	return err
}
