// Package version implements `tmsws version` (and the line --version
// prints): the version, commit and build date set at build time, else the
// ones Go stamped into the binary, with the Go version and platform.
package version

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/cmdutil"
)

// Dev is the version of a binary that was given none, at build time or by
// go install.
const Dev = "dev"

// Info says which tmsws this is. Empty fields are unknown.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"` // RFC 3339, as goreleaser and vcs.time give it
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// New is the Info of a build: version, commit and date as set by
// -ldflags -X (each "" when not set; version "dev" also counts as not set),
// else taken from bi, the build information Go stamps into the binary (nil
// when there is none): the module version of go install module@v1.2.3 (or
// the pseudo-version of a build in a git checkout), vcs.revision with
// "-dirty" when vcs.modified, and vcs.time. A leading "v" is dropped from
// the version, so every way of building prints 1.2.3.
func New(version, commit, date string, bi *debug.BuildInfo) Info {
	info := Info{Version: version, Commit: commit, Date: date, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if info.Version == Dev {
		info.Version = ""
	}
	if bi != nil {
		if info.Version == "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			info.Go = bi.GoVersion
		}
		var rev, at string
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if info.Commit == "" && rev != "" {
			info.Commit = rev
			if modified {
				info.Commit += "-dirty"
			}
		}
		if info.Date == "" {
			info.Date = at
		}
	}
	if v, ok := strings.CutPrefix(info.Version, "v"); ok && v != "" && v[0] >= '0' && v[0] <= '9' {
		info.Version = v
	}
	if info.Version == "" {
		info.Version = Dev
	}
	return info
}

// Current is New with the build information of the running binary.
func Current(version, commit, date string) Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return New(version, commit, date, bi)
}

// shortCommit is how the text line shows a commit: a full hash cut to 7
// characters, as git abbreviates it, its -dirty mark kept.
func shortCommit(c string) string {
	hash, dirty, _ := strings.Cut(c, "-")
	if len(hash) > 7 && isHex(hash) {
		hash = hash[:7]
	}
	if dirty != "" {
		return hash + "-" + dirty
	}
	return hash
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// String is the one line of tmsws version and tmsws --version, without the
// newline: "tmsws 0.1.0 (commit 1a2b3c4, built 2026-12-01T10:00:00Z,
// go1.26.8, linux/amd64)". Unknown parts are left out.
func (i Info) String() string {
	var parts []string
	if i.Commit != "" {
		parts = append(parts, "commit "+shortCommit(i.Commit))
	}
	if i.Date != "" {
		parts = append(parts, "built "+i.Date)
	}
	if i.Go != "" {
		parts = append(parts, i.Go)
	}
	if i.OS != "" && i.Arch != "" {
		parts = append(parts, i.OS+"/"+i.Arch)
	}
	line := "tmsws " + i.Version
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	return line
}

// Options are the parsed flags of `tmsws version`.
type Options struct {
	JSON bool
}

// NewCmdVersion builds `tmsws version`, printing info.
func NewCmdVersion(f *cmdutil.Factory, info Info) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Long: `Print the version of tmsws, the commit and date it was built from, the Go
version and the platform, on one line, as tmsws --version does. Parts that
are not known (a build outside a git checkout has no commit) are left out.

With --json, one JSON object with the keys version, commit, date, go, os
and arch; a key that is not known is "", never missing.`,
		Example: `  tmsws version
  tmsws --version
  tmsws version --json | jq -r .version`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.JSON {
				b, err := json.Marshal(info)
				if err != nil {
					return err
				}
				_, err = f.IO.Out.Write(append(b, '\n'))
				return err
			}
			_, err := f.IO.Out.Write([]byte(info.String() + "\n"))
			return err
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print one JSON object: version, commit, date, go, os, arch (\"\" when not known)")
	return cmd
}
