// Package login implements `tmsws login`, `tmsws login status` and
// `tmsws logout`.
package login

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"path/filepath"
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
	LoginPath     string
	UserField     string
	TokenPath     string
}

// NewCmdLogin builds `tmsws login` with its `status` subcommand. runF
// replaces the behaviour in flag tests.
func NewCmdLogin(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to the app's API and store the bearer token for the profile",
		Long: `Log in to the Laravel app's API (POST {api-url}{login-path} with JSON credentials)
and store the returned bearer token for the profile, in the credentials file
(mode 0600). The password is prompted without echo on a terminal, or read
from stdin with --password-stdin. --with-token stores an existing token read
from stdin instead.`,
		Example: `  tmsws login --user alice@example.com
  echo "$PASSWORD" | tmsws login --user alice@example.com --password-stdin
  echo "$TMS_TOKEN" | tmsws login --with-token
  tmsws login --api-url http://127.0.0.1:8000 --login-path /api/auth/login --token-path data.access_token`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.WithToken && (opts.PasswordStdin || opts.User != "") {
				return cmdutil.Usagef("--with-token reads a token from stdin: it does not take --user or --password-stdin")
			}
			f.Flags.AllowNewProfile = true // logging in is how a profile starts
			s, err := f.Settings(c)
			if err != nil {
				return err
			}
			opts.Settings = s
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
	fl.StringVar(&opts.LoginPath, "login-path", "/api/login", "login endpoint path under --api-url")
	fl.StringVar(&opts.UserField, "user-field", "email", "JSON field name for the login name")
	fl.StringVar(&opts.TokenPath, "token-path", "", "gjson path of the token in the response (default: token, access_token, data.token, data.access_token, plainTextToken)")
	cmd.AddCommand(newCmdStatus(f, nil))
	return cmd
}

func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &cmdutil.UsageError{Msg: fmt.Sprintf("unexpected argument %q", args[0]), Hint: "see '" + c.CommandPath() + " --help'"}
	}
	return nil
}

func runLogin(ctx context.Context, opts *Options) error {
	s := opts.Settings
	if opts.WithToken {
		token, err := readLine(opts.IO.In)
		if err != nil {
			return fmt.Errorf("read token from stdin: %w", err)
		}
		if token == "" {
			return cmdutil.Usagef("--with-token: stdin held no token; pipe it in, e.g. echo \"$TOKEN\" | tmsws login --with-token")
		}
		return save(opts, token, "")
	}

	user, password, err := readCredentials(ctx, opts)
	if err != nil {
		return err
	}
	if password == "" {
		return cmdutil.Usagef("empty password")
	}

	client, err := s.HTTPClient()
	if err != nil {
		return err
	}
	loginURL := strings.TrimRight(s.APIURL, "/") + "/" + strings.TrimLeft(opts.LoginPath, "/")
	token, err := auth.Login(ctx, client, loginURL, s.Header, opts.UserField, user, password, opts.TokenPath)
	if err != nil {
		return err
	}
	return save(opts, token, user)
}

func save(opts *Options, token, user string) error {
	s := opts.Settings
	if err := config.SaveCredential(s.ConfigDir, s.Profile, config.Credential{Token: token, User: user, SavedAt: time.Now().UTC()}); err != nil {
		return fmt.Errorf("save the token: %w", err)
	}
	who := ""
	if user != "" {
		who = " as " + termsafe.String(user)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Logged in to %s%s; token %s saved for profile %q in %s\n",
		s.APIURL, who, config.Mask(token), s.Profile, filepath.Join(s.ConfigDir, "credentials"))
	return nil
}

// readLine reads one line, without its line ending and surrounding spaces.
func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimSpace(line), nil
}
