//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package iostreams

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Prompt reads the line with poll(2) on the tty and on a pipe that a done
// ctx writes to, so the first Ctrl-C (which cancels ctx) ends it at once
// and no goroutine is left reading stdin.
func (t *terminal) Prompt(ctx context.Context, label string, echo bool) (line string, err error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	fd := int(t.in.Fd())
	if !echo {
		if err := t.hideEcho(fd); err != nil {
			return "", fmt.Errorf("turn off echo on the terminal: %w", err)
		}
		defer t.restore(fd)
	}
	fmt.Fprint(t.out, label)
	b, err := readTTYLine(ctx, fd)
	if !echo || err != nil {
		// The Enter typed without echo, or a line cut short by Ctrl-C or
		// Ctrl-D: end the prompt line so the next one starts fresh.
		fmt.Fprintln(t.out)
	}
	if err != nil {
		return "", err
	}
	if !echo {
		return passwordLine(b), nil
	}
	return string(bytes.TrimRight(b, "\r")), nil
}

// readTTYLine reads up to a newline (not included) or the end of input
// (io.EOF when nothing came before it), or until ctx is done.
func readTTYLine(ctx context.Context, fd int) ([]byte, error) {
	wakeR, wakeW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("read the terminal: %w", err)
	}
	defer wakeR.Close()
	defer wakeW.Close()
	stop := context.AfterFunc(ctx, func() { _, _ = wakeW.Write([]byte{0}) })
	defer stop()

	fds := []unix.PollFd{
		{Fd: int32(fd), Events: unix.POLLIN},
		{Fd: int32(wakeR.Fd()), Events: unix.POLLIN},
	}
	var line []byte
	buf := make([]byte, 256)
	for {
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return nil, fmt.Errorf("read the terminal: %w", err)
		}
		if fds[1].Revents != 0 {
			return nil, ctx.Err()
		}
		if fds[0].Revents == 0 {
			continue
		}
		n, err := unix.Read(fd, buf)
		switch {
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN):
			continue
		case err != nil:
			return nil, fmt.Errorf("read the terminal: %w", err)
		case n == 0:
			if len(line) == 0 {
				return nil, io.EOF
			}
			return line, nil
		}
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			// A canonical-mode read holds at most one line: nothing
			// after the newline is lost.
			return append(line, buf[:i]...), nil
		}
		line = append(line, buf[:n]...)
	}
}

// noEcho turns echo off and keeps the terminal canonical (line editing,
// Enter as newline) with Ctrl-C as a signal, as x/term's ReadPassword does.
func noEcho(fd int) error {
	tio, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return err
	}
	tio.Lflag &^= unix.ECHO
	tio.Lflag |= unix.ICANON | unix.ISIG
	tio.Iflag |= unix.ICRNL
	return unix.IoctlSetTermios(fd, ioctlSetTermios, tio)
}
