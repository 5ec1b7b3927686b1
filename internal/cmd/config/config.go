// Package config is `tmsws config`: list, get, set and unset the settings
// of the config file's profiles, and say where each value in use comes
// from, like gh config and git config --show-origin.
package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// NewCmdConfig is `tmsws config` and its subcommands.
func NewCmdConfig(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config <command>",
		Short: "Show and change settings: list, get, set, unset, path",
		Long: `Show the settings tmsws uses here and where each comes from, and change the
profiles of the config file.

Precedence, highest first: a flag; a TMSWS_* environment variable; a profile
named with --profile or TMSWS_PROFILE; the Laravel project's .env (the nearest
directory upward with artisan and .env, or --env-file); the default profile;
built-in defaults. set and unset edit the config file in place, keeping its
comments and order, and write it atomically (mode 0600). Secrets (app-secret,
encryption-master-key) are shown masked, and headers by name only.`,
		Example: `  tmsws config list --show-origin
  tmsws config get host
  tmsws config set host reverb.example.com --profile staging
  tmsws config unset port
  tmsws config path`,
		Args: cmdutil.NoArgs,
	}
	cmd.AddCommand(newCmdList(f), newCmdGet(f), newCmdSet(f), newCmdUnset(f), newCmdPath(f))
	return cmd
}

// checkKey is a usage error for a key no profile takes.
func checkKey(key string) error {
	for _, k := range config.Keys() {
		if k == key {
			return nil
		}
	}
	msg := fmt.Sprintf("unknown key %q", termsafe.String(key))
	if s := cmdutil.Suggest(key, config.Keys()); s != "" {
		msg += "; did you mean " + s + "?"
	}
	return &cmdutil.UsageError{Msg: msg, Hint: "the keys are " + strings.Join(config.Keys(), ", ") + " (tmsws help config)"}
}

func resolve(f *cmdutil.Factory, c *cobra.Command) (*config.Settings, error) {
	f.Flags.WorkDir = f.IO.WorkDir
	s, err := f.Flags.Resolve(c.Flags(), f.IO.Env)
	if err != nil {
		return nil, err
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(f.IO.ErrOut, "warning: %s\n", termsafe.String(w))
	}
	return s, nil
}

