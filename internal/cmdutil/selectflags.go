package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/amusoft/tmsws/internal/format"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/render"
)

// SelectFlags are the flags that choose which records a command shows and
// how: -c, -e, --where, --json, --pretty, -o, --count, --show-protocol, and
// subscribe's --expect. They live here once, as gh's cmdutil keeps --json,
// --jq and --template, so that listen, subscribe, replay, doctor and demo
// give each flag the same name, short form, meaning and help. A command
// embeds SelectFlags in its Options, registers the flags it takes with
// AddSelectFlags, and checks them with Validate.
type SelectFlags struct {
	Channels     []string // -c NAME, repeatable (replay: -c GLOB)
	Channel      string   // -c NAME, the one channel of doctor
	Events       []string // -e PATTERN, repeatable
	Expect       string   // --expect PATTERN, subscribe's one pattern
	Wheres       []string // --where EXPR, repeatable
	JSON         bool     // --json
	Pretty       bool     // --pretty
	Output       string   // -o FILE
	Count        int      // --count N
	ShowProtocol bool     // --show-protocol
	Wide         bool     // --wide, registered with --pretty
	JQ           string   // --jq EXPR
	Template     string   // --template TPL
	Schema       string   // --schema FILE

	// ChannelsOptional lets Validate accept no -c for ChannelsFlag (listen
	// --all finds its channels); set it before Validate.
	ChannelsOptional bool

	formatter *format.Formatter // --jq or --template, compiled by Validate

	reg *selectReg // what AddSelectFlags registered; nil for a value made by hand
}

// A SelectFlag is one flag of the set, with the meaning a command gives
// it: most flags mean the same everywhere; -c and --json have variants.
type SelectFlag struct {
	kind selectKind
	what string // JSONObjectFlag: what the object is
}

type selectKind uint8

const (
	kindChannels selectKind = iota + 1
	kindChannelGlobs
	kindChannel
	kindEvents
	kindExpect
	kindWhere
	kindJSON
	kindJSONObject
	kindPretty
	kindOutput
	kindCount
	kindShowProtocol
	kindJQ
	kindTemplate
	kindSchema
)

// The flags a command may take.
var (
	// ChannelsFlag is -c NAME, repeatable: the channels to subscribe to
	// (listen, subscribe). At least one is required; names are checked
	// with CheckChannels and warned about with ChannelWarnings.
	ChannelsFlag = SelectFlag{kind: kindChannels}
	// ChannelGlobsFlag is replay's -c GLOB, repeatable: keep records of
	// the recorded channels whose name matches.
	ChannelGlobsFlag = SelectFlag{kind: kindChannelGlobs}
	// ChannelFlag is doctor's -c NAME: one channel, optional.
	ChannelFlag = SelectFlag{kind: kindChannel}
	// EventFlag is -e PATTERN, repeatable, any may match.
	EventFlag = SelectFlag{kind: kindEvents}
	// ExpectFlag is subscribe's --expect PATTERN: one pattern, matched as
	// -e matches, that the command waits for. With it, --where and --count
	// qualify the expectation (and --count defaults to 1).
	ExpectFlag = SelectFlag{kind: kindExpect}
	// WhereFlag is --where EXPR, repeatable, all must hold.
	WhereFlag = SelectFlag{kind: kindWhere}
	// JSONFlag is --json for a command that shows records: JSON lines.
	JSONFlag = SelectFlag{kind: kindJSON}
	// PrettyFlag is --pretty: colour-coded lines. It brings --wide along:
	// pretty output never cut (see BodyLimit).
	PrettyFlag = SelectFlag{kind: kindPretty}
	// OutputFlag is -o FILE: also append the JSON records to FILE.
	OutputFlag = SelectFlag{kind: kindOutput}
	// CountFlag is --count N: stop after N matching records.
	CountFlag = SelectFlag{kind: kindCount}
	// ShowProtocolFlag is --show-protocol: also show the connection records.
	ShowProtocolFlag = SelectFlag{kind: kindShowProtocol}
	// JQFlag is --jq EXPR: print each JSON document (record, channel,
	// summary) through a jq expression, as gh --jq does.
	JQFlag = SelectFlag{kind: kindJQ}
	// TemplateFlag is --template TPL: print each JSON document through a
	// Go template.
	TemplateFlag = SelectFlag{kind: kindTemplate}
	// SchemaFlag is --schema FILE: check each event's data against its
	// event's JSON Schema.
	SchemaFlag = SelectFlag{kind: kindSchema}
)

