//go:build linux

package iostreams

import (
	"bufio"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// ptyTerminal is a terminal over a fresh pseudo-terminal: the prompt reads
// its tty side and writes labels there too; the test types on the master.
type ptyTerminal struct {
	t      *terminal
	master *os.File
	tty    *os.File
	labels *bufio.Reader
}

func newPTY(t *testing.T) *ptyTerminal {
	t.Helper()
	master, tty, err := pty.Open()
	require.NoError(t, err)
	master = pollable(t, master)
	t.Cleanup(func() { tty.Close(); master.Close() })
	return &ptyTerminal{t: newTerminal(tty, tty), master: master, tty: tty, labels: bufio.NewReader(master)}
}

// pollable is f on Go's poller, so that its reads take deadlines (pty.Open
// leaves the master in blocking mode).
func pollable(t *testing.T, f *os.File) *os.File {
	t.Helper()
	fd, err := unix.Dup(int(f.Fd()))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, unix.SetNonblock(fd, true))
	return os.NewFile(uintptr(fd), f.Name())
}

// echo reports whether the tty echoes what is typed.
func (p *ptyTerminal) echo(t *testing.T) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(p.tty.Fd()), unix.TCGETS)
	require.NoError(t, err)
	return tio.Lflag&unix.ECHO != 0
}

// waitFor reads what the prompt wrote until it holds s.
func (p *ptyTerminal) waitFor(t *testing.T, s string) {
	t.Helper()
	require.NoError(t, p.master.SetReadDeadline(time.Now().Add(10*time.Second)))
	var seen []byte
	for !strings.Contains(string(seen), s) {
		b, err := p.labels.ReadByte()
		require.NoError(t, err, "waiting for %q, saw %q", s, seen)
		seen = append(seen, b)
	}
}

type answer struct {
	line string
	err  error
}

func (p *ptyTerminal) prompt(ctx context.Context, label string, echo bool) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		line, err := p.t.Prompt(ctx, label, echo)
		ch <- answer{line, err}
	}()
	return ch
}

func wait(t *testing.T, ch <-chan answer) answer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("the prompt did not end")
		return answer{}
	}
}

func TestPasswordPromptReadsWithoutEchoAndRestoresIt(t *testing.T) {
	p := newPTY(t)
	require.True(t, p.echo(t))
	ch := p.prompt(context.Background(), "Password for alice: ", false)
	p.waitFor(t, "Password for alice: ")
	assert.False(t, p.echo(t), "no echo while the password is typed")
	_, err := p.master.Write([]byte("correct horse\r"))
	require.NoError(t, err)
	a := wait(t, ch)
	require.NoError(t, a.err)
	assert.Equal(t, "correct horse", a.line)
	assert.True(t, p.echo(t), "echo is back")
	p.waitFor(t, "\n") // the prompt line is ended
}

func TestPromptReadsAnEchoedLine(t *testing.T) {
	p := newPTY(t)
	ch := p.prompt(context.Background(), "email: ", true)
	p.waitFor(t, "email: ")
	assert.True(t, p.echo(t))
	_, err := p.master.Write([]byte("alice@example.com\r"))
	require.NoError(t, err)
	a := wait(t, ch)
	require.NoError(t, a.err)
	assert.Equal(t, "alice@example.com", a.line)
	p.waitFor(t, "alice@example.com") // the terminal echoed it
}

func TestPromptEndsOnCancelWithEchoBack(t *testing.T) {
	for _, echo := range []bool{false, true} {
		t.Run(map[bool]string{false: "password", true: "echoed"}[echo], func(t *testing.T) {
			p := newPTY(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch := p.prompt(ctx, "label: ", echo)
			p.waitFor(t, "label: ")
			_, err := p.master.Write([]byte("half typ")) // no Enter yet
			require.NoError(t, err)
			cancel()
			a := wait(t, ch)
			assert.ErrorIs(t, a.err, context.Canceled)
			assert.Empty(t, a.line)
			assert.True(t, p.echo(t), "echo is back after the cancel")
			p.waitFor(t, "\n") // the prompt line is ended for the shell
		})
	}
}

func TestPromptEndsAtEndOfInput(t *testing.T) {
	p := newPTY(t)
	ch := p.prompt(context.Background(), "Password: ", false)
	p.waitFor(t, "Password: ")
	_, err := p.master.Write([]byte{4}) // Ctrl-D on an empty line
	require.NoError(t, err)
	a := wait(t, ch)
	assert.ErrorIs(t, a.err, io.EOF)
	assert.True(t, p.echo(t))
}

// The exit path (a second Ctrl-C while a prompt still waits) restores the
// mode from outside the prompt, and no later prompt turns echo off again.
func TestRestoreBringsEchoBackUnderARunningPrompt(t *testing.T) {
	p := newPTY(t)
	ch := p.prompt(context.Background(), "Password: ", false)
	p.waitFor(t, "Password: ")
	require.False(t, p.echo(t))
	p.t.Restore()
	assert.True(t, p.echo(t), "Restore puts echo back")

	_, err := p.master.Write([]byte("x\r"))
	require.NoError(t, err)
	a := wait(t, ch)
	require.NoError(t, a.err)
	assert.True(t, p.echo(t))

	_, err = p.t.Prompt(context.Background(), "Password: ", false)
	assert.ErrorIs(t, err, errRestored)
	assert.True(t, p.echo(t))
}

func TestPasswordLine(t *testing.T) {
	assert.Equal(t, "secret", passwordLine([]byte("secrex\bt\r")))
	assert.Equal(t, "", passwordLine([]byte("\b\b")))
}
