package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/cmdutil/cmdtest"
	"github.com/amusoft/tmsws/internal/filter"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/record"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	return cmdtest.Parse(t, NewCmdReplay, nil, args...)
}

func TestReplayFlags(t *testing.T) {
	t.Parallel()
	o, err := parse(t, "a.jsonl", "-", "b.jsonl.gz", "-c", "private-*", "--channel", "presence-chat.42", "-e", "MessageSent",
		"--where", "data.x=1", "--json", "-o", "out.jsonl", "--count", "3", "--show-protocol", "--speed", "2.5")
	require.NoError(t, err)
	assert.Equal(t, []string{"a.jsonl", "-", "b.jsonl.gz"}, o.Files)
	assert.Equal(t, []string{"private-*", "presence-chat.42"}, o.Channels)
	assert.Equal(t, []string{"MessageSent"}, o.Events)
	assert.Equal(t, []string{"data.x=1"}, o.Wheres)
	assert.True(t, o.JSON)
	assert.Equal(t, "out.jsonl", o.Output)
	assert.Equal(t, 3, o.Count)
	assert.True(t, o.ShowProtocol)
	assert.Equal(t, 2.5, o.speed())

	o, err = parse(t, "a.jsonl", "--realtime")
	require.NoError(t, err)
	assert.Equal(t, 1.0, o.speed())

	o, err = parse(t, "a.jsonl")
	require.NoError(t, err)
	assert.Equal(t, 0.0, o.speed(), "as fast as possible by default")

	o, err = parse(t, "a.jsonl", "--serve", "127.0.0.1:6001", "--loop", "--speed", "1", "-c", "private-*", "--app-secret", "s3cret")
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:6001", o.Serve)
	assert.True(t, o.Loop)
	assert.Equal(t, "s3cret", o.Settings.AppSecret)
}

func TestReplayUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no recording given"},
		{[]string{"a", "--json", "--pretty"}, "--json and --pretty"},
		{[]string{"a", "--count", "-1"}, "--count must be 0 or more"},
		{[]string{"a", "--speed", "-1"}, "--speed must be 0 or more, got -1"},
		{[]string{"a", "--speed", "NaN"}, "--speed must be a finite number, 0 or more, got NaN"},
		{[]string{"a", "--speed", "2", "--realtime"}, "--realtime and --speed exclude each other"},
		{[]string{"a", "--speed", "0", "--realtime"}, "--realtime and --speed exclude each other"},
		{[]string{"a", "--loop"}, "--loop needs --serve"},
		{[]string{"a", "--serve", ":0", "--json"}, "--json does not apply with --serve"},
		{[]string{"a", "--serve", ":0", "-o", "x"}, "--output does not apply with --serve"},
		{[]string{"a", "--serve", ":0", "--count", "1"}, "--count does not apply with --serve"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			_, err := parse(t, tt.args...)
			require.Error(t, err)
			assert.True(t, cmdutil.IsUsage(err), "usage error, got %T %v", err, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// rec is one JSON record line for the tests.
func rec(ms int, typ, channel, event, data string) string {
	r := record.Record{Type: typ, Channel: channel, Event: event}
	if ms >= 0 {
		r.TS = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond)
	}
	if data != "" {
		r.Data = []byte(data)
	}
	return strings.TrimSuffix(string(r.AppendJSON(nil)), "\n")
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

type run struct {
	err            error
	stdout, stderr string
}

func replay(t *testing.T, opts *Options, stdin io.Reader) run {
	t.Helper()
	var out, errOut bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	opts.IO = &iostreams.IO{In: stdin, Out: &out, ErrOut: &errOut, Env: func(string) string { return "" }}
	if opts.Files == nil {
		opts.Files = []string{"-"}
	}
	err := runReplay(context.Background(), opts)
	return run{err, out.String(), errOut.String()}
}

// fakeClock records the sleeps of --speed and moves time on by them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func TestSpeedKeepsRecordedTiming(t *testing.T) {
	t.Parallel()
	lines := []string{
		rec(0, "event", "c", "A", ""),
		rec(1000, "event", "c", "B", ""),
		rec(-1, "event", "c", "no ts", ""), // at once
		rec(3000, "event", "c", "C", ""),
		rec(2000, "event", "c", "back in time", ""), // at once
		rec(3000, "connected", "", "", ""),          // filtered out: no wait for it
		rec(7000, "event", "c", "D", ""),
	}
	input := strings.Join(lines, "\n") + "\n"
	tests := []struct {
		name   string
		speed  float64
		real   bool
		sleeps []time.Duration
	}{
		{"speed 2", 2, false, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		{"realtime", 0, true, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"speed 0.5", 0.5, false, []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second}},
		{"as fast as possible", 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &fakeClock{now: time.Unix(1_000_000, 0)}
			res := replay(t, &Options{SelectFlags: cmdutil.SelectFlags{JSON: true}, Speed: tt.speed, Realtime: tt.real, Now: clock.Now, Sleep: clock.Sleep}, strings.NewReader(input))
			require.NoError(t, res.err, res.stderr)
			assert.Equal(t, tt.sleeps, clock.sleeps)
			want := strings.Join(append(lines[:5:5], lines[6]), "\n") + "\n"
			assert.Equal(t, want, res.stdout, "the records themselves are untouched")
		})
	}
}

