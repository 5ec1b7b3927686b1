// Package config resolves the connection settings of every command: each
// comes from its flag, else its environment variable, else the selected
// profile of the config file, else its default. It also keeps the tokens
// tmsws login stores, in a 0600 credentials file.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/amusoft/tmsws/internal/bytesize"
	"github.com/amusoft/tmsws/internal/pusher"
)

// Defaults of the CLI contract.
const (
	DefaultProfile     = "default"
	DefaultHost        = "tms.amusoft.uz"
	DefaultPort        = 443
	DefaultScheme      = "https"
	DefaultKey         = "1puo7oyhapqfczgdmt1d"
	DefaultHTTPTimeout = 10 * time.Second
	DefaultColor       = "auto"
	AuthPath           = "/broadcasting/auth"
	// DefaultMaxFrame is the largest frame or recording line accepted.
	DefaultMaxFrame = pusher.DefaultMaxFrame
)

// Bounds of --max-frame.
const (
	minMaxFrame = bytesize.KiB
	maxMaxFrame = bytesize.GiB
)

// Environment variables of the connection settings.
const (
	EnvProfile   = "TMSWS_PROFILE"
	EnvHost      = "TMSWS_HOST"
	EnvPort      = "TMSWS_PORT"
	EnvScheme    = "TMSWS_SCHEME"
	EnvKey       = "TMSWS_KEY"
	EnvCluster   = "TMSWS_CLUSTER"
	EnvAPIURL    = "TMSWS_API_URL"
	EnvAuthURL   = "TMSWS_AUTH_URL"
	EnvToken     = "TMSWS_TOKEN"
	EnvAppSecret = "TMSWS_APP_SECRET"
	EnvAppID     = "TMSWS_APP_ID"
	EnvWSPath    = "TMSWS_WS_PATH"

	EnvEncryptionMasterKey = "TMSWS_ENCRYPTION_MASTER_KEY"
)

// FlagAppID is the --app-id flag. It is not one of the root's connection
// flags: a command that needs the app id (tmsws trigger) registers it on its
// own flag set, and Resolve reads it from there when it exists.
const FlagAppID = "app-id"

// Token sources as Settings.TokenSource reports them.
const (
	TokenFromFlag = "flag"
	TokenFromEnv  = "env " + EnvToken
)

// Flags holds the raw persistent flag values of the root command.
type Flags struct {
	Profile, Host                                           string
	Port                                                    int
	Scheme, Key, Cluster, APIURL, AuthURL, Token, AppSecret string
	WSPath                                                  string
	Headers                                                 []string
	Insecure                                                bool
	CACert                                                  string
	HTTPTimeout                                             time.Duration
	Color                                                   string
	Verbose                                                 bool
	MaxFrame                                                int64
	SignLocally, NoSignLocally                              bool
	EncryptionMasterKey                                     string
	EnvFile                                                 string
	NoEnvFile                                               bool

	// WorkDir is where the Laravel project is looked for and a relative
	// --env-file is read from; "" is the process's working directory.
	WorkDir string

	// AllowNewProfile lets Resolve accept a --profile that neither the config
	// file nor the credentials file knows yet (tmsws login creates it). It is
	// set by the command, not by a flag.
	AllowNewProfile bool
}

