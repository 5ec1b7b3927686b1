package cmdutil

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// NoArgs is the Args of a command that takes no positional arguments. For a
// command with subcommands (tmsws login), an argument is a subcommand
// mistyped: the error says so, as cobra's own does, and the hint suggests
// the subcommands it resembles (tmsws login stat: did you mean this? tmsws
// login status). Either way it is a UsageError (exit 2).
func NoArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	help := "see '" + c.CommandPath() + " --help'"
	if !c.HasAvailableSubCommands() {
		return &UsageError{Msg: fmt.Sprintf("unexpected argument %q", args[0]), Hint: help}
	}
	return UnknownCommand(c, args[0])
}

// UnknownCommand is the UsageError for a subcommand name of c that does not
// exist, with the subcommands it resembles as the hint (cobra's
// suggestions: a prefix, or at most two edits away).
func UnknownCommand(c *cobra.Command, typed string) error {
	e := &UsageError{
		Msg:  fmt.Sprintf("unknown command %q for %q", typed, c.CommandPath()),
		Hint: "see '" + c.CommandPath() + " --help'",
	}
	if c.DisableSuggestions {
		return e
	}
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default
	}
	var full []string
	for _, s := range c.SuggestionsFor(typed) {
		full = append(full, c.CommandPath()+" "+s)
	}
	if len(full) > 0 {
		e.Hint = "did you mean this? " + strings.Join(full, ", ")
	}
	return e
}
