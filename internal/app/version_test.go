package app

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tmsws version and tmsws --version print the same one line; --json the
// same facts as an object with every key.
func TestVersionCommandAndFlag(t *testing.T) {
	t.Parallel()
	res := newCLI(t).run("version")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Empty(t, res.stderr)
	assert.Regexp(t, `^tmsws \S+ \((commit [0-9a-f]{7}(-dirty)?, )?(built \S+, )?`+regexp.QuoteMeta(runtime.Version()+", "+runtime.GOOS+"/"+runtime.GOARCH)+`\)\n$`, res.stdout)
	assert.Equal(t, versionInfo().String()+"\n", res.stdout)

	flag := newCLI(t).run("--version")
	require.Equal(t, 0, flag.code, flag.stderr)
	assert.Equal(t, res.stdout, flag.stdout, "--version prints the line of tmsws version")

	js := newCLI(t).run("version", "--json")
	require.Equal(t, 0, js.code, js.stderr)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(js.stdout), &got), js.stdout)
	assert.Len(t, got, 6)
	for _, k := range []string{"version", "commit", "date", "go", "os", "arch"} {
		assert.IsType(t, "", got[k], "key %s", k)
	}
	assert.Equal(t, runtime.GOOS, got["os"])
	assert.Equal(t, runtime.GOARCH, got["arch"])
	assert.Equal(t, strings.TrimPrefix(strings.Fields(res.stdout)[1], "v"), got["version"])
}

// A binary built with goreleaser's -ldflags -X for Version, Commit and Date
// prints them.
func TestVersionFromLdflags(t *testing.T) {
	t.Parallel()
	bin := tmswsBinaryWith(t, "-X github.com/amusoft/tmsws/internal/app.Version=v0.1.0 "+
		"-X github.com/amusoft/tmsws/internal/app.Commit=1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d "+
		"-X github.com/amusoft/tmsws/internal/app.Date=2026-12-01T10:00:00Z")
	out := runBinary(t, bin, "version")
	assert.Regexp(t, `^tmsws 0\.1\.0 \(commit 1a2b3c4, built 2026-12-01T10:00:00Z, go\S+, `+runtime.GOOS+"/"+runtime.GOARCH+`\)\n$`, out)
	assert.Equal(t, out, runBinary(t, bin, "--version"))
	var got map[string]string
	require.NoError(t, json.Unmarshal([]byte(runBinary(t, bin, "version", "--json")), &got))
	assert.Equal(t, "0.1.0", got["version"])
	assert.Equal(t, "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", got["commit"])
	assert.Equal(t, "2026-12-01T10:00:00Z", got["date"])
}

// tmswsBinaryWith builds tmsws with these -ldflags into the test's
// temporary folder (the packages are cached: this is mostly a link).
func tmswsBinaryWith(t *testing.T, ldflags string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tmsws")
	out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, "github.com/amusoft/tmsws/cmd/tmsws").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// runBinary runs bin with args and an empty config folder, and returns its
// stdout; it must exit 0.
func runBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "tmsws %v: %s", args, stderr.String())
	return string(out)
}