// TestSpeedMeasuresFromTheStart checks that time spent writing is not
// added to the recorded gaps.
func TestSpeedMeasuresFromTheStart(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	slowClock := func() time.Time {
		clock.mu.Lock()
		defer clock.mu.Unlock()
		clock.now = clock.now.Add(100 * time.Millisecond) // every look at the clock costs 100ms
		return clock.now
	}
	input := rec(0, "event", "c", "A", "") + "\n" + rec(1000, "event", "c", "B", "") + "\n" + rec(2000, "event", "c", "C", "") + "\n"
	res := replay(t, &Options{SelectFlags: cmdutil.SelectFlags{JSON: true}, Realtime: true, Now: slowClock, Sleep: clock.Sleep}, strings.NewReader(input))
	require.NoError(t, res.err)
	assert.Equal(t, []time.Duration{900 * time.Millisecond, 900 * time.Millisecond}, clock.sleeps)
}

func TestSpeedStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	assert.ErrorIs(t, sleepCtx(ctx, time.Hour), context.Canceled)
	assert.Less(t, time.Since(start), time.Second)
	assert.NoError(t, sleepCtx(context.Background(), time.Millisecond))

	var out bytes.Buffer
	input := rec(0, "event", "c", "A", "") + "\n" + rec(60_000, "event", "c", "B", "") + "\n"
	opts := &Options{SelectFlags: cmdutil.SelectFlags{JSON: true}, Realtime: true, Files: []string{"-"}, IO: &iostreams.IO{In: strings.NewReader(input), Out: &out, ErrOut: io.Discard}}
	ctx, cancel = context.WithCancel(context.Background())
	opts.Sleep = func(context.Context, time.Duration) error {
		assert.Equal(t, rec(0, "event", "c", "A", "")+"\n", out.String(), "what came before the wait is flushed")
		cancel() // Ctrl-C during the wait
		return ctx.Err()
	}
	assert.ErrorIs(t, runReplay(ctx, opts), context.Canceled)
	assert.Equal(t, rec(0, "event", "c", "A", "")+"\n", out.String())
}