// JSONObjectFlag is --json for a command that prints one object rather
// than records; what says what the object is ("the report").
func JSONObjectFlag(what string) SelectFlag { return SelectFlag{kind: kindJSONObject, what: what} }

// The wording shared by several flags.
const (
	namesHelp = `an event's full name (App\Events\MessageSent) or short one (MessageSent), ` +
		`Echo's .App\Events\MessageSent or .message.sent for exactly that name, ` +
		`or a record's type (member_added, 'member_*')`
	whereHelp = `PATH[=|!=|>|>=|<|<=|~]VALUE, or a bare PATH that must exist, ` +
		`e.g. data.message.user_id=42; repeatable, all must hold`
)

// filterRule is the rule every command that filters states in its help:
// %[1]s is its pattern flag (-e, or subscribe's --expect). A \x01 is a
// space that wrap keeps, so that a flag stays on the line of its value.
const filterRule = "Filters keep the records that match them, as grep and jq do. %[1]s matches " +
	`an event by its name, full (App\Events\MessageSent) or short (MessageSent), or ` +
	`with Echo's leading dot exactly the name after it (.App\Events\MessageSent, ` +
	".message.sent); it matches any other record by its type: %[1]s\x01'member_*' " +
	"keeps joins and leaves. --where is checked on every record: a member record " +
	"has no data.message, so --where\x01data.message.user_id=8 drops it, and " +
	"--where\x01type=member_added keeps only joins. With %[1]s or --where, --count " +
	"counts every record they keep; without them, events."

// FilterRule is the filter rule as the help of a command whose pattern
// flag is patternFlag ("-e", "--expect") says it, wrapped to 78 columns
// as the rest of the help is.
func FilterRule(patternFlag string) string {
	return strings.ReplaceAll(wrap(fmt.Sprintf(filterRule, patternFlag), 78), "\x01", " ")
}

type selectReg struct {
	cmd   string // the command's name, for hints
	flags *pflag.FlagSet
	kinds map[selectKind]bool
}

func (r *selectReg) has(k selectKind) bool { return r != nil && r.kinds[k] }

