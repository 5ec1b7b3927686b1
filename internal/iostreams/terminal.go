package iostreams

import (
	"errors"
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// errRestored is a prompt's error after Restore: the process is exiting.
var errRestored = errors.New("the terminal was restored for exit: no more prompts")

// terminal asks on a tty (stdin) and writes its labels to out (stderr).
// The mode a prompt changes is saved first and put back by whichever comes
// first: the prompt's own end (success, error, cancel, panic) or Restore on
// the exit path.
type terminal struct {
	in  *os.File
	out io.Writer

	mu       sync.Mutex
	saved    *term.State // the mode before a prompt turned echo off; nil when unchanged
	restored bool        // Restore ran: the process is exiting
}

func newTerminal(in *os.File, out io.Writer) *terminal {
	return &terminal{in: in, out: out}
}

// hideEcho saves the terminal's mode and turns echo off, keeping line
// editing and Ctrl-C (ISIG) as they are for a typed line.
func (t *terminal) hideEcho(fd int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.restored {
		return errRestored
	}
	st, err := term.GetState(fd)
	if err != nil {
		return err
	}
	if err := noEcho(fd); err != nil {
		_ = term.Restore(fd, st)
		return err
	}
	t.saved = st
	return nil
}

// restore puts back the mode hideEcho saved, once.
func (t *terminal) restore(fd int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.saved != nil {
		_ = term.Restore(fd, t.saved)
		t.saved = nil
	}
}

func (t *terminal) Restore() {
	t.restore(int(t.in.Fd()))
	t.mu.Lock()
	t.restored = true
	t.mu.Unlock()
}

// passwordLine is what a typed password line holds: x/term's rules, a
// backspace removes the byte before it and a carriage return is dropped.
func passwordLine(b []byte) string {
	var out []byte
	for _, c := range b {
		switch c {
		case '\b':
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case '\r':
		default:
			out = append(out, c)
		}
	}
	return string(out)
}
