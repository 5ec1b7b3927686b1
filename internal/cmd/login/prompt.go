package login

import (
	"context"
	"fmt"

	"github.com/amusoft/tmsws/internal/cmdutil"
)

// readCredentials gets the login name (--user, else a prompt on the
// terminal) and the password (--password-stdin, else a prompt without
// echo).
func readCredentials(ctx context.Context, opts *Options) (user, password string, err error) {
	user = opts.User
	if user == "" {
		if opts.IO.ReadPassword == nil || opts.PasswordStdin {
			return "", "", &cmdutil.UsageError{Msg: "no --user given", Hint: "pass --user LOGIN (stdin is not a terminal to ask on)"}
		}
		fmt.Fprintf(opts.IO.ErrOut, "%s: ", opts.UserField)
		if user, err = readLine(opts.IO.In); err != nil || user == "" {
			return "", "", cmdutil.Usagef("no %s entered", opts.UserField)
		}
	}

	switch {
	case opts.PasswordStdin:
		p, err := readLine(opts.IO.In)
		if err != nil {
			return "", "", fmt.Errorf("read password from stdin: %w", err)
		}
		password = p
	case opts.IO.ReadPassword != nil:
		fmt.Fprintf(opts.IO.ErrOut, "Password for %s: ", user)
		p, err := opts.IO.ReadPassword()
		fmt.Fprintln(opts.IO.ErrOut)
		if err != nil {
			return "", "", fmt.Errorf("read password: %w", err)
		}
		password = p
	default:
		return "", "", &cmdutil.UsageError{Msg: "no password: stdin is not a terminal", Hint: "pipe the password in with --password-stdin, or store a token with --with-token"}
	}
	return user, password, nil
}