func newCmdList(f *cmdutil.Factory) *cobra.Command {
	var showOrigin, asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every setting in use, with --show-origin where it came from",
		Long: `List every setting as tmsws would use it here, one key=value per line, in the
order of tmsws help config. With --show-origin each line starts with where the
value came from: flag --NAME, env TMSWS_NAME, profile NAME (FILE:LINE),
.env FILE:LINE (VARIABLE), or default. --json prints one object per setting.`,
		Example: `  tmsws config list
  tmsws config list --show-origin
  tmsws config list --profile staging --json`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := resolve(f, c)
			if err != nil {
				return err
			}
			type entry struct {
				Key    string `json:"key"`
				Value  string `json:"value"`
				Origin string `json:"origin"`
				Secret bool   `json:"secret,omitempty"`
			}
			var all []entry
			for _, k := range config.Keys() {
				v, _ := s.Value(k)
				all = append(all, entry{Key: k, Value: v, Origin: s.Origin(k), Secret: config.IsSecret(k)})
			}
			if asJSON {
				enc := json.NewEncoder(f.IO.Out)
				for _, e := range all {
					if err := enc.Encode(e); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
			for _, e := range all {
				line := termsafe.String(e.Key + "=" + e.Value)
				if showOrigin {
					fmt.Fprintf(tw, "%s\t%s\n", termsafe.String(e.Origin), line)
				} else {
					fmt.Fprintln(tw, line)
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&showOrigin, "show-origin", false, "start each line with where the value came from")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per setting: key, value, origin")
	return cmd
}

func newCmdGet(f *cmdutil.Factory) *cobra.Command {
	var showOrigin bool
	cmd := &cobra.Command{
		Use:   "get KEY",
		Short: "Print the value of one setting as tmsws uses it here",
		Long: `Print the value of KEY as tmsws would use it here, from whichever source wins
(see tmsws config list --show-origin). Secrets are printed masked.`,
		Example: `  tmsws config get host
  tmsws config get port --show-origin
  tmsws config get api-url --profile staging`,
		Args:              cmdutil.ExactArgs(1, "a key"),
		ValidArgsFunction: cmdutil.CompleteKeys,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkKey(args[0]); err != nil {
				return err
			}
			s, err := resolve(f, c)
			if err != nil {
				return err
			}
			v, _ := s.Value(args[0])
			if showOrigin {
				fmt.Fprintf(f.IO.Out, "%s\t%s\n", termsafe.String(s.Origin(args[0])), termsafe.String(v))
				return nil
			}
			fmt.Fprintln(f.IO.Out, termsafe.String(v))
			return nil
		},
	}
	cmd.Flags().BoolVar(&showOrigin, "show-origin", false, "print where the value came from first")
	return cmd
}

// profileName is the profile set and unset edit: --profile, else
// TMSWS_PROFILE, else default.
func profileName(f *cmdutil.Factory, c *cobra.Command) string {
	if fl := c.Flags().Lookup("profile"); fl != nil && fl.Changed {
		return strings.TrimSpace(f.Flags.Profile)
	}
	if p := strings.TrimSpace(f.IO.Env(config.EnvProfile)); p != "" {
		return p
	}
	return config.DefaultProfile
}

func configDir(f *cmdutil.Factory) (string, error) {
	dir, err := config.Dir(f.IO.Env)
	if err != nil {
		return "", &cmdutil.UsageError{Msg: "no config folder: " + err.Error(), Hint: "set XDG_CONFIG_HOME or HOME"}
	}
	return dir, nil
}

// stillWins tells, on stderr, when another source still beats the profile
// just edited for key, so the edit does not seem lost.
func stillWins(f *cmdutil.Factory, c *cobra.Command, profile, key string) {
	f.Flags.AllowNewProfile = true
	s, err := resolve(f, c)
	if err != nil {
		return
	}
	origin := s.Origin(key)
	if strings.HasPrefix(origin, "profile "+profile+" ") || origin == "default" {
		return
	}
	v, _ := s.Value(key)
	fmt.Fprintf(f.IO.ErrOut, "note: %s is %s here: %s wins over profile %s (see tmsws config list --show-origin)\n",
		key, termsafe.String(quoteEmpty(v)), termsafe.String(origin), profile)
}

func quoteEmpty(v string) string {
	if v == "" {
		return `""`
	}
	return v
}

func newCmdSet(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Set a setting in a profile of the config file",
		Long: `Set KEY to VALUE in the profile named with --profile (or TMSWS_PROFILE; default:
the default profile), creating the profile and the config file when needed.
The value is checked first, as tmsws would read it. The file keeps its
comments and order and is written atomically, mode 0600. set header replaces
every header of the profile with this one. Tokens are not settings: use
tmsws login.`,
		Example: `  tmsws config set host reverb.example.com
  tmsws config set port 6001 --profile local
  tmsws config set header 'X-Tenant: acme' --profile staging`,
		Args:              cmdutil.ExactArgs(2, "a key and a value"),
		ValidArgsFunction: cmdutil.CompleteKeys,
		RunE: func(c *cobra.Command, args []string) error {
			key, val := args[0], args[1]
			if key == "token" {
				return &cmdutil.UsageError{Msg: "a token is not a setting of the config file",
					Hint: "run tmsws login (it stores the token, for its server only, in the 0600 credentials file), or use TMSWS_TOKEN"}
			}
			if err := checkKey(key); err != nil {
				return err
			}
			if err := config.CheckValue(key, val); err != nil {
				return err
			}
			dir, err := configDir(f)
			if err != nil {
				return err
			}
			profile := profileName(f, c)
			if key == "header" {
				if _, err := config.UnsetProfileValue(dir, profile, key); err != nil {
					return err
				}
			}
			if err := config.SetProfileValues(dir, profile, [][2]string{{key, val}}); err != nil {
				return err
			}
			stillWins(f, c, profile, key)
			return nil
		},
	}
}

func newCmdUnset(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "unset KEY",
		Short: "Remove a setting from a profile of the config file",
		Long: `Remove KEY from the profile named with --profile (or TMSWS_PROFILE; default: the
default profile). Unsetting a key the profile does not set changes nothing and
says so on stderr.`,
		Example: `  tmsws config unset port
  tmsws config unset app-secret --profile staging`,
		Args:              cmdutil.ExactArgs(1, "a key"),
		ValidArgsFunction: cmdutil.CompleteKeys,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkKey(args[0]); err != nil {
				return err
			}
			dir, err := configDir(f)
			if err != nil {
				return err
			}
			profile := profileName(f, c)
			removed, err := config.UnsetProfileValue(dir, profile, args[0])
			if err != nil {
				return err
			}
			if !removed {
				fmt.Fprintf(f.IO.ErrOut, "%s was not set in profile %s: nothing changed\n", args[0], profile)
			}
			return nil
		},
	}
}

func newCmdPath(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "path",
		Short: "Print the path of the config file",
		Long: `Print the path of the config file ($XDG_CONFIG_HOME/tmsws/config, else
~/.config/tmsws/config), whether or not it exists yet. The credentials file
sits beside it.`,
		Example: `  tmsws config path
  $EDITOR "$(tmsws config path)"`,
		Args: cmdutil.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			dir, err := configDir(f)
			if err != nil {
				return err
			}
			fmt.Fprintln(f.IO.Out, config.ConfigPath(dir))
			return nil
		},
	}
}