// AddFlags registers the connection flags of the CLI contract on fs (the
// root command's persistent flags).
func AddFlags(fs *pflag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Profile, "profile", DefaultProfile, "which profile of the config file to use (env "+EnvProfile+")")
	fs.StringVar(&f.Host, "host", DefaultHost, "WebSocket host: a name or IP address, HOST:PORT, or a ws://, wss://, http:// or https:// URL, which also gives the scheme (env "+EnvHost+")")
	fs.IntVar(&f.Port, "port", DefaultPort, "WebSocket port (env "+EnvPort+")")
	fs.StringVar(&f.Scheme, "scheme", DefaultScheme, "https (alias wss) connects with wss, http (alias ws) with ws (env "+EnvScheme+")")
	fs.StringVar(&f.Key, "key", DefaultKey, "the app key, as in /app/{key} (env "+EnvKey+")")
	fs.StringVar(&f.WSPath, "ws-path", "", "a path prefix before /app/{key}, as Reverb's REVERB_SERVER_PATH and pusher-js wsPath, e.g. /ws (env "+EnvWSPath+")")
	fs.StringVar(&f.Cluster, "cluster", "", "Pusher Channels cluster: host becomes ws-NAME.pusher.com (env "+EnvCluster+")")
	fs.StringVar(&f.APIURL, "api-url", "", "base URL of the Laravel app for login and auth (env "+EnvAPIURL+"; default {scheme}://{host})")
	fs.StringVar(&f.AuthURL, "auth-url", "", "channel authorization endpoint (env "+EnvAuthURL+"; default {api-url}"+AuthPath+")")
	fs.StringVar(&f.Token, "token", "", "bearer token for the API (env "+EnvToken+"; default the token stored for the origin of the auth URL)")
	fs.StringVar(&f.AppSecret, "app-secret", "", "the app secret: signs trigger and HTTP API calls; signs channel auth locally when no --auth-url/--token flag asks for the endpoint (env "+EnvAppSecret+")")
	fs.BoolVar(&f.SignLocally, "sign-locally", false, "sign private and presence channels with the app secret (needs --app-secret or "+EnvAppSecret+"), never calling the auth endpoint")
	fs.BoolVar(&f.NoSignLocally, "no-sign-locally", false, "authorize channels through the auth endpoint even when an app secret is set (it still signs trigger and HTTP API calls)")
	fs.StringVar(&f.EncryptionMasterKey, "encryption-master-key", "", "base64 32-byte key of private-encrypted- channels, as the app's PUSHER_ENCRYPTION_MASTER_KEY_BASE64 (env "+EnvEncryptionMasterKey+")")
	fs.StringVar(&f.EnvFile, "env-file", "", "the Laravel `.env` to read settings from (default: the .env of the nearest directory upward with artisan and .env)")
	fs.BoolVar(&f.NoEnvFile, "no-env-file", false, "do not read a Laravel project's .env (env "+EnvNoEnvFile+"=1)")
	fs.StringArrayVarP(&f.Headers, "header", "H", nil, "extra header 'Name: value' on API requests and the WebSocket upgrade (repeatable)")
	fs.BoolVar(&f.Insecure, "insecure", false, "skip TLS certificate verification")
	fs.StringVar(&f.CACert, "cacert", "", "trust the CA certificates in this PEM `file` instead of the system roots")
	fs.DurationVar(&f.HTTPTimeout, "http-timeout", DefaultHTTPTimeout, "limit for each login, auth and HTTP API request")
	fs.StringVar(&f.Color, "color", DefaultColor, "colour: auto, always or never (NO_COLOR and CLICOLOR_FORCE apply to auto)")
	fs.BoolVarP(&f.Verbose, "verbose", "v", false, "debug log lines on stderr (never a token or a signature)")
	f.MaxFrame = DefaultMaxFrame
	fs.Var(bytesize.Value{N: &f.MaxFrame}, "max-frame", "largest WebSocket frame or recording line accepted, e.g. 64MiB; a larger frame drops the connection (a reconnect follows), a larger line is skipped")
	return f
}

