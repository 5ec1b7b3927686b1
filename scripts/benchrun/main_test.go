package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The test binary doubles as every program the driver runs: with
// BENCHRUN_CHILD set it acts by its arguments (see child) and exits.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == spawnFlag {
		os.Exit(spawnMain(os.Args[2:]))
	}
	if mode := os.Getenv("BENCHRUN_CHILD"); mode != "" {
		os.Exit(child(mode, os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

// child is a fake of the programs benchrun runs.
//
//	cpu             burns some CPU and touches 40 MB, exits 0
//	fail            writes a line with a control character to stderr, exits 3
//	fake            by its arguments: with -stats a benchsource (prints its
//	                listening line, writes the stats with sent = -n or
//	                $BENCHRUN_SENT, exits), --version a version, -o FILE a
//	                genrecording (writes 10 lines), a replay or jq selection one
//	                line (jq $BENCHRUN_JQ_LINES when set), anything else nothing. An
//	                argument containing $BENCHRUN_FAIL makes it exit 1.
func child(mode string, args []string) int {
	switch mode {
	case "cpu":
		b := make([]byte, 40<<20)
		for i := range b {
			b[i] = byte(i)
		}
		x := 0
		for i := range 20_000_000 {
			x += i * int(b[i%len(b)])
		}
		fmt.Println(x)
		return 0
	case "fail":
		fmt.Fprint(os.Stderr, "boom\x1b[31m\nsecond line\n")
		return 3
	}
	all := strings.Join(args, " ")
	if f := os.Getenv("BENCHRUN_FAIL"); f != "" && strings.Contains(all, f) {
		fmt.Fprintln(os.Stderr, "planted failure")
		return 1
	}
	arg := func(name string) string {
		for i, a := range args {
			if a == name && i+1 < len(args) {
				return args[i+1]
			}
		}
		return ""
	}
	switch {
	case arg("-stats") != "":
		sent := arg("-n")
		if s := os.Getenv("BENCHRUN_SENT"); s != "" {
			sent = s
		}
		fmt.Println("listening 127.0.0.1:4242")
		n, err := strconv.Atoi(sent)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		stats := fmt.Sprintf(`{"sent":%d,"send_seconds":0.01,"rate":%d,"cpu_seconds":0.002}`, n, n*100)
		if err := os.WriteFile(arg("-stats"), []byte(stats), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	case strings.Contains(all, "--version"):
		fmt.Println("tmsws fake")
	case arg("-o") != "":
		if err := os.WriteFile(arg("-o"), []byte(strings.Repeat(`{"event":"MessageSent"}`+"\n", 10)), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	case arg("-F") != "" && os.Getenv("BENCHRUN_WANT_PIPE") != "":
		// grep -F: GNU grep stops at its first match when stdout is /dev/null.
		if fi, err := os.Stdout.Stat(); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			fmt.Fprintln(os.Stderr, "stdout is no pipe")
			return 1
		}
	case strings.Contains(all, "select(") && os.Getenv("BENCHRUN_JQ_LINES") != "":
		n, _ := strconv.Atoi(os.Getenv("BENCHRUN_JQ_LINES"))
		fmt.Print(strings.Repeat(`{"event":"MessageSent"}`+"\n", n))
	case strings.Contains(all, "replay") || strings.Contains(all, "select("):
		fmt.Println(`{"event":"MessageSent"}`)
	}
	return 0
}

func childProg(t *testing.T, mode string) Prog {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Prog{Argv: []string{exe}, Env: append(os.Environ(), "BENCHRUN_CHILD="+mode, "GORACE=atexit_sleep_ms=0")}
}

func TestMeasureReportsCPUAndRSS(t *testing.T) {
	r := measure(childProg(t, "cpu"), nil, time.Minute)
	if r.Error != "" {
		t.Fatalf("the run failed: %s", r.Error)
	}
	if r.WallSeconds <= 0 || r.CPUSeconds <= 0 {
		t.Errorf("wall %v s, CPU %v s: both should be above 0", r.WallSeconds, r.CPUSeconds)
	}
	if r.MaxRSSKB < 40<<10 {
		t.Errorf("peak RSS %d KB, want at least the 40 MB the child touched", r.MaxRSSKB)
	}
}

// A small program's peak RSS is its own, not the driver's: the driver
// here holds 200 MB, true needs about 1.
func TestMeasureDoesNotCountTheDriversMemory(t *testing.T) {
	held := make([]byte, 200<<20)
	for i := range held {
		held[i] = 1
	}
	r := measure(Prog{Argv: []string{"true"}}, nil, time.Minute)
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	if r.MaxRSSKB > 100<<10 {
		t.Errorf("true's peak RSS is %d KB: the driver's 200 MB are counted in it", r.MaxRSSKB)
	}
	runtime.KeepAlive(held)
}

func TestMeasureReportsAFailedRun(t *testing.T) {
	r := measure(childProg(t, "fail"), nil, time.Minute)
	if !strings.Contains(r.Error, "exit status 3") || !strings.Contains(r.Error, "boom [31m second line") {
		t.Errorf("error %q: want the exit status and the stderr on one line without control characters", r.Error)
	}
}

func TestMeasureKillsAtTheTimeout(t *testing.T) {
	p := Prog{Argv: []string{"sleep", "30"}}
	start := time.Now()
	r := measure(p, nil, 100*time.Millisecond)
	if !strings.Contains(r.Error, "killed after 100ms") {
		t.Errorf("error %q: want it killed at the timeout", r.Error)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("measure returned after %s", time.Since(start))
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{max: 5}
	fmt.Fprint(b, "abc")
	fmt.Fprint(b, "defgh")
	if got := b.String(); got != "defgh" {
		t.Errorf("got %q, want the last 5 bytes", got)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{9, 1, 1, 1, 100}, 1},
	} {
		in := append([]float64(nil), tc.in...)
		if got := median(in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Errorf("median sorted its argument: %v", in)
			}
		}
	}
}

func TestSummarizeSkipsFailedRuns(t *testing.T) {
	s := &Subject{Runs: []Run{
		{WallSeconds: 3, CPUSeconds: 1, MaxRSSKB: 100, Source: &SourceStats{CPUSeconds: 0.1, Rate: 1000}},
		{WallSeconds: 1, CPUSeconds: 3, MaxRSSKB: 300, Source: &SourceStats{CPUSeconds: 0.3, Rate: 3000}},
		{WallSeconds: 99, CPUSeconds: 99, MaxRSSKB: 9999, Error: "exit status 1"},
		{WallSeconds: 2, CPUSeconds: 2, MaxRSSKB: 200, Source: &SourceStats{CPUSeconds: 9, StreamCPUSeconds: 0.2, Rate: 2000}},
	}}
	sum := summarize(s)
	if sum.OK != 3 || sum.Failed != 1 {
		t.Errorf("ok %d failed %d, want 3 and 1", sum.OK, sum.Failed)
	}
	if sum.MedianWall != 2 || sum.MinWall != 1 || sum.MaxWall != 3 || sum.MedianCPU != 2 || sum.MaxRSSKB != 300 {
		t.Errorf("summary %+v: want median 2, 1–3, CPU 2, RSS 300", sum)
	}
	if *sum.SourceMedianCPU != 0.2 || *sum.SourceMedianRate != 2000 {
		t.Errorf("source %v %v, want 0.2 (the stream's CPU where the source gives it) and 2000", *sum.SourceMedianCPU, *sum.SourceMedianRate)
	}
	if got := summarize(&Subject{Runs: []Run{{Error: "x"}}}); got != nil {
		t.Errorf("all failed: summary %+v, want nil", got)
	}
}

func TestOrderAlternates(t *testing.T) {
	if got := fmt.Sprint(order(5, 0)); got != "[0 1 2 3 4]" {
		t.Errorf("round 0: %s", got)
	}
	if got := fmt.Sprint(order(5, 1)); got != "[4 3 2 1 0]" {
		t.Errorf("round 1: %s", got)
	}
	if got := fmt.Sprint(order(5, 2)); got != "[0 1 2 3 4]" {
		t.Errorf("round 2: %s", got)
	}
}

func run1(wall, cpu float64, rssKB int64) []Run {
	return []Run{{WallSeconds: wall, CPUSeconds: cpu, MaxRSSKB: rssKB}}
}

// sampleReport has figures chosen so that each target is met or missed on
// purpose, one subject skipped and one failed.
func sampleReport() *Report {
	rep := &Report{LiveEvents: 100000, ReplayRecords: 400000, ReplayBytes: 86e6, BigBytes: 1.03e9, Rounds: 1,
		RSSFloorKB: 1536, Machine: Machine{CPU: "Test CPU", Cores: 2, Kernel: "6.1", Versions: map[string]string{"jq": "jq-1.6"}}}
	rep.Sections = []*Section{
		{Key: "live", Title: "Live", Reference: "pusherjs", Subjects: []*Subject{
			{Key: "json", Name: "tmsws listen --json", Command: "tmsws listen --json", Runs: []Run{{WallSeconds: 0.3, CPUSeconds: 0.25, MaxRSSKB: 15 << 10, Source: &SourceStats{CPUSeconds: 0.05, Rate: 500000}}}},
			{Key: "pretty", Name: "tmsws listen --pretty", Command: "x", Runs: run1(0.45, 0.4, 21<<10)},
			{Key: "pusherjs", Name: "pusher-js", Command: "node a|b", Runs: run1(1.8, 1.8, 60<<10)},
			{Key: "python", Name: "python websockets", Command: "py", Skipped: "python3 not found"},
			{Key: "goreader", Name: "Go reader (floor)", Command: "goreader", Runs: run1(0.2, 0.1, 8<<10)},
		}},
		{Key: "replay", Title: "Replay", Reference: "jq", Subjects: []*Subject{
			{Key: "tmsws", Name: "tmsws replay", Command: "tmsws replay", Runs: run1(0.12, 0.2, 12<<10)},
			{Key: "jq", Name: "jq", Command: "jq", Runs: run1(2.9, 2.9, 5<<10)},
			{Key: "grep", Name: "grep -F", Command: "grep", Runs: run1(0.1, 0.1, 2<<10)},
			{Key: "rg", Name: "rg -F", Command: "rg", Runs: []Run{{Error: "exit status 2"}}},
		}},
		{Key: "big", Title: "Memory", Reference: "grep", Subjects: []*Subject{
			{Key: "tmsws", Name: "tmsws replay", Command: "tmsws replay", Runs: run1(2, 2, 24<<10)},
		}},
		{Key: "startup", Title: "Start-up", Subjects: []*Subject{
			{Key: "version", Name: "tmsws --version", Command: "v", Runs: run1(0.004, 0.003, 9<<10)},
		}},
	}
	for _, sec := range rep.Sections {
		sec.finish()
	}
	rep.Targets = rep.targets()
	return rep
}

func TestTargets(t *testing.T) {
	rep := sampleReport()
	want := []struct {
		what  string
		value float64 // -1: not measured
		met   bool
	}{
		{"listen --json vs pusher-js, wall", 6, true},                  // 1.8 / 0.3: exactly the target
		{"listen --json vs pusher-js, CPU", 7.2, true},                 // 1.8 / 0.25
		{"listen --json vs minimal Go reader, wall", 1.5, false},       // 0.3 / 0.2
		{"listen --pretty --color always vs --json, wall", 1.5, false}, // 0.45 / 0.3
		{"replay filtered vs jq, wall", 2.9 / 0.12, true},              // 24×
		{"replay filtered vs grep -F, wall", 1.2, true},                // 0.12 / 0.1: exactly the target
		{"peak RSS, listen --json over 100,000 events", 15, true},      // MB
		{"peak RSS, listen --pretty over 100,000 events", 21, false},   // MB
		{"peak RSS, replay on a 1.03 GB recording", 24, true},          // MB
		{"start-up, tmsws --version", 0.004, true},                     // s
		{"start-up, subscribe confirmed by a local server", -1, false}, // no subject
	}
	if len(rep.Targets) != len(want) {
		t.Fatalf("%d targets, want %d: %+v", len(rep.Targets), len(want), rep.Targets)
	}
	for i, w := range want {
		got := rep.Targets[i]
		if got.What != w.what {
			t.Errorf("target %d is %q, want %q", i, got.What, w.what)
			continue
		}
		if w.value < 0 {
			if got.Met != nil || got.Value != nil || got.Measured != "not measured" {
				t.Errorf("%s: %+v, want not measured", w.what, got)
			}
			continue
		}
		if got.Met == nil || got.Value == nil {
			t.Errorf("%s: not measured, want %v", w.what, w.value)
			continue
		}
		if d := *got.Value - w.value; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s: value %v, want %v", w.what, *got.Value, w.value)
		}
		if *got.Met != w.met {
			t.Errorf("%s: met %v, want %v (value %v, target %s)", w.what, *got.Met, w.met, *got.Value, got.Target)
		}
	}
}

func TestRatioAgainstTheReference(t *testing.T) {
	rep := sampleReport()
	live := rep.section("live")
	if r := *live.subject("json").Summary.Ratio; r < 5.999 || r > 6.001 {
		t.Errorf("json ratio %v, want 6 (pusher-js 1.8 s / 0.3 s)", r)
	}
	if r := *live.subject("pusherjs").Summary.Ratio; r != 1 {
		t.Errorf("the reference's ratio is %v, want 1", r)
	}
	if live.subject("python").Summary != nil {
		t.Error("a skipped subject has a summary")
	}
}

func TestTable(t *testing.T) {
	var b strings.Builder
	sampleReport().writeTable(&b)
	out := b.String()
	for _, want := range []string{
		"| what | runs ok | median wall | min–max | CPU | peak RSS | vs pusher-js (wall) | source CPU | source rate |",
		"| `tmsws listen --json` | 1/1 | 300 ms | 300–300 ms | 250 ms | 15.0 MB | 6.0× | 50.0 ms | 500k ev/s |",
		"| `pusher-js` | 1/1 | 1.80 s | 1.80–1.80 s | 1.80 s | 60.0 MB | 1.0× (reference) | n/a | n/a |",
		"| `python websockets` | skipped: python3 not found |",
		"| what | runs ok | median wall | min–max | CPU | peak RSS | vs jq (wall) |\n",
		"| `jq` | 1/1 | 2.90 s |",
		"| `rg -F` | 0/1 | failed in every round |",
		"| `tmsws --version` | 1/1 | 4.0 ms | 4.0–4.0 ms | 3.0 ms | 9.0 MB |\n",
		"- pusher-js: `node a|b`",
		"| listen --json vs pusher-js, wall | ≥ 6× | 6.00× | met |",
		"| listen --json vs minimal Go reader, wall | ≤ 1.2× | 1.50× | missed |",
		"| peak RSS, listen --pretty over 100,000 events | ≤ 20 MB | 21.0 MB | missed |",
		"| start-up, tmsws --version | ≤ 5 ms | 4.0 ms | met |",
		"| start-up, subscribe confirmed by a local server | ≤ 20 ms | not measured | not measured |",
		"- CPU: Test CPU, 2 cores\n- kernel: 6.1\n- jq: jq-1.6\n- peak RSS floor: 1.5 MB",
		"400,000 records (86 MB) for the replay rows, 1.03 GB for the memory rows; 100,000 events per live run.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table has no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Failed runs") {
		t.Errorf("a Failed runs section without failures:\n%s", out)
	}
	rep := sampleReport()
	rep.Failures = []string{"live round 1, pusher-js: exit status 1"}
	b.Reset()
	rep.writeTable(&b)
	if !strings.Contains(b.String(), "## Failed runs\n\n- live round 1, pusher-js: exit status 1\n") {
		t.Errorf("the failure is not listed:\n%s", b.String())
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{seconds(0.0042), "4.2 ms"},
		{seconds(0.35), "350 ms"},
		{seconds(1.854), "1.85 s"},
		{span(0.09, 0.11), "90–110 ms"},
		{span(0.9, 1.1), "0.90–1.10 s"},
		{count(7), "7"},
		{count(1000), "1,000"},
		{count(400000), "400,000"},
		{count(1234567), "1,234,567"},
		{rate(1.5e6), "1.50M ev/s"},
		{bytesText(86_123_456), "86 MB"},
		{cell("a|b\nc"), `a\|b c`},
		{oneLine("a\x1b[0m\n\tb  c"), "a [0m b c"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// The jq filter must stay scripts/bench-replay's, which that script checks
// against tmsws's output.
func TestJQFilterIsBenchReplays(t *testing.T) {
	b, err := os.ReadFile("../bench-replay")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "jq_filter='")
	filter, _, ok2 := strings.Cut(rest, "'\n")
	if !ok || !ok2 {
		t.Fatal("no jq_filter='...' in scripts/bench-replay")
	}
	if filter != jqFilter {
		t.Errorf("scripts/bench-replay's filter is\n%s\nbenchrun's is\n%s", filter, jqFilter)
	}
}

func TestParseFlags(t *testing.T) {
	req := []string{"-tmsws", "t", "-benchsource", "s", "-goreader", "g", "-genrecording", "r", "-peers", "p"}
	var errs strings.Builder
	cfg, jsonOut, err := parseFlags(append(req, "-quick", "-json"), &errs)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonOut || cfg.liveN != 20000 || cfg.replayN != 100000 || cfg.bigBytes != 0 || cfg.rounds != 5 {
		t.Errorf("-quick: json %v, n %d, replay %d, big %d, rounds %d", jsonOut, cfg.liveN, cfg.replayN, cfg.bigBytes, cfg.rounds)
	}
	cfg, _, err = parseFlags(req, &errs)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.liveN != 100000 || cfg.replayN != 400000 || cfg.bigBytes != 1e9 {
		t.Errorf("defaults: n %d, replay %d, big %d", cfg.liveN, cfg.replayN, cfg.bigBytes)
	}
	for _, args := range [][]string{
		req[2:],
		append(req, "-rounds", "0"),
		append(req, "extra"),
		append(req, "-n", "-5"),
	} {
		if _, _, err := parseFlags(args, &errs); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestRepeatFile(t *testing.T) {
	dir := t.TempDir()
	src, dst := dir+"/a", dir+"/b"
	if err := os.WriteFile(src, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := repeatFile(src, dst, 25)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(dst)
	if n != 30 || string(b) != strings.Repeat("0123456789", 3) {
		t.Errorf("size %d, content %q: want the file 3 times", n, b)
	}
}

// fakeConfig runs the driver on the fake programs of child.
func fakeConfig(t *testing.T) *config {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("BENCHRUN_CHILD", "fake")
	t.Setenv("GORACE", "atexit_sleep_ms=0") // a -race child otherwise waits 1 s at exit
	peers := t.TempDir()
	for _, f := range []string{"pusherjs-listen.js", "websocket_listener.py"} {
		if err := os.WriteFile(peers+"/"+f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return &config{tmsws: exe, source: exe, goreader: exe, genrecording: exe, peers: peers,
		node: exe, python: exe, jq: exe, grep: exe, rg: exe, rounds: 2, liveN: 7, replayN: 10, bigBytes: 1000,
		versionRuns: 3, timeout: time.Minute, progress: &strings.Builder{}}
}

func TestRunOnFakePrograms(t *testing.T) {
	rep := run(fakeConfig(t))
	if len(rep.Failures) > 0 {
		t.Fatalf("failures: %v", rep.Failures)
	}
	var keys []string
	for _, sec := range rep.Sections {
		for _, s := range sec.Subjects {
			keys = append(keys, sec.Key+"/"+s.Key)
			want := 2
			if sec.Key == "big" {
				want = 1
			}
			if s.Summary == nil || s.Summary.OK != want {
				t.Errorf("%s/%s: %d runs, want %d ok", sec.Key, s.Key, len(s.Runs), want)
			}
			if sec.Key == "live" && (len(s.Runs) == 0 || s.Runs[0].Source == nil || s.Runs[0].Source.Sent != 7) {
				t.Errorf("live/%s: no source stats with 7 events sent: %+v", s.Key, s.Runs)
			}
		}
	}
	if got := strings.Join(keys, " "); got != "live/json live/pretty live/pusherjs live/python live/goreader "+
		"replay/tmsws replay/jq replay/grep replay/rg big/tmsws big/grep startup/version startup/subscribe" {
		t.Errorf("subjects: %s", got)
	}
	if rep.BigBytes != 1200 || rep.ReplayBytes != 240 {
		t.Errorf("recordings of %d and %d bytes, want 240 and 1200 (5 copies)", rep.ReplayBytes, rep.BigBytes)
	}
	if rep.Machine.Versions["tmsws"] != "tmsws fake" {
		t.Errorf("versions: %v", rep.Machine.Versions)
	}
	// The rounds alternate: the last listener of round 1 is the first of round 2.
	live := rep.section("live")
	if live.subject("goreader").Runs[0].Round != 1 || live.subject("goreader").Runs[1].Round != 2 {
		t.Errorf("goreader rounds: %+v", live.subject("goreader").Runs)
	}
}

func TestFiltersWriteToAPipe(t *testing.T) {
	cfg := fakeConfig(t)
	cfg.rounds = 1
	t.Setenv("BENCHRUN_WANT_PIPE", "1")
	if rep := run(cfg); len(rep.Failures) > 0 {
		t.Errorf("failures: %q", rep.Failures)
	}
}

func TestRunReportsAFailedListener(t *testing.T) {
	cfg := fakeConfig(t)
	t.Setenv("BENCHRUN_FAIL", "pusherjs-listen.js")
	var stdout, stderr strings.Builder
	cfg.progress = &stderr
	rep := run(cfg)
	if len(rep.Failures) != 2 {
		t.Fatalf("failures %q, want one per round", rep.Failures)
	}
	if !strings.Contains(rep.Failures[0], "live round 1, pusher-js: exit status 1: planted failure") {
		t.Errorf("failure %q", rep.Failures[0])
	}
	if s := rep.section("live").subject("json").Summary; s == nil || s.OK != 2 {
		t.Error("the other listeners did not run")
	}
	rep.writeTable(&stdout)
	if !strings.Contains(stdout.String(), "| `pusher-js` | 0/2 | failed in every round |") {
		t.Errorf("the table hides the failure:\n%s", stdout.String())
	}
}

func TestRunReportsAShortSource(t *testing.T) {
	cfg := fakeConfig(t)
	t.Setenv("BENCHRUN_SENT", "3")
	cfg.rounds = 1
	rep := run(cfg)
	var live int
	for _, f := range rep.Failures {
		if strings.Contains(f, "source: sent 3 events, not 7") {
			live++
		}
	}
	if live != 5 {
		t.Errorf("failures %q: want each of the 5 listeners failed for the short source", rep.Failures)
	}
}

func TestRunReportsDisagreeingFilters(t *testing.T) {
	cfg := fakeConfig(t)
	cfg.rounds = 1
	t.Setenv("BENCHRUN_FAIL", "select(")
	rep := run(cfg)
	found := false
	for _, f := range rep.Failures {
		found = found || strings.Contains(f, "checking that tmsws and jq agree")
	}
	if !found {
		t.Errorf("failures %q: want the agreement check failed", rep.Failures)
	}
}

func TestRunReportsFiltersSelectingOtherRecords(t *testing.T) {
	for lines, want := range map[string]string{
		"2": "tmsws printed 1 lines and jq 2: the two commands do not select the same records",
		"0": "tmsws printed 1 lines and jq 0",
	} {
		cfg := fakeConfig(t)
		cfg.rounds = 1
		t.Setenv("BENCHRUN_JQ_LINES", lines)
		rep := run(cfg)
		if len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0], want) {
			t.Errorf("jq printing %s lines: failures %q, want only %q", lines, rep.Failures, want)
		}
	}
}

func TestMainExit(t *testing.T) {
	cfg := fakeConfig(t)
	args := []string{"-tmsws", cfg.tmsws, "-benchsource", cfg.source, "-goreader", cfg.goreader, "-genrecording", cfg.genrecording,
		"-peers", cfg.peers, "-node", cfg.node, "-python", cfg.python, "-jq", cfg.jq, "-grep", cfg.grep, "-rg", cfg.rg,
		"-rounds", "1", "-n", "5", "-replay-n", "10", "-big-mb", "0", "-version-runs", "2", "-json"}
	var stdout, stderr strings.Builder
	if code := mainExit(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "{\n") || !strings.Contains(stdout.String(), `"targets": [`) {
		t.Errorf("-json printed %s", stdout.String())
	}
	if code := mainExit(append(args, "-require-all", "-node", "no-such-node"), &stdout, &stderr); code != 1 {
		t.Errorf("a missing peer under -require-all: exit %d, want 1", code)
	}
	if code := mainExit([]string{"-rounds", "1"}, &stdout, &stderr); code != 2 {
		t.Errorf("missing flags: exit %d, want 2", code)
	}
}

// TestQuickEndToEnd runs the driver as scripts/bench does, on the real
// programs with tiny counts, so scripts/test proves the benchmark still
// runs (it asserts no timing). A peer that is not installed is skipped
// with a message, unless TMSWS_REQUIRE_BENCH=1.
func TestQuickEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds tmsws and the benchmark's programs")
	}
	for _, f := range []string{"../benchsource/main.go", "../benchpeers/goreader/main.go"} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("scripts/%s is not there yet: %v", strings.TrimPrefix(f, "../"), err)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	t.Setenv("GORACE", "atexit_sleep_ms=0") // the -race test binary is the measuring shim
	require := os.Getenv("TMSWS_REQUIRE_BENCH") == "1"
	bin := t.TempDir()
	for name, pkg := range map[string]string{
		"tmsws": "../../cmd/tmsws", "benchsource": "../benchsource", "goreader": "../benchpeers/goreader", "genrecording": "../genrecording",
	} {
		out, err := exec.Command(goBin, "build", "-o", filepath.Join(bin, name), pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	var progress strings.Builder
	cfg := &config{
		tmsws: filepath.Join(bin, "tmsws"), source: filepath.Join(bin, "benchsource"), goreader: filepath.Join(bin, "goreader"),
		genrecording: filepath.Join(bin, "genrecording"), peers: "../benchpeers",
		rounds: 1, quick: true, liveN: 200, replayN: 2000, versionRuns: 2, timeout: time.Minute, progress: &progress,
		requireAll: require,
	}
	have := func(name string, ok bool, why string) string {
		if ok {
			return name
		}
		t.Logf("%s: not installed, so skipped (%s)", name, why)
		return ""
	}
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cfg.peers = abs(cfg.peers)
	node, err := exec.LookPath("node")
	_, pjErr := os.Stat("../node_modules/pusher-js/package.json")
	cfg.node = have(node, err == nil && pjErr == nil, "needs node and scripts/soketi install")
	python := "/usr/bin/python3"
	cfg.python = have(python, exec.Command(python, "-c", "import websockets").Run() == nil, "needs python3-websockets")
	for _, p := range []struct {
		dst  *string
		name string
	}{{&cfg.jq, "jq"}, {&cfg.grep, "grep"}, {&cfg.rg, "rg"}} {
		path, err := exec.LookPath(p.name)
		*p.dst = have(path, err == nil, "not on PATH")
	}
	rep := run(cfg)
	if len(rep.Failures) > 0 {
		t.Fatalf("failures: %q\nprogress:\n%s", rep.Failures, progress.String())
	}
	var table strings.Builder
	rep.writeTable(&table)
	for _, sec := range rep.Sections {
		for _, s := range sec.Subjects {
			if s.Skipped == "" && (s.Summary == nil || s.Summary.OK != 1) {
				t.Errorf("%s/%s did not run once: %+v", sec.Key, s.Key, s.Runs)
			}
		}
	}
	if live := rep.summaryOf("live", "json"); live == nil || live.SourceMedianRate == nil {
		t.Errorf("no source stats for listen --json:\n%s", table.String())
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Error(err)
	}
	t.Logf("\n%s", table.String())
}
