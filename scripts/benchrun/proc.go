package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A Run is one measured execution of a program.
type Run struct {
	Round       int          `json:"round"`
	WallSeconds float64      `json:"wall_seconds"`
	CPUSeconds  float64      `json:"cpu_seconds"`
	MaxRSSKB    int64        `json:"max_rss_kb"`
	Error       string       `json:"error,omitempty"`
	Source      *SourceStats `json:"source,omitempty"`
}

// SourceStats is what benchsource writes to its -stats file.
type SourceStats struct {
	Sent        int64   `json:"sent"`
	SendSeconds float64 `json:"send_seconds"`
	Rate        float64 `json:"rate"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	// StreamCPUSeconds is the CPU from the client's connection to its end
	// (without encoding the events beforehand); 0 from a source without it.
	StreamCPUSeconds float64 `json:"stream_cpu_seconds"`
}

// streamCPU is the source's CPU spent serving the client: the stream's
// when the source reports it, else all of it.
func (s *SourceStats) streamCPU() float64 {
	if s.StreamCPUSeconds > 0 {
		return s.StreamCPUSeconds
	}
	return s.CPUSeconds
}

// Prog is a program to run: argv, extra environment and working directory.
type Prog struct {
	Argv []string
	Env  []string
	Dir  string
}

// tailBuffer keeps the last max bytes written to it (a failed run's
// stderr, without letting a chatty program grow the driver).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return oneLine(string(t.buf))
}

// oneLine makes a program's stderr fit one line of a report: control
// characters become spaces, runs of blanks one space.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// spawnFlag, as benchrun's first argument, makes it the measuring shim
// (spawnMain) instead of the driver.
const spawnFlag = "-spawn-measure"

// shimExe is the program measure runs as its shim: benchrun itself (the
// test binary in tests, which handles spawnFlag in TestMain).
var shimExe = func() string {
	exe, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return exe
}()

// measure runs p to its end with stdout to out (nil: /dev/null) and
// returns its wall time (start to exit), CPU time (user+sys) and peak RSS.
// A program that exits non-zero, or is killed at timeout, gives a Run with
// Error set.
//
// It runs p through a fresh, small copy of benchrun (spawnMain), which
// starts p, waits for it and reports the figures: Linux's peak RSS of a
// process is at least that of the process it was started from (Go starts
// children with vfork, and exec keeps the old address space's high-water
// mark), so a program started by the driver, which holds the report and
// has read recordings, would show the driver's size instead of its own.
// The shim's own RSS, a few MB, is the floor (Report.RSSFloorKB).
func measure(p Prog, out io.Writer, timeout time.Duration) Run {
	rd, wr, err := os.Pipe()
	if err != nil {
		return Run{Error: fmt.Sprintf("create a pipe for the measuring shim: %v", err)}
	}
	defer rd.Close()
	argv := append([]string{spawnFlag, timeout.String(), "--"}, p.Argv...)
	cmd := exec.Command(shimExe, argv...)
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	cmd.Stdout = out
	stderr := &tailBuffer{max: 400}
	cmd.Stderr = stderr
	cmd.ExtraFiles = []*os.File{wr}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		wr.Close()
		return Run{Error: fmt.Sprintf("start the measuring shim: %v", err)}
	}
	wr.Close()
	var r Run
	b, readErr := io.ReadAll(rd)
	waitErr := cmd.Wait()
	if err := json.Unmarshal(b, &r); err != nil || readErr != nil {
		msg := fmt.Sprintf("the measuring shim reported nothing (%v)", waitErr)
		if s := stderr.String(); s != "" {
			msg += ": " + s
		}
		return Run{Error: msg}
	}
	if r.Error != "" {
		if s := stderr.String(); s != "" {
			r.Error += ": " + s
		}
	}
	return r
}

// spawnMain is the measuring shim: spawnFlag TIMEOUT -- PROGRAM ARGS...
// It runs the program with the shim's stdin, stdout, stderr, environment
// and directory, kills it at TIMEOUT, and writes its Run as JSON to file
// descriptor 3. It exits 0 when it measured (whatever the program's
// status), 2 on bad arguments.
func spawnMain(args []string) int {
	if len(args) < 3 || args[1] != "--" {
		fmt.Fprintf(os.Stderr, "usage: benchrun %s TIMEOUT -- PROGRAM [ARG...]\n", spawnFlag)
		return 2
	}
	timeout, err := time.ParseDuration(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchrun %s: %v\n", spawnFlag, err)
		return 2
	}
	report := os.NewFile(3, "report")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[2], args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err = cmd.Run()
	r := Run{WallSeconds: time.Since(start).Seconds()}
	if ps := cmd.ProcessState; ps != nil {
		r.CPUSeconds = (ps.UserTime() + ps.SystemTime()).Seconds()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			r.MaxRSSKB = ru.Maxrss
		}
	}
	if err != nil {
		r.Error = err.Error()
		if ctx.Err() != nil {
			r.Error = fmt.Sprintf("killed after %s (%v)", timeout, err)
		}
	}
	if err := json.NewEncoder(report).Encode(r); err != nil {
		fmt.Fprintf(os.Stderr, "benchrun %s: write the report: %v\n", spawnFlag, err)
		return 1
	}
	return 0
}

// firstLine signals the first line written to it and discards the rest.
type firstLine struct {
	mu   sync.Mutex
	buf  []byte
	done bool
	ch   chan string
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return len(p), nil
	}
	f.buf = append(f.buf, p...)
	if i := bytes.IndexByte(f.buf, '\n'); i >= 0 {
		f.done = true
		f.ch <- string(f.buf[:i])
	} else if len(f.buf) > 4096 {
		f.done = true
		f.ch <- string(f.buf)
	}
	return len(p), nil
}

// A source is a running benchsource.
type source struct {
	cmd    *exec.Cmd
	addr   string // HOST:PORT
	host   string
	port   string
	stats  string
	stderr *tailBuffer
	done   chan error
}

// startSource starts benchsource -n n and waits for its listening line.
func startSource(bin string, n int, dir string, env []string) (*source, error) {
	f, err := os.CreateTemp(dir, "stats-*.json")
	if err != nil {
		return nil, fmt.Errorf("create the source's stats file: %w", err)
	}
	stats := f.Name()
	f.Close()
	os.Remove(stats) // benchsource writes it when its client is gone
	s := &source{stats: stats, stderr: &tailBuffer{max: 400}, done: make(chan error, 1)}
	fl := &firstLine{ch: make(chan string, 1)}
	s.cmd = exec.Command(bin, "-n", fmt.Sprint(n), "-stats", stats)
	s.cmd.Env = env
	s.cmd.Dir = dir
	s.cmd.Stdout = fl
	s.cmd.Stderr = s.stderr
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start benchsource: %w", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	select {
	case line := <-fl.ch:
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
		host, port, found := strings.Cut(addr, ":")
		if !ok || !found || host == "" || port == "" {
			s.kill()
			return nil, fmt.Errorf("benchsource printed %q, not \"listening HOST:PORT\"", oneLine(line))
		}
		s.addr, s.host, s.port = addr, host, port
		return s, nil
	case err := <-s.done:
		s.done <- err
		return nil, fmt.Errorf("benchsource exited before listening (%v): %s", err, s.stderr.String())
	case <-time.After(15 * time.Second):
		s.kill()
		return nil, errors.New("benchsource did not print its listening line within 15s")
	}
}

// kill stops the source and waits for it.
func (s *source) kill() {
	_ = s.cmd.Process.Kill()
	err := <-s.done
	s.done <- err
}

// finish waits for the source to exit (it does when its client's
// connection ends) and reads its stats.
func (s *source) finish(timeout time.Duration) (*SourceStats, error) {
	defer os.Remove(s.stats)
	select {
	case err := <-s.done:
		if err != nil {
			return nil, fmt.Errorf("benchsource failed (%v): %s", err, s.stderr.String())
		}
	case <-time.After(timeout):
		s.kill()
		return nil, fmt.Errorf("benchsource did not exit within %s of its client's end", timeout)
	}
	b, err := os.ReadFile(s.stats)
	if err != nil {
		return nil, fmt.Errorf("read benchsource's stats: %w", err)
	}
	var st SourceStats
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("benchsource's stats %s are no JSON object: %w", filepath.Base(s.stats), err)
	}
	return &st, nil
}

// lineCounter counts the newlines written to it.
type lineCounter struct{ n int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}