// Settings are the resolved connection settings.
type Settings struct {
	Profile, Host                                string
	Port                                         int
	Scheme, Key, Cluster, APIURL, AuthURL, Token string
	// WSPath is the path prefix the server is mounted under (--ws-path:
	// Reverb's REVERB_SERVER_PATH, pusher-js wsPath): "" or a path such as
	// "/ws" that starts with a slash and has none at the end. The WebSocket
	// is {WSPath}/app/{key}, the HTTP API {WSPath}/apps/{id}/...
	WSPath string
	// TokenSource says where Token came from: "flag" (also for an
	// explicitly empty --token=), "env TMSWS_TOKEN", "credentials file
	// (https://host)" (see TokenFromFile), or "" when there is no token.
	TokenSource string
	AppSecret   string
	// SignLocally: private and presence channels are signed with
	// AppSecret instead of being authorized through AuthURL.
	SignLocally bool
	// EncryptionMasterKey is the 32-byte master key of private-encrypted-
	// channels (--encryption-master-key); nil when none is set.
	EncryptionMasterKey []byte
	// AppID is the app id of the HTTP API's /apps/{id}: the command's own
	// --app-id flag, else TMSWS_APP_ID, else the profile's app-id; "" when
	// none is set.
	AppID       string
	Header      http.Header
	Insecure    bool
	CACert      string
	HTTPTimeout time.Duration
	Color       string
	// MaxFrame is the largest frame or recording line accepted (--max-frame).
	MaxFrame  int64
	Verbose   bool
	ConfigDir string

	// Warnings for the caller to print on stderr, such as a credentials
	// file readable by others.
	Warnings []string

	// DotEnv is the Laravel .env the settings read; nil when none.
	DotEnv *DotEnv

	origins      map[string]value // where each setting came from (Origin)
	headerOrigin string
}

// profileKeys are the keys a profile of the config file may set.
var profileKeys = []string{"host", "port", "scheme", "key", "ws-path", "cluster", "api-url", "auth-url", "app-id", "app-secret",
	"header", "insecure", "cacert", "http-timeout", "color", "max-frame", "encryption-master-key"}

type rank int

// Sources of a setting, weakest first: the precedence of the CLI
// contract.
const (
	fromDefault        rank = iota
	fromDefaultProfile      // the default profile, when no profile was named
	fromDotEnv              // the Laravel project's .env
	fromProfile             // a profile named with --profile or TMSWS_PROFILE
	fromEnv
	fromFlag
)

// value is one setting's raw text and where it came from.
type value struct {
	s      string
	from   rank
	desc   string // "--port 70000", "TMSWS_PORT=abc", "/x/config:3: port"
	origin string // for tmsws config list: "flag --port", "env TMSWS_PORT", "profile staging", ".env /app/.env:12 (REVERB_PORT)", "default"
}

func (v value) fail(problem string, args ...any) *UsageError {
	return usagef("%s: %s", v.desc, fmt.Sprintf(problem, args...))
}

type resolver struct {
	fs          *pflag.FlagSet
	env         func(string) string
	profile     *iniSection
	profileRank rank // fromProfile when named, else fromDefaultProfile
	path        string
	dot         map[string]dotValue // the Laravel .env's settings; nil when none
	dotPath     string
	dotUsed     map[string]bool  // the settings the .env gave
	origins     map[string]value // the last value get returned for each setting
}

func (r *resolver) changed(flag string) bool {
	return r.fs != nil && r.fs.Changed(flag)
}

// get resolves a single-valued setting; flagVal is the flag's text.
func (r *resolver) get(flag, flagVal, envName, def string) value {
	v := r.lookup(flag, flagVal, envName, def)
	if r.origins == nil {
		r.origins = map[string]value{}
	}
	r.origins[flag] = v
	if v.from == fromDotEnv {
		if r.dotUsed == nil {
			r.dotUsed = map[string]bool{}
		}
		r.dotUsed[flag] = true
	}
	return v
}

