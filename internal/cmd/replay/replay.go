// Package replay implements `tmsws replay FILE...`: read recordings of JSON
// records back, filter them like listen does, and show them again (as fast
// as possible, or keeping the recorded timing), or with --serve play them
// to every client of an embedded Pusher server.
package replay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/filter"
	"github.com/amusoft/tmsws/internal/format"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/render"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// Options are the parsed flags of `tmsws replay`.
type Options struct {
	IO       *iostreams.IO
	Settings *config.Settings

	// -c (globs over the recorded channel names), -e, --where, --json,
	// --pretty, -o, --count, --show-protocol.
	cmdutil.SelectFlags

	Files    []string // "-" is stdin
	Speed    float64  // 0: as fast as possible
	Realtime bool     // --speed 1
	MaxLine  int64    // longest line read (--max-frame); 0 is DefaultMaxLine
	Serve    string   // ADDR: be a Pusher server playing the recordings
	Loop     bool     // with Serve: play again and again
	// MaxMessageSize is --max-message-size: with Serve, the largest
	// message a client may send (bytes; 0 = no limit).
	MaxMessageSize int64
	AllowOrigins   []string // --allow-origin: with Serve, browser origins let in besides loopback ones
	Like           string   // --like: with Serve, the server imitated where they differ: "reverb" (default) or "pusher"

	// Now and Sleep are the clock of --speed; nil means the real one.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Location is the zone of the pretty time column; nil means time.Local.
	Location *time.Location
}

