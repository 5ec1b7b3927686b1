package cmdutil

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/render"
)

// selectCmd builds a command named name that takes flags, and parses args.
func selectCmd(t *testing.T, name string, args []string, flags ...SelectFlag) (*cobra.Command, *SelectFlags, error) {
	t.Helper()
	s := &SelectFlags{}
	cmd := &cobra.Command{Use: name, Long: "What " + name + " does.\n", RunE: func(*cobra.Command, []string) error { return nil }}
	AddSelectFlags(cmd, s, flags...)
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	return cmd, s, cmd.Execute()
}

var (
	listenFlags    = []SelectFlag{ChannelsFlag, EventFlag, WhereFlag, JSONFlag, PrettyFlag, OutputFlag, CountFlag, ShowProtocolFlag}
	replayFlags    = []SelectFlag{ChannelGlobsFlag, EventFlag, WhereFlag, JSONFlag, PrettyFlag, OutputFlag, CountFlag, ShowProtocolFlag}
	subscribeFlags = []SelectFlag{ChannelsFlag, ExpectFlag, WhereFlag, CountFlag, JSONObjectFlag("the summary")}
	doctorFlags    = []SelectFlag{ChannelFlag, JSONObjectFlag("the report")}
	demoFlags      = []SelectFlag{JSONFlag, PrettyFlag}
)

func TestAddSelectFlagsRegistersTheChosenFlags(t *testing.T) {
	t.Parallel()
	names := func(cmd *cobra.Command) map[string]string {
		got := map[string]string{}
		cmd.Flags().VisitAll(func(f *pflag.Flag) { got[f.Name] = f.Shorthand + " " + f.Value.Type() + " " + f.DefValue })
		delete(got, "help")
		return got
	}
	for _, tt := range []struct {
		name  string
		flags []SelectFlag
		want  map[string]string
	}{
		{"listen", listenFlags, map[string]string{
			"channel": "c stringArray []", "event": "e stringArray []", "where": " stringArray []", "json": " bool false",
			"pretty": " bool false", "wide": " bool false", "output": "o string ", "count": " int 0", "show-protocol": " bool false"}},
		{"replay", replayFlags, map[string]string{
			"channel": "c stringArray []", "event": "e stringArray []", "where": " stringArray []", "json": " bool false",
			"pretty": " bool false", "wide": " bool false", "output": "o string ", "count": " int 0", "show-protocol": " bool false"}},
		{"subscribe", subscribeFlags, map[string]string{
			"channel": "c stringArray []", "expect": " string ", "where": " stringArray []", "count": " int 1", "json": " bool false"}},
		{"doctor", doctorFlags, map[string]string{"channel": "c string ", "json": " bool false"}},
		{"demo", demoFlags, map[string]string{"json": " bool false", "pretty": " bool false", "wide": " bool false"}},
	} {
		cmd, _, err := selectCmd(t, tt.name, nil, tt.flags...)
		require.NoError(t, err)
		assert.Equal(t, tt.want, names(cmd), tt.name)
	}
}

func TestSelectFlagsHaveOneHelpEach(t *testing.T) {
	t.Parallel()
	usage := map[string]map[string]string{} // command -> flag -> help
	for name, flags := range map[string][]SelectFlag{"listen": listenFlags, "replay": replayFlags, "subscribe": subscribeFlags, "doctor": doctorFlags, "demo": demoFlags} {
		cmd, _, err := selectCmd(t, name, nil, flags...)
		require.NoError(t, err)
		usage[name] = map[string]string{}
		cmd.Flags().VisitAll(func(f *pflag.Flag) { usage[name][f.Name] = f.Usage })
	}
	for _, fl := range []string{"event", "where", "json", "pretty", "output", "count", "show-protocol"} {
		assert.Equal(t, usage["listen"][fl], usage["replay"][fl], fl)
	}
	for _, fl := range []string{"json", "pretty"} {
		assert.Equal(t, usage["listen"][fl], usage["demo"][fl], fl)
	}
	assert.Equal(t, usage["listen"]["channel"], usage["subscribe"]["channel"])
	assert.NotEqual(t, usage["listen"]["channel"], usage["replay"]["channel"], "replay's -c is a glob")

	// The variants keep the shared words.
	_, names, _ := strings.Cut(usage["listen"]["event"], "`PATTERN`: ")
	names = strings.TrimSuffix(names, "; repeatable, any may match")
	assert.Contains(t, usage["listen"]["event"], `Echo's .App\Events\MessageSent or .message.sent`)
	assert.Contains(t, usage["listen"]["event"], `'member_*'`)
	assert.True(t, strings.HasSuffix(usage["subscribe"]["expect"], "`PATTERN`: "+names), usage["subscribe"]["expect"])
	_, cond, _ := strings.Cut(usage["listen"]["where"], "holds: ")
	assert.True(t, strings.HasPrefix(usage["subscribe"]["where"], "with --expect: "))
	assert.True(t, strings.HasSuffix(usage["subscribe"]["where"], "holds: "+cond))
	assert.Equal(t, "print the report as one JSON object on stdout", usage["doctor"]["json"])
	assert.Equal(t, "print the summary as one JSON object on stdout", usage["subscribe"]["json"])
}

