// Command benchrun is the driver of scripts/bench: it runs tmsws and its
// peers side by side on the same work, in rounds whose order alternates,
// and prints medians, min–max, CPU and peak RSS as a Markdown table (or one
// JSON object with -json), with issue 13's targets checked.
//
// scripts/bench installs the peers, builds the programs and runs it:
//
//	benchrun -tmsws BIN -benchsource BIN -goreader BIN -genrecording BIN \
//	    -peers scripts/benchpeers -node node -python /usr/bin/python3 \
//	    -jq jq -grep grep -rg rg [-rounds 5] [-quick] [-json]
//
// It exits 0 when everything ran (a target missed is reported, not an
// error), 1 when a run failed, 2 on bad flags.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

const (
	benchKey     = "bench-key"
	benchSecret  = "bench-secret"
	benchChannel = "private-bench"
)

// jqFilter is scripts/bench-replay's jq program selecting the records that
// `tmsws replay --json -e MessageSent --where data.message.user_id=8`
// prints (TestJQFilterIsBenchReplays keeps the two the same).
const jqFilter = `select(
  (if (.type // "") == "" then "event" else .type end) as $t
  | $t == "event"
    and .event != null
    and ((.event | tostring | split("\\") | last) == "MessageSent")
    and ((.data.message.user_id | tostring) == "8"))`

type config struct {
	tmsws, source, goreader, genrecording string
	peers                                 string // the directory of pusherjs-listen.js and websocket_listener.py
	node, python, jq, grep, rg            string // "" skips that peer
	work                                  string
	rounds                                int
	quick                                 bool
	liveN, replayN                        int
	bigBytes                              int64 // 0 skips the memory rows
	versionRuns                           int
	timeout                               time.Duration
	requireAll                            bool      // a skipped peer is a failure
	progress                              io.Writer // one line per run
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == spawnFlag {
		os.Exit(spawnMain(os.Args[2:]))
	}
	os.Exit(mainExit(os.Args[1:], os.Stdout, os.Stderr))
}