func TestPassThroughAndFilters(t *testing.T) {
	t.Parallel()
	msg8 := rec(0, "event", "private-chat.42", `App\Events\MessageSent`, `{"message":{"user_id":8,"content":"hi \"you\"\n✓"}}`)
	msg9 := rec(1, "event", "private-chat.43", `App\Events\MessageSent`, `{"message":{"user_id":9}}`)
	typing := rec(2, "event", "private-chat.42", `App\Events\UserIsTyping`, `{"user":{"id":8}}`)
	joined := rec(3, "member_added", "presence-chat.42", "", `{"name":"Bob"}`)
	connected := rec(4, "connected", "", "", "")
	custom := `{"event":"App\\Events\\MessageSent","channel":"private-chat.44","extra":[1,{"a":null}],"data":{"message":{"user_id":"8"}}}`
	spaced := `  { "type" : "event" , "channel" : "private-chat.42" , "event" : "Other" }  `
	input := strings.Join([]string{msg8, msg9, "", typing, joined, "  \t", connected, custom, spaced}, "\n") + "\n"
	lines := func(l ...string) string { return strings.Join(l, "\n") + "\n" }
	tests := []struct {
		name string
		sel  cmdutil.SelectFlags
		want string
	}{
		{"everything by default", cmdutil.SelectFlags{}, lines(msg8, msg9, typing, joined, custom, spaced)},
		{"show protocol", cmdutil.SelectFlags{ShowProtocol: true}, lines(msg8, msg9, typing, joined, connected, custom, spaced)},
		{"event short name", cmdutil.SelectFlags{Events: []string{"MessageSent"}}, lines(msg8, msg9, custom)},
		{"event full glob", cmdutil.SelectFlags{Events: []string{`App\Events\User*`}}, lines(typing)},
		{"Echo's exact name", cmdutil.SelectFlags{Events: []string{`.App\Events\MessageSent`}}, lines(msg8, msg9, custom)},
		{"Echo's exact name is not a short name", cmdutil.SelectFlags{Events: []string{`.MessageSent`}}, ""},
		{"members by type", cmdutil.SelectFlags{Events: []string{"member_*"}}, lines(joined)},
		{"where", cmdutil.SelectFlags{Wheres: []string{"data.message.user_id=8"}}, lines(msg8, custom)},
		{"a mistyped where keeps nothing", cmdutil.SelectFlags{Wheres: []string{"message.user_id=8"}}, ""},
		{"where on the type", cmdutil.SelectFlags{Wheres: []string{"type=member_added"}}, lines(joined)},
		{"where on the type, a line without type is an event", cmdutil.SelectFlags{Wheres: []string{"type=event"}}, lines(msg8, msg9, typing, custom, spaced)},
		{"channel glob", cmdutil.SelectFlags{Channels: []string{"private-chat.4[23]"}}, lines(msg8, msg9, typing, spaced)},
		{"channel globs, any may match", cmdutil.SelectFlags{Channels: []string{"presence-*", "*.44"}}, lines(joined, custom)},
		{"all together", cmdutil.SelectFlags{Channels: []string{"private-*"}, Events: []string{"MessageSent"}, Wheres: []string{"data.message.user_id=8"}, ShowProtocol: true},
			lines(msg8, custom)},
		{"the lifecycle by type", cmdutil.SelectFlags{Events: []string{"connected"}, ShowProtocol: true}, lines(connected)},
		{"count", cmdutil.SelectFlags{Count: 2}, lines(msg8, msg9)},
		{"count with members between", cmdutil.SelectFlags{Count: 3, Channels: []string{"private-chat.42", "presence-*"}}, lines(msg8, typing, joined, spaced)},
		{"count with -e counts every record kept", cmdutil.SelectFlags{Count: 3, Events: []string{"MessageSent", "member_*"}}, lines(msg8, msg9, joined)},
		{"count with --where counts every record kept", cmdutil.SelectFlags{Count: 2, Wheres: []string{"channel~42$"}}, lines(msg8, typing)},
	}
	for _, tt := range tests {
		for _, path := range []struct {
			name  string
			speed float64
		}{{"raw", 0}, {"decoded", 1e9}} {
			t.Run(tt.name+"/"+path.name, func(t *testing.T) {
				t.Parallel()
				opts := Options{SelectFlags: tt.sel, Speed: path.speed}
				opts.JSON = true
				res := replay(t, &opts, strings.NewReader(input))
				require.NoError(t, res.err, res.stderr)
				assert.Equal(t, tt.want, res.stdout)
				assert.Empty(t, res.stderr)
			})
		}
	}
}

func TestMalformedLinesAreReportedAndSkipped(t *testing.T) {
	t.Parallel()
	good1 := rec(0, "event", "c", "A", `{"n":1}`)
	good2 := rec(1, "event", "c", "B", `{"n":2}`)
	badTS := `{"ts":"yesterday","event":"C"}`
	input := strings.Join([]string{
		good1,
		`{"event":"truncated"`,
		`[1,2]`,
		"",
		badTS,
		`not json at all`,
		good2,
	}, "\n") // no final newline
	path := writeFile(t, "rec.jsonl", input)

	res := replay(t, &Options{SelectFlags: cmdutil.SelectFlags{JSON: true}, Files: []string{path}}, nil)
	var me *MalformedError
	require.ErrorAs(t, res.err, &me)
	assert.Equal(t, 3, me.Lines)
	assert.Equal(t, "replay: 3 malformed lines skipped (reported above)", res.err.Error())
	assert.Equal(t, good1+"\n"+badTS+"\n"+good2+"\n", res.stdout, "JSON output checks the shape only")
	assert.Equal(t, path+":2: invalid JSON at byte 20: unexpected end of JSON input\n"+
		path+":3: a JSON array, not an object: a record is one JSON object such as {\"type\":\"event\",...}\n"+
		path+":6: invalid JSON at byte 2: invalid character 'o' in literal null (expecting 'u')\n", res.stderr)

	// Pretty output decodes, so it also refuses the bad ts.
	res = replay(t, &Options{SelectFlags: cmdutil.SelectFlags{Pretty: true}, Files: []string{"-"}, Location: time.UTC}, strings.NewReader(input))
	require.ErrorAs(t, res.err, &me)
	assert.Equal(t, 4, me.Lines)
	assert.Contains(t, res.stderr, "stdin:5: ts \"yesterday\" is not an RFC 3339 time")
	assert.Contains(t, res.stderr, "stdin:2: invalid JSON")
	assert.Equal(t, 2, strings.Count(res.stdout, "\n"), res.stdout)

	res = replay(t, &Options{SelectFlags: cmdutil.SelectFlags{JSON: true}}, strings.NewReader(good1+"\n"))
	assert.NoError(t, res.err, "no malformed line, no error")
}

