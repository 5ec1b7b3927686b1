package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/iostreams"
)

// complete runs cobra's __complete as the shells' scripts do and returns
// the values offered (descriptions cut off) and the directive.
func complete(t *testing.T, c *cli, args ...string) ([]string, cobra.ShellCompDirective) {
	t.Helper()
	res := c.run(append([]string{cobra.ShellCompRequestCmd}, args...)...)
	require.Equal(t, 0, res.code, res.stderr)
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	require.NotEmpty(t, lines)
	last := lines[len(lines)-1]
	require.True(t, strings.HasPrefix(last, ":"), "the directive line: %q", res.stdout)
	var d int
	for _, r := range last[1:] {
		d = d*10 + int(r-'0')
	}
	var values []string
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values, cobra.ShellCompDirective(d)
}

func TestCompletionOfFlagValues(t *testing.T) {
	t.Parallel()
	const noFiles = cobra.ShellCompDirectiveNoFileComp
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--color", ""}, []string{"auto", "always", "never"}},
		{[]string{"listen", "--color", "a"}, []string{"auto", "always"}},
		{[]string{"--scheme", ""}, []string{"https", "http", "wss", "ws"}},
		{[]string{"subscribe", "--scheme", "w"}, []string{"wss", "ws"}},
		{[]string{"replay", "--like", ""}, []string{"reverb", "pusher"}},
		{[]string{"replay", "x.jsonl", "--like", "p"}, []string{"pusher"}},
		{[]string{"--color", "x"}, nil},
	} {
		got, d := complete(t, newCLI(t), tc.args...)
		assert.Equal(t, tc.want, got, "%v", tc.args)
		assert.Equal(t, noFiles, d, "%v", tc.args)
	}
}

// --profile offers the profiles of the config file, in file order.
func TestCompletionOfProfiles(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	got, d := complete(t, c, "listen", "--profile", "")
	assert.Empty(t, got, "no config file: no profiles")
	assert.Equal(t, cobra.ShellCompDirectiveNoFileComp, d)

	dir := filepath.Join(c.env["XDG_CONFIG_HOME"], "tmsws")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config"), []byte("[default]\nhost = a\n\n[staging]\nhost = b\n\n[local]\nport = 8080\n[stage-2]\n"), 0o600))
	got, d = complete(t, c, "listen", "--profile", "")
	assert.Equal(t, []string{"default", "staging", "local", "stage-2"}, got)
	assert.Equal(t, cobra.ShellCompDirectiveNoFileComp, d)
	got, _ = complete(t, c, "--profile", "sta")
	assert.Equal(t, []string{"staging", "stage-2"}, got)
}

// -c/--channel, on every command that has it, completes nothing, file
// names included; the file flags keep the shell's file completion.
func TestCompletionOfChannelsAndFiles(t *testing.T) {
	t.Parallel()
	io, _, _, _ := iostreams.Test()
	root := NewRootCmd(&cmdutil.Factory{IO: io, Version: "test"})
	var withChannel []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flags().Lookup("channel") != nil {
			withChannel = append(withChannel, c)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	var names []string
	for _, c := range withChannel {
		names = append(names, c.Name())
		path := strings.Fields(c.CommandPath())[1:]
		for _, flag := range []string{"-c", "--channel"} {
			got, d := complete(t, newCLI(t), append(path, flag, "")...)
			assert.Empty(t, got, "%s %s", c.CommandPath(), flag)
			assert.Equal(t, cobra.ShellCompDirectiveNoFileComp, d, "%s %s: no file names", c.CommandPath(), flag)
		}
	}
	assert.Subset(t, names, []string{"listen", "subscribe", "replay", "trigger", "doctor"})

	for _, args := range [][]string{{"listen", "-o", ""}, {"replay", "--output", ""}, {"--cacert", ""}, {"listen", "--cacert", ""}} {
		got, d := complete(t, newCLI(t), args...)
		assert.Empty(t, got, "%v", args)
		assert.Equal(t, cobra.ShellCompDirectiveDefault, d, "%v: file names", args)
	}
	if root.Flag("env-file") != nil {
		_, d := complete(t, newCLI(t), "--env-file", "")
		assert.Equal(t, cobra.ShellCompDirectiveDefault, d, "--env-file: file names")
	}
}

// bashCompletionShim stands in for the bash-completion package's
// _get_comp_words_by_ref (cobra's script needs it) when it is not
// installed: the words as bash split them.
const bashCompletionShim = `
if ! declare -F _get_comp_words_by_ref >/dev/null; then
  _get_comp_words_by_ref() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
fi
`

// The bash script loads and, run the way bash runs it on Tab, offers the
// values of tmsws itself; zsh's and fish's load where those shells are
// installed; powershell's is there.
func TestCompletionScriptsLoad(t *testing.T) {
	t.Parallel()
	bin := tmswsBinary(t)
	env := append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+t.TempDir(), "XDG_CONFIG_HOME=")
	shell := func(sh, script string) string {
		t.Helper()
		cmd := exec.Command(sh, "-c", script)
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr // bash: compopt complains outside a real Tab
		out, err := cmd.Output()
		require.NoError(t, err, "%s: %s%s", sh, out, stderr.String())
		return string(out)
	}

	bash, err := exec.LookPath("bash")
	require.NoError(t, err, "bash runs the tests' scripts")
	out := shell(bash, `source <(tmsws completion bash) && complete -p tmsws`)
	assert.Equal(t, "complete -o default -F __start_tmsws tmsws\n", out)
	out = shell(bash, bashCompletionShim+`source <(tmsws completion bash) || exit 1
COMP_WORDS=(tmsws listen --scheme ht); COMP_CWORD=3; COMP_LINE="tmsws listen --scheme ht"; COMP_POINT=${#COMP_LINE}
__start_tmsws tmsws ht listen
printf '%s\n' "${COMPREPLY[@]}"`)
	assert.Equal(t, "https\nhttp\n", out)

	if zsh, err := exec.LookPath("zsh"); err == nil {
		shell(zsh, `autoload -U compinit && compinit -u && source <(tmsws completion zsh) && whence -w _tmsws`)
	} else {
		t.Log("zsh is not installed: its script is not loaded")
	}
	if fish, err := exec.LookPath("fish"); err == nil {
		out := shell(fish, `tmsws completion fish | source; and complete -C 'tmsws --color a'`)
		assert.Contains(t, out, "auto")
		assert.Contains(t, out, "always")
	} else {
		t.Log("fish is not installed: its script is not loaded")
	}
	cmd := exec.Command(bin, "completion", "powershell")
	cmd.Env = env
	ps, err := cmd.Output()
	require.NoError(t, err)
	assert.Contains(t, string(ps), "Register-ArgumentCompleter")
	assert.Greater(t, len(ps), 1000)
}
