package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// configCLI is a tmsws with a config folder and no TMSWS_* settings.
func configCLI(t *testing.T) (*cli, string) {
	c := newCLI(t).withoutTMSWSEnv()
	return c, filepath.Join(c.env["XDG_CONFIG_HOME"], "tmsws", "config")
}

func TestConfigSetGetUnsetKeepTheFile(t *testing.T) {
	t.Parallel()
	c, path := configCLI(t)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	orig := "# my servers\r\n[default]\r\nhost = tms.example.com\r\n\r\n; staging below\r\n[staging]\r\nport = 6001\r\n"
	require.NoError(t, os.WriteFile(path, []byte(orig), 0o600))

	res := c.run("config", "path")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, path+"\n", res.stdout)

	res = c.run("config", "set", "port", "8080")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Empty(t, res.stderr)
	res = c.run("config", "set", "host", "reverb.example.com", "--profile", "staging")
	require.Equal(t, 0, res.code, res.stderr)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "# my servers\r\n[default]\r\nhost = tms.example.com\r\nport = 8080\r\n\r\n; staging below\r\n[staging]\r\nport = 6001\r\nhost = reverb.example.com\r\n", string(b))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	res = c.run("config", "get", "port")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "8080\n", res.stdout)
	res = c.run("config", "get", "host", "--profile", "staging", "--show-origin")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "profile staging ("+path+":9)\treverb.example.com\n", res.stdout)

	res = c.run("config", "unset", "port")
	require.Equal(t, 0, res.code, res.stderr)
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, orig+"host = reverb.example.com\r\n", string(b), "only the line of the key goes")
	res = c.run("config", "unset", "port")
	assert.Equal(t, 0, res.code)
	assert.Equal(t, "port was not set in profile default: nothing changed\n", res.stderr)
}

func TestConfigSetChecksTheValue(t *testing.T) {
	t.Parallel()
	c, path := configCLI(t)
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"port", "70000"}, "error: port: not a port number: use 1 to 65535"},
		{[]string{"scheme", "ftp"}, "error: scheme: not a scheme: use https (or wss) or http (or ws)"},
		{[]string{"http-timeout", "soon"}, "error: http-timeout: not a positive duration: use a value like 10s or 1m"},
		{[]string{"prot", "1"}, "error: unknown key \"prot\"; did you mean port?"},
		{[]string{"token", "abc"}, "error: a token is not a setting of the config file"},
		{[]string{"port"}, "error: tmsws config set takes a key and a value"},
	} {
		res := c.run(append([]string{"config", "set"}, tt.args...)...)
		assert.Equal(t, 2, res.code, "%v: %s", tt.args, res.stderr)
		assert.Equal(t, tt.msg, strings.SplitN(res.stderr, "\n", 2)[0], tt.args)
	}
	_, err := os.Stat(path)
	assert.True(t, os.IsNotExist(err), "nothing written for a bad value")
}

func TestConfigSetSaysWhenAnotherSourceStillWins(t *testing.T) {
	t.Parallel()
	c, _ := configCLI(t)
	c.env["TMSWS_PORT"] = "6001"
	res := c.run("config", "set", "port", "8080")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "note: port is 6001 here: env TMSWS_PORT wins over profile default (see tmsws config list --show-origin)\n", res.stderr)
}

func TestConfigListMasksSecretsAndHeaders(t *testing.T) {
	t.Parallel()
	c, path := configCLI(t)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte("[default]\napp-secret = s3cr3t-value-1234\nheader = Authorization: Bearer abcdefgh\n"), 0o600))
	res := c.run("config", "list", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotContains(t, res.stdout, "s3cr3t")
	assert.NotContains(t, res.stdout, "abcdefgh")
	var secret, header gjson.Result
	for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
		switch gjson.Get(line, "key").String() {
		case "app-secret":
			secret = gjson.Parse(line)
		case "header":
			header = gjson.Parse(line)
		}
	}
	assert.Equal(t, "…1234", secret.Get("value").String())
	assert.True(t, secret.Get("secret").Bool())
	assert.Equal(t, "Authorization: …", header.Get("value").String())
	assert.Equal(t, "profile default ("+path+":3)", header.Get("origin").String())

	res = c.run("config", "get", "app-secret")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "…1234\n", res.stdout)
}
