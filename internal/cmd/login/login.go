// Package login implements `tmsws login`, `tmsws login status` and
// `tmsws logout`.
package login

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// Options are the parsed flags of `tmsws login`.
type Options struct {
	IO       *iostreams.IO
	Settings *config.Settings

	User          string
	PasswordStdin bool
	WithToken     bool
	Check         bool
	CheckPath     string
	LoginPath     string
	UserField     string
	TokenPath     string
	AppID         string

	// Record are the server settings given as flags on this command line
	// (key and resolved value), which login saves to the profile.
	Record [][2]string
}

// serverFlags are the flags that name a server: login records those given
// on its command line in the profile, so that the next command reaches the
// same server without them.
var serverFlags = []string{"api-url", "auth-url", "host", "port", "scheme", "key", "cluster", "ws-path", config.FlagAppID}

// NewCmdLogin builds `tmsws login` with its `status` subcommand. runF
// replaces the behaviour in flag tests.
func NewCmdLogin(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to the app's API and store the bearer token for that server",
		Long: `Log in to the Laravel app's API (POST {api-url}{login-path} with JSON credentials)
and store the returned bearer token in the credentials file (mode 0600), under
the origin (scheme, host and port) of the api-url. A stored token is only ever
sent to that origin: a command whose settings point at another server does not
get it, and fails with exit code 3 until you log in there too.

The password is prompted without echo on a terminal, or read from stdin with
--password-stdin. --with-token stores an existing token read from stdin
instead; it is stored unchecked unless --check asks the server first
(GET {api-url}{check-path} with the token; nothing is stored when it is
refused).

Server flags given on the command line (--api-url, --auth-url, --host, --port,
--scheme, --key, --cluster, --ws-path, --app-id) are also saved to the profile
in the config file, as gh auth login does, so the next command reaches the same
server without repeating them.`,
		Example: `  tmsws login --user alice@example.com
  echo "$PASSWORD" | tmsws login --user alice@example.com --password-stdin
  echo "$TMS_TOKEN" | tmsws login --with-token
  echo "$TMS_TOKEN" | tmsws login --with-token --check
  tmsws login --profile staging --api-url https://staging.example.com --user alice@example.com
  tmsws login --api-url http://127.0.0.1:8000 --login-path /api/auth/login --token-path data.access_token`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.WithToken && (opts.PasswordStdin || opts.User != "") {
				return cmdutil.Usagef("--with-token reads a token from stdin: it does not take --user or --password-stdin")
			}
			if !opts.WithToken && (opts.Check || c.Flags().Changed("check-path")) {
				return &cmdutil.UsageError{Msg: "--check and --check-path apply to --with-token",
					Hint: "a password login is checked by the server's answer already"}
			}
			f.Flags.AllowNewProfile = true // logging in is how a profile starts
			s, err := f.Settings(c)
			if err != nil {
				return err
			}
			opts.Settings = s
			opts.Record = recordedValues(c, s)
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runLogin(c.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.User, "user", "", "login name (sent as --user-field)")
	fl.BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the password from stdin")
	fl.BoolVar(&opts.WithToken, "with-token", false, "store a token read from stdin instead of logging in")
	fl.BoolVar(&opts.Check, "check", false, "with --with-token: ask the server (GET {api-url}{check-path}) before storing the token")
	fl.StringVar(&opts.CheckPath, "check-path", auth.DefaultCheckPath, "authenticated endpoint under --api-url that --check calls")
	fl.StringVar(&opts.LoginPath, "login-path", "/api/login", "login endpoint path under --api-url")
	fl.StringVar(&opts.UserField, "user-field", "email", "JSON field name for the login name")
	fl.StringVar(&opts.TokenPath, "token-path", "", "gjson path of the token in the response (default: token, access_token, data.token, data.access_token, plainTextToken)")
	fl.StringVar(&opts.AppID, config.FlagAppID, "", "the app id of the HTTP API, saved to the profile (env "+config.EnvAppID+")")
	cmd.AddCommand(newCmdStatus(f, nil))
	return cmd
}

// recordedValues are the server flags given on c's command line, with the
// values the settings resolved them to (a normalised host, a scheme alias
// made plain). A --host that carried a port or a scheme (HOST:PORT, a URL)
// records those too, so the profile cannot contradict itself.
func recordedValues(c *cobra.Command, s *config.Settings) [][2]string {
	var kv [][2]string
	has := map[string]bool{}
	add := func(k, v string) {
		if !has[k] {
			has[k] = true
			kv = append(kv, [2]string{k, v})
		}
	}
	carriedPort, carriedScheme := false, false
	for _, name := range serverFlags {
		fl := c.Flags().Lookup(name)
		if fl == nil || !c.Flags().Changed(name) {
			continue
		}
		switch name {
		case "api-url":
			add(name, s.APIURL)
		case "auth-url":
			add(name, s.AuthURL)
		case "host":
			h := s.Host
			if strings.Contains(h, ":") {
				h = "[" + h + "]"
			}
			raw := strings.TrimSpace(fl.Value.String())
			carriedScheme = strings.Contains(raw, "://") // a URL's scheme implies its port too
			carriedPort = carriedScheme || (raw != h && raw != s.Host)
			add(name, h)
		case "port":
			add(name, strconv.Itoa(s.Port))
		case "scheme":
			add(name, s.Scheme)
		case "key":
			add(name, s.Key)
		case "cluster":
			add(name, s.Cluster)
		case "ws-path":
			add(name, s.WSPath)
		case config.FlagAppID:
			add(name, s.AppID)
		}
	}
	if carriedPort {
		add("port", strconv.Itoa(s.Port))
	}
	if carriedScheme {
		add("scheme", s.Scheme)
	}
	return kv
}