func (r *resolver) lookup(flag, flagVal, envName, def string) value {
	if r.changed(flag) {
		return value{s: flagVal, from: fromFlag, desc: "--" + flag + " " + quoteIfNeeded(flagVal), origin: "flag --" + flag}
	}
	if envName != "" {
		if s := r.env(envName); s != "" {
			return value{s: s, from: fromEnv, desc: envName + "=" + quoteIfNeeded(s), origin: "env " + envName}
		}
	}
	// The value itself is never quoted (see keyName): .env and profile
	// values may be secrets.
	prof := func() (value, bool) {
		e, ok := r.profile.last(flag)
		if !ok {
			return value{}, false
		}
		return value{s: e.value, from: r.profileRank, desc: fmt.Sprintf("%s:%d: %s", r.path, e.line, flag),
			origin: fmt.Sprintf("profile %s (%s:%d)", r.profile.name, r.path, e.line)}, true
	}
	if r.profileRank == fromProfile {
		if v, ok := prof(); ok {
			return v
		}
	}
	if d, ok := r.dot[flag]; ok {
		where := fmt.Sprintf("%s:%d", r.dotPath, d.line)
		return value{s: d.s, from: fromDotEnv, desc: where + ": " + d.name, origin: ".env " + where + " (" + d.name + ")"}
	}
	if r.profileRank != fromProfile {
		if v, ok := prof(); ok {
			return v
		}
	}
	return value{s: def, from: fromDefault, desc: "the default " + flag + " " + def, origin: "default"}
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"'") {
		return strconv.Quote(s)
	}
	return s
}

// Resolve applies the precedence flag > env > profile > default and
// validates the result. env looks up environment variables (os.Getenv in
// production). Bad values are *UsageError naming their source.
func (f *Flags) Resolve(fs *pflag.FlagSet, env func(string) string) (*Settings, error) {
	if env == nil {
		env = func(string) string { return "" }
	}
	r := &resolver{fs: fs, env: env, origins: map[string]value{}}
	s := &Settings{Header: http.Header{}}

	// Profile first: it decides which section the rest reads.
	prof := r.get("profile", f.Profile, EnvProfile, DefaultProfile)
	s.Profile = strings.TrimSpace(prof.s)
	if !validProfileName(s.Profile) {
		return nil, prof.fail("not a valid profile name: use letters, digits, '.', '_' and '-'")
	}
	dir, dirErr := Dir(env)
	s.ConfigDir = dir
	r.profileRank = fromDefaultProfile
	if prof.from >= fromEnv {
		r.profileRank = fromProfile
	}
	if dirErr == nil {
		cfg, err := readINI(filepath.Join(dir, ConfigFileName))
		if err != nil {
			return nil, err
		}
		r.path = cfg.path
		r.profile = cfg.section(s.Profile)
		if r.profile == nil && s.Profile != DefaultProfile && !f.AllowNewProfile {
			creds, err := readINI(credentialsPath(dir))
			if err != nil {
				return nil, err
			}
			if creds.section(s.Profile) == nil {
				return nil, unknownProfile(prof, cfg, creds)
			}
		}
		if err := checkProfileKeys(r.path, r.profile); err != nil {
			return nil, err
		}
	} else if s.Profile != DefaultProfile && !f.AllowNewProfile {
		return nil, prof.fail("%v", dirErr)
	}

	dot, vals, err := loadDotEnv(r, f, env)
	if err != nil {
		return nil, err
	}
	if dot != nil {
		r.dot, r.dotPath = vals, dot.Path
	}

	if err := resolveServer(r, f, s); err != nil {
		return nil, err
	}
	if err := resolveHTTP(r, f, s); err != nil {
		return nil, err
	}

	if err := resolveToken(r, f, s, dir, dirErr); err != nil {
		return nil, err
	}
	if err := resolveSigning(r, f, s); err != nil {
		return nil, err
	}
	if err := resolveEncryption(r, f, s); err != nil {
		return nil, err
	}
	if err := resolveAppID(r, s); err != nil {
		return nil, err
	}
	s.Verbose = f.Verbose
	s.origins = r.origins
	if dot != nil {
		for _, k := range profileKeys {
			if r.dotUsed[k] {
				dot.Used = append(dot.Used, k)
			}
		}
		// The browser's view is worth a word only where it was used.
		var vite []string
		for _, v := range dot.Vite {
			for _, k := range []string{"host", "port", "scheme"} {
				if r.dotUsed[k] && strings.HasSuffix(strings.Fields(v)[0], "_"+strings.ToUpper(k)) {
					vite = append(vite, v)
				}
			}
		}
		dot.Vite = vite
		s.DotEnv = dot
	}
	return s, nil
}