// AddSelectFlags registers on cmd the flags of s that the command takes,
// each with its one help text, and, when the command filters (-e, --expect
// or --where), appends the filter rule to cmd.Long: set Long first.
func AddSelectFlags(cmd *cobra.Command, s *SelectFlags, flags ...SelectFlag) {
	reg := &selectReg{cmd: cmd.Name(), flags: cmd.Flags(), kinds: map[selectKind]bool{}}
	for _, f := range flags {
		reg.kinds[f.kind] = true
	}
	s.reg = reg
	expect := reg.has(kindExpect)
	fl := cmd.Flags()
	for _, f := range flags {
		switch f.kind {
		case kindChannels:
			fl.StringArrayVarP(&s.Channels, "channel", "c", nil, "channel `NAME` to subscribe to (repeatable); the prefix decides the kind: private-, presence-, private-encrypted-, else public")
		case kindChannelGlobs:
			fl.StringArrayVarP(&s.Channels, "channel", "c", nil, "keep records of the recorded channels whose name matches `GLOB`, e.g. 'private-chat.*' (repeatable)")
		case kindChannel:
			fl.StringVarP(&s.Channel, "channel", "c", "", "also check the token, authorization and subscription of the channel `NAME`")
		case kindEvents:
			fl.StringArrayVarP(&s.Events, "event", "e", nil, "keep records whose name matches the glob `PATTERN`: "+namesHelp+"; repeatable, any may match")
		case kindExpect:
			fl.StringVar(&s.Expect, "expect", "", "after the confirmations, wait for records whose name matches the glob `PATTERN`: "+namesHelp)
		case kindWhere:
			if expect {
				fl.StringArrayVar(&s.Wheres, "where", nil, "with --expect: wait only for records where the condition `EXPR` holds: "+whereHelp)
			} else {
				fl.StringArrayVar(&s.Wheres, "where", nil, "keep records where the condition `EXPR` holds: "+whereHelp)
			}
		case kindJSON:
			fl.BoolVar(&s.JSON, "json", false, "one JSON record per line (the default when stdout is not a terminal)")
		case kindJSONObject:
			fl.BoolVar(&s.JSON, "json", false, "print "+f.what+" as one JSON object on stdout")
		case kindPretty:
			fl.BoolVar(&s.Pretty, "pretty", false, "colour-coded lines (the default on a terminal)")
			fl.BoolVar(&s.Wide, "wide", false, "pretty output: never cut long data (on a terminal it is cut to a few lines)")
		case kindOutput:
			fl.StringVarP(&s.Output, "output", "o", "", "also append the JSON records to `FILE`")
		case kindCount:
			if expect {
				fl.IntVar(&s.Count, "count", 1, "with --expect: wait for `N` matching records")
			} else {
				fl.IntVar(&s.Count, "count", 0, "exit 0 after `N` matching records (0: no limit); without -e and --where, N events")
			}
		case kindShowProtocol:
			fl.BoolVar(&s.ShowProtocol, "show-protocol", false, "also show pusher:* frames and connection records (subscribed, connected, reconnecting, ...)")
		case kindJQ:
			fl.StringVar(&s.JQ, "jq", "", "print each JSON "+documentName(reg)+" through the jq `EXPR` instead (gojq; strings raw, other values as compact JSON), e.g. --jq .data.message.content")
		case kindTemplate:
			fl.StringVar(&s.Template, "template", "", "print each JSON "+documentName(reg)+" through the Go template `TPL` instead (helpers: color, timeago, truncate, json, short, join), e.g. --template '{{short .event}}: {{.data.message.content}}'")
		case kindSchema:
			fl.StringVar(&s.Schema, "schema", "", "check each event's data against its event's JSON Schema in `FILE` (tmsws schema infer writes one); violations are marked on the record")
		}
	}
	if reg.has(kindEvents) || expect || reg.has(kindWhere) {
		pattern := "-e"
		if expect {
			pattern = "--expect"
		}
		cmd.Long = strings.TrimRight(cmd.Long, "\n") + "\n\n" + FilterRule(pattern)
	}
	if reg.has(kindJQ) {
		rule := fmt.Sprintf(formatRule, documentName(reg))
		if reg.has(kindOutput) {
			rule += " -o still gets the records."
		}
		rule += " A document the expression fails on is reported on stderr and skipped, and the command then " +
			"exits 1. On a terminal, text from the documents is escaped."
		cmd.Long = strings.TrimRight(cmd.Long, "\n") + "\n\n" + strings.ReplaceAll(wrap(rule, 78), "\x01", " ")
	}
	if reg.has(kindSchema) {
		cmd.Long = strings.TrimRight(cmd.Long, "\n") + "\n\n" + strings.ReplaceAll(wrap(schemaRule, 78), "\x01", " ")
	}
}

// formatRule and schemaRule are what --jq, --template and --schema do, in
// the help of every command that takes them.
const (
	formatRule = "--jq\x01EXPR prints each JSON %[1]s through a jq expression instead (gojq, as gh\x01--jq: " +
		"a string raw, any other value as compact JSON with its object keys sorted; $ENV is empty, so no token " +
		"can leak), --template\x01TPL through a Go template (helpers color, timeago, truncate, json, short, join; " +
		"a newline ends the output of each). Both replace the JSON lines and exclude --pretty."
	schemaRule = "--schema\x01FILE checks the data of each event shown against its event's JSON Schema " +
		"(tmsws schema infer writes one): a violation is marked on the record (\"violations\":[...] in JSON, " +
		"a red ✗\x01schema: line under the event), events without a schema pass with one note per name, a " +
		"summary line ends the run, and the exit code is 6 when an event broke its contract."
)