// NewCmdReplay builds `tmsws replay`. runF replaces the behaviour in flag
// tests.
func NewCmdReplay(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "replay FILE...",
		Short: "Show recorded events again, or serve them to Pusher clients",
		Long: `Read recordings of JSON records (what listen --json and -o write) and show
them again: pretty on a terminal, JSON lines otherwise, through the same
filters as listen. FILE may be - for stdin; several files are read in order;
gzip-compressed files are read as they are (by their content, whatever their
name).

-c/--channel is a glob over the recorded channel names here (private-chat.*).
By default only event, member_added and member_removed records come out;
--show-protocol adds the connection records. -e and --where then select
among them as listen's do (the rule is below), --serve included. A line
without "type" is an event; fields replay does not know are ignored; blank
lines are skipped.

Replay runs as fast as it can read; --speed X keeps the recorded timing
(from the records' ts) scaled by X, 2 being twice as fast; --realtime is
--speed 1. Records without ts come out at once.

With JSON output the records pass through byte for byte (a CRLF line ending
becomes LF); each line is only checked to be one JSON object. Pretty output
and --speed read every field and also refuse a known field of the wrong type
(a ts that is not RFC 3339, say).

A malformed line is reported on stderr as FILE:LINE: reason (stdin:LINE for
-), skipped, and the replay goes on (a line longer than --max-frame, 16 MiB,
is read past without being held, so a huge line or a gzip bomb costs no
memory): every valid line still comes out. The exit status is then 1
("replay: N malformed lines skipped"), so scripts and CI notice; it is 0
when every line was good. A file that cannot be opened
stops the replay before any output (exit 1); bad flags exit 2, and Ctrl-C
exits 130 with every line written so far complete.

With --serve ADDR, replay is instead a Pusher protocol 7 server on ADDR
(e.g. 127.0.0.1:6001) that plays the selected events of each channel to
every client that subscribes to it, from the moment it subscribes, with the
timing of --speed (default: all at once) and again and again with --loop.
It serves POST /broadcasting/auth, which signs for any socket and channel,
and checks signatures against --app-secret (default "` + DefaultServeSecret + `",
for local use). Malformed lines are reported the same way and skipped; the
server starts anyway. It runs until Ctrl-C.

Where Laravel Reverb and Pusher Channels differ, the server behaves like
Reverb, the stand-in for a production Reverb: pusher:error data is a JSON
string, a bad channel signature gets 4009 "Connection is unauthorized",
errors are messages followed by a TCP drop (no close codes, but 1009 for a
message over --max-message-size), client events are relayed on public
channels too (from subscribers, with object data), pong has no data, and a
client silent for activity_timeout (30 s) is pinged and dropped 30 s later
if it does not answer. --like pusher behaves like Pusher instead (object
errors, close codes, 4301 for client events on public channels, no pings).
Cache channels (cache-, private-cache-, presence-cache-) get their last
event, or pusher:cache_miss, right after subscribing, in both. --ws-path
PATH (Reverb's REVERB_SERVER_PATH, pusher-js wsPath) serves the WebSocket
at PATH/app/KEY and the HTTP API at PATH/apps/ID/..., signed without PATH;
/broadcasting/auth stays at the root.

The server treats its clients as strangers. A message larger than
--max-message-size (default 10000 bytes, Reverb's limit; 0 = none) closes
that client's connection with 1009; a client that stops reading is dropped
once 4 MiB wait for it. Browser pages may connect (and call
/broadcasting/auth) only from this machine (http or https on localhost,
127.0.0.1 or [::1]) or from an origin given with --allow-origin
(scheme://host[:port], repeatable; * allows any); clients that send no
Origin, such as tmsws and pusher-js on Node, always may. An address other
than a loopback one (:6001, 0.0.0.0:6001, a LAN IP) lets anyone who can
reach this machine connect and read the recording: the log warns, and
without --app-secret the secret is then a random one, printed there.`,
		Example: `  tmsws replay session.jsonl
  tmsws replay session.jsonl.gz --json -e MessageSent --where data.message.user_id=8
  tmsws replay day1.jsonl day2.jsonl -c 'private-chat.*' --count 10
  tmsws listen -c private-chat.42 --json | tmsws replay - --pretty
  tmsws replay session.jsonl --realtime
  tmsws replay session.jsonl --jq 'select(.event == "App\\Events\\MessageSent") | .data.message.content'
  tmsws replay session.jsonl --schema chat.schema.json -e MessageSent
  tmsws replay session.jsonl --serve 127.0.0.1:6001 --speed 1 --loop`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &cmdutil.UsageError{Msg: "no recording given", Hint: "name the files to replay, e.g. tmsws replay session.jsonl, or - for stdin"}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Files = args
			if err := opts.validate(c.Flags().Changed("speed")); err != nil {
				return err
			}
			s, err := f.Settings(c)
			if err != nil {
				return err
			}
			opts.Settings = s
			opts.MaxLine = s.MaxFrame
			if runF != nil {
				return runF(c.Context(), opts)
			}
			if opts.Serve != "" {
				return runServe(c.Context(), opts)
			}
			return runReplay(c.Context(), opts)
		},
	}
	cmdutil.AddSelectFlags(cmd, &opts.SelectFlags, cmdutil.ChannelGlobsFlag, cmdutil.EventFlag, cmdutil.WhereFlag,
		cmdutil.JSONFlag, cmdutil.PrettyFlag, cmdutil.OutputFlag, cmdutil.CountFlag, cmdutil.ShowProtocolFlag,
		cmdutil.JQFlag, cmdutil.TemplateFlag, cmdutil.SchemaFlag)
	fl := cmd.Flags()
	fl.Float64Var(&opts.Speed, "speed", 0, "keep the recorded timing scaled by `X` (2 = twice as fast); 0 = as fast as possible")
	fl.BoolVar(&opts.Realtime, "realtime", false, "keep the recorded timing (--speed 1)")
	fl.StringVar(&opts.Serve, "serve", "", "be a Pusher server on `ADDR` (host:port) that plays the recordings to its clients")
	fl.BoolVar(&opts.Loop, "loop", false, "with --serve: play the recording again and again")
	fl.Int64Var(&opts.MaxMessageSize, "max-message-size", defaultMaxMessageSize, "with --serve: close the connection (1009) of a client that sends a message larger than `BYTES`, as Reverb does; 0 = no limit")
	fl.StringArrayVar(&opts.AllowOrigins, "allow-origin", nil, "with --serve: also let browser pages from `ORIGIN` (scheme://host[:port], or * for any) connect and call /broadcasting/auth; repeatable")
	fl.StringVar(&opts.Like, "like", defaultLike, "with --serve: where Laravel Reverb and Pusher Channels differ, behave like `SERVER`: reverb or pusher")
	return cmd
}

