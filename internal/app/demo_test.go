package app

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	assets "github.com/amusoft/tmsws"
	"github.com/amusoft/tmsws/internal/cmd/demo"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/iostreams"
)

func TestDemoPlaysTheBundledSession(t *testing.T) {
	t.Parallel()
	res := newCLI(t).run("demo", "--speed", "20")
	require.Equal(t, 0, res.code, res.stderr)
	recs := jsonLines(t, res.stdout)
	require.Len(t, recs, 19, "every record of the bundled session arrives")

	var kinds []string
	var typingOn, typingOff, tempIDs, reads int
	for _, r := range recs {
		kind := r.Get("type").String()
		if kind == "event" {
			kind = r.Get("event").String()
		}
		kinds = append(kinds, kind)
		switch r.Get("event").String() {
		case `App\Events\UserIsTyping`:
			if r.Get("data.typing").Bool() {
				typingOn++
			} else {
				typingOff++
			}
		case `App\Events\MessageSent`:
			if strings.HasPrefix(r.Get("data.message.temp_id").String(), "tmp-") {
				tempIDs++
			}
		case `App\Events\MessagesRead`:
			reads++
		}
		assert.Contains(t, []string{"private-chat.42", "presence-chat.42"}, r.Get("channel").String())
	}
	assert.Equal(t, "member_added", kinds[0])
	assert.Equal(t, "member_removed", kinds[len(kinds)-1])
	assert.Equal(t, 4, tempIDs)
	assert.Equal(t, 3, typingOn)
	assert.Equal(t, 3, typingOff)
	assert.Equal(t, 6, reads)
	// Real authorization through the embedded endpoint, for both channels.
	assert.Contains(t, res.stderr, "[auth] authorized private-chat.42")
	assert.Contains(t, res.stderr, "[auth] authorized presence-chat.42")
	assert.NotContains(t, res.stderr, "no token")
}

func TestDemoLoopsUntilInterrupted(t *testing.T) {
	t.Parallel()
	r := newCLI(t).start("demo", "--speed", "50", "--loop")
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(r.stdout.String(), "\n") < 25 {
		require.True(t, time.Now().Before(deadline), "the session did not loop: %s", r.stderr.String())
		time.Sleep(10 * time.Millisecond)
	}
	r.cancel()
	res := r.wait(t)
	assert.Equal(t, ExitInterrupted, res.code)
	assert.GreaterOrEqual(t, len(jsonLines(t, res.stdout)), 25)
}

func TestDemoUsage(t *testing.T) {
	t.Parallel()
	const speedHint = "hint: --speed 1 keeps the recorded timing, 2 is twice as fast, 0 as fast as possible\n"
	tests := []struct {
		args   []string
		stderr string // the whole of it: the error and its hint
	}{
		{[]string{"demo", "--speed", "-1"}, "error: --speed must be 0 or more, got -1\n" + speedHint},
		{[]string{"demo", "--speed", "NaN"}, "error: --speed must be a finite number, 0 or more, got NaN\n" + speedHint},
		{[]string{"demo", "--speed", "+Inf"}, "error: --speed must be a finite number, 0 or more, got +Inf\n" + speedHint},
		{[]string{"demo", "extra"}, "error: demo takes no arguments, got \"extra\"\n"},
		{[]string{"demo", "--json", "--pretty"}, "error: --json and --pretty exclude each other\n"},
		{[]string{"demo", "--where", "data.x=="}, `error: --where "data.x==": missing value after "=="; ` +
			`write e.g. data.x==42, or data.x=="" for the empty string, or a bare path to test that it exists` + "\n"},
	}
	for _, tt := range tests {
		res := newCLI(t).run(tt.args...)
		assert.Equal(t, ExitUsage, res.code, "%v: %s", tt.args, res.stderr)
		assert.Equal(t, tt.stderr, res.stderr, "%v", tt.args)
		assert.Empty(t, res.stdout, "%v", tt.args)
	}
}

// demo --speed 0 is replay's: as fast as possible, the whole session at
// once, where --speed 1 takes the recording's 11 s.
func TestDemoSpeedZeroIsAsFastAsPossible(t *testing.T) {
	t.Parallel()
	start := time.Now()
	res := newCLI(t).run("demo", "--speed", "0")
	took := time.Since(start)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Len(t, jsonLines(t, res.stdout), 19)
	length, err := demo.Length(assets.DemoRecording)
	require.NoError(t, err)
	assert.Less(t, took, length/2, "--speed 0 waited for the recorded timing")
}