func mainExit(args []string, stdout, stderr io.Writer) int {
	cfg, jsonOut, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "benchrun: %v\n", err)
		return 2
	}
	rep := run(cfg)
	if jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "benchrun: write the report: %v\n", err)
			return 1
		}
	} else {
		rep.writeTable(stdout)
	}
	if len(rep.Failures) > 0 {
		fmt.Fprintf(stderr, "benchrun: %d run(s) failed; see the failures in the report\n", len(rep.Failures))
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (*config, bool, error) {
	fs := flag.NewFlagSet("benchrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &config{progress: stderr}
	fs.StringVar(&cfg.tmsws, "tmsws", "", "the tmsws binary (required)")
	fs.StringVar(&cfg.source, "benchsource", "", "the benchsource binary (required)")
	fs.StringVar(&cfg.goreader, "goreader", "", "the goreader binary (required)")
	fs.StringVar(&cfg.genrecording, "genrecording", "", "the genrecording binary (required)")
	fs.StringVar(&cfg.peers, "peers", "", "the scripts/benchpeers directory (required)")
	fs.StringVar(&cfg.node, "node", "", "node, for the pusher-js listener (empty: skipped)")
	fs.StringVar(&cfg.python, "python", "", "python3 with websockets (empty: skipped)")
	fs.StringVar(&cfg.jq, "jq", "", "jq (empty: skipped)")
	fs.StringVar(&cfg.grep, "grep", "", "grep (empty: skipped)")
	fs.StringVar(&cfg.rg, "rg", "", "rg (empty: skipped)")
	fs.StringVar(&cfg.work, "work", "", "a scratch directory (default: a new temporary one, removed at the end)")
	fs.IntVar(&cfg.rounds, "rounds", 5, "rounds, each running every command once in an order that alternates")
	fs.BoolVar(&cfg.quick, "quick", false, "20,000 live events, 100,000 records, no 1 GB recording")
	jsonOut := fs.Bool("json", false, "print one JSON object instead of the Markdown table")
	fs.IntVar(&cfg.liveN, "n", 0, "live events per run (default 100,000; -quick 20,000)")
	fs.IntVar(&cfg.replayN, "replay-n", 0, "records in the replay recording (default 400,000; -quick 100,000)")
	bigMB := fs.Int("big-mb", -1, "size in MB of the memory recording, 0 to skip (default 1000; -quick 0)")
	fs.IntVar(&cfg.versionRuns, "version-runs", 20, "tmsws --version runs per round (their median is the round's figure)")
	fs.DurationVar(&cfg.timeout, "timeout", 150*time.Second, "a run still going after this is killed and failed")
	fs.BoolVar(&cfg.requireAll, "require-all", false, "fail, instead of skipping, when a peer is not given or missing")
	if err := fs.Parse(args); err != nil {
		return nil, false, err
	}
	if fs.NArg() > 0 {
		return nil, false, fmt.Errorf("unexpected argument %q: every input is a flag (see -h)", fs.Arg(0))
	}
	for name, v := range map[string]string{"tmsws": cfg.tmsws, "benchsource": cfg.source, "goreader": cfg.goreader, "genrecording": cfg.genrecording, "peers": cfg.peers} {
		if v == "" {
			return nil, false, fmt.Errorf("-%s is required (scripts/bench passes it)", name)
		}
	}
	if cfg.rounds < 1 {
		return nil, false, fmt.Errorf("-rounds %d: at least 1 round is needed", cfg.rounds)
	}
	if cfg.versionRuns < 1 {
		return nil, false, fmt.Errorf("-version-runs %d: at least 1 run is needed", cfg.versionRuns)
	}
	if cfg.liveN < 0 || cfg.replayN < 0 {
		return nil, false, errors.New("-n and -replay-n take a positive count (0: the default)")
	}
	if cfg.liveN == 0 {
		cfg.liveN = pick(cfg.quick, 20000, 100000)
	}
	if cfg.replayN == 0 {
		cfg.replayN = pick(cfg.quick, 100000, 400000)
	}
	switch {
	case *bigMB < 0:
		cfg.bigBytes = int64(pick(cfg.quick, 0, 1000)) * 1e6
	default:
		cfg.bigBytes = int64(*bigMB) * 1e6
	}
	return cfg, *jsonOut, nil
}

func pick(quick bool, q, full int) int {
	if quick {
		return q
	}
	return full
}

// runner holds the state of one benchmark run.
type runner struct {
	cfg  *config
	env  []string // for every program: the driver's without TMSWS_*, with its own config dir
	dir  string   // the programs' working directory: empty, so no .env is found
	rep  *Report
	fail func(format string, args ...any)
}

// run runs the whole benchmark and returns its report.
func run(cfg *config) *Report {
	start := time.Now()
	rep := &Report{LiveEvents: cfg.liveN, ReplayRecords: cfg.replayN, Rounds: cfg.rounds, Quick: cfg.quick, Failures: []string{}}
	r := &runner{cfg: cfg, rep: rep}
	r.fail = func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		rep.Failures = append(rep.Failures, msg)
		fmt.Fprintf(cfg.progress, "benchrun: FAILED: %s\n", msg)
	}
	work := cfg.work
	if work == "" {
		d, err := os.MkdirTemp("", "tmsws-benchrun-*")
		if err != nil {
			r.fail("create a scratch directory: %v", err)
			return rep
		}
		defer os.RemoveAll(d)
		work = d
	}
	r.dir = filepath.Join(work, "cwd")
	cfgDir := filepath.Join(work, "config")
	for _, d := range []string{r.dir, cfgDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			r.fail("create %s: %v", d, err)
			return rep
		}
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TMSWS_") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			r.env = append(r.env, kv)
		}
	}
	r.env = append(r.env, "XDG_CONFIG_HOME="+cfgDir)

	rep.Machine = r.machine()
	if floor := measure(r.prog("true"), nil, 10*time.Second); floor.Error == "" {
		rep.RSSFloorKB = floor.MaxRSSKB
	}
	rep.Sections = append(rep.Sections, r.live())
	rec := filepath.Join(work, "recording.jsonl")
	rep.Sections = append(rep.Sections, r.replay(rec))
	if cfg.bigBytes > 0 {
		rep.Sections = append(rep.Sections, r.big(rec, filepath.Join(work, "big.jsonl")))
	}
	os.Remove(rec)
	rep.Sections = append(rep.Sections, r.startup())
	for _, sec := range rep.Sections {
		sec.finish()
	}
	rep.Targets = rep.targets()
	rep.TotalSeconds = time.Since(start).Seconds()
	return rep
}

// order is the subjects' order in round i: forward in even rounds,
// backward in odd ones, so no subject always runs first or last (after a
// cold cache or a warm one).
func order(n, round int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if round%2 == 1 {
		slices.Reverse(idx)
	}
	return idx
}

// peer returns the reason to skip a peer whose program or file is missing,
// or "" when it can run; with -require-all a reason is also a failure.
func (r *runner) peer(name, bin string, files ...string) string {
	reason := ""
	if bin == "" {
		reason = "not given"
	} else if _, err := exec.LookPath(bin); err != nil {
		reason = fmt.Sprintf("%s not found", bin)
	}
	for _, f := range files {
		if _, err := os.Stat(f); reason == "" && err != nil {
			reason = fmt.Sprintf("%s is missing", f)
		}
	}
	if reason != "" && r.cfg.requireAll {
		r.fail("%s: %s", name, reason)
	}
	return reason
}

