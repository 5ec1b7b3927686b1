package app

// The hardening suite: tmsws tried as an attacker would, through the real
// binary where memory or signals matter. A hostile server (hostiletest)
// sends what no honest server does; recordings are built to hurt; stdout
// and -o are closed, stalled, full or FIFOs. Each test states the figure
// it measures with t.Logf, so a -v run reproduces docs/reliability.md.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/hostiletest"
)

const mib = 1 << 20

var (
	buildOnce sync.Once
	binDir    string
	binErr    error
)

// tmswsBinary builds tmsws once, without -race (whose shadow memory would
// swamp every RSS figure), for the tests that measure a real process.
func tmswsBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "tmsws-test-bin-")
		if binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "tmsws"), "github.com/amusoft/tmsws/cmd/tmsws").CombinedOutput()
		if err != nil {
			binErr = &buildError{err, string(out)}
		}
	})
	require.NoError(t, binErr)
	return filepath.Join(binDir, "tmsws")
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + e.out }

// removeTestBinary deletes what tmswsBinary built (TestMain calls it).
func removeTestBinary() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// proc is a tmsws process of a test.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
}

type procResult struct {
	code           int
	stdout, stderr string
}

// tmsws prepares the binary with an environment that points nowhere
// (like newCLI): config in a temp dir, no colour, loopback port 1.
func tmsws(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(tmswsBinary(t), args...)
	dir := t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "NO_COLOR=1",
		"TMSWS_HOST=127.0.0.1", "TMSWS_PORT=1", "TMSWS_SCHEME=http", "TMSWS_KEY=app-key", "TMSWS_API_URL=http://127.0.0.1:1"}, env...)
	p := &proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	return p
}

// at points the process at a hostile server.
func at(h *hostiletest.Server) []string {
	return []string{"TMSWS_HOST=" + h.Host(), "TMSWS_PORT=" + h.Port()}
}

func (p *proc) wait(t *testing.T) procResult {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
		t.Fatalf("tmsws %v did not exit within 90s\nstderr:\n%s", p.cmd.Args[1:], p.stderr.String())
	}
	return procResult{code: p.cmd.ProcessState.ExitCode(), stdout: p.stdout.String(), stderr: p.stderr.String()}
}

// peakRSS is the process's peak resident memory so far (VmHWM), read while
// it runs: the rusage of a child started by this large test process would
// count this process's memory too (the child shares it until exec).
func (p *proc) peakRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// waitOutput waits until the process's stdout holds want.
func (p *proc) waitOutput(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.stdout.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q on stdout within 60s\nstderr:\n%s", want, p.stderr.String())
		}
		time.Sleep(5 * time.Millisecond) // polling a buffer: there is no event to wait on
	}
}

// interrupt sends SIGINT and waits for the exit.
func (p *proc) interrupt(t *testing.T) procResult {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	return p.wait(t)
}

func (p *proc) run(t *testing.T) procResult {
	t.Helper()
	require.NoError(t, p.cmd.Start())
	return p.wait(t)
}

// assertCleanTerminal checks text meant for a terminal: valid UTF-8 with no
// control character but the newline, no DEL, no C1 control, no bidi or
// line-separator control.
func assertCleanTerminal(t *testing.T, name, s string) {
	t.Helper()
	require.True(t, utf8.ValidString(s), "%s is not valid UTF-8", name)
	for i, r := range s {
		bad := (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) ||
			r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x2028 || r == 0x2029
		if bad {
			lo, hi := max(0, i-60), min(len(s), i+60)
			t.Fatalf("%s has the raw control character U+%04X at byte %d: %q", name, r, i, s[lo:hi])
		}
	}
}