func unknownProfile(prof value, cfg, creds *iniFile) error {
	seen := map[string]bool{}
	var known []string
	for _, n := range append(cfg.names(), creds.names()...) {
		if !seen[n] {
			seen[n] = true
			known = append(known, n)
		}
	}
	sort.Strings(known)
	if len(known) == 0 {
		return prof.fail("no such profile: %s has none yet; add a [%s] section to it", cfg.path, prof.s)
	}
	return prof.fail("no such profile in %s: known profiles are %s", cfg.path, strings.Join(known, ", "))
}

func checkProfileKeys(path string, s *iniSection) error {
	if s == nil {
		return nil
	}
	for _, e := range s.entries {
		if e.key == "token" {
			return usagef("%s:%d: a token does not belong in the config file: run tmsws login --profile %s (it stores the token in the 0600 credentials file) or use %s",
				path, e.line, s.name, EnvToken)
		}
		ok := false
		for _, k := range profileKeys {
			if e.key == k {
				ok = true
				break
			}
		}
		if !ok {
			return usagef("%s:%d: unknown key %s: profiles take %s", path, e.line, keyName(e.key), strings.Join(profileKeys, ", "))
		}
	}
	return nil
}

var (
	clusterRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	hostRE    = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

func resolveServer(r *resolver, f *Flags, s *Settings) error {
	cluster := r.get("cluster", f.Cluster, EnvCluster, "")
	s.Cluster = strings.ToLower(strings.TrimSpace(cluster.s))
	if s.Cluster != "" && !clusterRE.MatchString(s.Cluster) {
		return cluster.fail("not a cluster name: use one like eu, mt1 or ap2")
	}

	host := r.get("host", f.Host, EnvHost, DefaultHost)
	port := r.get("port", strconv.Itoa(f.Port), EnvPort, strconv.Itoa(DefaultPort))
	scheme := r.get("scheme", f.Scheme, EnvScheme, DefaultScheme)
	// --cluster decides host, port and scheme unless they come from a source
	// at least as strong as the cluster's own.
	if s.Cluster != "" {
		if cluster.from > host.from {
			host = value{s: "ws-" + s.Cluster + ".pusher.com", from: cluster.from, desc: cluster.desc, origin: "cluster from " + cluster.origin}
		}
		if cluster.from > port.from {
			port = value{s: "443", from: cluster.from, desc: cluster.desc, origin: "cluster from " + cluster.origin}
		}
		if cluster.from > scheme.from {
			scheme = value{s: "https", from: cluster.from, desc: cluster.desc, origin: "cluster from " + cluster.origin}
		}
	}

	hp, err := parseHost(host)
	if err != nil {
		return err
	}
	s.Host = hp.host
	// A port, scheme or path inside the host value comes from the host's
	// own source: a stronger source's --port/--scheme/--ws-path wins, a
	// weaker one loses, and the same source saying two things is an error.
	if hp.port != "" {
		if port, err = pick(host, hp.port, port, "port", hp.host); err != nil {
			return err
		}
	} else if hp.impliedPort != "" && port.from < host.from {
		port = value{s: hp.impliedPort, from: host.from, desc: host.desc, origin: host.origin}
	}
	if hp.scheme != "" {
		if scheme, err = pick(host, hp.scheme, scheme, "scheme", hp.host); err != nil {
			return err
		}
	}

	r.origins["host"], r.origins["port"], r.origins["scheme"] = host, port, scheme
	p, err := strconv.Atoi(strings.TrimSpace(port.s))
	if err != nil || p < 1 || p > 65535 {
		return port.fail("not a port number: use 1 to 65535")
	}
	s.Port = p

	s.Scheme = normScheme(scheme.s)
	if s.Scheme != "https" && s.Scheme != "http" {
		return scheme.fail("not a scheme: use https (or wss) or http (or ws)")
	}

	key := r.get("key", f.Key, EnvKey, DefaultKey)
	s.Key = strings.TrimSpace(key.s)
	if s.Key == "" || strings.ContainsAny(s.Key, "/?# \t") {
		return key.fail("not an app key: use the key of the app (REVERB_APP_KEY or PUSHER_APP_KEY)")
	}

	wpv := r.get("ws-path", f.WSPath, EnvWSPath, "")
	wp, err := wsPath(wpv)
	if err != nil {
		return err
	}
	if hp.path != "" {
		switch {
		case wpv.from > host.from:
		case wpv.from == host.from && wp != "" && wp != hp.path:
			return usagef("%s and %s disagree on the path: give it once, either in the URL or with --ws-path", host.desc, wpv.desc)
		default:
			wp = hp.path
		}
	}
	s.WSPath = wp
	return nil
}

// hostParts is a --host value taken apart: a host name or IP address, and
// what else the value said (empty when it did not say it).
type hostParts struct {
	host   string
	port   string // HOST:PORT, [v6]:PORT, or a URL's port
	scheme string // a URL's scheme as http or https
	// impliedPort is the port a URL without one stands for (80 or 443).
	impliedPort string
	path        string // a URL's path, as a ws-path ("" for none or "/")
}

// parseHost takes apart a --host value: a name, an IPv4 or IPv6 address
// (bare or in brackets), HOST:PORT or [v6]:PORT, or a ws://, wss://, http://
// or https:// URL.
func parseHost(v value) (hostParts, error) {
	h := strings.TrimSpace(v.s)
	if strings.Contains(h, "://") {
		return parseHostURL(v, h)
	}
	var hp hostParts
	withPort := false
	switch {
	case strings.HasPrefix(h, "["):
		if strings.HasSuffix(h, "]") {
			h = h[1 : len(h)-1]
			if !isIPv6(h) {
				return hp, v.fail("not an IPv6 address in brackets: use one like [::1], or the host name without brackets")
			}
			break
		}
		name, port, err := net.SplitHostPort(h)
		if err != nil {
			return hp, v.fail("not a host name: use [IPv6]:PORT, e.g. [::1]:6001")
		}
		h, hp.port, withPort = name, port, true
	case strings.Count(h, ":") == 1:
		h, hp.port, withPort = strings.Cut(h, ":")
	}
	if err := checkHostName(v, h); err != nil {
		return hp, err
	}
	hp.host = h
	if withPort {
		if err := checkHostPort(v, hp.host, hp.port); err != nil {
			return hp, err
		}
	}
	return hp, nil
}

func parseHostURL(v value, raw string) (hostParts, error) {
	var hp hostParts
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return hp, v.fail("not a URL: use a host name (--host tms.example.com), HOST:PORT, or a URL like wss://tms.example.com")
	}
	switch strings.ToLower(u.Scheme) {
	case "ws", "http":
		hp.scheme, hp.impliedPort = "http", "80"
	case "wss", "https":
		hp.scheme, hp.impliedPort = "https", "443"
	default:
		return hp, v.fail("a %s:// URL is not a WebSocket address: use ws://, wss://, http:// or https://, or only the host name (--host %s)", u.Scheme, u.Hostname())
	}
	if u.User != nil {
		return hp, v.fail("a host URL holds no user name or password: use --host %s, and --token for the API", u.Hostname())
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		return hp, v.fail("a host URL holds no ? or #: tmsws adds /app/{key}?protocol=7 itself; use --host %s://%s", u.Scheme, u.Host)
	}
	h := u.Hostname()
	if err := checkHostName(v, h); err != nil {
		return hp, err
	}
	hp.host = h
	if p := u.Port(); p != "" {
		if err := checkHostPort(v, h, p); err != nil {
			return hp, err
		}
		hp.port, hp.impliedPort = p, ""
	}
	if u.EscapedPath() != "" && u.EscapedPath() != "/" {
		p, err := wsPath(value{s: u.EscapedPath(), from: v.from, desc: v.desc})
		if err != nil {
			return hp, err
		}
		hp.path = p
	}
	return hp, nil
}

