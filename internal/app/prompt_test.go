//go:build linux

package app

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/laraveltest"
)

// ptyProc is tmsws (this test binary as Main) with a pseudo-terminal as
// its stdin, stdout, stderr and controlling terminal, so that a typed
// Ctrl-C is the line discipline's SIGINT, as in a shell.
type ptyProc struct {
	cmd         *exec.Cmd
	master, tty *os.File
	configDir   string

	mu       sync.Mutex
	out      []byte
	more     chan struct{}
	readDone chan struct{}
	exited   chan struct{}
	waitErr  error
}

func startOnPTY(t *testing.T, args ...string) *ptyProc {
	t.Helper()
	master, tty, err := pty.Open()
	require.NoError(t, err)
	p := &ptyProc{master: master, tty: tty, configDir: t.TempDir(),
		more: make(chan struct{}, 1), readDone: make(chan struct{}), exited: make(chan struct{})}
	env := []string{"TMSWS_TEST_MAIN=1", "XDG_CONFIG_HOME=" + p.configDir, "HOME=" + t.TempDir(), "NO_COLOR=1", "TERM=xterm"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TMSWS_") && !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = env
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = tty, tty, tty
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	require.NoError(t, p.cmd.Start())
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	go func() {
		// Ends with EIO once no one holds the tty side: the child has
		// exited and output (or the cleanup) closed ours.
		defer close(p.readDone)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			p.mu.Lock()
			p.out = append(p.out, buf[:n]...)
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		tty.Close()
		<-p.readDone
		master.Close()
	})
	return p
}

func (p *ptyProc) seen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.out)
}

// waitFor waits until the terminal has shown s.
func (p *ptyProc) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(p.seen(), s) {
		select {
		case <-p.more:
		case <-p.exited:
			require.Contains(t, p.seen(), s, "tmsws exited before showing it")
		case <-deadline:
			t.Fatalf("the terminal did not show %q; it shows %q", s, p.seen())
		}
	}
}

func (p *ptyProc) typeIn(t *testing.T, s string) {
	t.Helper()
	_, err := p.master.Write([]byte(s))
	require.NoError(t, err)
}

// exitCode waits (generously: this is no timing assertion) for the exit.
func (p *ptyProc) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("tmsws did not exit; the terminal shows %q", p.seen())
	}
	if p.waitErr == nil {
		return 0
	}
	var ee *exec.ExitError
	require.ErrorAs(t, p.waitErr, &ee)
	return ee.ExitCode()
}

// echo reports whether the terminal echoes what is typed (ECHO in its
// termios), read on the tty side, which the test still holds.
func (p *ptyProc) echo(t *testing.T) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(p.tty.Fd()), unix.TCGETS)
	require.NoError(t, err)
	return tio.Lflag&unix.ECHO != 0
}

// output is all the terminal showed, once tmsws has exited.
func (p *ptyProc) output(t *testing.T) string {
	t.Helper()
	<-p.exited
	p.tty.Close()
	select {
	case <-p.readDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal's output did not end")
	}
	return p.seen()
}

// deadAPI is a loopback address that accepts connections and never
// answers: a login that got past the prompts would hang, not pass.
func deadAPI(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String()
}

func TestLoginPromptsEndOnOneCtrlC(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, label string
		args        []string
		echoOff     bool
	}{
		{"email", "email: ", nil, false},
		{"password", "Password for alice: ", []string{"--user", "alice"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startOnPTY(t, append([]string{"login", "--api-url", deadAPI(t)}, tt.args...)...)
			p.waitFor(t, tt.label)
			require.Equal(t, !tt.echoOff, p.echo(t), "echo while the prompt waits")
			p.typeIn(t, "\x03")
			assert.Equal(t, ExitInterrupted, p.exitCode(t), p.seen())
			assert.True(t, p.echo(t), "the terminal echoes again after the exit")
			out := p.output(t)
			// After the label: the terminal's ^C (echo on), then the end of
			// the prompt line, and nothing else: no error, no grace-period
			// notice of a Ctrl-C that the prompt ignored.
			before, after, _ := strings.Cut(out, tt.label)
			assert.Empty(t, before)
			assert.Equal(t, "\r\n", strings.TrimPrefix(after, "^C"), "the prompt line is ended, and nothing more: %q", out)
		})
	}
}

func TestLoginPasswordTypedOnATerminal(t *testing.T) {
	t.Parallel()
	api := laraveltest.New(t, laraveltest.Config{
		AppKey: "app-key", AppSecret: "app-secret",
		Users: map[string]laraveltest.User{"alice@example.com": alice},
	})
	p := startOnPTY(t, "login", "--api-url", api.URL)
	p.waitFor(t, "email: ")
	p.typeIn(t, "alice@example.com\r")
	p.waitFor(t, "Password for alice@example.com: ")
	require.False(t, p.echo(t))
	p.typeIn(t, alice.Password+"\r")
	require.Equal(t, 0, p.exitCode(t), p.seen())
	assert.True(t, p.echo(t))
	out := p.output(t)
	assert.Contains(t, out, "Logged in to "+api.URL+" as alice@example.com")
	assert.NotContains(t, out, alice.Password, "the password is not echoed")

	cred, ok, err := config.LoadCredential(filepath.Join(p.configDir, "tmsws"), "default")
	require.NoError(t, err)
	require.True(t, ok, "the token is stored")
	assert.Equal(t, "alice@example.com", cred.User)
	assert.NotContains(t, out, cred.Token)
	reqs := api.LoginRequests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "alice@example.com", reqs[0].Login)
}