// TestAttackHugeFirstFrame: a 256 MB frame, as the greeting and on a live
// connection. The frame limit holds from the first frame on: a first
// connection whose greeting breaks it exits 4 at once with a clear error
// naming the limit and the flag (the first connection is not retried); on
// an established connection the frame drops it with 1009, a reconnect
// follows, and the process never holds more than about the limit.
func TestAttackHugeFirstFrame(t *testing.T) {
	t.Parallel()
	// huge writes a 256 MB text frame that starts with prefix, until the
	// client gives up on it.
	huge := func(c *hostiletest.Conn, prefix string) {
		w, err := c.NextWriter(websocket.TextMessage)
		if err != nil {
			return
		}
		chunk := bytes.Repeat([]byte("a"), mib)
		_, _ = w.Write([]byte(prefix))
		for range 256 {
			if _, err := w.Write(chunk); err != nil {
				return // the client gave up on it
			}
		}
		_ = w.Close()
	}
	t.Run("the greeting: exit 4", func(t *testing.T) {
		t.Parallel()
		h := hostiletest.Start(t, func(c *hostiletest.Conn) {
			huge(c, `{"event":"pusher:connection_established","data":"`)
		})
		res := tmsws(t, at(h), "listen", "-c", "chat", "--json", "--reconnect-delay", "10ms").run(t)
		assert.Equal(t, ExitConnection, res.code, res.stderr)
		assert.Contains(t, res.stderr, "error: connect ws://"+h.Host()+":"+h.Port()+"/app/app-key")
		assert.Contains(t, res.stderr, ": 1009 a frame larger than the 16 MiB limit (--max-frame)")
		assert.Contains(t, res.stderr, "hint: raise the limit with --max-frame if the server really sends frames this large")
		assert.NotContains(t, res.stderr, "reconnecting")
		assert.Equal(t, 1, h.Conns(), "one attempt")
		assert.Empty(t, res.stdout)
	})
	t.Run("on an established connection: a reconnect", func(t *testing.T) {
		t.Parallel()
		h := hostiletest.Start(t, func(c *hostiletest.Conn) {
			_ = c.Established(`"activity_timeout":30`)
			c.ConfirmSubscribe()
			if c.N == 1 {
				huge(c, `{"event":"big","channel":"chat","data":"`)
				return
			}
			_ = c.Send(hostiletest.Event("chat", "after", `{"ok":1}`))
			c.Serve()
		})
		p := tmsws(t, at(h), "listen", "-c", "chat", "--json", "--reconnect-delay", "10ms")
		require.NoError(t, p.cmd.Start())
		p.waitOutput(t, `"event":"after"`)
		peak := p.peakRSS(t)
		res := p.interrupt(t)
		assert.Equal(t, ExitInterrupted, res.code, res.stderr)
		assert.Contains(t, res.stderr, "1009 a frame larger than the 16 MiB limit (--max-frame)")
		assert.Contains(t, res.stderr, "reconnecting")
		assert.NotContains(t, res.stdout, `"event":"big"`)
		assert.Equal(t, 2, h.Conns())
		t.Logf("256 MB frame on a live connection: peak RSS %.1f MiB (limit 16 MiB; bound 3x = 48 MiB)", float64(peak)/mib)
		assert.Less(t, peak, int64(48*mib), "peak RSS must stay under 3x the frame limit")
	})
}

// TestAttackDeepNesting: 10,000,000 '[' and as many ']' (20 MB, under a
// raised --max-frame) in a frame and in a data string used to overflow the
// stack and lose the -o file. Now each is reported once and skipped, the
// stream goes on, and -o holds the next event.
func TestAttackDeepNesting(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 10_000_000) + strings.Repeat("]", 10_000_000)
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		c.ConfirmSubscribe()
		_ = c.Send(hostiletest.Event("chat", "before", `{}`))
		_ = c.Send([]byte(`{"event":"e","channel":"chat","data":` + deep + `}`))
		_ = c.Send(hostiletest.Event("chat", "e", deep))
		_ = c.Send(hostiletest.Event("chat", "after", `{"ok":1}`))
		c.Serve()
	})
	rec := filepath.Join(t.TempDir(), "rec.jsonl")
	p := tmsws(t, at(h), "listen", "-c", "chat", "--json", "--max-frame", "64MiB", "-o", rec)
	require.NoError(t, p.cmd.Start())
	p.waitOutput(t, `"event":"after"`)
	peak := p.peakRSS(t)
	res := p.interrupt(t)
	require.Equal(t, ExitInterrupted, res.code, res.stderr)
	assert.Equal(t, 2, strings.Count(res.stderr, "nested deeper than 1000 levels"), res.stderr)
	b, err := os.ReadFile(rec)
	require.NoError(t, err)
	lines := jsonLines(t, string(b))
	require.Len(t, lines, 2)
	assert.Equal(t, "before", lines[0].Get("event").String())
	assert.Equal(t, "after", lines[1].Get("event").String())
	assert.Equal(t, string(b), res.stdout)
	t.Logf("10,000,000 levels of nesting in a 20 MB frame: reported and skipped; peak RSS %.1f MiB", float64(peak)/mib)
	assert.Less(t, peak, int64(160*mib), "no recursion: the stack must not grow with the nesting")
}