func checkHostName(v value, h string) error {
	if h == "" || (!hostRE.MatchString(h) && !isIPv6(h)) {
		return v.fail("not a host name: use a name like tms.example.com, an IP address, or HOST:PORT")
	}
	return nil
}

func checkHostPort(v value, host, port string) error {
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return v.fail("not a port number after the host: use 1 to 65535, e.g. --host %s", hostPort(host, "6001"))
	}
	return nil
}

// pick decides between what the host value says (inner, from host's
// source) and the --port or --scheme setting other: the stronger source
// wins; the same source saying two different things is a usage error that
// shows both ways of saying one.
func pick(host value, inner string, other value, what, name string) (value, error) {
	mine := value{s: inner, from: host.from, desc: host.desc, origin: host.origin}
	switch {
	case other.from > host.from:
		return other, nil
	case other.from < host.from:
		return mine, nil
	}
	o := strings.TrimSpace(other.s)
	if what == "scheme" {
		o = normScheme(o)
	}
	if o == inner {
		return mine, nil
	}
	var use string
	if what == "port" {
		use = fmt.Sprintf("use --host %s --port %s, or --host %s", name, o, hostPort(name, inner))
	} else {
		use = fmt.Sprintf("use --host %s --scheme %s, or --host %s alone", name, o, strings.TrimSpace(host.s))
	}
	return value{}, usagef("%s and %s disagree on the %s: %s", host.desc, other.desc, what, use)
}

