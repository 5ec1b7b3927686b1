package app

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/iostreams"
)

// TestSelectionFlagsHaveOneHome checks the selection and output flags of
// every command in the real command tree: the same name and short form
// everywhere, the same help wherever the meaning is the same, and the
// filter rule said once in the help of each command that filters.
func TestSelectionFlagsHaveOneHome(t *testing.T) {
	t.Parallel()
	io, _, _, _ := iostreams.Test()
	root := NewRootCmd(&cmdutil.Factory{IO: io, Version: "test"})
	cmds := map[string]*cobra.Command{}
	for _, name := range []string{"listen", "subscribe", "replay", "doctor", "demo"} {
		c, _, err := root.Find([]string{name})
		require.NoError(t, err)
		cmds[name] = c
	}
	flag := func(cmd, name string) *pflag.Flag {
		t.Helper()
		f := cmds[cmd].Flags().Lookup(name)
		require.NotNil(t, f, "%s --%s", cmd, name)
		return f
	}

	// Which command takes which: names and short forms that scripts use.
	shorts := map[string]string{"channel": "c", "event": "e", "output": "o"}
	for cmd, names := range map[string][]string{
		"listen":    {"channel", "event", "where", "json", "pretty", "output", "count", "show-protocol"},
		"replay":    {"channel", "event", "where", "json", "pretty", "output", "count", "show-protocol"},
		"subscribe": {"channel", "expect", "where", "count", "json"},
		"doctor":    {"channel", "json"},
		"demo":      {"event", "where", "json", "pretty", "wide"},
	} {
		for _, name := range names {
			assert.Equal(t, shorts[name], flag(cmd, name).Shorthand, "%s --%s", cmd, name)
		}
	}

	// One help for one meaning.
	same := map[string][]string{
		"channel":       {"listen", "subscribe"},
		"event":         {"listen", "replay", "demo"},
		"where":         {"listen", "replay", "demo"},
		"json":          {"listen", "replay", "demo"},
		"pretty":        {"listen", "replay", "demo"},
		"wide":          {"listen", "replay", "demo"},
		"output":        {"listen", "replay"},
		"count":         {"listen", "replay"},
		"show-protocol": {"listen", "replay"},
	}
	for name, in := range same {
		for _, cmd := range in[1:] {
			assert.Equal(t, flag(in[0], name).Usage, flag(cmd, name).Usage, "--%s of %s and %s", name, in[0], cmd)
		}
	}
	// The variants keep the shared wording of what they share.
	event := flag("listen", "event").Usage
	assert.Contains(t, event, `Echo's .App\Events\MessageSent or .message.sent for exactly that name`)
	assert.Contains(t, event, "'member_*'")
	_, names, _ := strings.Cut(event, "`PATTERN`: ")
	assert.True(t, strings.HasSuffix(flag("subscribe", "expect").Usage, strings.TrimSuffix(names, "; repeatable, any may match")))
	_, cond, _ := strings.Cut(flag("listen", "where").Usage, "holds: ")
	assert.True(t, strings.HasSuffix(flag("subscribe", "where").Usage, "holds: "+cond))
	assert.Equal(t, "1", flag("subscribe", "count").DefValue)
	assert.Equal(t, "0", flag("listen", "count").DefValue)
	for _, cmd := range []string{"subscribe", "doctor"} {
		assert.True(t, strings.HasSuffix(flag(cmd, "json").Usage, " as one JSON object on stdout"), cmd)
	}

	// The rule, once, in the help of the commands that filter.
	for cmd, n := range map[string]int{"listen": 1, "subscribe": 1, "replay": 1, "doctor": 0, "demo": 1} {
		assert.Equal(t, n, strings.Count(cmds[cmd].Long, "Filters keep the records that match them"), cmd)
	}
	assert.Contains(t, cmds["listen"].Long, cmdutil.FilterRule("-e"))
	assert.Contains(t, cmds["replay"].Long, cmdutil.FilterRule("-e"))
	assert.Contains(t, cmds["demo"].Long, cmdutil.FilterRule("-e"))
	assert.Contains(t, cmds["subscribe"].Long, cmdutil.FilterRule("--expect"))
}

// TestHelpExamplesPipeRecordsThatHaveTheField runs the help's jq examples
// in spirit: the examples that read .data.message select MessageSent first.
func TestHelpExamplesPipeRecordsThatHaveTheField(t *testing.T) {
	t.Parallel()
	io, _, _, _ := iostreams.Test()
	root := NewRootCmd(&cmdutil.Factory{IO: io, Version: "test"})
	var all []*cobra.Command
	all = append(all, root)
	all = append(all, root.Commands()...)
	for _, c := range all {
		for _, line := range strings.Split(c.Example, "\n") {
			if !strings.Contains(line, "jq") || !strings.Contains(line, ".data.message") {
				continue
			}
			assert.True(t, strings.Contains(line, "-e MessageSent") || strings.Contains(line, "select("), "%s: %s", c.Name(), line)
		}
	}
}
