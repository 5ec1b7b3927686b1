package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func noEnv(string) string { return "" }

// bold is how md2man writes a flag's name in OPTIONS: \fB--name\fP.
func bold(s string) string { return `\fB` + s + `\fP` }

// commandPaths lists every command of tmsws's tree that a user can run,
// walked independently of manPages: the root and each available,
// non-help-topic command below it.
func commandPaths(t *testing.T) map[string]*cobra.Command {
	t.Helper()
	cmds := map[string]*cobra.Command{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		cmds[c.CommandPath()] = c
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() && !s.IsAdditionalHelpTopicCommand() {
				walk(s)
			}
		}
	}
	walk(root("test"))
	// The tree is tmsws's: a page per command would prove nothing on an
	// empty tree.
	for _, want := range []string{"tmsws", "tmsws listen", "tmsws login", "tmsws login status", "tmsws replay",
		"tmsws subscribe", "tmsws trigger", "tmsws doctor", "tmsws demo", "tmsws version", "tmsws completion bash"} {
		require.Contains(t, cmds, want)
	}
	return cmds
}

func TestManPagesForEveryCommand(t *testing.T) {
	dir := t.TempDir()
	man, gz := filepath.Join(dir, "man"), filepath.Join(dir, "man-gz")
	var out bytes.Buffer
	require.NoError(t, run([]string{"-man", man, "-man-gz", gz, "-version", "1.2.3"}, noEnv, &out))

	cmds := commandPaths(t)
	files, err := os.ReadDir(man)
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
	}
	want := make([]string, 0, len(cmds))
	for path := range cmds {
		want = append(want, strings.ReplaceAll(path, " ", "-")+".1")
	}
	sort.Strings(want)
	assert.Equal(t, want, names, "one page per command, no other file")
	assert.Contains(t, out.String(), "gendocs: "+strconv.Itoa(len(want))+" man pages in "+man)

	for path, c := range cmds {
		name := strings.ReplaceAll(path, " ", "-") + ".1"
		b, err := os.ReadFile(filepath.Join(man, name))
		require.NoError(t, err, path)
		page := string(b)
		assert.Contains(t, page, `.TH "`+strings.ToUpper(strings.TrimSuffix(name, ".1"))+`" "1" `, path)
		assert.Contains(t, page, `"tmsws 1.2.3"`, path+": the source names the version")
		assert.NotContains(t, page, "Auto generated", path)
		assert.Contains(t, page, c.Short, path)
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			assert.Contains(t, page, bold("--"+f.Name), "%s: flag --%s", path, f.Name)
			if f.Shorthand != "" {
				assert.Contains(t, page, bold("-"+f.Shorthand)+", "+bold("--"+f.Name), "%s: -%s", path, f.Shorthand)
			}
		})

		// The gzipped page is the same page.
		zb, err := os.ReadFile(filepath.Join(gz, name+".gz"))
		require.NoError(t, err, path)
		zr, err := gzip.NewReader(bytes.NewReader(zb))
		require.NoError(t, err, path)
		unz, err := io.ReadAll(zr)
		require.NoError(t, err, path)
		assert.Equal(t, page, string(unz), path)
	}
	gzFiles, err := os.ReadDir(gz)
	require.NoError(t, err)
	assert.Len(t, gzFiles, len(want))
}

func TestManPagesFlagsOfListen(t *testing.T) {
	// Spot check against the contract's names, independent of the tree walk.
	dir := t.TempDir()
	require.NoError(t, run([]string{"-man", dir}, noEnv, io.Discard))
	b, err := os.ReadFile(filepath.Join(dir, "tmsws-listen.1"))
	require.NoError(t, err)
	for _, flag := range []string{"-c", "--channel", "-e", "--event", "--where", "--json", "--count", "--duration", "--reconnect-delay", "--host", "--profile"} {
		assert.Contains(t, string(b), bold(flag), flag)
	}
}

func TestManPagesDateFromSourceDateEpoch(t *testing.T) {
	env := func(k string) string {
		if k == "SOURCE_DATE_EPOCH" {
			return "1764547200" // 2025-12-01 00:00:00 UTC
		}
		return ""
	}
	a, b := t.TempDir(), t.TempDir()
	require.NoError(t, run([]string{"-man", a, "-man-gz", a}, env, io.Discard))
	page, err := os.ReadFile(filepath.Join(a, "tmsws.1"))
	require.NoError(t, err)
	assert.Contains(t, string(page), `.TH "TMSWS" "1" "Dec 2025" "tmsws dev" "tmsws manual"`)

	// -source-date-epoch wins over the environment.
	require.NoError(t, run([]string{"-man", b, "-man-gz", b, "-source-date-epoch", "1767225600"}, env, io.Discard))
	page2, err := os.ReadFile(filepath.Join(b, "tmsws.1"))
	require.NoError(t, err)
	assert.Contains(t, string(page2), `"Jan 2026"`)

	// Same epoch, same bytes: run twice into one folder and compare.
	c := t.TempDir()
	require.NoError(t, run([]string{"-man", c, "-man-gz", c}, env, io.Discard))
	for _, name := range []string{"tmsws.1", "tmsws.1.gz", "tmsws-listen.1.gz"} {
		x, err := os.ReadFile(filepath.Join(a, name))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(c, name))
		require.NoError(t, err)
		assert.Equal(t, x, y, name)
	}

	err = run([]string{"-man", t.TempDir(), "-source-date-epoch", "yesterday"}, noEnv, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `SOURCE_DATE_EPOCH "yesterday" is not a number of seconds`)
}

func TestCompletions(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run([]string{"-completions", dir}, noEnv, &out))
	assert.Contains(t, out.String(), "gendocs: 4 completion scripts in "+dir)
	// What marks each script as its shell's, for tmsws.
	want := map[string][]string{
		"tmsws.bash": {"complete -o default -F __start_tmsws tmsws", "__complete"},
		"_tmsws":     {"#compdef tmsws", "compdef _tmsws tmsws"},
		"tmsws.fish": {"complete -c tmsws", "__complete"},
		"tmsws.ps1":  {"Register-ArgumentCompleter", "-CommandName 'tmsws'"},
	}
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, files, len(want))
	for name, marks := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.NotEmpty(t, b, name)
		for _, m := range marks {
			assert.Contains(t, string(b), m, name)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "nothing to write: give -man DIR, -man-gz DIR or -completions DIR"},
		{[]string{"-man", "x", "extra"}, `unexpected argument "extra"`},
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
	} {
		err := run(tc.args, noEnv, io.Discard)
		require.Error(t, err, tc.args)
		assert.Contains(t, err.Error(), tc.msg, tc.args)
	}
	// A folder that cannot be made is an error naming what failed.
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	err := run([]string{"-completions", filepath.Join(file, "sub")}, noEnv, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "create the completions folder")
}