func (r *runner) progressf(format string, args ...any) {
	fmt.Fprintf(r.cfg.progress, "benchrun: "+format+"\n", args...)
}

func (r *runner) prog(argv ...string) Prog { return Prog{Argv: argv, Env: r.env, Dir: r.dir} }

// liveSubject is a listener: its subject and its command for a source at host:port.
type liveSubject struct {
	*Subject
	prog func(host, port string) Prog
}

func (r *runner) live() *Section {
	cfg := r.cfg
	n := fmt.Sprint(cfg.liveN)
	sec := &Section{Key: "live", Reference: "pusherjs",
		Title: fmt.Sprintf("Live: %s events on %s, listener start to exit", count(cfg.liveN), benchChannel)}
	tmswsListen := func(mode ...string) func(h, p string) Prog {
		return func(h, p string) Prog {
			argv := append([]string{cfg.tmsws, "listen"}, mode...)
			argv = append(argv, "-c", benchChannel, "--count", n, "--host", h, "--port", p,
				"--scheme", "http", "--key", benchKey, "--app-secret", benchSecret)
			return r.prog(argv...)
		}
	}
	common := "-c private-bench --count N --host H --port P --scheme http --key bench-key --app-secret bench-secret"
	benchEnv := func(h, p string) []string {
		return append(slices.Clone(r.env), "BENCH_HOST="+h, "BENCH_PORT="+p, "BENCH_KEY="+benchKey,
			"BENCH_CHANNEL="+benchChannel, "BENCH_N="+n, "BENCH_AUTH_URL=http://"+h+":"+p+"/broadcasting/auth",
			"BENCH_SECRET="+benchSecret)
	}
	pjScript := filepath.Join(cfg.peers, "pusherjs-listen.js")
	pyScript := filepath.Join(cfg.peers, "websocket_listener.py")
	subs := []liveSubject{
		{&Subject{Key: "json", Name: "tmsws listen --json", Command: "tmsws listen --json " + common}, tmswsListen("--json")},
		{&Subject{Key: "pretty", Name: "tmsws listen --pretty", Command: "tmsws listen --pretty --color always " + common},
			tmswsListen("--pretty", "--color", "always")},
		{&Subject{Key: "pusherjs", Name: "pusher-js", Command: "node scripts/benchpeers/pusherjs-listen.js (env BENCH_HOST BENCH_PORT BENCH_KEY BENCH_CHANNEL BENCH_N BENCH_AUTH_URL)",
			Skipped: r.peer("pusher-js listener", cfg.node, pjScript)},
			func(h, p string) Prog {
				return Prog{Argv: []string{cfg.node, pjScript}, Env: benchEnv(h, p), Dir: r.dir}
			}},
		{&Subject{Key: "python", Name: "python websockets", Command: "python3 scripts/benchpeers/websocket_listener.py (the same env and BENCH_SECRET)",
			Skipped: r.peer("python websockets listener", cfg.python, pyScript)},
			func(h, p string) Prog {
				return Prog{Argv: []string{cfg.python, pyScript}, Env: benchEnv(h, p), Dir: r.dir}
			}},
		{&Subject{Key: "goreader", Name: "Go reader (floor)", Command: "goreader -host H -port P -key bench-key -secret bench-secret -channel private-bench -n N"},
			func(h, p string) Prog {
				return r.prog(cfg.goreader, "-host", h, "-port", p, "-key", benchKey, "-secret", benchSecret, "-channel", benchChannel, "-n", n)
			}},
	}
	for _, s := range subs {
		sec.Subjects = append(sec.Subjects, s.Subject)
	}
	for round := range cfg.rounds {
		for _, i := range order(len(subs), round) {
			s := subs[i]
			if s.Skipped != "" {
				continue
			}
			run := r.liveRun(s.prog, cfg.liveN)
			run.Round = round + 1
			s.Runs = append(s.Runs, run)
			r.report("live", round, s.Subject, run)
		}
	}
	return sec
}

