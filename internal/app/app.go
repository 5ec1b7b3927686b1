// Package app builds the root command, runs it under a signal-aware
// context, and turns every error into the exit codes of the CLI contract.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmd/channels"
	configcmd "github.com/amusoft/tmsws/internal/cmd/config"
	"github.com/amusoft/tmsws/internal/cmd/connections"
	"github.com/amusoft/tmsws/internal/cmd/demo"
	"github.com/amusoft/tmsws/internal/cmd/doctor"
	"github.com/amusoft/tmsws/internal/cmd/helptopics"
	"github.com/amusoft/tmsws/internal/cmd/listen"
	"github.com/amusoft/tmsws/internal/cmd/login"
	"github.com/amusoft/tmsws/internal/cmd/ping"
	"github.com/amusoft/tmsws/internal/cmd/replay"
	schemacmd "github.com/amusoft/tmsws/internal/cmd/schema"
	"github.com/amusoft/tmsws/internal/cmd/subscribe"
	"github.com/amusoft/tmsws/internal/cmd/trigger"
	"github.com/amusoft/tmsws/internal/cmd/version"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/filter"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/server"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// Version, Commit and Date are set at build time with -ldflags
// "-X github.com/amusoft/tmsws/internal/app.Version=v1.2.3
// -X github.com/amusoft/tmsws/internal/app.Commit=1a2b3c4
// -X github.com/amusoft/tmsws/internal/app.Date=2026-12-01T10:00:00Z"
// (goreleaser passes all three). Left unset, they come from the build
// information Go stamps into the binary.
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// versionInfo is this build's version, commit and date: Version, Commit and
// Date when set at build time, else what Go stamped into the binary (the
// module version of go install module@v1.2.3, vcs.revision, vcs.time).
func versionInfo() version.Info { return version.Current(Version, Commit, Date) }

// Exit codes of the CLI contract.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitAuth        = 3
	ExitConnection  = 4
	ExitTimeout     = 5
	ExitContract    = 6
	ExitInterrupted = 130
	ExitPipe        = 141 // stdout closed (| head): 128 + SIGPIPE
	ExitTerminated  = 143
)

// exitCodeHelp is tmsws help exit-codes: every exit code, its meaning, and
// what causes it (classify and Main decide).
var exitCodeHelp = []helptopics.ExitCode{
	{Code: ExitOK, Meaning: "success", Causes: "listen stopped by --count or --duration; subscribe confirmed every channel and saw the --expect events; doctor passed every step."},
	{Code: ExitError, Meaning: "an unexpected error", Causes: "a file that cannot be opened or written; replay skipped malformed lines; the API answered with a server error or a body that is not the JSON expected."},
	{Code: ExitUsage, Meaning: "bad usage", Causes: "an unknown command or flag; a missing -c channel; a malformed --where; a bad value in a flag, a TMSWS_* variable, the config file or the Laravel .env (TMSWS_PORT=abc); an unknown --profile."},
	{Code: ExitAuth, Meaning: "authentication or authorization refused", Causes: "the login was rejected; no stored token (run tmsws login); the auth endpoint answered 401, 403 or 419; the server rejected the subscription (pusher:subscription_error)."},
	{Code: ExitConnection, Meaning: "connection failed", Causes: "nothing listening, an unknown host, a TLS failure (https spoken to a plain server: check --scheme); the handshake refused (pusher:error 4000-4099, an unknown app key); the reconnect attempts (--reconnect-attempts) used up; the API unreachable or too slow (--http-timeout)."},
	{Code: ExitTimeout, Meaning: "timed out", Causes: "subscribe --timeout passed before the subscription was confirmed or the --expect events came; a client event's channel not confirmed within trigger --client's --timeout; a ping gate exceeded (--max-p99, --max-loss)."},
	{Code: ExitContract, Meaning: "a payload broke its contract", Causes: "subscribe --schema saw an event whose data does not match its event's JSON Schema."},
	{Code: ExitInterrupted, Meaning: "interrupted (Ctrl-C, SIGINT)", Causes: "output written so far, -o included, is complete: no partial line; a second Ctrl-C exits at once."},
	{Code: ExitPipe, Meaning: "stdout closed", Causes: "the reader of a pipe went away (tmsws listen | head -1); the -o file is still complete."},
	{Code: ExitTerminated, Meaning: "terminated (SIGTERM)", Causes: "kill, a CI job's timeout, docker stop; output written so far is complete, as for 130."},
}

