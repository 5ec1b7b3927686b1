// Package doctor implements `tmsws doctor`: walk the path from this machine
// to a subscribed channel step by step (DNS, TCP, TLS, WebSocket upgrade,
// Pusher handshake, token, channel authorization, subscription), time each
// step, and say for the first one that fails what the likely cause and fix
// are.
package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/fatih/color"
	"github.com/gorilla/websocket"
	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// Resolver looks up a host's addresses; *net.Resolver implements it.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Options are the parsed flags of `tmsws doctor`.
type Options struct {
	IO       *iostreams.IO
	Settings *config.Settings
	Version  string

	// SelectFlags holds -c and --json. Its Channel is checked through
	// token, authorization and subscription; without one only the
	// connection steps run.
	cmdutil.SelectFlags
	// Timeout bounds each network step (DNS, TCP, TLS, upgrade, handshake,
	// authorization, subscription).
	Timeout time.Duration

	// Resolver answers the DNS step; nil means net.DefaultResolver. Tests
	// inject one, so that no DNS server is ever asked.
	Resolver Resolver
	// Now is the clock for certificate and token expiry; nil means time.Now.
	Now func() time.Time
}

// The steps, in the order they run.
const (
	StepDNS           = "dns"
	StepTCP           = "tcp"
	StepTLS           = "tls"
	StepUpgrade       = "upgrade"
	StepHandshake     = "handshake"
	StepToken         = "token"
	StepAuthorization = "authorization"
	StepSubscription  = "subscription"
)

// NewCmdDoctor builds `tmsws doctor`. runF replaces the behaviour in flag
// tests.
func NewCmdDoctor(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Version: f.Version}
	cmd := &cobra.Command{
		Use:   "doctor [-c CHANNEL]",
		Short: "Check every step from here to a subscribed channel, and say what to fix",
		Long: `Walk the whole path step by step and time each step: DNS, TCP, TLS (the
certificate's subject and expiry), the WebSocket upgrade (its HTTP status), the
Pusher handshake (socket id, activity timeout and a guess at the server: Reverb,
Soketi or Pusher), and with -c the login token (where it came from, and its
expiry when it is a JWT), the channel authorization and the subscription.

The first step that fails gets its likely cause and fix; the steps after it are
skipped. The exit code is that failure's: 4 for DNS, TCP, TLS, upgrade and
handshake, 3 for a missing token or a refused authorization or subscription, 5
when the subscription is not confirmed within --timeout. --json prints the
report as one JSON object on stdout: "failed" names the failed step, and in
"steps" it is the one with "ok":false and no "skipped":true (a step not run
after it has both; one that does not apply is "ok":true,"skipped":true).`,
		Example: `  tmsws doctor
  tmsws doctor -c private-chat.42
  tmsws doctor -c presence-chat.42 --host staging.tms.amusoft.uz --json | jq .steps
  tmsws doctor -c private-chat.42 --json | jq '.steps[] | select(.ok == false and (.skipped | not))'
  tmsws doctor -c private-chat.42 --json | jq -r '.failed // "every step passed"'`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &cmdutil.UsageError{Msg: fmt.Sprintf("unexpected argument %q", args[0]), Hint: "the channel goes with -c: tmsws doctor -c " + args[0]}
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
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
	cmdutil.AddSelectFlags(cmd, &opts.SelectFlags, cmdutil.ChannelFlag, cmdutil.JSONObjectFlag("the report"))
	fl := cmd.Flags()
	fl.DurationVar(&opts.Timeout, "timeout", 10*time.Second, "limit for each network step")
	return cmd
}

func (o *Options) validate() error {
	if err := o.SelectFlags.Validate(o.IO.ErrOut); err != nil {
		return err
	}
	if o.Timeout <= 0 {
		return cmdutil.Usagef("--timeout must be positive, got %s", o.Timeout)
	}
	return nil
}

// Step is one step of the report.
type Step struct {
	Name string `json:"name"`
	// OK is true when the step passed or did not apply (Skipped and OK);
	// a step that was not run because an earlier one failed is Skipped and
	// not OK.
	OK      bool    `json:"ok"`
	Skipped bool    `json:"skipped,omitempty"`
	MS      float64 `json:"ms"`
	Detail  string  `json:"detail,omitempty"`
	Hint    string  `json:"hint,omitempty"`
}

// Server is the guess at the server's kind and what it rests on.
type Server struct {
	// Kind is "Reverb", "Soketi", "Pusher" or "unknown".
	Kind     string   `json:"kind"`
	Evidence []string `json:"evidence,omitempty"`
}

