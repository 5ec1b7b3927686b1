// Package cmdtest parses one command's flags the way the root command does
// and captures its Options through the runF seam, for flag tests.
package cmdtest

import (
	"context"
	"testing"

	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
)

// Parse builds the command with build under a root that has the
// connection flags, runs it with args and returns the Options its runF
// received (nil when parsing failed) and the error. io may be nil: then the
// streams are buffers and the config folder is a fresh temporary one.
func Parse[O any](t testing.TB, build func(*cmdutil.Factory, func(context.Context, *O) error) *cobra.Command, io *iostreams.IO, args ...string) (*O, error) {
	t.Helper()
	if io == nil {
		io, _, _, _ = iostreams.Test()
		home := t.TempDir()
		io.Env = func(k string) string {
			if k == "XDG_CONFIG_HOME" || k == "HOME" {
				return home
			}
			return ""
		}
	}
	f := &cmdutil.Factory{IO: io, Version: "test"}
	root := &cobra.Command{Use: "tmsws", SilenceErrors: true, SilenceUsage: true}
	f.Flags = config.AddFlags(root.PersistentFlags())
	var got *O
	cmd := build(f, func(_ context.Context, o *O) error {
		got = o
		return nil
	})
	root.AddCommand(cmd)
	root.SetArgs(append([]string{cmd.Name()}, args...))
	err := root.Execute()
	return got, err
}