// Main runs tmsws with the process's arguments and streams and returns the
// exit code.
func Main() int {
	io := iostreams.System()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var got atomic.Value
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	// With SIGPIPE handled, a write to a closed stdout (| head -1) fails
	// with EPIPE instead of killing the process, so the -o file is flushed
	// and the exit is still 141 (ExitCode maps EPIPE).
	pipes := make(chan os.Signal, 1)
	signal.Notify(pipes, syscall.SIGPIPE)
	defer signal.Stop(pipes)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		got.Store(s)
		cancel()
		// A second signal means "now": the first one is already flushing.
		// So does an output that stays blocked (a FIFO nobody reads, a
		// stalled terminal) after the first.
		select {
		case s2, ok := <-sigs:
			if ok {
				io.RestoreTerminal() // a prompt's echo, off while it waits
				os.Exit(signalCode(s2))
			}
		case <-time.After(signalGrace):
			fmt.Fprintf(os.Stderr, "tmsws: still writing output %s after the signal: exiting without it\n", signalGrace)
			io.RestoreTerminal()
			os.Exit(signalCode(s))
		}
	}()

	code := Run(ctx, io, os.Args[1:])
	if s, ok := got.Load().(os.Signal); ok {
		return signalCode(s)
	}
	return code
}

// signalGrace is how long the first Ctrl-C or SIGTERM lets tmsws flush
// its outputs before it exits regardless.
const signalGrace = 3 * time.Second

func signalCode(s os.Signal) int {
	if s == syscall.SIGTERM {
		return ExitTerminated
	}
	return ExitInterrupted
}

// Run executes one command line and returns its exit code; errors are
// printed on io.ErrOut with their hint.
func Run(ctx context.Context, io *iostreams.IO, args []string) int {
	f := &cmdutil.Factory{IO: io, Version: versionInfo().Version}
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	c, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	err = unknownCommand(c, err)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	code, hint := classify(err)
	if code == ExitPipe {
		return code // the reader went away; there is nobody to tell
	}
	printError(io.ErrOut, io.ColorEnabled(f.Flags.Color, io.ErrTTY), err, hint)
	return code
}

// NewRootCmd builds the command tree. f.Version, when set, is the version
// tmsws version and --version print (tests set one).
func NewRootCmd(f *cmdutil.Factory) *cobra.Command {
	info := versionInfo()
	if f.Version != "" {
		info.Version = f.Version
	}
	root := &cobra.Command{
		Use:   "tmsws",
		Short: "Listen to a Pusher-protocol WebSocket server (Laravel Reverb, Pusher, Soketi) like a real app",
		Long: `tmsws logs in to the Laravel API, authorizes private and presence channels through
/broadcasting/auth, keeps the connection alive through reconnects, and streams
colour-coded events to a terminal or JSON lines to jq, grep and files.`,
		Example: `  tmsws login --user alice@example.com
  tmsws listen -c private-chat.42
  tmsws listen -c private-chat.42 -e MessageSent --json | jq .data.message.content`,
		Version:       info.String(), // --version prints the line of tmsws version
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	f.Flags = config.AddFlags(root.PersistentFlags())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.UsageError{Msg: err.Error(), Hint: "see '" + c.CommandPath() + " --help'"}
	})
	root.AddCommand(login.NewCmdLogin(f, nil))
	root.AddCommand(login.NewCmdLogout(f, nil))
	root.AddCommand(listen.NewCmdListen(f, nil))
	root.AddCommand(replay.NewCmdReplay(f, nil))
	root.AddCommand(demo.NewCmdDemo(f, nil))
	root.AddCommand(subscribe.NewCmdSubscribe(f, nil))
	root.AddCommand(trigger.NewCmdTrigger(f, nil))
	root.AddCommand(channels.NewCmdChannels(f, nil))
	root.AddCommand(connections.NewCmdConnections(f, nil))
	root.AddCommand(doctor.NewCmdDoctor(f, nil))
	root.AddCommand(ping.NewCmdPing(f, nil))
	root.AddCommand(configcmd.NewCmdConfig(f))
	root.AddCommand(version.NewCmdVersion(f, info))
	root.AddCommand(schemacmd.NewCmdSchema(f))
	addCompletion(root, f)
	addHelpTopics(root)
	return root
}