// Report is what doctor found.
type Report struct {
	OK      bool   `json:"ok"`
	URL     string `json:"url"`
	Channel string `json:"channel,omitempty"`
	// Failed names the first step that failed.
	Failed string  `json:"failed,omitempty"`
	Server *Server `json:"server,omitempty"`
	// Laravel is what the Laravel project's .env says; absent outside one.
	Laravel *Laravel `json:"laravel,omitempty"`
	Steps   []Step   `json:"steps"`
}

// Run diagnoses, prints the report (text, or JSON with --json) on stdout,
// and returns the first failure's error, whose type carries the exit code.
func Run(ctx context.Context, opts *Options) error {
	rep, err := Diagnose(ctx, opts)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if opts.JSON {
		b, merr := json.Marshal(rep)
		if merr != nil {
			return fmt.Errorf("encode the report: %w", merr)
		}
		if _, werr := opts.IO.Out.Write(append(b, '\n')); werr != nil {
			return fmt.Errorf("write the report: %w", werr)
		}
	} else if werr := printReport(opts.IO.Out, opts.IO.ColorEnabled(opts.Settings.Color, opts.IO.OutTTY), rep); werr != nil {
		return fmt.Errorf("write the report: %w", werr)
	}
	if err != nil {
		return fmt.Errorf("doctor: the %s step failed: %w", rep.Failed, err)
	}
	return nil
}

// outcome is what a step function found. A nil err is a pass; na marks a
// step that does not apply here (TLS for ws://, a token for a public
// channel).
type outcome struct {
	detail string
	hint   string
	err    error
	na     bool
}

func passed(detail string) outcome { return outcome{detail: detail} }

func notApplicable(detail string) outcome { return outcome{detail: detail, na: true} }

