package login

import (
	"context"
	"fmt"
	"strings"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// readCredentials gets the login name (--user, else a prompt on the
// terminal) and the password (--password-stdin, else a prompt without
// echo). The first Ctrl-C (a done ctx) ends any prompt at once with ctx's
// error, which app.Run turns into a silent exit 130; the terminal's echo is
// back by then.
func readCredentials(ctx context.Context, opts *Options) (user, password string, err error) {
	io := opts.IO
	user = opts.User
	if user == "" {
		if !io.CanPrompt() || opts.PasswordStdin {
			return "", "", &cmdutil.UsageError{Msg: "no --user given", Hint: "pass --user LOGIN (stdin is not a terminal to ask on)"}
		}
		line, err := io.Prompt(ctx, termsafe.String(opts.UserField)+": ")
		if err != nil && ctx.Err() != nil {
			return "", "", err
		}
		if user = strings.TrimSpace(line); err != nil || user == "" {
			return "", "", cmdutil.Usagef("no %s entered", opts.UserField)
		}
	}

	switch {
	case opts.PasswordStdin:
		p, err := io.ReadLine(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return "", "", err
			}
			return "", "", fmt.Errorf("read password from stdin: %w", err)
		}
		password = strings.TrimSpace(p)
	case io.CanPrompt():
		p, err := io.ReadPassword(ctx, fmt.Sprintf("Password for %s: ", termsafe.String(user)))
		if err != nil {
			if ctx.Err() != nil {
				return "", "", err
			}
			return "", "", fmt.Errorf("read password: %w", err)
		}
		password = p
	default:
		return "", "", &cmdutil.UsageError{Msg: "no password: stdin is not a terminal", Hint: "pipe the password in with --password-stdin, or store a token with --with-token"}
	}
	return user, password, nil
}