// errNoConfigDir is returned when there is no config folder to keep tokens in.
var errNoConfigDir = &cmdutil.UsageError{Msg: "cannot find the config folder", Hint: "set HOME or XDG_CONFIG_HOME"}

func runLogin(ctx context.Context, opts *Options) error {
	s := opts.Settings
	if s.ConfigDir == "" {
		return errNoConfigDir
	}
	origin, err := config.Origin(s.APIURL)
	if err != nil {
		return cmdutil.Usagef("api-url %s: %v", auth.RedactURL(s.APIURL), err)
	}
	client, err := s.HTTPClient()
	if err != nil {
		return err
	}
	if opts.WithToken {
		token, err := opts.IO.ReadLine(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			return fmt.Errorf("read token from stdin: %w", err)
		}
		token = strings.TrimSpace(token)
		if token == "" {
			return cmdutil.Usagef("--with-token: stdin held no token; pipe it in, e.g. echo \"$TOKEN\" | tmsws login --with-token")
		}
		if !opts.Check {
			if err := save(opts, origin, token, ""); err != nil {
				return err
			}
			fmt.Fprintf(opts.IO.ErrOut, "Token %s stored for %s in %s (not checked: pass --check to verify it)\n",
				config.Mask(token), config.ShowOrigin(origin), credentialsFile(s))
			return record(opts, origin)
		}
		checkURL := joinURL(s.APIURL, opts.CheckPath)
		user, err := auth.CheckToken(ctx, client, checkURL, s.Header, token)
		if err != nil {
			return err
		}
		return loggedIn(opts, origin, token, user)
	}

	user, password, err := readCredentials(ctx, opts)
	if err != nil {
		return err
	}
	if password == "" {
		return cmdutil.Usagef("empty password")
	}
	token, err := auth.Login(ctx, client, joinURL(s.APIURL, opts.LoginPath), s.Header, opts.UserField, user, password, opts.TokenPath)
	if err != nil {
		return err
	}
	return loggedIn(opts, origin, token, user)
}

func joinURL(base, path string) string {
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(path, "/")
}

func credentialsFile(s *config.Settings) string {
	return filepath.Join(s.ConfigDir, config.CredentialsFileName)
}

// loggedIn stores a token the server accepted and says so.
func loggedIn(opts *Options, origin, token, user string) error {
	if err := save(opts, origin, token, user); err != nil {
		return err
	}
	who := ""
	if user != "" {
		who = " as " + termsafe.String(user)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Logged in to %s%s; token %s saved in %s\n",
		config.ShowOrigin(origin), who, config.Mask(token), credentialsFile(opts.Settings))
	return record(opts, origin)
}

func save(opts *Options, origin, token, user string) error {
	s := opts.Settings
	if err := config.SaveToken(s.ConfigDir, origin, s.Profile, config.Credential{Token: token, User: user, SavedAt: time.Now().UTC()}); err != nil {
		return fmt.Errorf("save the token: %w", err)
	}
	return nil
}

// record saves the server flags of the command line to the profile (and
// starts a profile the config file does not have yet), then warns when the
// auth endpoint is on another origin than the one the token is kept for.
func record(opts *Options, origin string) error {
	s := opts.Settings
	path := config.ConfigPath(s.ConfigDir)
	exists, err := config.HasProfile(s.ConfigDir, s.Profile)
	if err != nil {
		return err
	}
	switch {
	case len(opts.Record) > 0:
		if err := config.SetProfileValues(s.ConfigDir, s.Profile, opts.Record); err != nil {
			return fmt.Errorf("save the server settings to profile %q: %w", s.Profile, err)
		}
		parts := make([]string, len(opts.Record))
		for i, kv := range opts.Record {
			parts[i] = kv[0] + " " + termsafe.String(kv[1])
		}
		fmt.Fprintf(opts.IO.ErrOut, "saved %s to profile %q in %s\n", strings.Join(parts, ", "), s.Profile, path)
	case !exists && s.Profile != config.DefaultProfile:
		if err := config.SetProfileValues(s.ConfigDir, s.Profile, nil); err != nil {
			return fmt.Errorf("create profile %q: %w", s.Profile, err)
		}
		fmt.Fprintf(opts.IO.ErrOut, "created profile %q in %s\n", s.Profile, path)
	}
	if a, err := config.Origin(s.AuthURL); err == nil && a != origin {
		fmt.Fprintf(opts.IO.ErrOut, "warning: the auth endpoint is on %s, not %s: this token is never sent there; log in to %s for channel authorization\n",
			config.ShowOrigin(a), config.ShowOrigin(origin), config.ShowOrigin(a))
	}
	return nil
}
