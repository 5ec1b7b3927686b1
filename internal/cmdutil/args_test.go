package cmdutil

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// argsTree is tmsws with login (which has status and a hidden secret
// subcommand) and version, each with NoArgs.
func argsTree(args ...string) (ran string, err error) {
	run := func(c *cobra.Command, _ []string) error { ran = c.CommandPath(); return nil }
	root := &cobra.Command{Use: "tmsws", SilenceErrors: true, SilenceUsage: true}
	login := &cobra.Command{Use: "login", Args: NoArgs, RunE: run}
	login.AddCommand(&cobra.Command{Use: "status", Args: NoArgs, RunE: run})
	login.AddCommand(&cobra.Command{Use: "stash", Hidden: true, Args: NoArgs, RunE: run})
	root.AddCommand(login, &cobra.Command{Use: "version", Args: NoArgs, RunE: run})
	root.SetArgs(args)
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	return ran, root.Execute()
}

func TestNoArgsSuggestsSubcommands(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args      []string
		msg, hint string
	}{
		{[]string{"login", "stat"}, `unknown command "stat" for "tmsws login"`, "did you mean this? tmsws login status"},
		{[]string{"login", "statsu"}, `unknown command "statsu" for "tmsws login"`, "did you mean this? tmsws login status"},
		{[]string{"login", "bob@example.com"}, `unknown command "bob@example.com" for "tmsws login"`, "see 'tmsws login --help'"},
		{[]string{"version", "2"}, `unexpected argument "2"`, "see 'tmsws version --help'"},
		{[]string{"login", "status", "x"}, `unexpected argument "x"`, "see 'tmsws login status --help'"},
	} {
		ran, err := argsTree(tc.args...)
		var ue *UsageError
		require.True(t, errors.As(err, &ue), "%v: %v", tc.args, err)
		assert.Equal(t, tc.msg, ue.Msg, tc.args)
		assert.Equal(t, tc.hint, ue.Hint, tc.args)
		assert.Empty(t, ran, "%v ran", tc.args)
	}
}

func TestNoArgsLetsNoArgumentsThrough(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"login"}, {"login", "status"}, {"version"}} {
		ran, err := argsTree(args...)
		require.NoError(t, err, args)
		assert.Equal(t, "tmsws "+strings.Join(args, " "), ran)
	}
}

func TestUnknownCommandHonoursDisableSuggestions(t *testing.T) {
	t.Parallel()
	c := &cobra.Command{Use: "login", DisableSuggestions: true}
	c.AddCommand(&cobra.Command{Use: "status", Run: func(*cobra.Command, []string) {}})
	err := UnknownCommand(c, "stat")
	assert.Equal(t, "see 'login --help'", err.(*UsageError).Hint)
}