// normScheme lowercases a --scheme and maps the ws/wss aliases to http/https.
func normScheme(s string) string {
	switch s = strings.ToLower(strings.TrimSpace(s)); s {
	case "ws":
		return "http"
	case "wss":
		return "https"
	}
	return s
}

// wsPathRE is a URL path of RFC 3986 characters: segments of unreserved
// characters, sub-delims, ':', '@' and %XX escapes.
var wsPathRE = regexp.MustCompile(`^(/([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)+$`)

// wsPath checks a --ws-path: empty (none), or a path that starts with a
// slash and holds no query or fragment; a trailing slash is dropped, as
// Reverb's router drops it from REVERB_SERVER_PATH. The messages never
// repeat the value: v.desc quotes it only when it came from the user's own
// flag or environment.
func wsPath(v value) (string, error) {
	p := strings.TrimSpace(v.s)
	if p == "" {
		return "", nil
	}
	switch {
	case strings.ContainsAny(p, "?#"):
		return "", v.fail("a path holds no ? or #: give only the path prefix, e.g. /ws (Reverb's REVERB_SERVER_PATH)")
	case p[0] != '/':
		return "", v.fail("a path starts with /: e.g. /ws for REVERB_SERVER_PATH=ws")
	case !wsPathRE.MatchString(p):
		return "", v.fail("not a URL path: use letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @ between slashes, and %%XX for anything else")
	}
	return strings.TrimRight(p, "/"), nil
}

// resolveAppID reads --app-id from fs when the command defines it, then
// TMSWS_APP_ID, then the profile.
func resolveAppID(r *resolver, s *Settings) error {
	flagVal := ""
	if r.fs != nil {
		if fl := r.fs.Lookup(FlagAppID); fl != nil {
			flagVal = fl.Value.String()
		}
	}
	id := r.get(FlagAppID, flagVal, EnvAppID, "")
	s.AppID = strings.TrimSpace(id.s)
	if strings.ContainsAny(s.AppID, "/?#% \t") {
		return id.fail("not an app id: use the id of the app (REVERB_APP_ID, PUSHER_APP_ID or SOKETI_DEFAULT_APP_ID)")
	}
	return nil
}

// isIPv6 reports whether h is an IPv6 address.
func isIPv6(h string) bool {
	return strings.Contains(h, ":") && net.ParseIP(h) != nil
}