func (o *Options) validate(speedSet bool) error {
	if err := o.SelectFlags.Validate(o.IO.ErrOut); err != nil {
		return err
	}
	if err := cmdutil.CheckSpeed(o.Speed); err != nil {
		return err
	}
	switch {
	case o.Realtime && speedSet:
		return &cmdutil.UsageError{Msg: "--realtime and --speed exclude each other", Hint: "--realtime is --speed 1: give one of them"}
	case o.Loop && o.Serve == "":
		return &cmdutil.UsageError{Msg: "--loop needs --serve", Hint: "--loop repeats the recording for the clients of --serve ADDR"}
	}
	if err := o.validateServeLimits(); err != nil {
		return err
	}
	if o.Serve != "" {
		for _, fl := range []struct {
			set  bool
			name string
		}{{o.JSON, "--json"}, {o.Pretty, "--pretty"}, {o.Output != "", "--output"}, {o.Count > 0, "--count"}, {o.ShowProtocol, "--show-protocol"}, {o.JQ != "", "--jq"}, {o.Template != "", "--template"}, {o.Schema != "", "--schema"}} {
			if fl.set {
				return &cmdutil.UsageError{Msg: fl.name + " does not apply with --serve", Hint: "--serve plays the recording to Pusher clients; watch it with tmsws listen"}
			}
		}
	}
	return nil
}

// formatGCPercent is the GOGC of a replay through --jq or --template.
const formatGCPercent = 200

// speed is the effective --speed.
func (o *Options) speed() float64 {
	if o.Realtime {
		return 1
	}
	return o.Speed
}

// MalformedError says that lines of the recordings were malformed: each was
// reported on stderr and skipped, and every valid line was replayed. It
// exits with 1.
type MalformedError struct{ Lines int }

func (e *MalformedError) Error() string {
	if e.Lines == 1 {
		return "replay: 1 malformed line skipped (reported above)"
	}
	return fmt.Sprintf("replay: %d malformed lines skipped (reported above)", e.Lines)
}

// maxReports is how many malformed lines are reported one by one; the rest
// are counted, so a binary file given by mistake does not flood stderr.
const maxReports = 100

// Reporter reports malformed lines of recordings as replay does, for
// other commands that read them: FILE:LINE: reason, the first 100 one by
// one, then a count.
type Reporter struct{ r reporter }

// NewReporter returns a Reporter writing on w.
func NewReporter(w io.Writer) *Reporter { return &Reporter{r: reporter{w: w}} }

// Report reports the malformed line n of src.
func (r *Reporter) Report(src string, n int, err error) { r.r.report(src, n, err) }

// Count is how many lines were reported.
func (r *Reporter) Count() int { return r.r.count }

// reporter reports malformed lines on stderr as FILE:LINE: reason.
type reporter struct {
	w     io.Writer
	count int
}

func (r *reporter) report(src string, n int, err error) {
	r.count++
	switch {
	case r.count <= maxReports:
		fmt.Fprintln(r.w, malformedLine(src, n, err))
	case r.count == maxReports+1:
		fmt.Fprintf(r.w, "replay: more malformed lines follow; only the first %d are shown\n", maxReports)
	}
}

// malformedLine is the report of a malformed line, FILE:LINE: reason,
// escaped for the terminal: a reason may quote the line, which is anyone's.
func malformedLine(src string, n int, err error) string {
	return termsafe.Clip(fmt.Sprintf("%s:%d: %v", src, n, err), 1000)
}

func isDefault(typ string) bool { return record.IsDefaultType(typ) }

// selector decides which lines come out: valid JSON objects of the
// default types (all types with --show-protocol) that pass the filter, and
// which of them count toward --count (filter.Counts).
type selector struct {
	flt          *filter.Filter
	showProtocol bool
	formatter    *format.Formatter    // --jq, --template; nil without
	schema       *cmdutil.SchemaCheck // --schema; nil without
}

// verdicts of selector.check
const (
	drop        uint8 = iota // valid, filtered out
	keep                     // comes out
	keepCounted              // comes out and counts for --count
	malformed                // reported and skipped

	fixedLine uint8 = 0x80 // a flag on keep and keepCounted in a batch: write the fixed line
)

// check validates line and applies the filters; err says why a line is
// malformed. A line that comes out but holds invalid UTF-8 comes back
// fixed (invalid bytes as \ufffd, as listen writes them), so every line
// replay writes is valid UTF-8 JSON; valid lines pass byte for byte.
func (s *selector) check(line []byte) (verdict uint8, fixed []byte, err error) {
	if err := record.Validate(line); err != nil {
		return malformed, nil, err
	}
	typ := filter.RecordType(line)
	if !s.showProtocol && !isDefault(typ) {
		return drop, nil, nil
	}
	if !s.flt.MatchJSONType(line, typ) {
		return drop, nil, nil
	}
	if f := jsonsafe.FixUTF8(line); len(f) != len(line) {
		fixed = f
	}
	if s.schema != nil {
		in := line
		if fixed != nil {
			in = fixed
		}
		if out, _ := s.schema.Line(in); !sameBytes(out, in) {
			fixed = out
		}
	}
	if s.flt.Counts(typ) && !isCached(line) {
		return keepCounted, fixed, nil
	}
	return keep, fixed, nil
}

