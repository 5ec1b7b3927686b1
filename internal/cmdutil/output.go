package cmdutil

import (
	"context"
	"fmt"
	"os"
	"syscall"
)

// OpenOutput opens the -o file for appending. A new file is created 0600:
// recordings hold private chat messages. An existing file keeps its mode.
// A FIFO is opened in the background, since opening one blocks until a
// reader comes: ctx ending (Ctrl-C, SIGTERM) still ends the wait at once.
// Errors name the path.
func OpenOutput(ctx context.Context, name string) (*os.File, error) {
	if st, err := os.Stat(name); err == nil && st.Mode()&os.ModeNamedPipe != 0 {
		return openFIFO(ctx, name)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open --output file: %w", err)
	}
	return f, nil
}

func openFIFO(ctx context.Context, name string) (*os.File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
		ch <- opened{f, err}
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, fmt.Errorf("open --output file: %w", o.err)
		}
		return o.f, nil
	case <-ctx.Done():
		// Be the FIFO's reader for a moment, so the open above returns
		// and its goroutine ends.
		if r, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
			r.Close()
		}
		return nil, ctx.Err()
	}
}