func TestMalformedReportsAreCapped(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := 0; i < 250; i++ {
		b.WriteString("garbage\n")
	}
	b.WriteString(rec(0, "event", "c", "A", "") + "\n")
	res := replay(t, &Options{SelectFlags: cmdutil.SelectFlags{JSON: true}}, strings.NewReader(b.String()))
	var me *MalformedError
	require.ErrorAs(t, res.err, &me)
	assert.Equal(t, 250, me.Lines)
	assert.Equal(t, maxReports+1, strings.Count(res.stderr, "\n"))
	assert.Contains(t, res.stderr, "stdin:100: invalid JSON")
	assert.NotContains(t, res.stderr, "stdin:101:")
	assert.Contains(t, res.stderr, "only the first 100 are shown")
	assert.Equal(t, rec(0, "event", "c", "A", "")+"\n", res.stdout)
}

// TestRawPathInOrderAcrossBatches replays enough lines for many batches and
// workers, with malformed lines throughout, and checks the output against
// the lines checked one by one.
func TestRawPathInOrderAcrossBatches(t *testing.T) {
	t.Parallel()
	var in, want, wantErr strings.Builder
	events := 0
	for i := 1; i <= 30000; i++ {
		var line string
		switch {
		case i%997 == 0:
			line = `{"event":"broken` + strconv.Itoa(i)
		case i%3 == 0:
			line = rec(i, "event", "private-chat."+strconv.Itoa(i%7), `App\Events\MessageSent`, `{"message":{"user_id":`+strconv.Itoa(i%20)+`,"n":`+strconv.Itoa(i)+`}}`)
		case i%5 == 0:
			line = rec(i, "member_added", "presence-chat.1", "", `{"i":`+strconv.Itoa(i)+`}`)
		default:
			line = rec(i, "event", "private-chat.1", `App\Events\UserIsTyping`, `{"i":`+strconv.Itoa(i)+`,"pad":"`+strings.Repeat("x", i%300)+`"}`)
		}
		in.WriteString(line + "\n")
		switch {
		case strings.HasPrefix(line, `{"event":"broken`):
			fmt.Fprintf(&wantErr, "stdin:%d: invalid JSON at byte %d: unexpected end of JSON input\n", i, len(line))
		case i%3 == 0 && i%20 == 8: // the member records fail both filters
			want.WriteString(line + "\n")
			events++
		}
	}
	require.Greater(t, in.Len(), 20*batchBytes)
	res := replay(t, &Options{SelectFlags: cmdutil.SelectFlags{JSON: true, Events: []string{"MessageSent"}, Wheres: []string{"data.message.user_id=8"}}}, strings.NewReader(in.String()))
	var me *MalformedError
	require.ErrorAs(t, res.err, &me)
	assert.Equal(t, strings.Count(wantErr.String(), "\n"), me.Lines)
	assert.Equal(t, wantErr.String(), res.stderr)
	assert.Equal(t, want.String(), res.stdout)

	// --count stops exactly at the Nth event, in a later batch.
	n := events - 3
	res = replay(t, &Options{SelectFlags: cmdutil.SelectFlags{JSON: true, Count: n, Events: []string{"MessageSent"}, Wheres: []string{"data.message.user_id=8"}}}, strings.NewReader(in.String()))
	require.ErrorAs(t, res.err, &me, "malformed lines before the count still count")
	got := res.stdout
	assert.Equal(t, n, strings.Count(got, "\n"), "exactly --count lines")
	assert.Equal(t, n, strings.Count(got, `"type":"event"`))
	assert.True(t, strings.HasPrefix(want.String(), got), "a prefix of the full output")
	last := got[strings.LastIndex(strings.TrimSuffix(got, "\n"), "\n")+1:]
	assert.Contains(t, last, `"type":"event"`, "ends with the Nth event")
}