// TestAttackSlowReader: 60,000 normal events while stdout drains slowly.
// The read-ahead is bounded in bytes, so backpressure goes to the socket:
// nothing is lost and memory stays small.
func TestAttackSlowReader(t *testing.T) {
	t.Parallel()
	const events = 60_000
	payload := `{"message":{"id":1,"chat_id":42,"user_id":8,"content":"` + strings.Repeat("hello there ", 18) + `","temp_id":"tmp-1"},"user":{"id":8,"name":"Alice"}}`
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		c.ConfirmSubscribe()
		go c.Serve()
		for i := range events {
			if err := c.Send(hostiletest.Event("chat", "App\\Events\\MessageSent", strings.Replace(payload, `"id":1`, `"id":`+strconv.Itoa(i), 1))); err != nil {
				return
			}
		}
	})
	p := tmsws(t, at(h), "listen", "-c", "chat", "--json")
	p.cmd.Stdout = nil
	out, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	// A slow consumer: 8 KiB every millisecond, about 8 MB/s.
	got, lines := 0, 0
	br := bufio.NewReaderSize(out, 8<<10)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	buf := make([]byte, 8<<10)
	for lines < events {
		<-tick.C
		n, err := br.Read(buf)
		got += n
		lines += bytes.Count(buf[:n], []byte{'\n'})
		require.NoError(t, err, "stdout ended after %d lines", lines)
	}
	peak := p.peakRSS(t)
	res := p.interrupt(t)
	require.Equal(t, ExitInterrupted, res.code, res.stderr)
	assert.Equal(t, events, lines, "every event, none lost")
	t.Logf("%d events (%.1f MB) read at ~8 MB/s: peak RSS %.1f MiB", events, float64(got)/1e6, float64(peak)/mib)
	assert.LessOrEqual(t, peak, int64(40*mib))
}

// repeatReader yields n copies of b.
type repeatReader struct {
	b byte
	n int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n, mib)
	chunk := repeatChunk(r.b)
	copy(p[:k], chunk)
	r.n -= k
	return int(k), nil
}

var chunks sync.Map // byte → 1 MiB of it

// repeatChunk is 1 MiB of b, made once: filling buffers byte by byte under
// -race would take longer than the test.
func repeatChunk(b byte) []byte {
	if c, ok := chunks.Load(b); ok {
		return c.([]byte)
	}
	c, _ := chunks.LoadOrStore(b, bytes.Repeat([]byte{b}, mib))
	return c.([]byte)
}

const goodLine = `{"ts":"2026-11-26T09:16:54Z","type":"event","channel":"c","event":"after","data":{"ok":1}}`

// TestAttackReplayHugeLine: one 2 GiB line on stdin, then a good one. It is
// reported as stdin:1 and skipped while it streams past: memory stays flat.
func TestAttackReplayHugeLine(t *testing.T) {
	t.Parallel()
	p := tmsws(t, nil, "replay", "-", "--json")
	in, err := p.cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	go func() {
		_, _ = io.Copy(in, io.MultiReader(&repeatReader{b: 'x', n: 2 << 30}, strings.NewReader("\n"+goodLine+"\n")))
	}()
	p.waitOutput(t, goodLine+"\n") // stdin stays open: the process waits for more
	peak := p.peakRSS(t)
	require.NoError(t, in.Close())
	res := p.wait(t)
	assert.Equal(t, 1, res.code, "malformed lines make the exit 1")
	assert.Equal(t, goodLine+"\n", res.stdout)
	assert.Contains(t, res.stderr, "stdin:1: line longer than 16 MiB (--max-frame): skipped")
	t.Logf("2 GiB line: skipped, peak RSS %.1f MiB", float64(peak)/mib)
	assert.Less(t, peak, int64(48*mib))
}

