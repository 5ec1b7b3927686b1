// Package channels implements `tmsws channels`, `tmsws channels info NAME`
// and `tmsws channels users NAME`: the server's view of its channels
// through the signed HTTP API (internal/pusherapi).
package channels

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/format"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/pusherapi"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// What a run of the command asks for.
const (
	List  = "list"  // tmsws channels
	Info  = "info"  // tmsws channels info NAME
	Users = "users" // tmsws channels users NAME
)

// Options are the parsed flags of `tmsws channels` and its subcommands.
type Options struct {
	IO       *iostreams.IO
	Settings *config.Settings
	Version  string
	cmdutil.SelectFlags

	What   string // List, Info or Users
	Prefix string // List: --prefix
	Name   string // Info, Users: the channel
}

const appIDHelp = "the app id of the HTTP API's /apps/{id} (env " + config.EnvAppID + ")"

// NewCmdChannels builds `tmsws channels` with its info and users
// subcommands. runF replaces the behaviour in flag tests.
func NewCmdChannels(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Version: f.Version, What: List}
	cmd := &cobra.Command{
		Use:   "channels [--prefix PREFIX]",
		Short: "List the occupied channels, with their subscription and user counts",
		Long: `List the channels the server has subscribers on, through its signed HTTP API
(GET {ws-path}/apps/{app-id}/channels), on the host and port of the connection
settings, or api-NAME.pusher.com with --cluster. It needs the app id (--app-id
or TMSWS_APP_ID) and the app secret (--app-secret or TMSWS_APP_SECRET); in a
Laravel project both come from the .env (REVERB_APP_ID, REVERB_APP_SECRET).

On a terminal it prints a table: NAME, SUBSCRIPTIONS (connections subscribed)
and USERS (distinct presence users), "-" where the server does not say.
Otherwise, or with --json, it prints one JSON object per channel and line,
{"channel","occupied","subscription_count","user_count"}, for jq; --jq and
--template apply to each of them. No occupied channel prints nothing on stdout.

What each server tells differs: Reverb counts subscriptions of channels that are
not presence ones and users of presence ones; Soketi counts subscriptions only;
Pusher gives subscription counts only when the app has them enabled (tmsws asks
again without when refused). User counts may only be asked for with the
presence- prefix: without --prefix, tmsws asks a second time with it when the
list holds presence channels.
'tmsws channels info NAME' asks about one channel, with all its counts.

A wrong secret exits with 3, a server that cannot be reached or an unknown app
id with 4, a missing app id or secret with 2.`,
		Example: `  tmsws channels
  tmsws channels --prefix presence-
  tmsws channels --json | jq -r 'select(.subscription_count > 1) | .channel'
  tmsws channels --jq .channel
  tmsws channels info presence-chat.42
  tmsws channels users presence-chat.42`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &cmdutil.UsageError{Msg: fmt.Sprintf("unknown subcommand %q", termsafe.Clip(args[0], 64)),
					Hint: "use 'tmsws channels', 'tmsws channels info NAME' or 'tmsws channels users NAME'"}
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
			if err := checkPrefix(opts.Prefix); err != nil {
				return err
			}
			return prepare(c, f, opts, runF)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Prefix, "prefix", "", "only channels whose name starts with `PREFIX`, e.g. presence- or private-chat. (the HTTP API's filter_by_prefix)")
	fl.String(config.FlagAppID, "", appIDHelp)
	cmdutil.AddSelectFlags(cmd, &opts.SelectFlags, cmdutil.JSONFlag, cmdutil.JQFlag, cmdutil.TemplateFlag)
	fl.Lookup("json").Usage = "one JSON object per channel and line (the default when stdout is not a terminal)"
	formatHelp(cmd, "each JSON channel", ".channel", "{{.channel}} {{.subscription_count}}")
	cmd.AddCommand(newCmdInfo(f, runF), newCmdUsers(f, runF))
	return cmd
}