// Diagnose runs the steps and returns the report and the first failure's
// error (nil when every step passed).
func Diagnose(ctx context.Context, opts *Options) (*Report, error) {
	d := newDoctor(opts)
	defer d.close()
	rep := &Report{URL: stripQuery(d.wsURL), Channel: opts.Channel, Laravel: checkLaravel(ctx, opts.Settings)}

	type step struct {
		name string
		run  func(context.Context) outcome
	}
	steps := []step{
		{StepDNS, d.dns},
		{StepTCP, d.tcp},
		{StepTLS, d.tls},
		{StepUpgrade, d.upgrade},
		{StepHandshake, d.handshake},
	}
	if opts.Channel != "" {
		steps = append(steps,
			step{StepToken, d.token},
			step{StepAuthorization, d.authorize},
			step{StepSubscription, d.subscribe})
	}

	// A cancelled run (Ctrl-C) must not sit in a blocked read: close the
	// connection as soon as ctx ends.
	stop := context.AfterFunc(ctx, d.close)
	defer stop()

	var firstErr error
	for _, st := range steps {
		if firstErr != nil {
			rep.Steps = append(rep.Steps, Step{Name: st.name, Skipped: true, Detail: "not run: the " + rep.Failed + " step failed"})
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		start := time.Now()
		out := st.run(sctx)
		took := time.Since(start)
		cancel()
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		s := Step{Name: st.name, OK: out.err == nil, Skipped: out.na, Detail: out.detail, Hint: out.hint}
		if out.err != nil && (st.name == StepTCP || st.name == StepTLS || st.name == StepUpgrade || st.name == StepHandshake) {
			s.Hint = connectionHint(opts.Settings, "WebSocket", s.Hint)
		}
		if !out.na {
			s.MS = millis(took)
		}
		rep.Steps = append(rep.Steps, s)
		if out.err != nil {
			firstErr, rep.Failed = out.err, st.name
		}
	}
	rep.OK = firstErr == nil
	if d.upgraded {
		kind := d.guess.kind()
		rep.Server = &Server{Kind: kind, Evidence: d.guess.evidence}
	}
	return rep, firstErr
}

func millis(d time.Duration) float64 {
	return float64(d.Round(100*time.Microsecond)) / float64(time.Millisecond)
}

func stripQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// printReport writes the text report:
//
//	tmsws doctor: ws://127.0.0.1:6001/app/app-key, channel private-chat.42
//	  ok    dns             0.0ms  127.0.0.1 is an IP address: nothing to resolve
//	  FAIL  authorization  12.1ms  authorize private-chat.42: 401 Unauthorized from ...
//	                               hint: the token is missing or expired: run tmsws login ...
//	  skip  subscription           not run: the authorization step failed
func printReport(w io.Writer, colored bool, rep *Report) error {
	mk := func(attrs ...color.Attribute) *color.Color { return iostreams.Color(colored, attrs...) }
	green, red, dim, yellow, bold := mk(color.FgGreen), mk(color.FgRed, color.Bold), mk(color.Faint), mk(color.FgYellow), mk(color.Bold)

	// Details quote the server (socket id, certificate fields, error
	// messages): every piece of text passes the terminal escaper.
	safe := func(s string) string { return termsafe.Clip(s, 2000) }
	var b strings.Builder
	head := "tmsws doctor: " + rep.URL
	if rep.Channel != "" {
		head += ", channel " + rep.Channel
	}
	b.WriteString(bold.Sprint(safe(head)) + "\n")
	const indent = "  "
	if l := rep.Laravel; l != nil {
		b.WriteString(indent + dim.Sprint(".env") + "  " + safe("using "+l.EnvFile) + "\n")
		for _, f := range l.Findings {
			label := dim.Sprint("note")
			if f.Warning {
				label = yellow.Sprint("warn")
			}
			b.WriteString(indent + label + "  " + safe(f.Message) + "\n")
			if f.Hint != "" {
				b.WriteString(indent + "      " + yellow.Sprint("hint: "+safe(f.Hint)) + "\n")
			}
		}
	}
	for _, s := range rep.Steps {
		var label string
		switch {
		case s.Skipped && s.OK:
			label = dim.Sprint("n/a ")
		case s.Skipped:
			label = dim.Sprint("skip")
		case s.OK:
			label = green.Sprint("ok  ")
		default:
			label = red.Sprint("FAIL")
		}
		ms := ""
		if !s.Skipped {
			ms = fmt.Sprintf("%.1fms", s.MS)
		}
		prefix := fmt.Sprintf("%s%s  %-13s %9s  ", indent, label, s.Name, ms)
		pad := strings.Repeat(" ", len(indent)+4+2+13+1+9+2)
		detail := safe(s.Detail)
		if s.Skipped {
			detail = dim.Sprint(detail)
		}
		b.WriteString(prefix + detail + "\n")
		if s.Hint != "" {
			b.WriteString(pad + yellow.Sprint("hint: "+safe(s.Hint)) + "\n")
		}
	}
	if rep.Server != nil {
		line := "server: " + rep.Server.Kind
		if len(rep.Server.Evidence) > 0 {
			line += " (" + strings.Join(rep.Server.Evidence, "; ") + ")"
		}
		b.WriteString(indent + safe(line) + "\n")
	}
	if rep.OK {
		b.WriteString(indent + green.Sprint("all steps passed") + "\n")
	} else {
		b.WriteString(indent + red.Sprint("the "+rep.Failed+" step failed") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// doctor is the state the steps share. The steps run one after another on
// one goroutine, which is the connection's only reader and writer.
type doctor struct {
	opts     *Options
	s        *config.Settings
	resolver Resolver
	now      func() time.Time
	wsURL    string

	addrs []string
	// mu guards conn and ws against close, which Ctrl-C may call from
	// another goroutine; the steps themselves only read them unlocked.
	mu       sync.Mutex
	conn     net.Conn // TCP, then TLS over it
	ws       *websocket.Conn
	upgraded bool
	socketID string
	authRes  auth.Result
	guess    guess
}

func newDoctor(opts *Options) *doctor {
	d := &doctor{opts: opts, s: opts.Settings, resolver: opts.Resolver, now: opts.Now}
	if d.resolver == nil {
		d.resolver = net.DefaultResolver
	}
	if d.now == nil {
		d.now = time.Now
	}
	d.wsURL = d.s.WebSocketURL(opts.Version)
	return d
}

// close ends the connection: a normal close frame when the WebSocket is up.
// It may run twice (Ctrl-C and the deferred call).
func (d *doctor) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ws != nil {
		_ = d.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = d.ws.Close()
		return
	}
	if d.conn != nil {
		_ = d.conn.Close()
	}
}

func (d *doctor) setConn(c net.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.conn = c
}

func (d *doctor) setWS(ws *websocket.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ws = ws
}

// needsAuth reports whether a channel is authorized before subscribing.
func needsAuth(channel string) bool {
	return strings.HasPrefix(channel, auth.PrivatePrefix) || strings.HasPrefix(channel, auth.PresencePrefix)
}

// errorDetail is an error's text for a step's detail line.
func errorDetail(err error) string {
	var ae *auth.Error
	if errors.As(err, &ae) {
		return ae.Error()
	}
	return err.Error()
}
