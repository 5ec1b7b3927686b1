package config

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setup is one Resolve run: a config folder under t.TempDir(), a config and
// a credentials file, environment variables and command-line arguments.
type setup struct {
	config      string
	credentials string
	env         map[string]string
	args        []string
	allowNew    bool
	workDir     string // where the Laravel project is looked for; "" is a fresh empty folder
}

func (su setup) resolve(t *testing.T) (*Settings, string, error) {
	t.Helper()
	xdg := t.TempDir()
	dir := filepath.Join(xdg, "tmsws")
	if su.config != "" || su.credentials != "" {
		require.NoError(t, os.MkdirAll(dir, 0o700))
	}
	if su.config != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "config"), []byte(su.config), 0o644))
	}
	if su.credentials != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "credentials"), []byte(su.credentials), 0o600))
	}
	env := map[string]string{"XDG_CONFIG_HOME": xdg, "HOME": filepath.Join(xdg, "home")}
	for k, v := range su.env {
		env[k] = v
	}
	fs := pflag.NewFlagSet("tmsws", pflag.ContinueOnError)
	f := AddFlags(fs)
	fs.String(FlagAppID, "", "a command's own --app-id, as tmsws trigger has")
	require.NoError(t, fs.Parse(su.args))
	f.AllowNewProfile = su.allowNew
	f.WorkDir = su.workDir
	if f.WorkDir == "" {
		f.WorkDir = t.TempDir()
	}
	s, err := f.Resolve(fs, func(k string) string { return env[k] })
	return s, dir, err
}

func TestAddFlagsRegistersTheContract(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("tmsws", pflag.ContinueOnError)
	AddFlags(fs)
	var names []string
	shorts := map[string]string{}
	fs.VisitAll(func(f *pflag.Flag) {
		names = append(names, f.Name)
		if f.Shorthand != "" {
			shorts[f.Shorthand] = f.Name
		}
	})
	sort.Strings(names)
	assert.Equal(t, []string{"api-url", "app-secret", "auth-url", "cacert", "cluster", "color", "encryption-master-key", "env-file", "header", "host",
		"http-timeout", "insecure", "key", "max-frame", "no-env-file", "no-sign-locally", "port", "profile", "scheme", "sign-locally", "token", "verbose", "ws-path"}, names)
	assert.Equal(t, map[string]string{"H": "header", "v": "verbose"}, shorts)
	// -H keeps commas: it is a string array, not a comma-split slice.
	require.NoError(t, fs.Parse([]string{"-H", "Accept-Language: en, uz", "-H", "X-A: 1"}))
	v, err := fs.GetStringArray("header")
	require.NoError(t, err)
	assert.Equal(t, []string{"Accept-Language: en, uz", "X-A: 1"}, v)
}

func TestResolveDefaults(t *testing.T) {
	t.Parallel()
	s, dir, err := setup{}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, "default", s.Profile)
	assert.Equal(t, "tms.amusoft.uz", s.Host)
	assert.Equal(t, 443, s.Port)
	assert.Equal(t, "https", s.Scheme)
	assert.Equal(t, "1puo7oyhapqfczgdmt1d", s.Key)
	assert.Equal(t, "", s.Cluster)
	assert.Equal(t, "https://tms.amusoft.uz", s.APIURL)
	assert.Equal(t, "https://tms.amusoft.uz/broadcasting/auth", s.AuthURL)
	assert.Equal(t, "", s.Token)
	assert.Equal(t, "", s.TokenSource)
	assert.Equal(t, "", s.AppSecret)
	assert.NotNil(t, s.Header)
	assert.Empty(t, s.Header)
	assert.False(t, s.Insecure)
	assert.Equal(t, "", s.CACert)
	assert.Equal(t, 10*time.Second, s.HTTPTimeout)
	assert.Equal(t, "auto", s.Color)
	assert.False(t, s.Verbose)
	assert.Equal(t, dir, s.ConfigDir)
	assert.Empty(t, s.Warnings)
	assert.Equal(t, "", s.WSPath)
	assert.Equal(t, "wss://tms.amusoft.uz:443/app/1puo7oyhapqfczgdmt1d?protocol=7&client=tmsws&version=1.0.0", s.WebSocketURL("1.0.0"))
}

func TestResolveWSPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		arg, want string
	}{
		{"/ws", "/ws"},
		{"/ws/", "/ws"},
		{"  /reverb//  ", "/reverb"},
		{"/", ""},
		{"", ""},
		{"/a/b-c_d.e~f/%7Euser/@x:1", "/a/b-c_d.e~f/%7Euser/@x:1"},
	}
	for _, tt := range tests {
		s, _, err := setup{args: []string{"--ws-path=" + tt.arg, "--host", "reverb.test", "--port", "8080", "--scheme", "http", "--key", "k"}}.resolve(t)
		require.NoError(t, err, tt.arg)
		assert.Equal(t, tt.want, s.WSPath, tt.arg)
		assert.Equal(t, "ws://reverb.test:8080"+tt.want+"/app/k?protocol=7&client=tmsws&version=1", s.WebSocketURL("1"), tt.arg)
	}
}

func TestResolvePrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key    string // config file key
		envVar string
		get    func(*Settings) string
		flag   string // flag value (also the expected result when given)
		envVal string
		prof   string
		def    string
	}{
		{key: "host", envVar: EnvHost, get: func(s *Settings) string { return s.Host },
			flag: "flag.example", envVal: "env.example", prof: "profile.example", def: "tms.amusoft.uz"},
		{key: "port", envVar: EnvPort, get: func(s *Settings) string { return strconv.Itoa(s.Port) },
			flag: "8443", envVal: "6001", prof: "8080", def: "443"},
		{key: "scheme", envVar: EnvScheme, get: func(s *Settings) string { return s.Scheme },
			flag: "http", envVal: "HTTP", prof: "http", def: "https"},
		{key: "key", envVar: EnvKey, get: func(s *Settings) string { return s.Key },
			flag: "flag-key", envVal: "env-key", prof: "profile-key", def: "1puo7oyhapqfczgdmt1d"},
		{key: "ws-path", envVar: EnvWSPath, get: func(s *Settings) string { return s.WSPath },
			flag: "/flag", envVal: "/env/", prof: "/profile/ws", def: ""},
		{key: "api-url", envVar: EnvAPIURL, get: func(s *Settings) string { return s.APIURL },
			flag: "https://flag.example/", envVal: "https://env.example", prof: "http://profile.example:8000", def: "https://tms.amusoft.uz"},
		{key: "auth-url", envVar: EnvAuthURL, get: func(s *Settings) string { return s.AuthURL },
			flag: "https://flag.example/api/broadcasting/auth", envVal: "https://env.example/a", prof: "https://profile.example/b",
			def: "https://tms.amusoft.uz/broadcasting/auth"},
		{key: "app-secret", envVar: EnvAppSecret, get: func(s *Settings) string { return s.AppSecret },
			flag: "flag-secret", envVal: "env-secret", prof: "profile-secret", def: ""},
		{key: "app-id", envVar: EnvAppID, get: func(s *Settings) string { return s.AppID },
			flag: "flag-id", envVal: "env-id", prof: "123456", def: ""},
		{key: "color", get: func(s *Settings) string { return s.Color },
			flag: "never", prof: "always", def: "auto"},
		{key: "http-timeout", get: func(s *Settings) string { return s.HTTPTimeout.String() },
			flag: "3s", prof: "1m0s", def: "10s"},
		{key: "insecure", get: func(s *Settings) string { return boolStr(s.Insecure) },
			flag: "true", prof: "yes", def: "false"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			norm := func(v string) string {
				switch tt.key {
				case "scheme":
					return strings.ToLower(v)
				case "api-url", "ws-path":
					return strings.TrimRight(v, "/")
				case "insecure":
					if v == "yes" {
						return "true"
					}
				}
				return v
			}
			cfg := "[default]\n" + tt.key + " = " + tt.prof + "\n"
			env := map[string]string{}
			if tt.envVar != "" {
				env[tt.envVar] = tt.envVal
			}
			flagArg := []string{"--" + tt.key + "=" + tt.flag}
			cases := []struct {
				name string
				su   setup
				want string
			}{
				{"flag beats env and profile", setup{config: cfg, env: env, args: flagArg}, norm(tt.flag)},
				{"profile only", setup{config: cfg}, norm(tt.prof)},
				{"default", setup{}, tt.def},
			}
			if tt.envVar != "" {
				cases = append(cases, struct {
					name string
					su   setup
					want string
				}{"env beats profile", setup{config: cfg, env: env}, norm(tt.envVal)})
			}
			for _, c := range cases {
				s, _, err := c.su.resolve(t)
				require.NoError(t, err, c.name)
				assert.Equal(t, c.want, tt.get(s), c.name)
			}
		})
	}
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestResolveDerivedURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		su       setup
		api      string
		authURL  string
		wsURLFor string
	}{
		{
			name: "api-url follows scheme and host but not the WebSocket port",
			su:   setup{args: []string{"--host", "reverb.test", "--scheme", "http", "--port", "8080"}},
			api:  "http://reverb.test", authURL: "http://reverb.test/broadcasting/auth",
			wsURLFor: "ws://reverb.test:8080/app/1puo7oyhapqfczgdmt1d?protocol=7&client=tmsws&version=v1",
		},
		{
			name: "auth-url follows api-url",
			su:   setup{env: map[string]string{EnvAPIURL: "https://app.test/api/"}},
			api:  "https://app.test/api", authURL: "https://app.test/api/broadcasting/auth",
			wsURLFor: "wss://tms.amusoft.uz:443/app/1puo7oyhapqfczgdmt1d?protocol=7&client=tmsws&version=v1",
		},
		{
			name: "IPv6 host",
			su:   setup{args: []string{"--host", "[::1]", "--port", "6001", "--scheme", "http", "--key", "k"}},
			api:  "http://[::1]", authURL: "http://[::1]/broadcasting/auth",
			wsURLFor: "ws://[::1]:6001/app/k?protocol=7&client=tmsws&version=v1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, err := tt.su.resolve(t)
			require.NoError(t, err)
			assert.Equal(t, tt.api, s.APIURL)
			assert.Equal(t, tt.authURL, s.AuthURL)
			assert.Equal(t, tt.wsURLFor, s.WebSocketURL("v1"))
		})
	}
}

func TestWebSocketURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    Settings
		ver  string
		want string
	}{
		{Settings{Scheme: "https", Host: "tms.amusoft.uz", Port: 443, Key: "k"}, "1.2.3",
			"wss://tms.amusoft.uz:443/app/k?protocol=7&client=tmsws&version=1.2.3"},
		{Settings{Scheme: "http", Host: "127.0.0.1", Port: 6001, Key: "app-key"}, "dev+abc",
			"ws://127.0.0.1:6001/app/app-key?protocol=7&client=tmsws&version=dev%2Babc"},
		{Settings{Scheme: "http", Host: "::1", Port: 8080, Key: "k"}, "1",
			"ws://[::1]:8080/app/k?protocol=7&client=tmsws&version=1"},
		{Settings{Scheme: "https", Host: "reverb.test", Port: 443, Key: "k", WSPath: "/ws"}, "1",
			"wss://reverb.test:443/ws/app/k?protocol=7&client=tmsws&version=1"},
		{Settings{Scheme: "http", Host: "reverb.test", Port: 8080, Key: "k", WSPath: "/a/b%20c"}, "1",
			"ws://reverb.test:8080/a/b%20c/app/k?protocol=7&client=tmsws&version=1"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.s.WebSocketURL(tt.ver))
	}
}

func TestResolveToken(t *testing.T) {
	t.Parallel()
	creds := "[default]\ntoken = 1|stored-default\n\n[staging]\ntoken = 2|stored-staging\n"
	tests := []struct {
		name   string
		su     setup
		token  string
		source string
	}{
		{"flag", setup{credentials: creds, env: map[string]string{EnvToken: "env-token"}, args: []string{"--token", "flag-token"}},
			"flag-token", "flag"},
		{"env", setup{credentials: creds, env: map[string]string{EnvToken: "env-token"}}, "env-token", "env TMSWS_TOKEN"},
		{"credentials", setup{credentials: creds}, "1|stored-default", "credentials file (https://tms.amusoft.uz)"},
		{"credentials of the selected profile", setup{credentials: creds, args: []string{"--profile", "staging"}},
			"2|stored-staging", "credentials file (https://tms.amusoft.uz)"},
		{"none", setup{}, "", ""},
		{"explicitly empty flag means none", setup{credentials: creds, args: []string{"--token="}}, "", TokenFromFlag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, err := tt.su.resolve(t)
			require.NoError(t, err)
			assert.Equal(t, tt.token, s.Token)
			assert.Equal(t, tt.source, s.TokenSource)
		})
	}
}

