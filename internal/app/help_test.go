package app

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/iostreams"
)

// TestEveryCommandHasExamples walks the whole command tree, cobra's
// completion command included: every command a user can see shows how it
// is used. Hidden commands, cobra's help and the help topics (tmsws help
// exit-codes: text, not a command) are the exceptions.
func TestEveryCommandHasExamples(t *testing.T) {
	t.Parallel()
	io, _, _, _ := iostreams.Test()
	root := NewRootCmd(&cmdutil.Factory{IO: io, Version: "test"})
	root.InitDefaultHelpCmd() // as Execute does
	var walked []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || (c.Name() == "help" && c.Parent() == root) || c.IsAdditionalHelpTopicCommand() {
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

// The jq programs that doctor's help and the README give for the failed
// step select that step alone: not the steps skipped after it, not the
// ones that did not apply.
func TestDoctorExamplesSelectOnlyTheFailedStep(t *testing.T) {
	t.Parallel()
	jq, err := exec.LookPath("jq")
	if err != nil {
		t.Skip("jq is not installed: the examples are jq programs")
	}
	help := newCLI(t).run("doctor", "--help").stdout
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	quoted := regexp.MustCompile(`tmsws doctor .*\| jq (?:-r )?'([^']*)'`)
	var programs []string
	for _, m := range quoted.FindAllStringSubmatch(help+"\n"+string(readme), -1) {
		programs = append(programs, m[1])
	}
	require.GreaterOrEqual(t, len(programs), 3, "doctor's help and the README show jq programs")

	run := func(program, report string) string {
		t.Helper()
		cmd := exec.Command(jq, "-c", program)
		cmd.Stdin = strings.NewReader(report)
		out, err := cmd.Output()
		require.NoError(t, err, "jq %s", program)
		return strings.TrimSpace(string(out))
	}
	srv := startServer(t)
	for _, tc := range []struct {
		name   string
		cli    *cli
		failed string
	}{
		{"nothing listening", newCLI(t).pointAt(hostiletest.ClosedAddr(t)), "tcp"},
		// TLS does not apply over ws://; the token is missing.
		{"no token", newCLI(t).pointAt(srv.Addr()), "token"},
	} {
		code, rep, stderr := doctorReport(t, tc.cli, "-c", "private-chat.42")
		require.NotEqual(t, 0, code, stderr)
		require.Equal(t, tc.failed, rep.Get("failed").String(), stderr)
		for _, p := range programs {
			switch out := run(p, rep.Raw); {
			case strings.Contains(p, "select("):
				require.Equal(t, 1, strings.Count(out, "\n")+1, "%s: jq '%s' gave\n%s", tc.name, p, out)
				assert.Equal(t, tc.failed, gjson.Get(out, "name").String(), "%s: jq '%s'", tc.name, p)
				assert.Equal(t, false, gjson.Get(out, "ok").Bool())
			case strings.Contains(p, ".failed"):
				assert.Equal(t, `"`+tc.failed+`"`, out, "%s: jq '%s'", tc.name, p)
			}
		}
	}
}