func TestAddSelectFlagsStatesTheFilterRuleOnce(t *testing.T) {
	t.Parallel()
	for name, flags := range map[string][]SelectFlag{"listen": listenFlags, "replay": replayFlags, "subscribe": subscribeFlags} {
		cmd, _, err := selectCmd(t, name, nil, flags...)
		require.NoError(t, err)
		assert.Equal(t, 1, strings.Count(cmd.Long, "Filters keep the records that match them"), name)
		assert.True(t, strings.HasPrefix(cmd.Long, "What "+name+" does.\n\nFilters keep"), cmd.Long)
		for _, line := range strings.Split(cmd.Long, "\n") {
			assert.LessOrEqual(t, len(line), 78, line)
		}
	}
	cmd, _, _ := selectCmd(t, "listen", nil, listenFlags...)
	assert.Contains(t, cmd.Long, "-e 'member_*'")
	cmd, _, _ = selectCmd(t, "subscribe", nil, subscribeFlags...)
	assert.Contains(t, cmd.Long, "--expect 'member_*'")
	assert.NotContains(t, cmd.Long, "-e ")
	for name, flags := range map[string][]SelectFlag{"doctor": doctorFlags, "demo": demoFlags} {
		cmd, _, err := selectCmd(t, name, nil, flags...)
		require.NoError(t, err)
		assert.Equal(t, "What "+name+" does.\n", cmd.Long, "no filter, no rule")
	}
}

func TestSelectFlagsValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		flags []SelectFlag
		args  []string
		err   string // "" when valid
		hint  string
	}{
		{"listen", listenFlags, []string{"-c", "chat", "-e", ".App\\Events\\MessageSent", "--where", "type=member_added", "--json", "--count", "2"}, "", ""},
		{"listen", listenFlags, nil, "no channel given", "e.g. tmsws listen -c private-chat.42"},
		{"listen", listenFlags, []string{"-c", "a", "-c", "a"}, `channel "a" given twice`, ""},
		{"listen", listenFlags, []string{"-c", "bad name"}, `invalid channel name "bad name"`, ""},
		{"listen", listenFlags, []string{"-c", "a", "--json", "--pretty"}, "--json and --pretty exclude each other", ""},
		{"listen", listenFlags, []string{"-c", "a", "--count", "-1"}, "--count must be 0 or more, got -1", ""},
		{"replay", replayFlags, []string{"-c", "private-*", "-c", "[weird glob", "--count", "0"}, "", ""},
		{"replay", replayFlags, []string{"--json", "--pretty"}, "--json and --pretty exclude each other", ""},
		{"subscribe", subscribeFlags, []string{"-c", "a"}, "", ""},
		{"subscribe", subscribeFlags, []string{"-c", "a", "--expect", ".message.sent", "--count", "3", "--where", "data.x"}, "", ""},
		{"subscribe", subscribeFlags, nil, "no channel given", "e.g. tmsws subscribe -c private-chat.42 --expect MessageSent"},
		{"subscribe", subscribeFlags, []string{"-c", "a", "--expect", ""}, "--expect needs a pattern", "--expect '*' for any record"},
		{"subscribe", subscribeFlags, []string{"-c", "a", "--where", "data.x"}, "--where needs --expect", ""},
		{"subscribe", subscribeFlags, []string{"-c", "a", "--count", "2"}, "--count needs --expect", ""},
		{"subscribe", subscribeFlags, []string{"-c", "a", "--expect", "E", "--count", "0"}, "--count must be 1 or more, got 0", ""},
		{"doctor", doctorFlags, nil, "", ""},
		{"doctor", doctorFlags, []string{"-c", "bad name"}, `invalid channel name "bad name"`, ""},
		{"demo", demoFlags, []string{"--json", "--pretty"}, "--json and --pretty exclude each other", ""},
	} {
		_, s, err := selectCmd(t, tt.name, tt.args, tt.flags...)
		require.NoError(t, err)
		var stderr bytes.Buffer
		err = s.Validate(&stderr)
		if tt.err == "" {
			assert.NoError(t, err, "%s %q", tt.name, tt.args)
			continue
		}
		var ue *UsageError
		if assert.ErrorAs(t, err, &ue, "%s %q", tt.name, tt.args) {
			assert.True(t, strings.HasPrefix(ue.Msg, tt.err), "%q, want %q", ue.Msg, tt.err)
			assert.Contains(t, ue.Hint, tt.hint)
		}
	}
}