// liveRun runs one listener against a fresh source streaming n events.
func (r *runner) liveRun(prog func(host, port string) Prog, n int) Run {
	src, err := startSource(r.cfg.source, n, r.dir, r.env)
	if err != nil {
		return Run{Error: err.Error()}
	}
	run := measure(prog(src.host, src.port), nil, r.cfg.timeout)
	wait := 15 * time.Second
	if run.Error != "" {
		wait = 2 * time.Second // the listener may never have connected
	}
	st, err := src.finish(wait)
	run.Source = st
	if run.Error == "" {
		switch {
		case err != nil:
			run.Error = "source: " + err.Error()
		case st.Sent != int64(n):
			run.Error = fmt.Sprintf("source: sent %d events, not %d", st.Sent, n)
		}
	}
	return run
}

// report prints a progress line for a run and records a failure.
func (r *runner) report(section string, round int, s *Subject, run Run) {
	if run.Error != "" {
		r.fail("%s round %d, %s: %s", section, round+1, s.Name, run.Error)
		return
	}
	r.progressf("%s round %d/%d: %-24s %9s  cpu %9s  rss %s", section, round+1, r.cfg.rounds, s.Name,
		seconds(run.WallSeconds), seconds(run.CPUSeconds), rss(run.MaxRSSKB))
}

// filterSubjects are the replay rows on the recording rec.
func (r *runner) filterSubjects(rec string, withJQ, withRG bool) ([]*Subject, []Prog) {
	cfg := r.cfg
	base := filepath.Base(rec)
	subs := []*Subject{{Key: "tmsws", Name: "tmsws replay", Command: "tmsws replay " + base + " --json -e MessageSent --where data.message.user_id=8"}}
	progs := []Prog{r.prog(cfg.tmsws, "replay", rec, "--json", "-e", "MessageSent", "--where", "data.message.user_id=8")}
	if withJQ {
		subs = append(subs, &Subject{Key: "jq", Name: "jq", Command: "jq -c '<the same selection, from scripts/bench-replay>' " + base,
			Skipped: r.peer("jq", cfg.jq)})
		progs = append(progs, r.prog(cfg.jq, "-c", jqFilter, rec))
	}
	subs = append(subs, &Subject{Key: "grep", Name: "grep -F", Command: "grep -F MessageSent " + base, Skipped: r.peer("grep", cfg.grep)})
	progs = append(progs, r.prog(cfg.grep, "-F", "MessageSent", rec))
	if withRG {
		subs = append(subs, &Subject{Key: "rg", Name: "rg -F", Command: "rg -F MessageSent " + base, Skipped: r.peer("rg", cfg.rg)})
		progs = append(progs, r.prog(cfg.rg, "-F", "MessageSent", rec))
	}
	return subs, progs
}

func (r *runner) replay(rec string) *Section {
	cfg := r.cfg
	sec := &Section{Key: "replay", Reference: "jq"}
	if res := measure(r.prog(cfg.genrecording, "-n", fmt.Sprint(cfg.replayN), "-o", rec), nil, cfg.timeout); res.Error != "" {
		r.fail("genrecording: %s", res.Error)
		sec.Title = "Replay: no recording"
		return sec
	}
	if fi, err := os.Stat(rec); err == nil {
		r.rep.ReplayBytes = fi.Size()
	}
	sec.Title = fmt.Sprintf("Replay: filtering %s records (%s)", count(cfg.replayN), bytesText(r.rep.ReplayBytes))
	subs, progs := r.filterSubjects(rec, true, true)
	sec.Subjects = subs
	// tmsws and jq must select the same records, or the comparison says nothing.
	if subs[1].Skipped == "" {
		var a, b lineCounter
		ra, rb := measure(progs[0], &a, cfg.timeout), measure(progs[1], &b, cfg.timeout)
		switch {
		case ra.Error != "" || rb.Error != "":
			r.fail("replay: checking that tmsws and jq agree: %s%s", ra.Error, rb.Error)
		case a.n != b.n:
			r.fail("replay: tmsws printed %d lines and jq %d: the two commands do not select the same records", a.n, b.n)
		case a.n == 0:
			r.fail("replay: neither tmsws nor jq selected a record: the recording is not what the benchmark expects")
		default:
			r.progressf("replay: tmsws and jq agree on %d records", a.n)
		}
	}
	r.rounds("replay", subs, progs, cfg.rounds)
	return sec
}

// rounds runs each subject once per round, in alternating order.
func (r *runner) rounds(section string, subs []*Subject, progs []Prog, rounds int) {
	for round := range rounds {
		for _, i := range order(len(subs), round) {
			if subs[i].Skipped != "" {
				continue
			}
			// Into a pipe the driver drains, not /dev/null: GNU grep stops
			// at its first match when its output is /dev/null.
			run := measure(progs[i], io.Discard, r.cfg.timeout)
			run.Round = round + 1
			subs[i].Runs = append(subs[i].Runs, run)
			r.report(section, round, subs[i], run)
		}
	}
}

