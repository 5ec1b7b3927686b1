package dotenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadLaravelFiles(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		file string
		want map[string]string
	}{
		{"laravel11-reverb.env.example", map[string]string{
			"APP_NAME": "Laravel", "APP_URL": "http://localhost", "APP_KEY": "", "APP_TIMEZONE": "UTC",
			"BROADCAST_CONNECTION": "reverb", "REDIS_PASSWORD": "null", "MAIL_FROM_NAME": "Laravel",
			"REVERB_APP_ID": "482913", "REVERB_APP_KEY": "k3vq9xw2mfz8hd1ab7ty", "REVERB_APP_SECRET": "s9pl4rn6cgeq0uwm2xjd",
			"REVERB_HOST": "localhost", "REVERB_PORT": "8080", "REVERB_SCHEME": "http",
			"VITE_REVERB_APP_KEY": "k3vq9xw2mfz8hd1ab7ty", "VITE_REVERB_HOST": "localhost",
			"VITE_REVERB_PORT": "8080", "VITE_REVERB_SCHEME": "http",
		}},
		{"laravel12-reverb.env.example", map[string]string{
			"APP_URL": "http://localhost", "BROADCAST_CONNECTION": "reverb", "MAIL_SCHEME": "null",
			"REVERB_APP_KEY": "k3vq9xw2mfz8hd1ab7ty", "REVERB_HOST": "localhost",
			"VITE_REVERB_HOST": "localhost", "VITE_REVERB_PORT": "8080", "VITE_APP_NAME": "Laravel",
		}},
		{"laravel12-pusher.env.example", map[string]string{
			"BROADCAST_CONNECTION": "pusher", "PUSHER_APP_ID": "1928374", "PUSHER_APP_KEY": "8a3f0c2e9b71d4e56f08",
			"PUSHER_APP_SECRET": "e1b7c94d0a2f68e3b5c1", "PUSHER_HOST": "", "PUSHER_PORT": "443",
			"PUSHER_SCHEME": "https", "PUSHER_APP_CLUSTER": "eu", "VITE_PUSHER_APP_KEY": "8a3f0c2e9b71d4e56f08",
			"VITE_PUSHER_HOST": "", "VITE_PUSHER_SCHEME": "https", "VITE_PUSHER_APP_CLUSTER": "eu",
		}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", tt.file)
			f, err := Load(path, nil)
			require.NoError(t, err)
			assert.Equal(t, path, f.Path)
			for name, want := range tt.want {
				v, ok := f.Get(name)
				if assert.True(t, ok, name) {
					assert.Equal(t, want, v.Value, name)
				}
			}
			// Every NAME=value line is a variable, at its line.
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			n := 0
			for i, line := range strings.Split(string(data), "\n") {
				if line == "" || line[0] == '#' {
					continue
				}
				n++
				name, _, _ := strings.Cut(line, "=")
				assert.Equal(t, i+1, f.Vars[name].Line, name)
			}
			assert.Len(t, f.Vars, n)
		})
	}
}

func TestLoadEnvironmentWinsInInterpolation(t *testing.T) {
	t.Parallel()
	env := map[string]string{"REVERB_HOST": "ws.example.com", "REVERB_PORT": ""}
	f, err := Load(filepath.Join("testdata", "laravel12-reverb.env.example"), func(name string) string { return env[name] })
	require.NoError(t, err)
	assert.Equal(t, "ws.example.com", f.Vars["VITE_REVERB_HOST"].Value)
	assert.Equal(t, "localhost", f.Vars["REVERB_HOST"].Value, "the file's own value stays the file's")
	assert.Equal(t, "8080", f.Vars["VITE_REVERB_PORT"].Value, "an empty environment value does not win")
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
		return path
	}
	ok := write("ok.env", "A=1\n")
	link := filepath.Join(dir, "link.env")
	require.NoError(t, os.Symlink(ok, link))
	atMax := write("max.env", "#"+strings.Repeat("x", MaxSize-5)+"\nA=1")
	overMax := write("over.env", "#"+strings.Repeat("x", MaxSize-4)+"\nA=1")
	bad := write("bad.env", "A=1\nB="+secret+" x\n")
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o700))

	for _, path := range []string{ok, link, atMax} {
		f, err := Load(path, nil)
		if assert.NoError(t, err, path) {
			assert.Equal(t, path, f.Path)
			assert.Equal(t, "1", f.Vars["A"].Value, path)
		}
	}
	for _, tt := range []struct{ path, msg string }{
		{filepath.Join(dir, "missing.env"), "cannot read the file: no such file or directory"},
		{sub, "not a regular file"},
		{overMax, "larger than 1 MiB"},
		{bad, "holds whitespace"},
	} {
		_, err := Load(tt.path, nil)
		var e *Error
		if assert.ErrorAs(t, err, &e, tt.path) {
			assert.Equal(t, tt.path, e.Path)
			assert.Contains(t, e.Msg, tt.msg)
			assert.Equal(t, 1, strings.Count(err.Error(), tt.path), "the path once: %s", err)
			assert.NotContains(t, err.Error(), secret)
		}
	}
}