func TestLinesOfAnyLength(t *testing.T) {
	t.Parallel()
	big := rec(0, "event", "c", "Big", `{"blob":"`+strings.Repeat("é", 3<<20/2)+`"}`) // 3 MB
	mega := rec(1, "event", "c", "Mega", `{"blob":"`+strings.Repeat("a", 1<<20)+`"}`)
	small := rec(2, "event", "c", "Small", `{}`)
	input := small + "\n" + big + "\r\n" + mega + "\n" + small + "\n" + mega // CRLF, and no final newline
	res := replay(t, &Options{SelectFlags: cmdutil.SelectFlags{JSON: true}}, strings.NewReader(input))
	require.NoError(t, res.err)
	assert.Equal(t, small+"\n"+big+"\n"+mega+"\n"+small+"\n"+mega+"\n", res.stdout)

	lr := &lineReader{}
	lr.reset(strings.NewReader(mega + "\n" + small))
	for _, want := range []string{mega, small} {
		line, err := lr.next()
		require.NoError(t, err)
		assert.Equal(t, want, string(line))
	}
	_, err := lr.next()
	assert.Equal(t, io.EOF, err)
	assert.Equal(t, 2, lr.n)
}

func TestGzipByContent(t *testing.T) {
	t.Parallel()
	a := rec(0, "event", "c", "A", "")
	b := rec(1, "event", "c", "B", "")
	dir := t.TempDir()
	gz := filepath.Join(dir, "rec.jsonl") // gzip without the name
	require.NoError(t, os.WriteFile(gz, gzipped(t, a+"\n"), 0o644))
	plain := filepath.Join(dir, "plain.gz") // plain with the name
	require.NoError(t, os.WriteFile(plain, []byte(b+"\n"), 0o644))
	multi := filepath.Join(dir, "multi.jsonl.gz") // two gzip members, as cat a.gz b.gz makes
	require.NoError(t, os.WriteFile(multi, append(gzipped(t, a+"\n"), gzipped(t, b+"\n")...), 0o644))

	res := replay(t, &Options{SelectFlags: cmdutil.SelectFlags{JSON: true}, Files: []string{gz, plain, multi}}, nil)
	require.NoError(t, res.err, res.stderr)
	assert.Equal(t, a+"\n"+b+"\n"+a+"\n"+b+"\n", res.stdout)

	res = replay(t, &Options{SelectFlags: cmdutil.SelectFlags{JSON: true}}, bytes.NewReader(gzipped(t, a+"\n"+b+"\n")))
	require.NoError(t, res.err)
	assert.Equal(t, a+"\n"+b+"\n", res.stdout, "gzip on stdin")

	full := gzipped(t, strings.Repeat(a+"\n", 1000))
	truncated := filepath.Join(dir, "truncated.gz")
	require.NoError(t, os.WriteFile(truncated, full[:len(full)-20], 0o644))
	first := writeFile(t, "first.jsonl", strings.Repeat(b+"\n", 3000))
	res = replay(t, &Options{SelectFlags: cmdutil.SelectFlags{JSON: true}, Files: []string{first, truncated}}, nil)
	require.Error(t, res.err)
	assert.Contains(t, res.err.Error(), "read "+truncated+": unexpected EOF: the gzip data is truncated")
	assert.True(t, strings.HasPrefix(res.stdout, strings.Repeat(b+"\n", 3000)+a+"\n"), "what was read before the error comes out")
	assert.True(t, strings.HasSuffix(res.stdout, a+"\n"), "whole lines only")
}

func TestFilesAreCheckedBeforeOutput(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "good.jsonl", rec(0, "event", "c", "A", "")+"\n")
	dir := t.TempDir()
	tests := []struct {
		files []string
		want  string
		usage bool
	}{
		{[]string{good, filepath.Join(dir, "missing.jsonl")}, "open recording: open " + filepath.Join(dir, "missing.jsonl") + ": no such file or directory", false},
		{[]string{good, dir}, "is a directory", false},
		{[]string{"-", good, "-"}, "- (stdin) given twice", true},
	}
	for _, tt := range tests {
		res := replay(t, &Options{SelectFlags: cmdutil.SelectFlags{JSON: true}, Files: tt.files}, nil)
		require.Error(t, res.err)
		assert.Contains(t, res.err.Error(), tt.want)
		assert.Equal(t, tt.usage, cmdutil.IsUsage(res.err))
		assert.Empty(t, res.stdout, "nothing comes out before every file is known to be there")
	}
}