func TestSelectFlagsValidateWarnsAboutChannels(t *testing.T) {
	t.Parallel()
	// A name Reverb accepts and Pusher refuses: a warning, one line each,
	// on stderr; the command goes on.
	const odd = "chat:42"
	warnings := ChannelWarnings([]string{odd})
	require.NotEmpty(t, warnings, "ChannelWarnings says nothing about %q", odd)
	for name, tt := range map[string]struct {
		flags []SelectFlag
		args  []string
	}{
		"listen": {listenFlags, []string{"-c", "chat", "-c", odd}},
		"doctor": {doctorFlags, []string{"-c", odd}},
	} {
		_, s, err := selectCmd(t, name, tt.args, tt.flags...)
		require.NoError(t, err)
		var stderr bytes.Buffer
		require.NoError(t, s.Validate(&stderr), name)
		assert.Equal(t, "warning: "+strings.Join(warnings, "\nwarning: ")+"\n", stderr.String(), name)
	}
	// Replay's -c are globs over recorded names: no warning.
	_, s, err := selectCmd(t, "replay", []string{"-c", odd}, replayFlags...)
	require.NoError(t, err)
	var stderr bytes.Buffer
	require.NoError(t, s.Validate(&stderr))
	assert.Empty(t, stderr.String())
}

func TestWrap(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "a bb\nccc\nd", wrap("a bb  ccc d", 4))
	assert.Equal(t, "", wrap("", 10))
	assert.Equal(t, "toolongword\nx", wrap("toolongword x", 4))
}

// TestBodyLimit: pretty output is cut only on a terminal and without
// --wide; a pipe, a file or --wide gets everything.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	tty := &iostreams.IO{Out: &bytes.Buffer{}, OutTTY: true}
	pipe := &iostreams.IO{Out: &bytes.Buffer{}}
	for _, tt := range []struct {
		name string
		args []string
		io   *iostreams.IO
		want int
	}{
		{"terminal", nil, tty, render.BodyLimit(80)},
		{"terminal with --wide", []string{"--wide"}, tty, 0},
		{"pipe", nil, pipe, 0},
		{"pipe with --pretty", []string{"--pretty"}, pipe, 0},
		{"no streams", nil, nil, 0},
	} {
		_, s, err := selectCmd(t, "listen", tt.args, listenFlags...)
		require.NoError(t, err)
		assert.Equal(t, tt.want, s.BodyLimit(tt.io), tt.name)
	}
	assert.Equal(t, 320, render.BodyLimit(80), "4 lines of 80 columns when the width is unknown")

	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	defer f.Close()
	assert.Equal(t, 0, terminalWidth(f), "a file has no width")
	assert.Equal(t, render.BodyLimit(0), (&SelectFlags{}).BodyLimit(&iostreams.IO{Out: f, OutTTY: true}))
}
