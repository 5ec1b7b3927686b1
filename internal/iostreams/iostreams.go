// Package iostreams holds stdin, stdout, stderr and the terminal and colour
// decisions, made once, so commands never look at os.Stdout or globals.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
	"golang.org/x/term"
)

// IO is the command's view of the terminal.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	InTTY  bool
	OutTTY bool
	ErrTTY bool

	// Env looks up environment variables (os.Getenv in production).
	Env func(string) string

	// ReadPassword reads a line from the terminal without echo; nil when
	// stdin is not a terminal.
	ReadPassword func() (string, error)
}

// System returns the process's real streams.
func System() *IO {
	s := &IO{
		In:     os.Stdin,
		Out:    os.Stdout,
		ErrOut: os.Stderr,
		InTTY:  isTerminal(os.Stdin),
		OutTTY: isTerminal(os.Stdout),
		ErrTTY: isTerminal(os.Stderr),
		Env:    os.Getenv,
	}
	if s.InTTY {
		s.ReadPassword = func() (string, error) {
			b, err := term.ReadPassword(int(os.Stdin.Fd()))
			return string(b), err
		}
	}
	return s
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// Test returns an IO over buffers: stdin, stdout and stderr, with no
// terminal and an empty environment.
func Test() (*IO, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IO{In: in, Out: out, ErrOut: errOut, Env: func(string) string { return "" }}, in, out, errOut
}

// ColorEnabled decides colour for a stream: --color always/never win, then
// NO_COLOR (any value) disables, CLICOLOR_FORCE (not "0") enables, and
// otherwise colour follows whether the stream is a terminal.
func (s *IO) ColorEnabled(flag string, tty bool) bool {
	switch flag {
	case "always":
		return true
	case "never":
		return false
	}
	if s.Env != nil {
		if s.Env("NO_COLOR") != "" {
			return false
		}
		if v := s.Env("CLICOLOR_FORCE"); v != "" && v != "0" {
			return true
		}
		if s.Env("TERM") == "dumb" {
			return false
		}
	}
	return tty
}

// Color returns a colour that is on or off as decided (ColorEnabled), never
// through fatih/color's global NoColor.
func Color(on bool, attrs ...color.Attribute) *color.Color {
	c := color.New(attrs...)
	if on {
		c.EnableColor()
	} else {
		c.DisableColor()
	}
	return c
}