// addHelpTopics adds tmsws help exit-codes, environment, config and
// formats, which cobra lists under "Additional help topics". A topic named
// like a command (config: tmsws config) instead ends that command's help,
// so tmsws help config shows both. Commands must be added before it.
func addHelpTopics(root *cobra.Command) {
	for _, t := range helptopics.New(exitCodeHelp) {
		if c, _, err := root.Find([]string{t.Name()}); err == nil && c != root {
			c.Long = strings.TrimRight(c.Long, "\n") + "\n\n" + t.Long
			continue
		}
		root.AddCommand(t)
	}
}

// completionExamples are the examples of `tmsws completion` and of its
// shells' subcommands: how to load the script now and for every session.
var completionExamples = map[string]string{
	"completion": `  source <(tmsws completion bash)
  tmsws completion zsh > "${fpath[1]}/_tmsws"
  tmsws completion fish > ~/.config/fish/completions/tmsws.fish
  tmsws completion powershell | Out-String | Invoke-Expression`,
	"bash": `  source <(tmsws completion bash)
  tmsws completion bash > /etc/bash_completion.d/tmsws
  tmsws completion bash > "$(brew --prefix)/etc/bash_completion.d/tmsws"`,
	"zsh": `  source <(tmsws completion zsh)
  tmsws completion zsh > "${fpath[1]}/_tmsws"`,
	"fish": `  tmsws completion fish | source
  tmsws completion fish > ~/.config/fish/completions/tmsws.fish`,
	"powershell": `  tmsws completion powershell | Out-String | Invoke-Expression
  tmsws completion powershell >> $PROFILE`,
}

// addCompletion adds cobra's completion command (the bash, zsh, fish and
// powershell scripts are cobra's) now rather than at Execute, so that it
// gets examples, and a mistyped shell (tmsws completion bsh) the same
// error and suggestion as any other mistyped subcommand. Cobra's
// subcommands write to the root's output as it is when they are made:
// f.IO.Out.
func addCompletion(root *cobra.Command, f *cmdutil.Factory) {
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.InitDefaultCompletionCmd()
	registerCompletions(root, f)
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = completionExamples["completion"]
		c.Args = cmdutil.NoArgs
		c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
		for _, sh := range c.Commands() {
			sh.Example = completionExamples[sh.Name()]
			sh.Args = cmdutil.NoArgs
		}
	}
}

