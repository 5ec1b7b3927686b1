package cmdutil

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/config"
)

// CompleteValues completes a flag or argument from a fixed list of values,
// each "value" or "value\tdescription" (cobra.CompletionWithDesc), keeping
// those that start with what was typed; never file names.
func CompleteValues(values ...cobra.Completion) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return withPrefix(values, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// CompleteNothing is the completion of a flag whose value cannot be
// guessed (a channel name): no file names either.
func CompleteNothing(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// CompleteProfiles completes --profile with the profiles of the config
// file (config.ProfileNames) read through env.
func CompleteProfiles(env func(string) string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return withPrefix(config.ProfileNames(env), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// CompleteKeys completes the KEY argument of tmsws config get, set and
// unset with config.Keys(): the first argument only; what follows (set's
// VALUE) gets no completion.
func CompleteKeys(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return withPrefix(config.Keys(), toComplete), cobra.ShellCompDirectiveNoFileComp
}

func withPrefix(values []cobra.Completion, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, v := range values {
		name, _, _ := strings.Cut(v, "\t")
		if strings.HasPrefix(name, prefix) {
			out = append(out, v)
		}
	}
	return out
}
