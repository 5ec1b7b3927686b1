// Package cmdutil holds what every command shares: the Factory of
// dependencies, the usage error, and the stderr status logger.
package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// Factory carries the dependencies commands are built with.
type Factory struct {
	IO      *iostreams.IO
	Version string
	Flags   *config.Flags // the root's persistent connection flags
}

// Settings resolves the connection settings for a running command:
// flags, then environment, then profile, then defaults.
//
// Inside a Laravel project it prints one [config] status line naming the
// .env read, when the .env gave a setting or with -v.
func (f *Factory) Settings(cmd *cobra.Command) (*config.Settings, error) {
	f.Flags.WorkDir = f.IO.WorkDir
	s, err := f.Flags.Resolve(cmd.Flags(), f.IO.Env)
	if err != nil {
		return nil, err
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(f.IO.ErrOut, "warning: %s\n", termsafe.String(w))
	}
	if d := s.DotEnv; d != nil && (len(d.Used) > 0 || s.Verbose) {
		NewStatusLog(f.IO.ErrOut, f.IO.ColorEnabled(s.Color, f.IO.ErrTTY), s.Verbose).Info("config", d.Summary())
	}
	return s, nil
}

// UsageError is bad usage: exit code 2.
type UsageError struct {
	Msg  string
	Hint string
}

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// TimeoutError is an expected event or confirmation that did not come in
// time: exit code 5.
type TimeoutError struct{ Msg string }

func (e *TimeoutError) Error() string { return e.Msg }

// GateError is a measured figure over the limit a CI gate set (tmsws ping
// --max-p99, --max-loss): exit code 5, as a timeout.
type GateError struct{ Msg string }

func (e *GateError) Error() string { return e.Msg }

// ContractError is payloads that broke their contract (--schema): exit
// code 6. Violations is how many records broke it.
type ContractError struct {
	Msg        string
	Violations int
}

func (e *ContractError) Error() string { return e.Msg }

// IsUsage reports whether err is any package's usage error.
func IsUsage(err error) bool {
	var u *UsageError
	var cu *config.UsageError
	return errors.As(err, &u) || errors.As(err, &cu)
}

// StatusLog writes the tagged status lines on stderr: `[connection] ...`,
// `[auth] ...`, `[channel] ...`; debug lines only when Verbose.
type StatusLog struct {
	mu      sync.Mutex
	w       io.Writer
	verbose bool
	now     func() time.Time
	dim     *color.Color
	tag     *color.Color
	warn    *color.Color
	debug   *color.Color
	plain   *color.Color
}

// NewStatusLog returns a StatusLog over w (stderr).
func NewStatusLog(w io.Writer, colored, verbose bool) *StatusLog {
	mk := func(attrs ...color.Attribute) *color.Color { return iostreams.Color(colored, attrs...) }
	l := &StatusLog{
		w: w, verbose: verbose, now: time.Now,
		dim: mk(color.Faint), tag: mk(color.FgCyan), warn: mk(color.FgYellow), debug: mk(color.Faint), plain: color.New(),
	}
	l.plain.DisableColor()
	return l
}

// maxStatusLine caps a status line's message: a server-chosen text (a close
// reason, an error message, a member's name) cannot flood the terminal.
const maxStatusLine = 2000

func (l *StatusLog) line(c *color.Color, tag, msg string) {
	// Messages carry text from servers, files and clients: one escaper
	// makes every status line safe for the terminal, whatever its source.
	msg = termsafe.Clip(msg, maxStatusLine)
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s %s %s\n", l.dim.Sprint(l.now().Format("15:04:05")), l.tag.Sprint("["+tag+"]"), c.Sprint(msg))
}

// Info is a normal status line.
func (l *StatusLog) Info(tag, msg string) { l.line(l.plain, tag, msg) }

// Warn is a status line about something going wrong.
func (l *StatusLog) Warn(tag, msg string) { l.line(l.warn, tag, msg) }

// Debug is shown with -v only.
func (l *StatusLog) Debug(tag, msg string) {
	if l.verbose {
		l.line(l.debug, tag, msg)
	}
}