// TestAttackReplayGzipBomb: about 1 MB of gzip that expands to one 1 GiB
// line. Decompression streams; the line is reported and skipped.
func TestAttackReplayGzipBomb(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bomb.jsonl.gz")
	f, err := os.Create(path)
	require.NoError(t, err)
	// One gzip member of 1 MiB of '[' written 1,024 times: a multi-member
	// gzip file (as cat a.gz b.gz makes) that expands to 1 GiB, built
	// without compressing a gigabyte here.
	var member bytes.Buffer
	zw, err := gzip.NewWriterLevel(&member, gzip.BestCompression)
	require.NoError(t, err)
	_, err = zw.Write(repeatChunk('['))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	w := bufio.NewWriter(f)
	for range 1024 {
		_, err = w.Write(member.Bytes())
		require.NoError(t, err)
	}
	// The good line, then one more member: gzip hands out a member's last
	// bytes only once it has read the next member's header.
	for _, text := range []string{"\n" + goodLine + "\n", "\n"} {
		zw = gzip.NewWriter(w)
		_, err = zw.Write([]byte(text))
		require.NoError(t, err)
		require.NoError(t, zw.Close())
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	st, err := os.Stat(path)
	require.NoError(t, err)

	// Through stdin, held open, so the process is still there to measure.
	p := tmsws(t, nil, "replay", "-", "--json")
	in, err := p.cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	bomb, err := os.ReadFile(path)
	require.NoError(t, err)
	go func() { _, _ = in.Write(bomb) }()
	p.waitOutput(t, goodLine+"\n")
	peak := p.peakRSS(t)
	require.NoError(t, in.Close())
	res := p.wait(t)
	assert.Equal(t, 1, res.code)
	assert.Equal(t, goodLine+"\n", res.stdout)
	assert.Contains(t, res.stderr, "stdin:1: line longer than 16 MiB (--max-frame): skipped")
	t.Logf("%.1f MB gzip expanding to a 1 GiB line: skipped, peak RSS %.1f MiB", float64(st.Size())/1e6, float64(peak)/mib)
	assert.Less(t, peak, int64(48*mib))
}

// evil is text that would take over a terminal: a window title (OSC 0), a
// clipboard write (OSC 52), a screen clear (CSI), a C1 CSI, a backspace
// and carriage return that overwrite a line, a bidi override.
const evil = "\x1b]0;owned\x07 \x1b]52;c;ZXZpbA==\x1b\\ \x1b[2J \u009b31m \b\r \u202eevil"

// TestAttackControlCharactersNeverReachTheTerminal: server-supplied text on
// every stderr line of listen (-v frame dumps and --stats included) and on
// doctor's report is escaped.
func TestAttackControlCharactersNeverReachTheTerminal(t *testing.T) {
	t.Parallel()
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		est := `{"socket_id":` + jsonQuote("1.1"+evil) + `,"activity_timeout":30}`
		_ = c.Send([]byte(`{"event":"pusher:connection_established","data":` + jsonQuote(est) + `}`))
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			ch := gjson.GetBytes(msg, "data.channel").String()
			switch ev := gjson.GetBytes(msg, "event").String(); {
			case ev == "pusher:ping":
				_ = c.Send([]byte(`{"event":"pusher:pong","data":{}}`))
			case ev != "pusher:subscribe":
			case strings.HasPrefix(ch, "presence-"):
				members := `{"presence":{"ids":["1","2"],"hash":{"1":{"name":` + jsonQuote(evil) + `},"2":{"name":"Bob"}},"count":2}}`
				_ = c.Send([]byte(`{"event":"pusher_internal:subscription_succeeded","channel":` + jsonQuote(ch) + `,"data":` + jsonQuote(members) + `}`))
				_ = c.Send([]byte(`{"event":"pusher_internal:member_added","channel":` + jsonQuote(ch) + `,"data":` + jsonQuote(`{"user_id":"3","user_info":{"name":`+jsonQuote(evil)+`}}`) + `}`))
			case strings.HasPrefix(ch, "private-") && c.N > 1:
				// The second connection refuses it: listen ends with 3.
				_ = c.Send([]byte(`{"event":"pusher:subscription_error","channel":` + jsonQuote(ch) + `,"data":{"type":"AuthError","error":` + jsonQuote(evil) + `,"status":401}}`))
			case strings.HasPrefix(ch, "private-"):
				_ = c.Send([]byte(`{"event":"pusher_internal:subscription_succeeded","channel":` + jsonQuote(ch) + `,"data":"{}"}`))
				// The first ends with a close whose reason is hostile.
				_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4100, "\x1b[2Jbye\x07"), time.Now().Add(time.Second))
				return
			default:
				_ = c.Send([]byte(`{"event":"pusher_internal:subscription_succeeded","channel":` + jsonQuote(ch) + `,"data":"{}"}`))
				_ = c.Send(hostiletest.Event(ch, "App\\Events\\"+evil, `{"m":`+jsonQuote(evil)+`}`))
				_ = c.Send([]byte(`{"event":"pusher:error","data":{"code":4201,"message":` + jsonQuote(evil) + `}}`))
				_ = c.Send([]byte("{\"event\":\"raw \xc2\x9b\",\"channel\":\"chat\",\"data\":\"not json \xff\"}"))
				_ = c.Send([]byte("not a frame \x1b]0;x\x07"))
			}
		}
	})
	// The first connection ends with a close, the second refuses the
	// private channel: listen ends with 3 after all of it was shown.
	res := tmsws(t, at(h), "listen", "-v", "--stats", "--json", "--show-protocol", "--reconnect-attempts", "1", "--reconnect-delay", "10ms",
		"--app-secret", "s", "-c", "chat", "-c", "presence-room", "-c", "private-x").run(t)
	assert.Equal(t, ExitAuth, res.code, res.stderr)
	assertCleanTerminal(t, "listen's stderr", res.stderr)
	for _, want := range []string{`\x1b]0;owned\x07`, `\u202eevil`, `\u009b31m`, "[stats]", "disconnected"} {
		assert.Contains(t, res.stderr, want)
	}
	// stdout is JSON: escapes there are JSON's, and it is valid UTF-8.
	for _, l := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
		assert.True(t, utf8.ValidString(l) && gjson.Valid(l), "%q", l)
	}

	// The same server through subscribe, doctor, and pretty output.
	sub := tmsws(t, at(h), "subscribe", "-v", "--stats", "--app-secret", "s", "-c", "chat", "-c", "presence-room", "--timeout", "10s").run(t)
	assert.Equal(t, 0, sub.code, sub.stderr)
	assertCleanTerminal(t, "subscribe's stderr", sub.stderr)
	assert.Contains(t, sub.stderr, `\u202eevil`, "the member's name, escaped")
	doc := tmsws(t, at(h), "doctor", "-c", "chat", "--app-secret", "s").run(t)
	assertCleanTerminal(t, "doctor's stdout", doc.stdout)
	assertCleanTerminal(t, "doctor's stderr", doc.stderr)
	pretty := tmsws(t, at(h), "listen", "--pretty", "--color", "never", "-v", "--reconnect-attempts", "1", "--reconnect-delay", "10ms",
		"--app-secret", "s", "-c", "chat", "-c", "presence-room", "-c", "private-x").run(t)
	assert.Equal(t, ExitAuth, pretty.code, pretty.stderr)
	assert.Contains(t, pretty.stdout, `\u202eevil`)
	assertCleanTerminal(t, "pretty stdout", pretty.stdout)
	assertCleanTerminal(t, "pretty stderr", pretty.stderr)
}

func jsonQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TestAttackReplayReportsAreEscaped: a recording's malformed lines are
// quoted in the reports; their control characters are not written raw.
func TestAttackReplayReportsAreEscaped(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "evil\x1b]0;x\x07.jsonl")
	lines := []string{
		`{"type":"event","ts":` + jsonQuote(evil) + `}`,
		`{"type":"event","code":` + jsonQuote(evil) + `}`,
		"{\"type\":\"event\",\"event\":\"\xc2\x9b\"",
		goodLine,
	}
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	res := tmsws(t, nil, "replay", path, "--pretty").run(t)
	assert.Equal(t, 1, res.code)
	assertCleanTerminal(t, "replay's stderr", res.stderr)
	assertCleanTerminal(t, "replay's pretty stdout", res.stdout)
	assert.Equal(t, 3, strings.Count(res.stderr, `evil\x1b]0;x\x07.jsonl:`), res.stderr)
}

// TestAttackClosedStdout: `tmsws listen -o rec.jsonl | head -1`. The closed
// pipe is an EPIPE, not a kill: -o is flushed with every record stdout got,
// whole lines only, and the exit is 141.
func TestAttackClosedStdout(t *testing.T) {
	t.Parallel()
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		c.ConfirmSubscribe()
		go c.Serve()
		for i := 0; ; i++ {
			if c.Send(hostiletest.Event("chat", "n", `{"i":`+strconv.Itoa(i)+`}`)) != nil {
				return
			}
		}
	})
	rec := filepath.Join(t.TempDir(), "rec.jsonl")
	p := tmsws(t, at(h), "listen", "-c", "chat", "--json", "-o", rec)
	p.cmd.Stdout = nil
	out, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	first, err := bufio.NewReader(out).ReadString('\n') // head -1
	require.NoError(t, err)
	require.NoError(t, out.Close())
	res := p.wait(t)
	assert.Equal(t, ExitPipe, res.code, res.stderr)
	assert.NotContains(t, res.stderr, "error:", "nobody to tell: no error message")
	b, err := os.ReadFile(rec)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), first), "-o starts with what stdout got")
	require.True(t, strings.HasSuffix(string(b), "\n"), "no partial line")
	for i, l := range jsonLines(t, string(b)) {
		require.Equal(t, int64(i), l.Get("data.i").Int(), "in order, none missing")
	}
	t.Logf("| head -1: exit 141, -o holds %d whole records", bytes.Count(b, []byte{'\n'}))
}