// sameBytes reports whether a and b are the same memory, not just equal.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

var cachedField = []byte(`"cached"`)

// isCached reports whether a recorded line is a cache channel's replayed
// event ("cached":true): shown, but not counted by --count, as listen
// does, since it happened before the recording's session. The byte search
// keeps the common line from being parsed again.
func isCached(line []byte) bool {
	return bytes.Contains(line, cachedField) && gjson.GetBytes(line, "cached").Bool()
}

// sink is where the selected lines go: stdout (JSON lines or pretty) and
// the --output file.
type sink struct {
	json      *record.Writer
	pretty    *render.Pretty
	formatted *format.Writer // --jq, --template: instead of json
	// formattedOut is the buffer under formatted.
	formattedOut *bufio.Writer
	file         *record.Writer
	count        int // counted records written (filter.Counts)
	max          int // --count
}

// formatted is what --jq or --template made of a line.
type formatted struct {
	out []byte
	err error
}

// writeLine writes a selected line; r is its decoded record when the output
// is pretty, f what --jq or --template made of it. It returns errStop once
// --count counted records are out.
func (k *sink) writeLine(line []byte, r *record.Record, f formatted, verdict uint8) error {
	switch {
	case k.pretty != nil:
		if err := k.pretty.Write(r); err != nil {
			return err
		}
	case k.formatted != nil:
		if err := k.formatted.WriteFormatted(f.out, f.err); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	default:
		if err := k.json.WriteLine(line); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	if k.file != nil {
		if err := k.file.WriteLine(line); err != nil {
			return fmt.Errorf("write --output file: %w", err)
		}
	}
	if verdict == keepCounted {
		k.count++
		if k.max > 0 && k.count >= k.max {
			return errStop
		}
	}
	return nil
}

func (k *sink) flush() error {
	var err error
	switch {
	case k.pretty != nil:
		err = k.pretty.Flush()
	case k.formatted != nil:
		if err = k.formattedOut.Flush(); err != nil {
			err = fmt.Errorf("write output: %w", err)
		}
	default:
		if err = k.json.Flush(); err != nil {
			err = fmt.Errorf("write output: %w", err)
		}
	}
	if k.file != nil {
		if ferr := k.file.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("write --output file: %w", ferr)
		}
	}
	return err
}

func runReplay(ctx context.Context, opts *Options) error {
	flt, err := filter.CompileWithChannels(opts.Channels, opts.Events, opts.Wheres)
	if err != nil {
		return err
	}
	if err := checkFiles(opts.Files); err != nil {
		return err
	}
	colorFlag := config.DefaultColor
	if opts.Settings != nil {
		colorFlag = opts.Settings.Color
	}

	out := &sink{max: opts.Count}
	if opts.Output != "" {
		f, err := openOutput(ctx, opts.Output, opts.Files)
		if err != nil {
			return err
		}
		defer f.Close()
		out.file = record.NewWriter(f)
	}
	formatter := opts.Formatter(opts.IO, colorFlag)
	if formatter != nil {
		// Decoding each record for the expression makes short-lived
		// garbage at a high rate: collecting at twice the live heap
		// rather than once halves the time spent on it (0.6 s instead of
		// 1.2 s on 400,000 records, for some 10 MB more).
		if old := debug.SetGCPercent(formatGCPercent); old < 0 || old > formatGCPercent {
			debug.SetGCPercent(old)
		} else {
			defer debug.SetGCPercent(old)
		}
		out.formattedOut = bufio.NewWriterSize(opts.IO.Out, 64<<10)
		out.formatted = format.NewWriter(formatter, out.formattedOut, opts.IO.ErrOut)
	} else if opts.Pretty || (!opts.JSON && opts.IO.OutTTY) {
		out.pretty = render.NewPretty(bufio.NewWriterSize(opts.IO.Out, 64<<10), render.Options{
			Color:    opts.IO.ColorEnabled(colorFlag, opts.IO.OutTTY),
			Location: opts.Location,
			MaxBody:  opts.BodyLimit(opts.IO),
		})
	} else {
		out.json = record.NewWriter(opts.IO.Out)
	}

	check, err := opts.SchemaCheck(cmdutil.NewStatusLog(opts.IO.ErrOut, opts.IO.ColorEnabled(colorFlag, opts.IO.ErrTTY), opts.Settings != nil && opts.Settings.Verbose))
	if err != nil {
		return err
	}
	sel := &selector{flt: flt, showProtocol: opts.ShowProtocol, formatter: formatter, schema: check}
	rep := &reporter{w: opts.IO.ErrOut}
	if speed := opts.speed(); out.pretty != nil || speed > 0 {
		err = replayDecoded(ctx, opts, sel, out, rep)
	} else {
		err = replayRaw(ctx, opts, sel, out, rep)
	}
	if ferr := out.flush(); ferr != nil && err == nil {
		err = ferr
	}
	if check != nil {
		check.Log().Info("schema", check.Summary())
	}
	switch {
	case ctx.Err() != nil && (err == nil || errors.Is(err, ctx.Err())):
		return ctx.Err()
	case err != nil:
		return err
	case rep.count > 0:
		return &MalformedError{Lines: rep.count}
	case out.formatted != nil && out.formatted.Err() != nil:
		return out.formatted.Err() // --jq or --template failed on some records
	case check != nil:
		return check.Err() // exit 6 when an event broke its contract
	}
	return nil
}

