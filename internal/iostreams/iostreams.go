// Package iostreams holds stdin, stdout, stderr and the terminal and colour
// decisions, made once, so commands never look at os.Stdout or globals.
package iostreams

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
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

	// WorkDir is the directory the Laravel project is looked for from
	// (upward) and a relative --env-file is read from; "" is the process's
	// working directory. Tests set it, as they set Env.
	WorkDir string

	// Terminal asks the prompts (Prompt, ReadPassword) on stdin; nil when
	// stdin is not a terminal. Tests set one with FakeTerminal.
	Terminal Prompter
}

// Prompter asks questions on a terminal.
type Prompter interface {
	// Prompt writes label, reads one line (without echo when echo is
	// false) and returns it without its line ending. A done ctx ends it at
	// once with ctx's error and the prompt line ended; the terminal mode is
	// restored on every path.
	Prompt(ctx context.Context, label string, echo bool) (string, error)
	// Restore puts back a terminal mode that a running prompt changed, and
	// keeps later prompts from changing it: the last step before os.Exit.
	Restore()
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
		s.Terminal = newTerminal(os.Stdin, os.Stderr)
	}
	return s
}

// ErrNoTerminal is the error of a prompt when stdin is not a terminal.
var ErrNoTerminal = errors.New("stdin is not a terminal to ask on")

// CanPrompt reports whether there is a terminal to ask on.
func (s *IO) CanPrompt() bool { return s.Terminal != nil }

// Prompt writes label on the terminal and reads a line that echoes as it
// is typed. A done ctx (the first Ctrl-C) ends it at once with ctx's error.
func (s *IO) Prompt(ctx context.Context, label string) (string, error) {
	if s.Terminal == nil {
		return "", ErrNoTerminal
	}
	return s.Terminal.Prompt(ctx, label, true)
}

// ReadPassword writes label on the terminal and reads a line without echo,
// then ends the prompt line. A done ctx (the first Ctrl-C) ends it at once
// with ctx's error; echo is back on every path.
func (s *IO) ReadPassword(ctx context.Context, label string) (string, error) {
	if s.Terminal == nil {
		return "", ErrNoTerminal
	}
	return s.Terminal.Prompt(ctx, label, false)
}

// ReadLine reads one line from stdin, without its line ending; an empty
// stdin is an empty line. On a terminal a done ctx ends it at once; a pipe
// or file is read to its newline or end.
func (s *IO) ReadLine(ctx context.Context) (string, error) {
	var line string
	var err error
	if s.Terminal != nil {
		line, err = s.Terminal.Prompt(ctx, "", true)
	} else {
		line, err = bufio.NewReader(s.In).ReadString('\n')
	}
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// RestoreTerminal puts back the terminal mode a running prompt changed
// (echo off) and keeps later prompts from changing it. app.Main calls it
// before an os.Exit that skips the prompt's own restore.
func (s *IO) RestoreTerminal() {
	if s.Terminal != nil {
		s.Terminal.Restore()
	}
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