func TestResolveWarnsAboutOpenCredentials(t *testing.T) {
	t.Parallel()
	xdg := t.TempDir()
	dir := filepath.Join(xdg, "tmsws")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	p := filepath.Join(dir, "credentials")
	require.NoError(t, os.WriteFile(p, []byte("[default]\ntoken = 1|abcdefgh\n"), 0o600))
	require.NoError(t, os.Chmod(p, 0o644))
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	f := AddFlags(fs)
	s, err := f.Resolve(fs, func(k string) string { return map[string]string{"XDG_CONFIG_HOME": xdg}[k] })
	require.NoError(t, err)
	assert.Equal(t, "1|abcdefgh", s.Token, "the file is still used")
	require.Len(t, s.Warnings, 1)
	assert.Equal(t, p+" is readable by others (mode 0644): run chmod 600 "+p, s.Warnings[0])
	assert.NotContains(t, s.Warnings[0], "abcdefgh")
}

func TestResolveProfiles(t *testing.T) {
	t.Parallel()
	cfg := "# tmsws profiles\n[default]\nhost = prod.example\n\n; staging\n[staging]\nhost = staging.example\nport=6001\n"
	tests := []struct {
		name    string
		su      setup
		host    string
		profile string
		errText string // with DIR for the config folder
	}{
		{name: "default profile", su: setup{config: cfg}, host: "prod.example", profile: "default"},
		{name: "--profile", su: setup{config: cfg, args: []string{"--profile", "staging"}}, host: "staging.example", profile: "staging"},
		{name: "TMSWS_PROFILE", su: setup{config: cfg, env: map[string]string{EnvProfile: "staging"}}, host: "staging.example", profile: "staging"},
		{name: "flag beats env", su: setup{config: cfg, env: map[string]string{EnvProfile: "staging"}, args: []string{"--profile", "default"}},
			host: "prod.example", profile: "default"},
		{name: "default needs no section", su: setup{config: "[other]\nhost = x.example\n"}, host: "tms.amusoft.uz", profile: "default"},
		{name: "a profile known only to the credentials file", su: setup{credentials: "[ci]\ntoken = 1|abcdefgh\n", args: []string{"--profile", "ci"}},
			host: "tms.amusoft.uz", profile: "ci"},
		{name: "unknown profile", su: setup{config: cfg, credentials: "[ci]\ntoken = t\n", args: []string{"--profile", "stagign"}},
			errText: "--profile stagign: no such profile in DIR/config: known profiles are ci, default, staging"},
		{name: "unknown profile from env", su: setup{config: cfg, env: map[string]string{EnvProfile: "qa"}},
			errText: "TMSWS_PROFILE=qa: no such profile in DIR/config: known profiles are default, staging"},
		{name: "unknown profile and no config", su: setup{args: []string{"--profile", "qa"}},
			errText: "--profile qa: no such profile: DIR/config has none yet; add a [qa] section to it"},
		{name: "a new profile when the command allows it", su: setup{config: cfg, args: []string{"--profile", "qa"}, allowNew: true},
			host: "tms.amusoft.uz", profile: "qa"},
		{name: "bad profile name", su: setup{args: []string{"--profile", "../x"}},
			errText: "--profile ../x: not a valid profile name: use letters, digits, '.', '_' and '-'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, dir, err := tt.su.resolve(t)
			if tt.errText != "" {
				var ue *UsageError
				require.ErrorAs(t, err, &ue)
				assert.Equal(t, strings.ReplaceAll(tt.errText, "DIR", dir), err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.host, s.Host)
			assert.Equal(t, tt.profile, s.Profile)
		})
	}
}

func TestResolveCluster(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		su     setup
		host   string
		port   int
		scheme string
	}{
		{"--cluster", setup{args: []string{"--cluster", "eu"}}, "ws-eu.pusher.com", 443, "https"},
		{"TMSWS_CLUSTER", setup{env: map[string]string{EnvCluster: "ap2"}}, "ws-ap2.pusher.com", 443, "https"},
		{"profile cluster", setup{config: "[default]\ncluster = mt1\n"}, "ws-mt1.pusher.com", 443, "https"},
		{"--cluster overrides profile host, port and scheme",
			setup{config: "[default]\nhost = reverb.test\nport = 8080\nscheme = http\n", args: []string{"--cluster", "eu"}},
			"ws-eu.pusher.com", 443, "https"},
		{"an explicit --host and --port win over --cluster",
			setup{args: []string{"--cluster", "eu", "--host", "proxy.test", "--port", "8443"}}, "proxy.test", 8443, "https"},
		{"a profile host wins over a profile cluster",
			setup{config: "[default]\ncluster = eu\nhost = proxy.test\n"}, "proxy.test", 443, "https"},
		{"env host wins over profile cluster",
			setup{config: "[default]\ncluster = eu\n", env: map[string]string{EnvHost: "env.test"}}, "env.test", 443, "https"},
		{"an explicit --scheme wins over --cluster",
			setup{args: []string{"--cluster", "eu", "--scheme", "http"}}, "ws-eu.pusher.com", 443, "http"},
		{"a profile scheme wins over a profile cluster",
			setup{config: "[default]\ncluster = eu\nscheme = http\n"}, "ws-eu.pusher.com", 443, "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, err := tt.su.resolve(t)
			require.NoError(t, err)
			assert.Equal(t, tt.host, s.Host)
			assert.Equal(t, tt.port, s.Port)
			assert.Equal(t, tt.scheme, s.Scheme)
		})
	}
}