func TestDemoFiltersLikeReplay(t *testing.T) {
	t.Parallel()
	start := time.Now()
	res := newCLI(t).run("demo", "--speed", "0", "-e", "MessageSent", "--where", "data.message.user_id=8")
	require.Equal(t, 0, res.code, res.stderr)
	recs := jsonLines(t, res.stdout)
	require.Len(t, recs, 2, "Alice's two messages")
	assert.Less(t, time.Since(start), 5*time.Second, "the demo did not end after the last record it shows")
	for _, r := range recs {
		assert.Equal(t, `App\Events\MessageSent`, r.Get("event").String())
		assert.Equal(t, int64(8), r.Get("data.message.user_id").Int())
	}

	res = newCLI(t).run("demo", "--speed", "0", "-e", "member_*")
	require.Equal(t, 0, res.code, res.stderr)
	var members []string
	for _, r := range jsonLines(t, res.stdout) {
		members = append(members, r.Get("type").String()+" "+r.Get("user_id").String())
	}
	assert.ElementsMatch(t, []string{"member_added 9", "member_added 12", "member_removed 9"}, members)

	res = newCLI(t).run("demo", "-e", "NoSuchEvent")
	assert.Equal(t, ExitUsage, res.code, res.stderr)
	assert.Contains(t, res.stderr, "no record of the demo session matches -e and --where")
	assert.Empty(t, res.stdout)
}

// The help's length is the recording's: from its first record's ts to its
// last one's, at the default --speed 1, in whole seconds.
func TestDemoHelpStatesTheRecordingsLength(t *testing.T) {
	t.Parallel()
	lines := strings.Split(strings.TrimSpace(string(assets.DemoRecording)), "\n")
	first, err := time.Parse(time.RFC3339Nano, gjson.Get(lines[0], "ts").String())
	require.NoError(t, err)
	last, err := time.Parse(time.RFC3339Nano, gjson.Get(lines[len(lines)-1], "ts").String())
	require.NoError(t, err)
	want := fmt.Sprintf("The session lasts about %d seconds", int(math.Round(last.Sub(first).Seconds())))

	res := newCLI(t).run("demo", "--help")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, want)
	assert.Contains(t, res.stdout, "0 = as fast as possible (default 1)")
	assert.NotContains(t, res.stdout, "about 15 s")

	// replay's --speed says the same words.
	replayHelp := newCLI(t).run("replay", "--help").stdout
	speed := regexp.MustCompile(`(?m)^ +--speed X +(.*?)(?: \(default 1\))?$`)
	d, r := speed.FindStringSubmatch(res.stdout), speed.FindStringSubmatch(replayHelp)
	require.NotNil(t, d)
	require.NotNil(t, r)
	assert.Equal(t, r[1], d[1])
}

// demo's -e and --where are listen's: the same flags, help and rule.
func TestDemoFilterFlagsAreListens(t *testing.T) {
	t.Parallel()
	io, _, _, _ := iostreams.Test()
	root := NewRootCmd(&cmdutil.Factory{IO: io, Version: "test"})
	d, _, err := root.Find([]string{"demo"})
	require.NoError(t, err)
	l, _, err := root.Find([]string{"listen"})
	require.NoError(t, err)
	for _, name := range []string{"event", "where", "json", "pretty", "wide"} {
		df, lf := d.Flags().Lookup(name), l.Flags().Lookup(name)
		require.NotNil(t, df, "demo --%s", name)
		require.NotNil(t, lf, "listen --%s", name)
		assert.Equal(t, lf.Shorthand, df.Shorthand, name)
		assert.Equal(t, lf.Usage, df.Usage, name)
	}
	assert.Equal(t, 1, strings.Count(d.Long, cmdutil.FilterRule("-e")))
}

// The demo's listener takes --jq and --schema as listen does; the bundled
// session keeps the contract of its schema in testdata.
func TestDemoJQAndSchema(t *testing.T) {
	t.Parallel()
	res := newCLI(t).run("demo", "--speed", "0", "--jq", `select(.type == "event" and (.event | endswith("MessageSent"))) | .data.message.user_id`)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "8\n9\n12\n8\n", res.stdout)

	res = newCLI(t).run("demo", "--speed", "0", "--json", "--schema", "../../testdata/schemas/demo.schema.json")
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotContains(t, res.stdout, `"violations"`)
	assert.Contains(t, res.stderr, "[schema] 16 events checked against ../../testdata/schemas/demo.schema.json, all kept their contract")
}