// Validate checks the flags the command registered: at least one -c
// channel where channels are subscribed, their names (CheckChannels), whose
// warnings (ChannelWarnings) it prints on errOut as "warning: ..." lines;
// --json and --pretty exclude each other; --count is 0 or more (1 or more
// with --expect); --expect has a pattern, and --where and --count need it.
func (s *SelectFlags) Validate(errOut io.Writer) error {
	reg := s.reg
	var channels []string
	switch {
	case reg.has(kindChannels):
		if len(s.Channels) == 0 && !s.ChannelsOptional {
			example := "tmsws " + reg.cmd + " -c private-chat.42"
			if reg.has(kindExpect) {
				example += " --expect MessageSent"
			}
			return &UsageError{Msg: "no channel given", Hint: "pass -c/--channel NAME, e.g. " + example}
		}
		if err := CheckChannels(s.Channels); err != nil {
			return err
		}
		channels = s.Channels
	case reg.has(kindChannel) && s.Channel != "":
		if err := CheckChannel(s.Channel); err != nil {
			return err
		}
		channels = []string{s.Channel}
	}
	if reg.has(kindExpect) {
		if reg.flags.Changed("expect") && s.Expect == "" {
			return &UsageError{Msg: "--expect needs a pattern", Hint: "e.g. --expect MessageSent, or --expect '*' for any record"}
		}
		if s.Expect == "" {
			switch {
			case len(s.Wheres) > 0:
				return &UsageError{Msg: "--where needs --expect", Hint: "say which records to wait for, e.g. --expect MessageSent (or --expect '*' for any record)"}
			case reg.flags.Changed("count"):
				return &UsageError{Msg: "--count needs --expect", Hint: "say which records to wait for, e.g. --expect MessageSent --count 2"}
			}
		}
	}
	if s.JSON && s.Pretty {
		return Usagef("--json and --pretty exclude each other")
	}
	if err := s.compileFormat(); err != nil {
		return err
	}
	switch {
	case reg.has(kindExpect) && s.Count < 1:
		return Usagef("--count must be 1 or more, got %d", s.Count)
	case s.Count < 0:
		return Usagef("--count must be 0 or more, got %d", s.Count)
	}
	for _, w := range ChannelWarnings(channels) {
		fmt.Fprintf(errOut, "warning: %s\n", w)
	}
	return nil
}

// documentName is what --jq and --template apply to in the command's
// help: a record, or the object --json prints.
func documentName(reg *selectReg) string {
	if reg.has(kindJSONObject) {
		return "record (with --json: the summary)"
	}
	if reg.has(kindEvents) || reg.has(kindChannels) || reg.has(kindChannelGlobs) {
		return "record"
	}
	return "object"
}

// compileFormat compiles --jq or --template once; a mistake in either is
// bad usage, with the place shown.
func (s *SelectFlags) compileFormat() error {
	if s.JQ == "" && s.Template == "" {
		if s.reg.has(kindJQ) && s.reg.flags.Changed("jq") {
			return &UsageError{Msg: "--jq needs an expression", Hint: "e.g. --jq .data.message.content"}
		}
		if s.reg.has(kindTemplate) && s.reg.flags.Changed("template") {
			return &UsageError{Msg: "--template needs a template", Hint: "e.g. --template '{{.event}}'"}
		}
		return nil
	}
	flag := "--jq"
	if s.JQ == "" {
		flag = "--template"
	}
	if s.Pretty {
		return &UsageError{Msg: flag + " and --pretty exclude each other", Hint: flag + " prints the JSON records through it; drop --pretty"}
	}
	f, err := format.Compile(s.JQ, s.Template, format.Options{})
	if err != nil {
		var fe *format.Error
		if errors.As(err, &fe) {
			return &UsageError{Msg: fe.Error(), Hint: fe.Hint}
		}
		return err
	}
	s.formatter = f
	return nil
}

// Formatter is the compiled --jq or --template for output on io.Out (its
// text escaped on a terminal; the template's color helper colouring as
// --color says), or nil when neither was given. Validate compiles it.
func (s *SelectFlags) Formatter(io *iostreams.IO, colorFlag string) *format.Formatter {
	if s.formatter == nil {
		return nil
	}
	return s.formatter.With(format.Options{Terminal: io.OutTTY, Color: io.ColorEnabled(colorFlag, io.OutTTY)})
}

// BodyLimit is render.Options.MaxBody for the pretty output on io.Out:
// a few lines of the terminal's width (render.BodyLimit) when stdout is a
// terminal and --wide is not given; 0 (never cut) for a pipe, a file or
// --wide. JSON output and -o files are never cut: they do not render.
func (s *SelectFlags) BodyLimit(io *iostreams.IO) int {
	if s.Wide || io == nil || !io.OutTTY {
		return 0
	}
	return render.BodyLimit(terminalWidth(io.Out))
}

// terminalWidth is the width of the terminal w writes to; 0 when w is not
// one or its size is unknown.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}

// wrap breaks text into lines of at most width columns at spaces.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(text) {
		switch {
		case i == 0:
		case n+1+len(w) > width:
			b.WriteByte('\n')
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}
