package config

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/bytesize"
)

// The last value of every range is accepted, the first one past it is not:
// port 1 to 65535 (--port, or the port of --host HOST:PORT) and --max-frame
// 1 KiB to 1 GiB.
func TestResolveRangeEnds(t *testing.T) {
	t.Parallel()
	ok := []struct {
		name     string
		su       setup
		port     int
		maxFrame int64
	}{
		{"--port 1", setup{args: []string{"--port", "1"}}, 1, DefaultMaxFrame},
		{"--port 65535", setup{args: []string{"--port", "65535"}}, 65535, DefaultMaxFrame},
		{"TMSWS_PORT 65535", setup{env: map[string]string{EnvPort: "65535"}}, 65535, DefaultMaxFrame},
		{"--host HOST:1", setup{args: []string{"--host", "reverb.test:1"}}, 1, DefaultMaxFrame},
		{"--host HOST:65535", setup{args: []string{"--host", "reverb.test:65535"}}, 65535, DefaultMaxFrame},
		{"--host URL:65535", setup{args: []string{"--host", "wss://reverb.test:65535"}}, 65535, DefaultMaxFrame},
		{"--max-frame 1KiB", setup{args: []string{"--max-frame", "1KiB"}}, DefaultPort, bytesize.KiB},
		{"--max-frame 1024", setup{args: []string{"--max-frame", "1024"}}, DefaultPort, bytesize.KiB},
		{"--max-frame 1GiB", setup{args: []string{"--max-frame", "1GiB"}}, DefaultPort, bytesize.GiB},
		{"profile max-frame 1GiB", setup{config: "[default]\nmax-frame = 1GiB\n"}, DefaultPort, bytesize.GiB},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, err := tt.su.resolve(t)
			require.NoError(t, err)
			assert.Equal(t, tt.port, s.Port)
			assert.Equal(t, tt.maxFrame, s.MaxFrame)
		})
	}

	bad := []struct {
		name    string
		su      setup
		errText string
	}{
		{"--port 65536", setup{args: []string{"--port", "65536"}},
			"--port 65536: not a port number: use 1 to 65535"},
		{"--host HOST:65536", setup{args: []string{"--host", "reverb.test:65536"}},
			"--host reverb.test:65536: not a port number after the host: use 1 to 65535, e.g. --host reverb.test:6001"},
		{"--host HOST:0", setup{args: []string{"--host", "reverb.test:0"}},
			"--host reverb.test:0: not a port number after the host: use 1 to 65535, e.g. --host reverb.test:6001"},
		{"--max-frame 1023", setup{args: []string{"--max-frame", "1023"}},
			"--max-frame 1023: out of range: use 1 KiB to 1 GiB"},
		{"--max-frame 1 GiB + 1", setup{args: []string{"--max-frame", "1073741825"}},
			"--max-frame 1073741825: out of range: use 1 KiB to 1 GiB"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := tt.su.resolve(t)
			var ue *UsageError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, tt.errText, err.Error())
		})
	}
}

// A profile name has at most 64 characters, in the config file's headers,
// in --profile and in SetProfileValues.
func TestProfileNameLength(t *testing.T) {
	t.Parallel()
	name64 := "p" + strings.Repeat("x", 63)
	name65 := name64 + "x"

	s, _, err := setup{config: "[" + name64 + "]\nhost = long.test\n", args: []string{"--profile", name64}}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, name64, s.Profile)
	assert.Equal(t, "long.test", s.Host)

	_, _, err = setup{args: []string{"--profile", name65}}.resolve(t)
	assert.EqualError(t, err, "--profile "+name65+": not a valid profile name: use letters, digits, '.', '_' and '-'")
	_, dir, err := setup{config: "[" + name65 + "]\n"}.resolve(t)
	assert.EqualError(t, err, dir+"/config:1: not a valid profile name: use letters, digits, '.', '_' and '-' inside [ ]")

	dir = t.TempDir()
	require.NoError(t, SetProfileValues(dir, name64, [][2]string{{"host", "long.test"}}))
	err = SetProfileValues(dir, name65, nil)
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
}

// Saving a token for an origin drops the saving profile's own legacy
// section when (and only when) that section's token belongs to the same
// origin; another profile's legacy section of that origin does not make it
// drop the saving profile's section for a different origin.
func TestSaveTokenMigratesOnlyTheProfilesOwnLegacySection(t *testing.T) {
	t.Parallel()
	local := "http://127.0.0.1:18000"
	legacy := func(t *testing.T, dir string) map[string]string {
		t.Helper()
		got := map[string]string{}
		for _, st := range loadAll(t, dir) {
			if st.Legacy != "" {
				got[st.Legacy] = st.Token
			}
		}
		return got
	}

	t.Run("its own section of the origin is migrated", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "credentials"), []byte("[default]\ntoken = 1|old\n"), 0o600))
		require.NoError(t, SaveToken(dir, "https://tms.amusoft.uz:443", "default", Credential{Token: "2|new"}))
		assert.Empty(t, legacy(t, dir), "[default] held a token of https://tms.amusoft.uz")
		data, err := os.ReadFile(filepath.Join(dir, "credentials"))
		require.NoError(t, err)
		assert.Equal(t, credentialsHeader+"\n[https://tms.amusoft.uz:443]\ntoken = 2|new\n", string(data))
	})

	t.Run("its own section of another origin is kept", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "config"), []byte("[staging]\napi-url = "+local+"\n"), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "credentials"), []byte(
			"[default]\ntoken = 1|default\n\n[staging]\ntoken = 2|staging\n"), 0o600))
		// [staging] is of local, but it is not default's: default's token for
		// https://tms.amusoft.uz stays, and so does staging's.
		require.NoError(t, SaveToken(dir, local, "default", Credential{Token: "3|local"}))
		assert.Equal(t, map[string]string{"default": "1|default", "staging": "2|staging"}, legacy(t, dir))
		c, found, err := LoadCredential(dir, "default")
		require.NoError(t, err)
		require.True(t, found)
		assert.Equal(t, "1|default", c.Token)
	})
}

// Writing the credentials file leaves no file open: after many saves the
// process holds as many descriptors as before. (Linux: counts /proc/self/fd;
// the garbage collector, whose finalizers would close a leaked *os.File, is
// off meanwhile. Not parallel, so no other test opens files meanwhile.)
func TestSaveTokenLeavesNoFileOpen(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts /proc/self/fd")
	}
	openFDs := func() int {
		es, err := os.ReadDir("/proc/self/fd")
		require.NoError(t, err)
		return len(es)
	}
	dir := filepath.Join(t.TempDir(), "tmsws")
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	const saves = 40
	before := openFDs()
	for i := 0; i < saves; i++ {
		require.NoError(t, SaveToken(dir, "https://tms.example.com:443", "default", Credential{Token: "1|abcdefgh"}))
	}
	assert.Less(t, openFDs()-before, saves/4, "each save closes what it opened")
}
