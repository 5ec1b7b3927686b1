package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSetProfileValuesKeepsTheRestOfTheFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, before string
		profile      string
		kv           [][2]string
		after        string
	}{
		{"no file", "", "default", [][2]string{{"api-url", "http://127.0.0.1:18000"}},
			"[default]\napi-url = http://127.0.0.1:18000\n"},
		{"no file, no values", "", "ci", nil, "[ci]\n"},
		{"an existing key changes in place", "# mine\n[default]\napi-url = https://old.example ; note\nhost = h\n",
			"default", [][2]string{{"api-url", "http://new.example"}},
			"# mine\n[default]\napi-url = http://new.example\nhost = h\n"},
		{"the last of a repeated key is the one that counts", "[default]\nport = 1\nport = 2\n\n[x]\n",
			"default", [][2]string{{"port", "3"}}, "[default]\nport = 1\nport = 3\n\n[x]\n"},
		{"a new key goes after the profile's last line, before blank lines and comments", "[default]\nhost = h\n\n# staging\n[staging]\nhost = s\n",
			"default", [][2]string{{"key", "k"}, {"port", "6001"}}, "[default]\nhost = h\nkey = k\nport = 6001\n\n# staging\n[staging]\nhost = s\n"},
		{"a repeated section gets the key in its last part", "[a]\nhost = 1\n[b]\n[a]\nport = 2\n[c]\n",
			"a", [][2]string{{"key", "k"}}, "[a]\nhost = 1\n[b]\n[a]\nport = 2\nkey = k\n[c]\n"},
		{"a new profile is appended", "; c\n[default]\nhost = h", "staging", [][2]string{{"host", "s"}},
			"; c\n[default]\nhost = h\n\n[staging]\nhost = s\n"},
		{"an empty section gets its first key", "[staging]\n\n[x]\n", "staging", [][2]string{{"host", "s"}},
			"[staging]\nhost = s\n\n[x]\n"},
		{"no values keep an existing profile as it is", "[ci]\n# c\n", "ci", nil, "[ci]\n# c\n"},
		{"CRLF stays CRLF", "[default]\r\nhost = h\r\n", "default", [][2]string{{"port", "1"}}, "[default]\r\nhost = h\r\nport = 1\r\n"},
		{"a byte order mark stays", "\ufeff[default]\nhost = h\n", "default", [][2]string{{"host", "i"}}, "\ufeff[default]\nhost = i\n"},
		{"values are trimmed", "", "default", [][2]string{{"ws-path", "  /ws "}}, "[default]\nws-path = /ws\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "tmsws")
			p := filepath.Join(dir, "config")
			if tt.before != "" {
				require.NoError(t, os.MkdirAll(dir, 0o755))
				require.NoError(t, os.WriteFile(p, []byte(tt.before), 0o644))
			}
			require.NoError(t, SetProfileValues(dir, tt.profile, tt.kv))
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			assert.Equal(t, tt.after, string(data))
			assert.Equal(t, os.FileMode(0o600), perm(t, p))
			assert.Equal(t, os.FileMode(0o700), perm(t, dir))
			assert.Equal(t, []string{"config"}, dirEntries(t, dir), "no temp file is left")

			ok, err := HasProfile(dir, tt.profile)
			require.NoError(t, err)
			assert.True(t, ok)
		})
	}
}

func TestSetProfileValuesIsWhatResolveReads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, SetProfileValues(dir, "staging", [][2]string{{"api-url", "http://127.0.0.1:18000"}, {"host", "[::1]"}, {"port", "6001"}}))
	data, err := os.ReadFile(filepath.Join(dir, "config"))
	require.NoError(t, err)
	s, _, err := setup{config: string(data), args: []string{"--profile", "staging"}}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:18000", s.APIURL)
	assert.Equal(t, "::1", s.Host)
	assert.Equal(t, 6001, s.Port)
}

func TestSetProfileValuesRejects(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tmsws")
	for _, tt := range []struct {
		profile string
		kv      [][2]string
		errText string
	}{
		{"a b", nil, `profile "a b" is not a valid name: use letters, digits, '.', '_' and '-'`},
		{"default", [][2]string{{"token", "1|x"}}, `unknown key "token": profiles take `},
		{"default", [][2]string{{"host", "a\nb"}}, "the value of host holds a line break: a config line cannot"},
	} {
		err := SetProfileValues(dir, tt.profile, tt.kv)
		var ue *UsageError
		require.ErrorAs(t, err, &ue)
		assert.True(t, strings.HasPrefix(err.Error(), tt.errText), err.Error())
	}
	_, err := os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "nothing was created")

	// A file it cannot read is never rewritten.
	require.NoError(t, os.MkdirAll(dir, 0o700))
	p := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(p, []byte("[default\nhost = h\n"), 0o600))
	err = SetProfileValues(dir, "default", [][2]string{{"host", "x"}})
	assert.EqualError(t, err, p+":1: a [profile] header is not closed: end it with ]")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "[default\nhost = h\n", string(data))
}
