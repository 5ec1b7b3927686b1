//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package iostreams

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"golang.org/x/term"
)

// Prompt reads the line in a goroutine and returns as soon as ctx is done;
// the abandoned read ends with the process, and the mode it changed is put
// back here.
func (t *terminal) Prompt(ctx context.Context, label string, echo bool) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	fd := int(t.in.Fd())
	t.mu.Lock()
	if t.restored {
		t.mu.Unlock()
		return "", errRestored
	}
	if !echo {
		st, err := term.GetState(fd)
		if err != nil {
			t.mu.Unlock()
			return "", fmt.Errorf("turn off echo on the terminal: %w", err)
		}
		t.saved = st
	}
	t.mu.Unlock()
	defer t.restore(fd)

	fmt.Fprint(t.out, label)
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		if !echo {
			b, err := term.ReadPassword(fd)
			done <- result{passwordLine(b), err}
			return
		}
		line, err := bufio.NewReader(t.in).ReadString('\n')
		if err != nil && line != "" {
			err = nil
		}
		done <- result{strings.TrimRight(line, "\r\n"), err}
	}()
	select {
	case r := <-done:
		if !echo || r.err != nil {
			fmt.Fprintln(t.out)
		}
		return r.line, r.err
	case <-ctx.Done():
		fmt.Fprintln(t.out)
		return "", ctx.Err()
	}
}

func noEcho(int) error { return nil } // term.ReadPassword turns echo off itself