func newCmdInfo(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Version: f.Version, What: Info}
	cmd := &cobra.Command{
		Use:   "info NAME",
		Short: "Show one channel: occupied, subscription and user counts, cache",
		Long: `Show what the server knows of one channel, through its signed HTTP API
(GET {ws-path}/apps/{app-id}/channels/NAME?info=...): whether anyone is
subscribed, the subscription count, for a presence- channel the number of
distinct users, and for a cache channel (cache-, private-cache-,
presence-cache-) the cached last event where the server gives it. A channel
nobody is subscribed to is "occupied: no", not an error.

On a terminal it prints aligned "key: value" lines; otherwise, or with --json,
one JSON object {"channel","occupied","subscription_count","user_count","cache"}
(absent counts left out), which --jq and --template apply to.`,
		Example: `  tmsws channels info presence-chat.42
  tmsws channels info private-chat.42 --json
  tmsws channels info cache-prices --jq .cache`,
		Args: oneChannel("info"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			if err := cmdutil.CheckChannel(opts.Name); err != nil {
				return err
			}
			return prepare(c, f, opts, runF)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.JSON, "json", false, "print the channel as one JSON object (the default when stdout is not a terminal)")
	fl.String(config.FlagAppID, "", appIDHelp)
	cmdutil.AddSelectFlags(cmd, &opts.SelectFlags, cmdutil.JQFlag, cmdutil.TemplateFlag)
	formatHelp(cmd, "the JSON channel object", ".user_count", "{{.channel}}: {{.user_count}} users")
	return cmd
}

func newCmdUsers(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Version: f.Version, What: Users}
	cmd := &cobra.Command{
		Use:   "users PRESENCE-NAME",
		Short: "List the users present on a presence channel",
		Long: `List the ids of the users subscribed to a presence channel, in the server's
order, through its signed HTTP API (GET {ws-path}/apps/{app-id}/channels/NAME/users):
one id per line, or with --json one JSON object {"id":"7"} per line, which --jq
and --template apply to. Only presence- channels have users: another name exits
with 2. An empty channel prints nothing.`,
		Example: `  tmsws channels users presence-chat.42
  tmsws channels users presence-chat.42 --json
  tmsws channels users presence-chat.42 | wc -l`,
		Args: oneChannel("users"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			if err := cmdutil.CheckChannel(opts.Name); err != nil {
				return err
			}
			if !pusherapi.IsPresence(opts.Name) {
				return &cmdutil.UsageError{Msg: fmt.Sprintf("%s is not a presence channel: only presence channels have users", strconv.Quote(termsafe.Clip(opts.Name, 64))),
					Hint: "give a presence- channel, e.g. tmsws channels users presence-chat.42; for others, tmsws channels info NAME counts subscriptions"}
			}
			return prepare(c, f, opts, runF)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.JSON, "json", false, `one JSON object {"id":"..."} per user and line, instead of bare ids`)
	fl.String(config.FlagAppID, "", appIDHelp)
	cmdutil.AddSelectFlags(cmd, &opts.SelectFlags, cmdutil.JQFlag, cmdutil.TemplateFlag)
	formatHelp(cmd, `each JSON user object {"id":"..."}`, ".id", "user {{.id}}")
	return cmd
}

// formatHelp says what --jq and --template apply to here, with examples
// that work on it (the shared help's examples are about event records).
func formatHelp(cmd *cobra.Command, doc, jq, tpl string) {
	fl := cmd.Flags()
	fl.Lookup("jq").Usage = "print " + doc + " through the jq `EXPR` instead (gojq; strings raw, other values as compact JSON), e.g. --jq " + jq
	fl.Lookup("template").Usage = "print " + doc + " through the Go template `TPL` instead (helpers: color, timeago, truncate, json, short, join), e.g. --template '" + tpl + "'"
}

func oneChannel(sub string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return &cmdutil.UsageError{Msg: "no channel given", Hint: "e.g. tmsws channels " + sub + " presence-chat.42"}
		case len(args) > 1:
			return &cmdutil.UsageError{Msg: fmt.Sprintf("one channel at a time, got %d", len(args)), Hint: "run tmsws channels " + sub + " once per channel, or tmsws channels to list them all"}
		}
		return nil
	}
}