func TestResolveHeaders(t *testing.T) {
	t.Parallel()
	cfg := "[default]\nheader = X-Tenant: acme\nheader = X-Trace: on\n"
	s, _, err := setup{config: cfg, args: []string{"-H", "X-Trace: off", "-H", "x-multi: 1", "--header", "X-Multi: 2"}}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, []string{"acme"}, s.Header.Values("X-Tenant"))
	assert.Equal(t, []string{"off"}, s.Header.Values("X-Trace"), "-H replaces the profile's header of that name")
	assert.Equal(t, []string{"1", "2"}, s.Header.Values("X-Multi"))

	s, _, err = setup{config: cfg}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, []string{"on"}, s.Header.Values("X-Trace"))

	s, _, err = setup{args: []string{"-H", "Authorization:  Basic a:b:c "}}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, "Basic a:b:c", s.Header.Get("Authorization"), "split at the first colon, value trimmed")
}

func TestResolveValidation(t *testing.T) {
	t.Parallel()
	caFile := filepath.Join(t.TempDir(), "notpem.crt")
	require.NoError(t, os.WriteFile(caFile, []byte("hello"), 0o600))
	tests := []struct {
		name    string
		su      setup
		errText string // exact; DIR is the config folder
	}{
		{"TMSWS_PORT not a number", setup{env: map[string]string{EnvPort: "abc"}},
			"TMSWS_PORT=abc: not a port number: use 1 to 65535"},
		{"--port out of range", setup{args: []string{"--port", "70000"}},
			"--port 70000: not a port number: use 1 to 65535"},
		{"--port 0", setup{args: []string{"--port", "0"}},
			"--port 0: not a port number: use 1 to 65535"},
		{"profile port", setup{config: "[default]\n\nport = 80a\n"},
			"DIR/config:3: port: not a port number: use 1 to 65535"},
		{"--scheme", setup{args: []string{"--scheme", "tls"}},
			"--scheme tls: not a scheme: use https (or wss) or http (or ws)"},
		{"TMSWS_SCHEME", setup{env: map[string]string{EnvScheme: "ftp"}},
			"TMSWS_SCHEME=ftp: not a scheme: use https (or wss) or http (or ws)"},
		{"--color", setup{args: []string{"--color", "rainbow"}},
			"--color rainbow: not a colour mode: use auto, always or never"},
		{"profile color", setup{config: "[default]\ncolor = yes\n"},
			"DIR/config:2: color: not a colour mode: use auto, always or never"},
		{"-H without colon", setup{args: []string{"-H", "X-Tenant acme"}},
			`a -H value: not a header: use 'Name: value'`},
		{"-H empty name", setup{args: []string{"-H", ": v"}},
			`a -H value: not a header: use 'Name: value'`},
		{"profile header", setup{config: "[default]\nheader = nocolon\n"},
			"DIR/config:2: header: not a header: use 'Name: value'"},
		{"--cacert missing", setup{args: []string{"--cacert", "/nonexistent/ca.pem"}},
			"--cacert /nonexistent/ca.pem: cannot read the CA bundle: open /nonexistent/ca.pem: no such file or directory"},
		{"--cacert not PEM", setup{args: []string{"--cacert", caFile}},
			"--cacert " + caFile + ": no PEM certificate in " + caFile + ": pass a PEM CA bundle"},
		{"--http-timeout 0", setup{args: []string{"--http-timeout", "0s"}},
			"--http-timeout 0s: not a positive duration: use a value like 10s or 1m"},
		{"profile http-timeout", setup{config: "[default]\nhttp-timeout = 10\n"},
			"DIR/config:2: http-timeout: not a positive duration: use a value like 10s or 1m"},
		{"--host is an ftp URL", setup{args: []string{"--host", "ftp://tms.example/app"}},
			"--host ftp://tms.example/app: a ftp:// URL is not a WebSocket address: use ws://, wss://, http:// or https://, or only the host name (--host tms.example)"},
		{"--host with a space", setup{args: []string{"--host", "a b"}},
			`--host "a b": not a host name: use a name like tms.example.com, an IP address, or HOST:PORT`},
		{"--api-url", setup{args: []string{"--api-url", "tms.example"}},
			"--api-url tms.example: not an http(s) URL: use one like https://tms.example.com"},
		{"TMSWS_AUTH_URL", setup{env: map[string]string{EnvAuthURL: "ws://x/broadcasting/auth"}},
			"TMSWS_AUTH_URL=ws://x/broadcasting/auth: not an http(s) URL: use one like https://tms.example.com"},
		{"--cluster", setup{args: []string{"--cluster", "eu!"}},
			"--cluster eu!: not a cluster name: use one like eu, mt1 or ap2"},
		{"--key", setup{args: []string{"--key", "a/b"}},
			"--key a/b: not an app key: use the key of the app (REVERB_APP_KEY or PUSHER_APP_KEY)"},
		{"profile insecure", setup{config: "[default]\ninsecure = maybe\n"},
			"DIR/config:2: insecure: not a boolean: use true or false"},
		{"unknown key in the profile", setup{config: "[default]\nhots = x\n"},
			`DIR/config:2: unknown key "hots": profiles take host, port, scheme, key, ws-path, cluster, api-url, auth-url, app-id, app-secret, header, insecure, cacert, http-timeout, color, max-frame, encryption-master-key`},
		{"--app-id", setup{args: []string{"--app-id", "a/b"}},
			"--app-id a/b: not an app id: use the id of the app (REVERB_APP_ID, PUSHER_APP_ID or SOKETI_DEFAULT_APP_ID)"},
		{"token in the config file", setup{config: "[default]\ntoken = 1|abcdef\n"},
			"DIR/config:2: a token does not belong in the config file: run tmsws login --profile default (it stores the token in the 0600 credentials file) or use TMSWS_TOKEN"},
		{"malformed line", setup{config: "[default]\nhost tms.example\n"},
			`DIR/config:2: neither a [profile] header nor key = value: fix or remove the line`},
		{"key before a section", setup{config: "# c\nhost = x\n[default]\n"},
			`DIR/config:2: "host" comes before any [profile] header: put it under [default]`},
		{"unclosed section", setup{config: "[default\n"},
			`DIR/config:1: a [profile] header is not closed: end it with ]`},
		{"bad section name", setup{config: "[my profile]\n"},
			"DIR/config:1: not a valid profile name: use letters, digits, '.', '_' and '-' inside [ ]"},
		{"a token pasted as a line", setup{credentials: "[default]\neyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.c2lnbmF0dXJlc2VjcmV0==\n"},
			"DIR/credentials:2: unknown key a key: credentials hold token, user and saved_at"},
		{"a secret pasted without a key", setup{config: "[default]\nsuper secret value\n"},
			"DIR/config:2: neither a [profile] header nor key = value: fix or remove the line"},
		{"a -H header with a token", setup{args: []string{"-H", "Authorization Bearer 1|s3cr3t"}},
			"a -H value: not a header: use 'Name: value'"},
		{"--max-frame too small", setup{args: []string{"--max-frame", "10"}},
			"--max-frame 10: out of range: use 1 KiB to 1 GiB"},
		{"profile max-frame", setup{config: "[default]\nmax-frame = lots\n"},
			"DIR/config:2: max-frame: not a size: use a number of bytes, or one with a unit such as 512KiB, 16MiB or 1GiB"},
		{"--ws-path without a leading slash", setup{args: []string{"--ws-path", "ws"}},
			"--ws-path ws: a path starts with /: e.g. /ws for REVERB_SERVER_PATH=ws"},
		{"TMSWS_WS_PATH with a query", setup{env: map[string]string{EnvWSPath: "/ws?x=1"}},
			"TMSWS_WS_PATH=/ws?x=1: a path holds no ? or #: give only the path prefix, e.g. /ws (Reverb's REVERB_SERVER_PATH)"},
		{"--ws-path with a fragment", setup{args: []string{"--ws-path", "/ws#top"}},
			"--ws-path /ws#top: a path holds no ? or #: give only the path prefix, e.g. /ws (Reverb's REVERB_SERVER_PATH)"},
		{"--ws-path with a space", setup{args: []string{"--ws-path", "/my ws"}},
			`--ws-path "/my ws": not a URL path: use letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @ between slashes, and %XX for anything else`},
		{"--ws-path with a bad escape", setup{args: []string{"--ws-path", "/a%zz"}},
			`--ws-path /a%zz: not a URL path: use letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @ between slashes, and %XX for anything else`},
		// The profile's value is never quoted: a config file may hold a
		// secret pasted on the wrong line.
		{"profile ws-path", setup{config: "[default]\nws-path = s3cret?token\n"},
			"DIR/config:2: ws-path: a path holds no ? or #: give only the path prefix, e.g. /ws (Reverb's REVERB_SERVER_PATH)"},
		{"profile ws-path not a path", setup{config: "[default]\nws-path = hunter2\n"},
			"DIR/config:2: ws-path: a path starts with /: e.g. /ws for REVERB_SERVER_PATH=ws"},
		{"malformed credentials file", setup{credentials: "token = x\n"},
			`DIR/credentials:1: "token" comes before any [profile] header: put it under [default]`},
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

func TestResolveValidAlternatives(t *testing.T) {
	t.Parallel()
	cfg := "\ufeff[default]\r\n  HOST =  tms.example  \r\nport= 6001\nscheme=HTTP\ninsecure = on\ncacert = ~/ca.pem\n" +
		"http-timeout = 1m30s\nheader = X-A: b=c\n[default]\nport = 6002\n"
	xdg := t.TempDir()
	home := t.TempDir()
	writeCA(t, filepath.Join(home, "ca.pem"))
	dir := filepath.Join(xdg, "tmsws")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600))
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	f := AddFlags(fs)
	s, err := f.Resolve(fs, func(k string) string { return map[string]string{"XDG_CONFIG_HOME": xdg, "HOME": home}[k] })
	require.NoError(t, err)
	assert.Equal(t, "tms.example", s.Host)
	assert.Equal(t, 6002, s.Port, "a repeated section merges; later lines win")
	assert.Equal(t, "http", s.Scheme)
	assert.True(t, s.Insecure)
	assert.Equal(t, filepath.Join(home, "ca.pem"), s.CACert)
	assert.Equal(t, 90*time.Second, s.HTTPTimeout)
	assert.Equal(t, "b=c", s.Header.Get("X-A"))
}

func TestDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env     map[string]string
		want    string
		wantErr bool
	}{
		{map[string]string{"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/tmsws", false},
		{map[string]string{"XDG_CONFIG_HOME": "relative", "HOME": "/home/u"}, "/home/u/.config/tmsws", false},
		{map[string]string{"HOME": "/home/u"}, "/home/u/.config/tmsws", false},
		{map[string]string{}, "", true},
	}
	for _, tt := range tests {
		got, err := Dir(func(k string) string { return tt.env[k] })
		if tt.wantErr {
			assert.EqualError(t, err, "cannot find the config folder: set HOME or XDG_CONFIG_HOME")
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.want, got)
	}
}

func TestResolveWithoutHome(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	f := AddFlags(fs)
	s, err := f.Resolve(fs, func(string) string { return "" })
	require.NoError(t, err, "the default profile works without a config folder")
	assert.Equal(t, "tms.amusoft.uz", s.Host)
	assert.Equal(t, "", s.ConfigDir)

	require.NoError(t, fs.Parse([]string{"--profile", "ci"}))
	_, err = f.Resolve(fs, func(string) string { return "" })
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "--profile ci: cannot find the config folder: set HOME or XDG_CONFIG_HOME", err.Error())
}

func TestResolveAppIDWithoutTheFlag(t *testing.T) {
	t.Parallel()
	// Commands without their own --app-id still see the env and the profile.
	fs := pflag.NewFlagSet("tmsws", pflag.ContinueOnError)
	f := AddFlags(fs)
	require.NoError(t, fs.Parse(nil))
	env := map[string]string{"XDG_CONFIG_HOME": t.TempDir(), EnvAppID: "env-id"}
	s, err := f.Resolve(fs, func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, "env-id", s.AppID)
}
