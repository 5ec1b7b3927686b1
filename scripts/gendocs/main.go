// Command gendocs writes tmsws's man pages and shell completion scripts,
// for the release archives and the deb and rpm packages:
//
//	go run ./scripts/gendocs -man DIR -completions DIR [-man-gz DIR] [-version V]
//
// -man writes one page per command (tmsws.1, tmsws-listen.1, ...),
// -man-gz the same pages gzipped (tmsws.1.gz, ...) as Debian and Fedora
// install them, -completions tmsws.bash, _tmsws, tmsws.fish and tmsws.ps1.
// The pages' date is SOURCE_DATE_EPOCH (or -source-date-epoch) when set,
// so the same commit gives the same pages.
package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/amusoft/tmsws/internal/app"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/iostreams"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %s\n", err)
		os.Exit(1)
	}
}

// completionFiles are the completion scripts, by file name, as the shells
// look them up: bash-completion and fish by the command's name, zsh by
// _NAME in $fpath, PowerShell dot-sourced from $PROFILE.
var completionFiles = map[string]func(*cobra.Command, io.Writer) error{
	"tmsws.bash": func(c *cobra.Command, w io.Writer) error { return c.GenBashCompletionV2(w, true) },
	"_tmsws":     func(c *cobra.Command, w io.Writer) error { return c.GenZshCompletion(w) },
	"tmsws.fish": func(c *cobra.Command, w io.Writer) error { return c.GenFishCompletion(w, true) },
	"tmsws.ps1":  func(c *cobra.Command, w io.Writer) error { return c.GenPowerShellCompletionWithDesc(w) },
}

func run(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gendocs", flag.ContinueOnError)
	fs.SetOutput(stdout)
	manDir := fs.String("man", "", "write the man pages (section 1) into `DIR`")
	manGzDir := fs.String("man-gz", "", "write the man pages gzipped (NAME.1.gz) into `DIR`")
	complDir := fs.String("completions", "", "write the bash, zsh, fish and PowerShell completion scripts into `DIR`")
	version := fs.String("version", app.Version, "the `VERSION` the pages name (tmsws VERSION)")
	epoch := fs.String("source-date-epoch", "", "the pages' date as Unix `SECONDS` (default $SOURCE_DATE_EPOCH, else today)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: give directories with -man, -man-gz and -completions", fs.Arg(0))
	}
	if *manDir == "" && *manGzDir == "" && *complDir == "" {
		return errors.New("nothing to write: give -man DIR, -man-gz DIR or -completions DIR")
	}
	if *epoch == "" {
		*epoch = getenv("SOURCE_DATE_EPOCH")
	}
	date := time.Now().UTC()
	if *epoch != "" {
		secs, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds: give a Unix time such as $(git log -1 --format=%%ct)", *epoch)
		}
		date = time.Unix(secs, 0).UTC()
	}

	if *manDir != "" {
		n, err := writeMan(root(*version), *manDir, *version, date)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "gendocs: %d man pages in %s\n", n, *manDir)
	}
	if *manGzDir != "" {
		n, err := writeManGz(root(*version), *manGzDir, *version, date)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "gendocs: %d gzipped man pages in %s\n", n, *manGzDir)
	}
	if *complDir != "" {
		if err := writeCompletions(root(*version), *complDir); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "gendocs: %d completion scripts in %s\n", len(completionFiles), *complDir)
	}
	return nil
}

// root is tmsws's command tree as app.Run builds it, over streams nobody
// reads: nothing runs, the tree is only described.
func root(version string) *cobra.Command {
	io, _, _, _ := iostreams.Test()
	r := app.NewRootCmd(&cmdutil.Factory{IO: io, Version: version})
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.DisableAutoGenTag = true // no HISTORY line with a generation date
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(r)
	return r
}

func header(version string, date time.Time) *doc.GenManHeader {
	return &doc.GenManHeader{
		Section: "1",
		Source:  "tmsws " + version,
		Manual:  "tmsws manual",
		Date:    &date,
	}
}

func writeMan(r *cobra.Command, dir, version string, date time.Time) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("create the man page folder: %w", err)
	}
	if err := doc.GenManTree(r, header(version, date), dir); err != nil {
		return 0, fmt.Errorf("write the man pages into %s: %w", dir, err)
	}
	return len(manPages(r)), nil
}

// writeManGz renders each page in memory and writes NAME.1.gz. The gzip
// header has no name and no time, so the files only change with the text.
func writeManGz(r *cobra.Command, dir, version string, date time.Time) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("create the gzipped man page folder: %w", err)
	}
	pages := manPages(r)
	for name, c := range pages {
		var page, gz bytes.Buffer
		if err := doc.GenMan(c, header(version, date), &page); err != nil {
			return 0, fmt.Errorf("render the man page %s: %w", name, err)
		}
		zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		if err != nil {
			return 0, err
		}
		if _, err := zw.Write(page.Bytes()); err != nil {
			return 0, err
		}
		if err := zw.Close(); err != nil {
			return 0, err
		}
		path := filepath.Join(dir, name+".gz")
		if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
			return 0, fmt.Errorf("write %s: %w", path, err)
		}
	}
	return len(pages), nil
}

func writeCompletions(r *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the completions folder: %w", err)
	}
	names := make([]string, 0, len(completionFiles))
	for name := range completionFiles {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var b bytes.Buffer
		if err := completionFiles[name](r, &b); err != nil {
			return fmt.Errorf("generate %s: %w", name, err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// manPages maps each man page's file name to its command: every command
// GenManTree documents (the available ones that are not help topics),
// named by its path with dashes (tmsws-completion-bash.1).
func manPages(r *cobra.Command) map[string]*cobra.Command {
	pages := map[string]*cobra.Command{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() && !s.IsAdditionalHelpTopicCommand() {
				walk(s)
			}
		}
		pages[strings.ReplaceAll(c.CommandPath(), " ", "-")+".1"] = c
	}
	walk(r)
	return pages
}