func TestOutputFile(t *testing.T) {
	t.Parallel()
	a := rec(0, "event", "c", "A", `{"x":1}`)
	b := rec(1, "member_added", "presence-c", "", `{"name":"B"}`)
	c := rec(2, "connected", "", "", "")
	in := writeFile(t, "in.jsonl", a+"\n"+b+"\n"+c+"\n")
	out := filepath.Join(t.TempDir(), "out.jsonl")
	require.NoError(t, os.WriteFile(out, []byte(`{"earlier":true}`+"\n"), 0o644))

	res := replay(t, &Options{SelectFlags: cmdutil.SelectFlags{Pretty: true, Output: out}, Files: []string{in}, Location: time.UTC}, nil)
	require.NoError(t, res.err)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, `{"earlier":true}`+"\n"+a+"\n"+b+"\n", string(got), "-o appends the JSON records, even with pretty output")
	assert.Contains(t, res.stdout, "09:00:00.000")

	res = replay(t, &Options{SelectFlags: cmdutil.SelectFlags{JSON: true, Output: in}, Files: []string{in}}, nil)
	require.Error(t, res.err)
	assert.True(t, cmdutil.IsUsage(res.err))
	assert.Contains(t, res.err.Error(), "also a recording being replayed")
}

func TestPrettyOutput(t *testing.T) {
	t.Parallel()
	input := rec(0, "event", "private-chat.42", `App\Events\MessageSent`, `{"message":{"content":"hello there","user":{"name":"Alice"}}}`) + "\n" +
		rec(500, "member_added", "presence-chat.42", "", `{"name":"Bob"}`) + "\n"
	var out bytes.Buffer
	opts := &Options{Files: []string{"-"}, Location: time.UTC, IO: &iostreams.IO{In: strings.NewReader(input), Out: &out, ErrOut: io.Discard, OutTTY: true, Env: func(string) string { return "" }}}
	require.NoError(t, runReplay(context.Background(), opts))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "09:00:00.000")
	assert.Contains(t, lines[0], "MessageSent")
	assert.NotContains(t, lines[0], `App\Events`)
	assert.Contains(t, lines[0], "Alice")
	assert.Contains(t, lines[0], "hello there")
	assert.Contains(t, lines[0], "\x1b[", "colour on a terminal")
	assert.Contains(t, lines[1], "09:00:00.500")
}

