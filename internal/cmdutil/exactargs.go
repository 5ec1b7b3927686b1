package cmdutil

import (
	"fmt"

	"github.com/spf13/cobra"
)

// ExactArgs is the Args of a command that takes exactly n positional
// arguments, what naming them for the error ("a key and a value"): a
// UsageError (exit 2) that shows the usage line.
func ExactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		msg := fmt.Sprintf("%s takes %s", c.CommandPath(), what)
		if len(args) > n {
			msg = fmt.Sprintf("%s takes %s, not %d arguments", c.CommandPath(), what, len(args))
		}
		return &UsageError{Msg: msg, Hint: "usage: " + c.UseLine()}
	}
}

// Suggest returns the one of known nearest to typed (at most two edits
// away, or a prefix of it), or "" when none is near.
func Suggest(typed string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if len(typed) >= 2 && len(k) > len(typed) && k[:len(typed)] == typed {
			return k
		}
		if d := editDistance(typed, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
