package login

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// NotLoggedInError is `login status` finding no token for the server the
// settings point at: exit code 3.
type NotLoggedInError struct {
	Profile string
	Origin  string // as shown (config.ShowOrigin)
}

func (e *NotLoggedInError) Error() string {
	if e.Origin == "" {
		return fmt.Sprintf("not logged in for profile %q", e.Profile)
	}
	return fmt.Sprintf("not logged in to %s (profile %q)", e.Origin, e.Profile)
}

// StatusOptions are the parsed flags of `tmsws login status`.
type StatusOptions struct {
	IO       *iostreams.IO
	Settings *config.Settings
}

func newCmdStatus(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "status",
		Short: "List the stored tokens by server and show the one in use (masked)",
		Long: `List every token of the credentials file with the origin (scheme, host and
port) it is stored for, its user, its last 4 characters and when it was saved.
The origin the current settings send a token to is marked with * and
"(in use)"; a token from --token or TMSWS_TOKEN is named as such. Exits with
code 3 when the current settings have no token.`,
		Example: `  tmsws login status
  tmsws login status --profile staging
  tmsws login status --api-url http://127.0.0.1:8000`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := f.Settings(c)
			if err != nil {
				return err
			}
			opts.Settings = s
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runStatus(opts)
		},
	}
}

func runStatus(opts *StatusOptions) error {
	s := opts.Settings
	out := opts.IO.Out
	if s.ConfigDir == "" {
		return errNoConfigDir
	}
	origin, err := config.Origin(s.AuthURL)
	if err != nil {
		return cmdutil.Usagef("auth-url %s: %v", auth.RedactURL(s.AuthURL), err)
	}
	all, err := config.LoadTokens(s.ConfigDir)
	if err != nil {
		return err
	}
	fromFile := s.Token != "" && s.TokenSource == config.TokenFromFile(origin)
	fmt.Fprintf(out, "profile:   %s\n", s.Profile)
	fmt.Fprintf(out, "api-url:   %s\n", termsafe.String(s.APIURL))
	fmt.Fprintf(out, "auth-url:  %s\n", termsafe.String(s.AuthURL))
	if len(all) == 0 {
		fmt.Fprintf(out, "stored:    none (%s)\n", credentialsFile(s))
	} else {
		fmt.Fprintf(out, "stored in %s:\n", credentialsFile(s))
		used := -1
		if fromFile {
			used = usedIndex(all, origin, s)
		}
		for i, st := range all {
			fmt.Fprintln(out, storedLine(st, i == used))
		}
	}
	if s.Token == "" {
		return &NotLoggedInError{Profile: s.Profile, Origin: config.ShowOrigin(origin)}
	}
	fmt.Fprintf(out, "in use:    token %s from %s, sent to %s\n", termsafe.String(config.Mask(s.Token)), s.TokenSource, config.ShowOrigin(origin))
	return nil
}

// usedIndex finds the stored token the settings use.
func usedIndex(all []config.StoredToken, origin string, s *config.Settings) int {
	for i, st := range all {
		if st.Origin == origin && st.Token == s.Token {
			return i
		}
	}
	return -1
}

func storedLine(st config.StoredToken, used bool) string {
	var b strings.Builder
	b.WriteString("  ")
	if used {
		b.WriteString("* ")
	} else {
		b.WriteString("  ")
	}
	if st.Origin != "" {
		b.WriteString(config.ShowOrigin(st.Origin))
	} else {
		b.WriteString("(no server)")
	}
	// The file is ours, but anything may have been pasted into it.
	if st.User != "" {
		b.WriteString("  " + termsafe.String(st.User))
	}
	b.WriteString("  token " + termsafe.String(config.Mask(st.Token)))
	if !st.SavedAt.IsZero() {
		b.WriteString("  saved " + st.SavedAt.Local().Format("2006-01-02 15:04"))
	}
	if st.Legacy != "" {
		fmt.Fprintf(&b, "  (old [%s] section", st.Legacy)
		if st.OriginErr != nil {
			b.WriteString(": profile " + st.Legacy + " is broken, so it is never sent")
		}
		b.WriteString(")")
	}
	if used {
		b.WriteString("  (in use)")
	}
	return b.String()
}

// LogoutOptions are the parsed flags of `tmsws logout`.
type LogoutOptions struct {
	IO       *iostreams.IO
	Settings *config.Settings
	All      bool
}

// NewCmdLogout builds `tmsws logout`.
func NewCmdLogout(f *cmdutil.Factory, runF func(context.Context, *LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Remove the stored token of the server the settings point at",
		Long: `Remove the stored token of the origin (scheme, host and port) the current
settings send a token to: the origin of --auth-url, normally that of --api-url.
Tokens of other servers stay. --all removes every stored token.`,
		Example: `  tmsws logout
  tmsws logout --profile staging
  tmsws logout --api-url http://127.0.0.1:8000
  tmsws logout --all`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := f.Settings(c)
			if err != nil {
				return err
			}
			opts.Settings = s
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runLogout(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "remove the stored tokens of every server")
	return cmd
}

func runLogout(opts *LogoutOptions) error {
	s := opts.Settings
	if s.ConfigDir == "" {
		return errNoConfigDir
	}
	origin := ""
	if !opts.All {
		o, err := config.Origin(s.AuthURL)
		if err != nil {
			return cmdutil.Usagef("auth-url %s: %v", auth.RedactURL(s.AuthURL), err)
		}
		origin = o
	}
	removed, err := config.DeleteTokens(s.ConfigDir, origin)
	if err != nil {
		return fmt.Errorf("remove the token: %w", err)
	}
	if len(removed) == 0 {
		if opts.All {
			fmt.Fprintf(opts.IO.ErrOut, "Nothing to do: no token is stored in %s\n", credentialsFile(s))
		} else {
			fmt.Fprintf(opts.IO.ErrOut, "Nothing to do: no token stored for %s\n", config.ShowOrigin(origin))
		}
		return nil
	}
	for _, st := range removed {
		where := "(no server)"
		if st.Origin != "" {
			where = config.ShowOrigin(st.Origin)
		}
		who := ""
		if st.User != "" {
			who = " of " + termsafe.String(st.User)
		}
		fmt.Fprintf(opts.IO.ErrOut, "Logged out of %s: token %s%s removed\n", where, termsafe.String(config.Mask(st.Token)), who)
	}
	return nil
}