// TestStreamingStdin checks that lines read from a pipe come out while the
// pipe is still open, and that cancelling ends the replay with the output
// complete.
func TestStreamingStdin(t *testing.T) {
	t.Parallel()
	for _, pretty := range []bool{false, true} {
		t.Run("pretty="+strconv.FormatBool(pretty), func(t *testing.T) {
			t.Parallel()
			pr, pw := io.Pipe()
			t.Cleanup(func() { pw.Close() })
			out := &lockedBuffer{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := &Options{SelectFlags: cmdutil.SelectFlags{JSON: !pretty, Pretty: pretty}, Location: time.UTC, Files: []string{"-"}, IO: &iostreams.IO{In: pr, Out: out, ErrOut: io.Discard, Env: func(string) string { return "" }}}
			done := make(chan error, 1)
			go func() { done <- runReplay(ctx, opts) }()

			_, err := io.WriteString(pw, rec(0, "event", "c", "A", "")+"\n"+rec(1, "event", "c", "B", "")+"\n")
			require.NoError(t, err)
			require.Eventually(t, func() bool { return strings.Count(out.String(), "\n") == 2 }, 10*time.Second, time.Millisecond,
				"the lines come out while stdin stays open")
			_, err = io.WriteString(pw, rec(2, "event", "c", "C", "")+"\n"+`{"partial":`)
			require.NoError(t, err)
			require.Eventually(t, func() bool { return strings.Count(out.String(), "\n") == 3 }, 10*time.Second, time.Millisecond)
			cancel() // Ctrl-C while stdin is blocked
			select {
			case err := <-done:
				assert.ErrorIs(t, err, context.Canceled)
			case <-time.After(10 * time.Second):
				t.Fatal("replay did not end when cancelled")
			}
			assert.Equal(t, 3, strings.Count(out.String(), "\n"), "only whole lines")
		})
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	input := strings.Repeat(rec(0, "event", "c", "A", `{"pad":"`+strings.Repeat("x", 1000)+`"}`)+"\n", 200)
	opts := &Options{SelectFlags: cmdutil.SelectFlags{JSON: true}, Files: []string{"-"}, IO: &iostreams.IO{In: strings.NewReader(input), Out: failingWriter{}, ErrOut: io.Discard}}
	err := runReplay(context.Background(), opts)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "write output: disk full")
}

func TestLoadRecording(t *testing.T) {
	t.Parallel()
	file1 := strings.Join([]string{
		rec(-1, "event", "private-chat.42", "Early", `{"n":0}`), // before any ts: offset 0
		rec(1000, "event", "private-chat.42", `App\Events\MessageSent`, `{"message":{"user_id":8}}`),
		rec(1500, "connected", "", "", ""), // not played
		`{"ts":"2026-11-26T09:00:02Z","type":"member_added","channel":"presence-chat.42","user_id":"9","data":{"name":"Bob"}}`,
		rec(2500, "event", "private-chat.43", `App\Events\MessageSent`, `{"message":{"user_id":9}}`),
		`{"ts":"bad","event":"X"}`,
		rec(-1, "event", "private-chat.42", "NoTS", `{}`), // keeps the offset before it
		`broken`,
	}, "\n") + "\n"
	file2 := rec(1200, "event", "private-chat.42", "Earlier", "") + "\n" + // ts before the last: offset does not go back
		`{"ts":"2026-11-26T09:00:04Z","type":"member_removed","channel":"presence-chat.42","user_id":"9"}` + "\n"
	path2 := writeFile(t, "two.jsonl.gz", string(gzipped(t, file2)))

	got, bad, err := LoadRecording(context.Background(), []string{"-", path2}, strings.NewReader(file1), nil, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{
		`stdin:6: ts "bad" is not an RFC 3339 time such as "2026-11-26T09:16:54.123Z"`,
		`stdin:8: invalid JSON at byte 1: invalid character 'b' looking for beginning of value`,
	}, bad)
	type item struct {
		off                  time.Duration
		typ, ch, event, data string
		user                 string
	}
	var items []item
	for _, it := range got.Items {
		items = append(items, item{it.Offset, it.Type, it.Channel, it.Event, string(it.Data), it.UserID})
	}
	assert.Equal(t, []item{
		{0, "event", "private-chat.42", "Early", `{"n":0}`, ""},
		{0, "event", "private-chat.42", `App\Events\MessageSent`, `{"message":{"user_id":8}}`, ""},
		{time.Second, "member_added", "presence-chat.42", "", `{"name":"Bob"}`, "9"},
		{1500 * time.Millisecond, "event", "private-chat.43", `App\Events\MessageSent`, `{"message":{"user_id":9}}`, ""},
		{1500 * time.Millisecond, "event", "private-chat.42", "NoTS", `{}`, ""},
		{1500 * time.Millisecond, "event", "private-chat.42", "Earlier", "", ""},
		{3 * time.Second, "member_removed", "presence-chat.42", "", "", "9"},
	}, items)

	flt, err := filter.CompileWithChannels([]string{"private-*"}, []string{"MessageSent"}, []string{"data.message.user_id=9"})
	require.NoError(t, err)
	got, _, err = LoadRecording(context.Background(), []string{"-"}, strings.NewReader(file1), flt, 0)
	require.NoError(t, err)
	require.Len(t, got.Items, 1)
	assert.Equal(t, "private-chat.43", got.Items[0].Channel)
	assert.Equal(t, time.Duration(0), got.Items[0].Offset, "offsets start at the first record played")

	_, _, err = LoadRecording(context.Background(), []string{filepath.Join(t.TempDir(), "nope.jsonl")}, nil, nil, 0)
	assert.ErrorContains(t, err, "no such file or directory")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	_, _, err = LoadRecording(ctx, []string{"-"}, pr, nil, 0)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "private-chat.42", shellQuote("private-chat.42"))
	assert.Equal(t, "'a b'", shellQuote("a b"))
	assert.Equal(t, `'it'\''s'`, shellQuote("it's"))
	assert.Equal(t, "''", shellQuote(""))
}