// replayDecoded is replay line by line with every selected record decoded:
// for pretty output and for --speed, which need the fields.
func replayDecoded(ctx context.Context, opts *Options, sel *selector, out *sink, rep *reporter) error {
	speed := opts.speed()
	pace := &pacer{speed: speed, now: opts.Now, sleep: opts.Sleep}
	if pace.now == nil {
		pace.now = time.Now
	}
	if pace.sleep == nil {
		pace.sleep = sleepCtx
	}
	return scan(ctx, opts.Files, opts.IO.In, opts.MaxLine, out.flush, func(src string, n int, line []byte, bad error) error {
		if bad != nil {
			rep.report(src, n, bad)
			return nil
		}
		verdict, fixed, err := sel.check(line)
		if verdict == malformed {
			rep.report(src, n, err)
			return nil
		}
		if verdict == drop {
			return nil
		}
		if fixed != nil {
			line = fixed
		}
		r, err := record.Decode(line)
		if err != nil {
			rep.report(src, n, err)
			return nil
		}
		if speed > 0 {
			if err := pace.wait(ctx, r.TS, out.flush); err != nil {
				return err
			}
		}
		var f formatted
		if sel.formatter != nil {
			f.out, f.err = sel.formatter.Append(nil, line)
		}
		return out.writeLine(line, &r, f, verdict)
	})
}

// openOutput opens the -o file for appending, refusing one that is also
// being read: the replay would read its own output for ever.
func openOutput(ctx context.Context, name string, inputs []string) (*os.File, error) {
	if st, err := os.Stat(name); err == nil {
		for _, in := range inputs {
			if in == "-" {
				continue
			}
			if ist, err := os.Stat(in); err == nil && os.SameFile(st, ist) {
				return nil, &cmdutil.UsageError{Msg: fmt.Sprintf("--output %s is also a recording being replayed", name), Hint: "write to another file"}
			}
		}
	}
	return cmdutil.OpenOutput(ctx, name)
}

// pacer keeps the recorded timing: a record stamped ts comes out at
// start + (ts - first ts) / speed, where start is when the first stamped
// record came out. Measuring from the start rather than from the previous
// record keeps time spent writing from adding up.
type pacer struct {
	speed float64
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	started bool
	first   time.Time // ts of the first stamped record
	startAt time.Time // when it came out
}

func (p *pacer) wait(ctx context.Context, ts time.Time, flush func() error) error {
	if ts.IsZero() {
		return nil
	}
	if !p.started {
		p.started, p.first, p.startAt = true, ts, p.now()
		return nil
	}
	offset := float64(ts.Sub(p.first)) / p.speed
	if offset <= 0 {
		return nil
	}
	if offset > math.MaxInt64/2 {
		offset = math.MaxInt64 / 2
	}
	d := p.startAt.Add(time.Duration(offset)).Sub(p.now())
	if d <= 0 {
		return nil
	}
	if err := flush(); err != nil {
		return err
	}
	return p.sleep(ctx, d)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