// big measures peak memory on a recording of about cfg.bigBytes, made by
// repeating rec.
func (r *runner) big(rec, big string) *Section {
	sec := &Section{Key: "big", Reference: "grep", Title: "Memory: replay on a big recording (one run each)"}
	defer os.Remove(big)
	size, err := repeatFile(rec, big, r.cfg.bigBytes)
	if err != nil {
		r.fail("build the big recording: %v", err)
		return sec
	}
	r.rep.BigBytes = size
	sec.Title = fmt.Sprintf("Memory: replay on a %s recording (%s repeated; one run each)", bytesText(size), filepath.Base(rec))
	subs, progs := r.filterSubjects(big, false, false)
	sec.Subjects = subs
	r.rounds("big", subs, progs, 1)
	return sec
}

// repeatFile writes src to dst as many times as it takes to reach at
// least size bytes, and returns dst's size. It streams: the driver stays
// small.
func repeatFile(src, dst string, size int64) (int64, error) {
	f, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	var n int64
	for n < size {
		in, err := os.Open(src)
		if err != nil {
			f.Close()
			return n, err
		}
		w, err := io.Copy(f, in)
		in.Close()
		n += w
		if err != nil {
			f.Close()
			return n, fmt.Errorf("copy %s to %s: %w (is the disk full?)", src, dst, err)
		}
		if w == 0 {
			f.Close()
			return n, fmt.Errorf("%s is empty", src)
		}
	}
	return n, f.Close()
}

func (r *runner) startup() *Section {
	cfg := r.cfg
	sec := &Section{Key: "startup", Title: "Start-up"}
	version := &Subject{Key: "version", Name: "tmsws --version", Command: fmt.Sprintf("tmsws --version (median of %d runs per round)", cfg.versionRuns)}
	subscribe := &Subject{Key: "subscribe", Name: "tmsws subscribe", Command: "tmsws subscribe -c private-bench --host H --port P --scheme http --key bench-key --app-secret bench-secret --timeout 5s (against benchsource -n 0)"}
	sec.Subjects = []*Subject{version, subscribe}
	for round := range cfg.rounds {
		for _, i := range order(2, round) {
			var run Run
			if i == 0 {
				run = r.versionRound()
			} else {
				run = r.liveRun(func(h, p string) Prog {
					return r.prog(cfg.tmsws, "subscribe", "-c", benchChannel, "--host", h, "--port", p, "--scheme", "http",
						"--key", benchKey, "--app-secret", benchSecret, "--timeout", "5s")
				}, 0)
				run.Source = nil // it sent nothing
			}
			run.Round = round + 1
			sec.Subjects[i].Runs = append(sec.Subjects[i].Runs, run)
			r.report("startup", round, sec.Subjects[i], run)
		}
	}
	return sec
}

// versionRound runs tmsws --version cfg.versionRuns times: the median wall
// and CPU, the largest RSS.
func (r *runner) versionRound() Run {
	var walls, cpus []float64
	var out Run
	for range r.cfg.versionRuns {
		run := measure(r.prog(r.cfg.tmsws, "--version"), nil, 10*time.Second)
		if run.Error != "" {
			return run
		}
		walls = append(walls, run.WallSeconds)
		cpus = append(cpus, run.CPUSeconds)
		out.MaxRSSKB = max(out.MaxRSSKB, run.MaxRSSKB)
	}
	out.WallSeconds, out.CPUSeconds = median(walls), median(cpus)
	return out
}

// machine describes this machine and the versions of the programs compared.
func (r *runner) machine() Machine {
	m := Machine{CPU: cpuModel(), Cores: runtime.NumCPU(), Versions: map[string]string{"go (benchrun's build)": runtime.Version()}}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.Kernel = utsString(u.Release[:])
	}
	cfg := r.cfg
	for name, argv := range map[string][]string{
		"tmsws":   {cfg.tmsws, "--version"},
		"node":    {cfg.node, "--version"},
		"python3": {cfg.python, "--version"},
		"jq":      {cfg.jq, "--version"},
		"rg":      {cfg.rg, "--version"},
		"grep":    {cfg.grep, "--version"},
	} {
		if argv[0] == "" {
			continue
		}
		var out tailBuffer
		out.max = 4096
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = r.env, r.dir, &out, &out
		if cmd.Run() != nil {
			m.Versions[name] = "unknown"
			continue
		}
		line, _, _ := strings.Cut(string(out.buf), "\n")
		m.Versions[name] = oneLine(line)
	}
	return m
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func utsString[T int8 | uint8](b []T) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}