// prepare checks the flags, resolves the settings and runs.
func prepare(c *cobra.Command, f *cmdutil.Factory, opts *Options, runF func(context.Context, *Options) error) error {
	if err := opts.Validate(opts.IO.ErrOut); err != nil {
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
}

var prefixChars = regexp.MustCompile(`\A[-a-zA-Z0-9_=@,.;]*\z`)

func checkPrefix(p string) error {
	if len(p) > cmdutil.MaxChannelLen || !prefixChars.MatchString(p) {
		return &cmdutil.UsageError{Msg: fmt.Sprintf("--prefix %s is not the start of a channel name", strconv.Quote(termsafe.Clip(p, 64))),
			Hint: "channel names use letters, digits and - _ = @ , . ; only, e.g. --prefix presence-"}
	}
	return nil
}

// Run asks the server and prints the answer.
func Run(ctx context.Context, opts *Options) error {
	client, err := pusherapi.New(opts.Settings, opts.Version)
	if err != nil {
		return err
	}
	switch opts.What {
	case Info:
		ch, err := client.Channel(ctx, opts.Name)
		if err != nil {
			return err
		}
		return opts.printInfo(ch)
	case Users:
		ids, err := client.Users(ctx, opts.Name)
		if err != nil {
			return err
		}
		return opts.printUsers(ids)
	default:
		chs, err := client.Channels(ctx, opts.Prefix)
		if err != nil {
			return err
		}
		return opts.printList(chs)
	}
}

// writer is the --jq/--template writer, nil when neither was given.
func (o *Options) writer(noun string) *format.Writer {
	f := o.Formatter(o.IO, o.Settings.Color)
	if f == nil {
		return nil
	}
	w := format.NewWriter(f, o.IO.Out, o.IO.ErrOut)
	w.Noun = noun
	return w
}

func encode(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // plain structs, strings and raw JSON checked by jsonsafe
	return b.Bytes()
}

func (o *Options) printList(chs []pusherapi.Channel) error {
	if len(chs) == 0 {
		if o.IO.OutTTY || o.IO.ErrTTY {
			what := "no occupied channels"
			if o.Prefix != "" {
				what += " whose name starts with " + strconv.Quote(o.Prefix)
			}
			fmt.Fprintln(o.IO.ErrOut, what)
		}
		return nil
	}
	if w := o.writer("channel"); w != nil {
		for _, ch := range chs {
			if err := w.Write(encode(ch)); err != nil {
				return err
			}
		}
		return w.Err()
	}
	if o.JSON || !o.IO.OutTTY {
		var b []byte
		for _, ch := range chs {
			b = append(b, encode(ch)...)
		}
		_, err := o.IO.Out.Write(b)
		return err
	}
	tw := tabwriter.NewWriter(o.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSUBSCRIPTIONS\tUSERS")
	for _, ch := range chs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", termsafe.String(ch.Name), count(ch.SubscriptionCount), count(ch.UserCount))
	}
	return tw.Flush()
}

func count(n *int) string {
	if n == nil {
		return "-"
	}
	return strconv.Itoa(*n)
}

func (o *Options) printInfo(ch pusherapi.Channel) error {
	if w := o.writer("channel"); w != nil {
		if err := w.Write(encode(ch)); err != nil {
			return err
		}
		return w.Err()
	}
	if o.JSON || !o.IO.OutTTY {
		_, err := o.IO.Out.Write(encode(ch))
		return err
	}
	occupied := "no"
	if ch.Occupied {
		occupied = "yes"
	}
	lines := [][2]string{{"channel", termsafe.String(ch.Name)}, {"occupied", occupied}, {"subscriptions", count(ch.SubscriptionCount)}}
	if pusherapi.IsPresence(ch.Name) {
		lines = append(lines, [2]string{"users", count(ch.UserCount)})
	}
	if pusherapi.IsCache(ch.Name) {
		cache := "-"
		if len(ch.Cache) > 0 {
			cache = termsafe.Clip(string(ch.Cache), 500)
		}
		lines = append(lines, [2]string{"cache", cache})
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%-14s %s\n", l[0]+":", l[1])
	}
	_, err := fmt.Fprint(o.IO.Out, b.String())
	return err
}

func (o *Options) printUsers(ids []string) error {
	type user struct {
		ID string `json:"id"`
	}
	if w := o.writer("user"); w != nil {
		for _, id := range ids {
			if err := w.Write(encode(user{id})); err != nil {
				return err
			}
		}
		return w.Err()
	}
	var b []byte
	for _, id := range ids {
		if o.JSON {
			b = append(b, encode(user{id})...)
		} else {
			b = termsafe.Append(b, id)
			b = append(b, '\n')
		}
	}
	_, err := o.IO.Out.Write(b)
	return err
}
