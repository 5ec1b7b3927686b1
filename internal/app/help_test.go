package app

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/iostreams"
)

// TestEveryCommandHasExamples walks the whole command tree, cobra's
// completion command included: every command a user can see shows how it
// is used. Hidden commands and cobra's help are the exceptions.
func TestEveryCommandHasExamples(t *testing.T) {
	t.Parallel()
	io, _, _, _ := iostreams.Test()
	root := NewRootCmd(&cmdutil.Factory{IO: io, Version: "test"})
	root.InitDefaultHelpCmd() // as Execute does
	var walked []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || (c.Name() == "help" && c.Parent() == root) {
			return
		}
		walked = append(walked, c.CommandPath())
		assert.NotEmpty(t, strings.TrimSpace(c.Example), "%s has no examples", c.CommandPath())
		for _, line := range strings.Split(c.Example, "\n") {
			if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			assert.True(t, strings.HasPrefix(line, "  "), "%s: an example line is indented by two spaces, as cobra's help expects: %q", c.CommandPath(), line)
			assert.Contains(t, line, "tmsws ", "%s: the example line %q runs tmsws", c.CommandPath(), line)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, want := range []string{"tmsws version", "tmsws completion", "tmsws completion bash", "tmsws completion zsh",
		"tmsws completion fish", "tmsws completion powershell", "tmsws login", "tmsws login status", "tmsws logout"} {
		assert.Contains(t, walked, want, "the walk missed a command")
	}
}

// A mistyped command, at the root or below, is one error line with
// cobra's suggestion as the hint, and exit 2.
func TestUnknownCommandSuggests(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		msg  string
		hint string
	}{
		{[]string{"lisen"}, `error: unknown command "lisen" for "tmsws"`, "hint: did you mean this? tmsws listen"},
		{[]string{"subscibe", "-c", "x"}, `error: unknown command "subscibe" for "tmsws"`, "hint: did you mean this? tmsws subscribe"},
		{[]string{"nothing-like-it"}, `error: unknown command "nothing-like-it" for "tmsws"`, "hint: see 'tmsws --help'"},
		{[]string{"completion", "bas"}, `error: unknown command "bas" for "tmsws completion"`, "hint: did you mean this? tmsws completion bash"},
		{[]string{"completion", "bash", "extra"}, `error: unexpected argument "extra"`, "hint: see 'tmsws completion bash --help'"},
		{[]string{"version", "2"}, `error: unexpected argument "2"`, "hint: see 'tmsws version --help'"},
	} {
		res := newCLI(t).run(tc.args...)
		assert.Equal(t, ExitUsage, res.code, "%v", tc.args)
		assert.Equal(t, tc.msg+"\n"+tc.hint+"\n", res.stderr, "%v", tc.args)
		assert.Empty(t, res.stdout, "%v", tc.args)
	}
}

// `tmsws login stat` is a mistyped `login status`. This holds once login
// uses cmdutil.NoArgs.
func TestLoginUnknownSubcommandSuggests(t *testing.T) {
	t.Parallel()
	res := newCLI(t).run("login", "stat")
	assert.Equal(t, ExitUsage, res.code)
	assert.Equal(t, "error: unknown command \"stat\" for \"tmsws login\"\nhint: did you mean this? tmsws login status\n", res.stderr)
}

// The completion command made early still writes cobra's scripts to the
// command's stdout, and `tmsws completion` alone shows its help.
func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	for shell, head := range map[string]string{
		"bash":       "# bash completion V2 for tmsws",
		"zsh":        "#compdef tmsws",
		"fish":       "# fish completion for tmsws",
		"powershell": "# powershell completion for tmsws",
	} {
		res := newCLI(t).run("completion", shell)
		require.Equal(t, 0, res.code, "%s: %s", shell, res.stderr)
		assert.True(t, strings.HasPrefix(res.stdout, head), "%s: %.80q", shell, res.stdout)
	}
	res := newCLI(t).run("completion", "fish", "--no-descriptions")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "# fish completion for tmsws")

	res = newCLI(t).run("completion")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "Available Commands:")
	assert.Contains(t, res.stdout, "source <(tmsws completion bash)")
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		res := newCLI(t).run(args...)
		require.Equal(t, 0, res.code, res.stderr)
		assert.Regexp(t, `^tmsws \S+\n$`, res.stdout)
	}
}
