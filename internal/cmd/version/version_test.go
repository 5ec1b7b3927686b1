package version

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/iostreams"
)

func run(t *testing.T, info Info, args ...string) string {
	t.Helper()
	io, _, out, _ := iostreams.Test()
	root := &cobra.Command{Use: "tmsws", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(NewCmdVersion(&cmdutil.Factory{IO: io}, info))
	root.SetArgs(append([]string{"version"}, args...))
	require.NoError(t, root.Execute())
	return out.String()
}

var release = Info{Version: "0.1.0", Commit: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", Date: "2026-12-01T10:00:00Z",
	Go: "go1.26.8", OS: "linux", Arch: "amd64"}

func TestVersionText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		info Info
		want string
	}{
		{"release", release, "tmsws 0.1.0 (commit 1a2b3c4, built 2026-12-01T10:00:00Z, go1.26.8, linux/amd64)\n"},
		{"short commit kept", Info{Version: "0.1.0", Commit: "abc1234", Go: "go1.26.8", OS: "darwin", Arch: "arm64"},
			"tmsws 0.1.0 (commit abc1234, go1.26.8, darwin/arm64)\n"},
		{"dirty", Info{Version: "dev", Commit: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d-dirty", Go: "go1.26.8", OS: "linux", Arch: "amd64"},
			"tmsws dev (commit 1a2b3c4-dirty, go1.26.8, linux/amd64)\n"},
		{"unknown left out", Info{Version: "dev", Go: "go1.26.8", OS: "linux", Arch: "amd64"}, "tmsws dev (go1.26.8, linux/amd64)\n"},
		{"nothing known", Info{Version: "dev"}, "tmsws dev\n"},
	} {
		assert.Equal(t, tc.want, run(t, tc.info), tc.name)
		assert.Equal(t, strings.TrimSuffix(tc.want, "\n"), tc.info.String(), tc.name)
	}
}

func TestVersionJSON(t *testing.T) {
	t.Parallel()
	out := run(t, release, "--json")
	assert.JSONEq(t, `{"version":"0.1.0","commit":"1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d","date":"2026-12-01T10:00:00Z","go":"go1.26.8","os":"linux","arch":"amd64"}`, out)
	assert.Equal(t, 1, strings.Count(out, "\n"))
	assert.True(t, strings.HasSuffix(out, "}\n"))

	// Unknown parts are "", and every key is still there, in order.
	out = run(t, Info{Version: "dev", Go: "go1.26.8", OS: "linux", Arch: "amd64"}, "--json")
	assert.Equal(t, `{"version":"dev","commit":"","date":"","go":"go1.26.8","os":"linux","arch":"amd64"}`+"\n", out)
	var keys []string
	gjson.Parse(out).ForEach(func(k, _ gjson.Result) bool { keys = append(keys, k.Str); return true })
	assert.Equal(t, []string{"version", "commit", "date", "go", "os", "arch"}, keys)
}

func buildInfo(version string, settings ...string) *debug.BuildInfo {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/amusoft/tmsws", Version: version}}
	for i := 0; i+1 < len(settings); i += 2 {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
	}
	return bi
}

func TestNewFromBuildInfo(t *testing.T) {
	t.Parallel()
	const rev = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
	platform := func(i Info) Info { i.OS, i.Arch = runtime.GOOS, runtime.GOARCH; return i }
	for _, tc := range []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{
		{"ldflags win over build info", "0.1.0", "abc1234", "2026-12-01T10:00:00Z",
			buildInfo("v0.0.9", "vcs.revision", rev, "vcs.time", "2025-01-01T00:00:00Z"),
			platform(Info{Version: "0.1.0", Commit: "abc1234", Date: "2026-12-01T10:00:00Z", Go: "go1.26.8"})},
		{"go install module@v0.2.0", "dev", "", "", buildInfo("v0.2.0"),
			platform(Info{Version: "0.2.0", Go: "go1.26.8"})},
		{"go build in a git checkout", "dev", "", "",
			buildInfo("(devel)", "vcs", "git", "vcs.revision", rev, "vcs.time", "2026-11-30T08:00:00Z", "vcs.modified", "false"),
			platform(Info{Version: "dev", Commit: rev, Date: "2026-11-30T08:00:00Z", Go: "go1.26.8"})},
		{"with local changes", "", "", "",
			buildInfo("(devel)", "vcs.revision", rev, "vcs.time", "2026-11-30T08:00:00Z", "vcs.modified", "true"),
			platform(Info{Version: "dev", Commit: rev + "-dirty", Date: "2026-11-30T08:00:00Z", Go: "go1.26.8"})},
		{"ldflags version, commit from git", "v1.2.3", "", "", buildInfo("(devel)", "vcs.revision", rev),
			platform(Info{Version: "1.2.3", Commit: rev, Go: "go1.26.8"})},
		{"no build info", "dev", "", "", nil,
			platform(Info{Version: "dev", Go: runtime.Version()})},
		{"a version not starting v-digit is kept", "vnext", "", "", nil,
			platform(Info{Version: "vnext", Go: runtime.Version()})},
	} {
		assert.Equal(t, tc.want, New(tc.version, tc.commit, tc.date, tc.bi), tc.name)
	}
}

func TestCurrentReadsBuildInfo(t *testing.T) {
	t.Parallel()
	bi, ok := debug.ReadBuildInfo()
	require.True(t, ok, "test binaries carry build information")
	got := Current("dev", "", "")
	assert.Equal(t, bi.GoVersion, got.Go)
	assert.Equal(t, New("dev", "", "", bi), got)
}