func resolveHTTP(r *resolver, f *Flags, s *Settings) error {
	apiDefault := s.Scheme + "://" + hostPort(s.Host, "")
	api := r.get("api-url", f.APIURL, EnvAPIURL, apiDefault)
	u, err := checkURL(api)
	if err != nil {
		return err
	}
	s.APIURL = strings.TrimRight(u, "/")

	auth := r.get("auth-url", f.AuthURL, EnvAuthURL, s.APIURL+AuthPath)
	if s.AuthURL, err = checkURL(auth); err != nil {
		return err
	}

	// Headers: the profile's, then -H; a -H header replaces the profile's
	// header of the same name.
	for _, e := range r.profile.all("header") {
		v := value{s: e.value, from: fromProfile, desc: fmt.Sprintf("%s:%d: header", r.path, e.line)}
		if err := addHeader(s.Header, v); err != nil {
			return err
		}
	}
	s.headerOrigin = "default"
	if hs := r.profile.all("header"); len(hs) > 0 {
		s.headerOrigin = fmt.Sprintf("profile %s (%s:%d)", r.profile.name, r.path, hs[0].line)
	}
	if r.changed("header") {
		s.headerOrigin = "flag -H"
		fromFlags := http.Header{}
		for _, hv := range f.Headers {
			if err := addHeader(fromFlags, value{s: hv, from: fromFlag, desc: headerDesc(hv)}); err != nil {
				return err
			}
		}
		for k, vs := range fromFlags {
			s.Header[k] = vs
		}
	}

	insecure := r.get("insecure", strconv.FormatBool(f.Insecure), "", "false")
	if s.Insecure, err = parseBool(insecure.s); err != nil {
		return insecure.fail("not a boolean: use true or false")
	}

	ca := r.get("cacert", f.CACert, "", "")
	if strings.TrimSpace(ca.s) != "" {
		p := expandHome(strings.TrimSpace(ca.s), r.env)
		if _, err := loadCertPool(p); err != nil {
			return ca.fail("%v", err)
		}
		s.CACert = p
	}

	to := r.get("http-timeout", f.HTTPTimeout.String(), "", DefaultHTTPTimeout.String())
	d, err := time.ParseDuration(strings.TrimSpace(to.s))
	if err != nil || d <= 0 {
		return to.fail("not a positive duration: use a value like 10s or 1m")
	}
	s.HTTPTimeout = d

	mf := r.get("max-frame", bytesize.FormatFlag(f.MaxFrame), "", bytesize.FormatFlag(DefaultMaxFrame))
	n, err := bytesize.Parse(mf.s)
	if err != nil {
		return mf.fail("%v", err)
	}
	if n < minMaxFrame || n > maxMaxFrame {
		return mf.fail("out of range: use %s to %s", bytesize.Format(minMaxFrame), bytesize.Format(maxMaxFrame))
	}
	s.MaxFrame = n

	color := r.get("color", f.Color, "", DefaultColor)
	s.Color = strings.ToLower(strings.TrimSpace(color.s))
	switch s.Color {
	case "auto", "always", "never":
	default:
		return color.fail("not a colour mode: use auto, always or never")
	}
	return nil
}

func checkURL(v value) (string, error) {
	raw := strings.TrimSpace(v.s)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", v.fail("not an http(s) URL: use one like https://tms.example.com")
	}
	return raw, nil
}

var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// headerDesc names a -H value for an error message without its value,
// which is often a token ("Authorization: Bearer ...").
func headerDesc(hv string) string {
	name, _, ok := strings.Cut(hv, ":")
	name = strings.TrimSpace(name)
	if !ok || !headerNameRE.MatchString(name) {
		return "a -H value"
	}
	return "-H " + strconv.Quote(name+": …")
}

func addHeader(h http.Header, v value) error {
	name, val, ok := strings.Cut(v.s, ":")
	name = strings.TrimSpace(name)
	if !ok || !headerNameRE.MatchString(name) {
		return v.fail("not a header: use 'Name: value'")
	}
	val = strings.TrimSpace(val)
	if strings.ContainsAny(val, "\r\n") {
		return v.fail("a header value cannot hold a line break")
	}
	h.Add(name, val)
	return nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0", "":
		return false, nil
	}
	return false, errors.New("not a boolean")
}

func expandHome(p string, env func(string) string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if h := env("HOME"); h != "" {
			return filepath.Join(h, p[1:])
		}
	}
	return p
}