// registerCompletions gives flag values to shell completion: --color,
// --scheme, --profile (the config file's profiles) and --like offer their
// values; -c/--channel, on every command that has it, offers nothing (no
// file names either). File flags (-o/--output, --cacert, --env-file) keep
// the shell's file completion. A flag whose completion a command
// registered itself keeps it.
func registerCompletions(root *cobra.Command, f *cmdutil.Factory) {
	reg := func(c *cobra.Command, flag string, fn cobra.CompletionFunc) {
		// The command's own flags, persistent ones included: a flag it
		// inherits is registered where it is defined.
		if c.Flags().Lookup(flag) == nil && c.PersistentFlags().Lookup(flag) == nil {
			return
		}
		if _, ok := c.GetFlagCompletionFunc(flag); ok {
			return
		}
		_ = c.RegisterFlagCompletionFunc(flag, fn) // cannot fail: the flag exists and has none
	}
	reg(root, "color", cmdutil.CompleteValues(
		cobra.CompletionWithDesc("auto", "colour on a terminal, unless NO_COLOR"),
		cobra.CompletionWithDesc("always", "colour even in a pipe"),
		cobra.CompletionWithDesc("never", "no colour")))
	reg(root, "scheme", cmdutil.CompleteValues(
		cobra.CompletionWithDesc("https", "connect with wss"),
		cobra.CompletionWithDesc("http", "connect with ws"),
		cobra.CompletionWithDesc("wss", "alias of https"),
		cobra.CompletionWithDesc("ws", "alias of http")))
	reg(root, "profile", cmdutil.CompleteProfiles(f.IO.Env))
	likes := cmdutil.CompleteValues(
		cobra.CompletionWithDesc(server.LikeReverb.String(), "behave like Laravel Reverb"),
		cobra.CompletionWithDesc(server.LikePusher.String(), "behave like Pusher Channels"))
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		reg(c, "channel", cmdutil.CompleteNothing)
		reg(c, "like", likes)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// unknownCommand turns cobra's own "unknown command" error (tmsws lisen)
// and cobra.NoArgs's (tmsws completion bash extra) into cmdutil.NoArgs's
// UsageError: one line, the suggestions as the hint.
func unknownCommand(c *cobra.Command, err error) error {
	rest, ok := strings.CutPrefix(err.Error(), "unknown command ")
	if !ok || c == nil {
		return err
	}
	quoted, qerr := strconv.QuotedPrefix(rest)
	if qerr != nil {
		return err
	}
	typed, qerr := strconv.Unquote(quoted)
	if qerr != nil {
		return err
	}
	return cmdutil.NoArgs(c, []string{typed})
}

// ExitCode is the one map from errors to the contract's exit codes.
func ExitCode(err error) int {
	code, _ := classify(err)
	return code
}

// classify finds an error's exit code and the advice attached to it.
func classify(err error) (code int, hint string) {
	var (
		ue  *cmdutil.UsageError
		cue *config.UsageError
		fue *filter.UsageError
		te  *cmdutil.TimeoutError
		ge  *cmdutil.GateError
		ke  *cmdutil.ContractError
		ce  *pusher.ConnError
		se  *pusher.SubscriptionError
		ae  *auth.Error
		nl  *login.NotLoggedInError
	)
	switch {
	case stdoutClosed(err):
		return ExitPipe, ""
	case errors.As(err, &nl):
		return ExitAuth, "run tmsws login --api-url URL (or pass --token / TMSWS_TOKEN)"
	case errors.As(err, &ue):
		return ExitUsage, ue.Hint
	case errors.As(err, &cue), errors.As(err, &fue):
		return ExitUsage, ""
	case isCobraUsage(err):
		return ExitUsage, "see 'tmsws --help'"
	case errors.As(err, &te), errors.As(err, &ge):
		return ExitTimeout, ""
	case errors.As(err, &ke):
		return ExitContract, ""
	case errors.As(err, &ce):
		// A ConnError may wrap the authorization failure that used up the
		// reconnect attempts: its hint is the more precise one.
		if errors.As(err, &ae) && ae.Hint != "" {
			return ExitConnection, ae.Hint
		}
		return ExitConnection, ce.Hint
	case errors.As(err, &ae):
		switch {
		case ae.Refused():
			return ExitAuth, ae.Hint
		case ae.Kind == auth.Network || ae.Kind == auth.Timeout || ae.Kind == auth.TLS:
			return ExitConnection, ae.Hint
		case ae.Kind == auth.Config:
			return ExitUsage, ae.Hint
		}
		return ExitError, ae.Hint
	case errors.As(err, &se):
		return ExitAuth, se.Hint()
	}
	return ExitError, ""
}

// stdoutClosed reports whether err is a write to a stdout whose reader
// went away (EPIPE on os.Stdout), not a broken network connection.
func stdoutClosed(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && pe.Path == os.Stdout.Name() && errors.Is(pe.Err, syscall.EPIPE)
}

// isCobraUsage catches the usage errors cobra makes itself.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "invalid argument", "flag needs an argument"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// maxErrorLine caps the error line: a server's message can be megabytes.
const maxErrorLine = 4000

func printError(w io.Writer, colored bool, err error, hint string) {
	red, yellow := iostreams.Color(colored, color.FgRed, color.Bold), iostreams.Color(colored, color.FgYellow)
	// Error messages quote servers, files and clients: escape them for the
	// terminal like every other line.
	fmt.Fprintf(w, "%s %s\n", red.Sprint("error:"), termsafe.Clip(err.Error(), maxErrorLine))
	if hint != "" {
		fmt.Fprintf(w, "%s %s\n", yellow.Sprint("hint:"), termsafe.Clip(hint, maxErrorLine))
	}
}
