package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolveHostForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		su     setup
		host   string
		port   int
		scheme string
		wsPath string
	}{
		{"HOST:PORT, as scripts/soketi start prints it", setup{args: []string{"--host", "127.0.0.1:35913", "--scheme", "http"}}, "127.0.0.1", 35913, "http", ""},
		{"name:port", setup{args: []string{"--host", "reverb.test:8080"}}, "reverb.test", 8080, "https", ""},
		{"[v6]:PORT", setup{args: []string{"--host", "[::1]:6001", "--scheme", "http"}}, "::1", 6001, "http", ""},
		{"bare IPv6", setup{args: []string{"--host", "::1", "--port", "6001"}}, "::1", 6001, "https", ""},
		{"bracketed IPv6 without a port", setup{args: []string{"--host", "[fe80::1]"}}, "fe80::1", 443, "https", ""},
		{"ws:// URL gives the scheme and port", setup{args: []string{"--host", "ws://127.0.0.1:6001"}}, "127.0.0.1", 6001, "http", ""},
		{"wss:// URL", setup{args: []string{"--host", "wss://reverb.test:8443"}}, "reverb.test", 8443, "https", ""},
		{"http:// URL without a port is port 80", setup{args: []string{"--host", "http://reverb.test"}}, "reverb.test", 80, "http", ""},
		{"https:// URL without a port is port 443", setup{args: []string{"--host", "HTTPS://reverb.test/"}}, "reverb.test", 443, "https", ""},
		{"a URL without a port takes --port", setup{args: []string{"--host", "ws://reverb.test", "--port", "6001"}}, "reverb.test", 6001, "http", ""},
		{"a URL without a port beats a weaker TMSWS_PORT", setup{env: map[string]string{EnvPort: "1"}, args: []string{"--host", "ws://reverb.test"}}, "reverb.test", 80, "http", ""},
		{"a URL path is the ws-path", setup{args: []string{"--host", "wss://reverb.test/ws/"}}, "reverb.test", 443, "https", "/ws"},
		{"the same ws-path twice", setup{args: []string{"--host", "wss://reverb.test/ws", "--ws-path", "/ws/"}}, "reverb.test", 443, "https", "/ws"},
		{"--ws-path beats an env URL's path", setup{env: map[string]string{EnvHost: "wss://reverb.test/a"}, args: []string{"--ws-path", "/b"}}, "reverb.test", 443, "https", "/b"},
		{"a flag URL's path beats TMSWS_WS_PATH", setup{env: map[string]string{EnvWSPath: "/a"}, args: []string{"--host", "wss://reverb.test/b"}}, "reverb.test", 443, "https", "/b"},
		{"the same port twice is fine", setup{args: []string{"--host", "127.0.0.1:6001", "--port", "6001"}}, "127.0.0.1", 6001, "https", ""},
		{"the same scheme twice is fine", setup{args: []string{"--host", "ws://x:1", "--scheme", "WS"}}, "x", 1, "http", ""},
		{"--port beats the port of TMSWS_HOST", setup{env: map[string]string{EnvHost: "127.0.0.1:35913"}, args: []string{"--port", "6001"}}, "127.0.0.1", 6001, "https", ""},
		{"--scheme beats the scheme of TMSWS_HOST", setup{env: map[string]string{EnvHost: "wss://x:1"}, args: []string{"--scheme", "http"}}, "x", 1, "http", ""},
		{"the port of --host beats TMSWS_PORT", setup{env: map[string]string{EnvPort: "1", EnvScheme: "http"}, args: []string{"--host", "127.0.0.1:35913"}}, "127.0.0.1", 35913, "http", ""},
		{"the scheme of --host beats TMSWS_SCHEME", setup{env: map[string]string{EnvScheme: "https"}, args: []string{"--host", "ws://x:1"}}, "x", 1, "http", ""},
		{"the port of TMSWS_HOST beats the profile's", setup{config: "[default]\nport = 8080\n", env: map[string]string{EnvHost: "x:1"}}, "x", 1, "https", ""},
		{"a profile host:port", setup{config: "[default]\nhost = x:6001\nscheme = ws\n"}, "x", 6001, "http", ""},
		{"--scheme ws", setup{args: []string{"--scheme", "ws"}}, "tms.amusoft.uz", 443, "http", ""},
		{"TMSWS_SCHEME=WSS", setup{env: map[string]string{EnvScheme: "WSS"}}, "tms.amusoft.uz", 443, "https", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, err := tt.su.resolve(t)
			require.NoError(t, err)
			assert.Equal(t, tt.host, s.Host)
			assert.Equal(t, tt.port, s.Port)
			assert.Equal(t, tt.scheme, s.Scheme)
			assert.Equal(t, tt.wsPath, s.WSPath)
		})
	}
}