// TestAttackOutputThatBlocksOrFails: -o to a FIFO nobody reads, a full
// disk, an unwritable path, and the mode of new recordings.
func TestAttackOutputThatBlocksOrFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		c.ConfirmSubscribe()
		for i := 0; i < 100_000; i++ {
			if c.Send(hostiletest.Event("chat", "n", `{"i":`+strconv.Itoa(i)+`}`)) != nil {
				return
			}
		}
		c.Serve()
	})

	t.Run("FIFO without a reader", func(t *testing.T) {
		t.Parallel()
		fifo := filepath.Join(dir, "fifo")
		require.NoError(t, syscall.Mkfifo(fifo, 0o600))
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			p := tmsws(t, at(h), "listen", "-c", "chat", "--json", "-o", fifo)
			require.NoError(t, p.cmd.Start())
			waitBlockedOpen(t, p.cmd.Process.Pid, fifo)
			require.NoError(t, p.cmd.Process.Signal(sig))
			res := p.wait(t)
			assert.Equal(t, 128+int(sig), res.code, res.stderr)
			assert.NotContains(t, res.stderr, "still writing output", "ended by the first signal, not the grace timer")
		}
	})
	t.Run("full disk", func(t *testing.T) {
		t.Parallel()
		res := tmsws(t, at(h), "listen", "-c", "chat", "--json", "-o", "/dev/full").run(t)
		assert.Equal(t, 1, res.code)
		assert.Contains(t, res.stderr, "write --output file: write /dev/full: no space left on device")
	})
	t.Run("unwritable path", func(t *testing.T) {
		t.Parallel()
		res := tmsws(t, at(h), "listen", "-c", "chat", "-o", filepath.Join(dir, "no", "such", "dir", "rec.jsonl")).run(t)
		assert.Equal(t, 1, res.code)
		assert.Contains(t, res.stderr, "open --output file: open "+filepath.Join(dir, "no", "such", "dir", "rec.jsonl")+": no such file or directory")
	})
	t.Run("new recordings are 0600, existing keep their mode", func(t *testing.T) {
		t.Parallel()
		fresh, old := filepath.Join(dir, "fresh.jsonl"), filepath.Join(dir, "old.jsonl")
		require.NoError(t, os.WriteFile(old, nil, 0o644))
		require.NoError(t, os.Chmod(old, 0o644))
		for _, path := range []string{fresh, old} {
			res := tmsws(t, at(h), "listen", "-c", "chat", "--json", "--count", "3", "-o", path).run(t)
			require.Equal(t, 0, res.code, res.stderr)
		}
		for path, mode := range map[string]os.FileMode{fresh: 0o600, old: 0o644} {
			st, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, mode, st.Mode().Perm(), path)
		}
		rp := filepath.Join(dir, "replayed.jsonl")
		res := tmsws(t, nil, "replay", fresh, "--json", "-o", rp).run(t)
		require.Equal(t, 0, res.code, res.stderr)
		st, err := os.Stat(rp)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	})
}