func TestLineLimit(t *testing.T) {
	t.Parallel()
	const max = 4096
	pad := func(total int) string { // a record line of exactly total bytes
		base := rec(0, "event", "c", "E", `{"s":""}`)
		return strings.Replace(base, `"s":""`, `"s":"`+strings.Repeat("x", total-len(base))+`"`, 1)
	}
	atLimit, over := pad(max), pad(max+1)
	require.Len(t, atLimit, max)
	small := rec(1, "event", "c", "Small", `{}`)
	input := atLimit + "\n" + over + "\n" + small + "\r\n" + atLimit + "\r\n" + over + "\r\n" + small + "\n" + strings.Repeat("y", 5*max) + "\n" + small + "\n" + over
	for _, tt := range []struct {
		name string
		opts Options
	}{{"raw", Options{SelectFlags: cmdutil.SelectFlags{JSON: true}, MaxLine: max}}, {"decoded", Options{SelectFlags: cmdutil.SelectFlags{JSON: true}, MaxLine: max, Speed: 1e9}}} {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			res := replay(t, &opts, strings.NewReader(input))
			var me *MalformedError
			require.ErrorAs(t, res.err, &me)
			assert.Equal(t, 4, me.Lines)
			assert.Equal(t, atLimit+"\n"+small+"\n"+atLimit+"\n"+small+"\n"+small+"\n", res.stdout)
			tooLong := "line longer than 4 KiB (--max-frame): skipped"
			assert.Equal(t, "stdin:2: "+tooLong+"\nstdin:5: "+tooLong+"\nstdin:7: "+tooLong+"\nstdin:9: "+tooLong+"\n", res.stderr)
		})
	}
}

// TestHugeLineIsNotKept is not parallel: it measures allocations.
func TestHugeLineIsNotKept(t *testing.T) {
	const max = 4096
	small := rec(1, "event", "c", "Small", `{}`)
	// A line far longer than the limit is read through without being kept.
	lr := &lineReader{max: max}
	lr.reset(io.MultiReader(strings.NewReader(small+"\n"), &repeatReader{b: 'z', n: 64 << 20}, strings.NewReader("\n"+small)))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	line, err := lr.next()
	require.NoError(t, err)
	assert.Equal(t, small, string(line))
	_, err = lr.next()
	var long *LineTooLongError
	require.ErrorAs(t, err, &long)
	line, err = lr.next()
	require.NoError(t, err)
	assert.Equal(t, small, string(line))
	assert.Equal(t, 3, lr.n)
	runtime.ReadMemStats(&ms)
	assert.Less(t, ms.TotalAlloc-before, uint64(8<<20), "a 64 MiB line must not be assembled")
}

// repeatReader yields n copies of b.
type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = r.b
	}
	r.n -= k
	return k, nil
}

// TestInvalidUTF8IsFixedValidLinesPassUntouched: every line replay writes
// is valid UTF-8 JSON, the way listen writes invalid bytes (\ufffd), while
// valid lines still pass byte for byte, on the raw and the decoded paths.
func TestInvalidUTF8IsFixedValidLinesPassUntouched(t *testing.T) {
	t.Parallel()
	valid := `{"type":"event","channel":"c","event":"E","data":{"m":"héllo ✓"},"extra":  1}`
	bad := "{\"type\":\"event\",\"channel\":\"c\",\"event\":\"E\",\"data\":{\"m\":\"a\xffb\"}}"
	fixed := `{"type":"event","channel":"c","event":"E","data":{"m":"a\ufffdb"}}`
	for _, opts := range []Options{{SelectFlags: cmdutil.SelectFlags{JSON: true}}, {SelectFlags: cmdutil.SelectFlags{JSON: true}, Speed: 1e9}} {
		res := replay(t, &opts, strings.NewReader(valid+"\n"+bad+"\n"))
		require.NoError(t, res.err, res.stderr)
		assert.Equal(t, valid+"\n"+fixed+"\n", res.stdout)
		assert.True(t, utf8.ValidString(res.stdout))
	}
}

// TestCountSkipsCachedEvents: a cache channel's replayed event is shown but
// not counted by --count, as listen does.
func TestCountSkipsCachedEvents(t *testing.T) {
	t.Parallel()
	cached := `{"type":"event","channel":"cache-x","event":"E","data":{"n":0},"cached":true}`
	live1 := `{"type":"event","channel":"cache-x","event":"E","data":{"n":1}}`
	live2 := `{"type":"event","channel":"cache-x","event":"E","data":{"n":2}}`
	for _, speed := range []float64{0, 1e9} {
		opts := Options{SelectFlags: cmdutil.SelectFlags{JSON: true, Count: 1}, Speed: speed}
		res := replay(t, &opts, strings.NewReader(cached+"\n"+live1+"\n"+live2+"\n"))
		require.NoError(t, res.err)
		assert.Equal(t, cached+"\n"+live1+"\n", res.stdout)
	}
}