func TestResolveHostKeepsTheAPIURLDefault(t *testing.T) {
	t.Parallel()
	s, _, err := setup{args: []string{"--host", "ws://127.0.0.1:6001/ws"}}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1", s.APIURL, "the api-url default is {scheme}://{host}, without the port")
	assert.Equal(t, "ws://127.0.0.1:6001/ws/app/k?protocol=7&client=tmsws&version=v", func() string { s.Key = "k"; return s.WebSocketURL("v") }())
	s, _, err = setup{args: []string{"--host", "[::1]:6001"}}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, "https://[::1]", s.APIURL)
}

func TestResolveHostErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		su      setup
		errText string
	}{
		{"a conflicting --port", setup{args: []string{"--host", "127.0.0.1:35913", "--port", "6001"}},
			"--host 127.0.0.1:35913 and --port 6001 disagree on the port: use --host 127.0.0.1 --port 6001, or --host 127.0.0.1:35913"},
		{"a conflicting --port for a v6 host", setup{args: []string{"--host", "[::1]:35913", "--port", "6001"}},
			"--host [::1]:35913 and --port 6001 disagree on the port: use --host ::1 --port 6001, or --host [::1]:35913"},
		{"a URL's port and a conflicting --port", setup{args: []string{"--host", "ws://x:1", "--port", "2"}},
			"--host ws://x:1 and --port 2 disagree on the port: use --host x --port 2, or --host x:1"},
		{"a conflicting port in the same env", setup{env: map[string]string{EnvHost: "x:1", EnvPort: "2"}},
			"TMSWS_HOST=x:1 and TMSWS_PORT=2 disagree on the port: use --host x --port 2, or --host x:1"},
		{"a conflicting port in the same profile", setup{config: "[default]\nhost = x:1\nport = 2\n"},
			"DIR/config:2: host and DIR/config:3: port disagree on the port: use --host x --port 2, or --host x:1"},
		{"a conflicting --scheme", setup{args: []string{"--host", "wss://x", "--scheme", "http"}},
			"--host wss://x and --scheme http disagree on the scheme: use --host x --scheme http, or --host wss://x alone"},
		{"a conflicting --scheme alias", setup{args: []string{"--host", "http://x", "--scheme", "wss"}},
			"--host http://x and --scheme wss disagree on the scheme: use --host x --scheme https, or --host http://x alone"},
		{"a conflicting --ws-path", setup{args: []string{"--host", "wss://x/ws", "--ws-path", "/other"}},
			"--host wss://x/ws and --ws-path /other disagree on the path: give it once, either in the URL or with --ws-path"},
		{"a query", setup{args: []string{"--host", "wss://x/app/key?protocol=7"}},
			"--host wss://x/app/key?protocol=7: a host URL holds no ? or #: tmsws adds /app/{key}?protocol=7 itself; use --host wss://x"},
		{"a fragment", setup{args: []string{"--host", "wss://x:1#top"}},
			"--host wss://x:1#top: a host URL holds no ? or #: tmsws adds /app/{key}?protocol=7 itself; use --host wss://x:1"},
		{"user info", setup{args: []string{"--host", "wss://u:p@x"}},
			"--host wss://u:p@x: a host URL holds no user name or password: use --host x, and --token for the API"},
		{"a bad port after the host", setup{args: []string{"--host", "x:70000"}},
			"--host x:70000: not a port number after the host: use 1 to 65535, e.g. --host x:6001"},
		{"an empty port after the host", setup{args: []string{"--host", "x:"}},
			"--host x:: not a port number after the host: use 1 to 65535, e.g. --host x:6001"},
		{"a bad port in a URL", setup{args: []string{"--host", "ws://x:0"}},
			"--host ws://x:0: not a port number after the host: use 1 to 65535, e.g. --host x:6001"},
		{"a URL without a host", setup{args: []string{"--host", "ws:///ws"}},
			"--host ws:///ws: not a URL: use a host name (--host tms.example.com), HOST:PORT, or a URL like wss://tms.example.com"},
		{"not an IPv6 address", setup{args: []string{"--host", "[abc]"}},
			"--host [abc]: not an IPv6 address in brackets: use one like [::1], or the host name without brackets"},
		{"an IPv6 zone", setup{args: []string{"--host", "fe80::1%eth0"}},
			"--host fe80::1%eth0: not a host name: use a name like tms.example.com, an IP address, or HOST:PORT"},
		{"a bad bracket", setup{args: []string{"--host", "[::1]6001"}},
			"--host [::1]6001: not a host name: use [IPv6]:PORT, e.g. [::1]:6001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, dir, err := tt.su.resolve(t)
			var ue *UsageError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, strings.ReplaceAll(tt.errText, "DIR", dir), err.Error())
		})
	}
}
