package login

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// NotLoggedInError is `login status` finding no token: exit code 3.
type NotLoggedInError struct{ Profile string }

func (e *NotLoggedInError) Error() string {
	return fmt.Sprintf("not logged in for profile %q", e.Profile)
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
		Short: "Show the stored login of the profile (the token masked)",
		Args:  noArgs,
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
	cred, ok, err := config.LoadCredential(s.ConfigDir, s.Profile)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "profile:   %s\n", s.Profile)
	fmt.Fprintf(out, "api-url:   %s\n", s.APIURL)
	fmt.Fprintf(out, "auth-url:  %s\n", s.AuthURL)
	if ok {
		// The file is ours, but anything may have been pasted into it.
		fmt.Fprintf(out, "stored:    token %s", termsafe.String(config.Mask(cred.Token)))
		if cred.User != "" {
			fmt.Fprintf(out, " for %s", termsafe.String(cred.User))
		}
		if !cred.SavedAt.IsZero() {
			fmt.Fprintf(out, ", saved %s", cred.SavedAt.Local().Format("2006-01-02 15:04"))
		}
		fmt.Fprintf(out, " (%s)\n", filepath.Join(s.ConfigDir, "credentials"))
	} else {
		fmt.Fprintf(out, "stored:    none\n")
	}
	if s.Token != "" {
		fmt.Fprintf(out, "in use:    token %s from %s\n", termsafe.String(config.Mask(s.Token)), s.TokenSource)
		return nil
	}
	return &NotLoggedInError{Profile: s.Profile}
}

// LogoutOptions are the parsed flags of `tmsws logout`.
type LogoutOptions struct {
	IO       *iostreams.IO
	Settings *config.Settings
}

// NewCmdLogout builds `tmsws logout`.
func NewCmdLogout(f *cmdutil.Factory, runF func(context.Context, *LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "logout",
		Short: "Remove the stored token of the profile",
		Args:  noArgs,
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
}

func runLogout(opts *LogoutOptions) error {
	s := opts.Settings
	removed, err := config.DeleteCredential(s.ConfigDir, s.Profile)
	if err != nil {
		return fmt.Errorf("remove the token: %w", err)
	}
	if removed {
		fmt.Fprintf(opts.IO.ErrOut, "Logged out: the token of profile %q was removed\n", s.Profile)
	} else {
		fmt.Fprintf(opts.IO.ErrOut, "Nothing to do: no token stored for profile %q\n", s.Profile)
	}
	return nil
}