// waitBlockedOpen waits until process pid is blocked opening the FIFO
// (Linux: its syscall is openat and the FIFO has no file descriptor yet);
// it polls /proc with a deadline.
func waitBlockedOpen(t *testing.T, pid int, fifo string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/syscall")
		for _, task := range tasks {
			b, err := os.ReadFile(task)
			// 257 is openat on x86-64, 56 on arm64.
			if err == nil && (strings.HasPrefix(string(b), "257 ") || strings.HasPrefix(string(b), "56 ")) {
				return
			}
		}
		time.Sleep(5 * time.Millisecond) // polling /proc: there is no event to wait on
	}
	t.Fatalf("process %d never blocked opening %s", pid, fifo)
}

// TestAttackServeLogStaysClean: any client can reach replay --serve and
// choose what its log quotes: a close reason, channel names, an Origin, a
// socket id sent to /broadcasting/auth. The server's terminal stays clean.
func TestAttackServeLogStaysClean(t *testing.T) {
	t.Parallel()
	rec := filepath.Join(t.TempDir(), "rec.jsonl")
	require.NoError(t, os.WriteFile(rec, []byte(goodLine+"\n"), 0o600))
	p := tmsws(t, nil, "-v", "replay", rec, "--serve", "127.0.0.1:0")
	require.NoError(t, p.cmd.Start())
	var addr string
	deadline := time.Now().Add(30 * time.Second)
	for addr == "" {
		require.True(t, time.Now().Before(deadline), "no address in the log:\n%s", p.stderr.String())
		if _, rest, ok := strings.Cut(p.stderr.String(), "listening on "); ok {
			addr, _, _ = strings.Cut(rest, " ")
		}
		time.Sleep(5 * time.Millisecond) // polling a buffer: there is no event to wait on
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/app/app-key?protocol=7", nil)
	require.NoError(t, err)
	resp.Body.Close()
	_, _, err = ws.ReadMessage()
	require.NoError(t, err)
	for _, ch := range []string{evil, "private-" + evil, "presence-" + strings.Repeat("x", 9000)} {
		require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:subscribe","data":{"channel":`+jsonQuote(ch)+`}}`)))
	}
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"client-`+"\x1b[2J"+`","channel":"c","data":{}}`)))
	require.NoError(t, ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "\x1b]0;owned\x07"), time.Now().Add(time.Second)))
	ws.Close()
	for _, origin := range []string{"https://evil.example/\u009b31m\u202e", ""} {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/broadcasting/auth", strings.NewReader("socket_id=1.1"+url.QueryEscape(evil)+"&channel_name="+url.QueryEscape("private-"+evil)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	deadline = time.Now().Add(30 * time.Second)
	for !strings.Contains(p.stderr.String(), "ended") {
		require.True(t, time.Now().Before(deadline), "the connection's end was not logged:\n%s", p.stderr.String())
		time.Sleep(5 * time.Millisecond)
	}
	res := p.interrupt(t)
	assert.Equal(t, ExitInterrupted, res.code)
	assertCleanTerminal(t, "the --serve log", res.stderr)
	assert.Contains(t, res.stderr, `\x1b]0;owned\x07`, "the close reason, escaped")
	for _, l := range strings.Split(res.stderr, "\n") {
		assert.Less(t, len(l), 2500, "a client's 9,000-byte name is quoted in part: %.200q", l)
	}
}
