package app

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A recorded session as tmsws listen -o writes it, with a few lines written
// by hand the way people do.
var (
	recMsg8   = `{"ts":"2026-11-26T09:16:52.3Z","type":"event","channel":"private-chat.42","event":"App\\Events\\MessageSent","data":{"message":{"id":1201,"user_id":8,"content":"Morning! \"quoted\" ✓\n"}},"socket_id":"1.2"}`
	recTyping = `{"ts":"2026-11-26T09:16:53Z","type":"event","channel":"private-chat.42","event":"App\\Events\\UserIsTyping","data":{"user":{"id":9},"typing":true},"socket_id":"1.2"}`
	recJoin   = `{"ts":"2026-11-26T09:16:54Z","type":"member_added","channel":"presence-chat.42","data":{"name":"Bob"},"user_id":"9","socket_id":"1.2"}`
	recConn   = `{"ts":"2026-11-26T09:16:55Z","type":"connected","socket_id":"3.4"}`
	recMsg9   = `{"ts":"2026-11-26T09:16:56Z","type":"event","channel":"private-chat.43","event":"App\\Events\\MessageSent","data":{"message":{"id":1202,"user_id":9,"content":"hi"}},"socket_id":"3.4"}`
	recByHand = `{"event":"MessageSent","channel":"private-chat.42","note":"no type, no ts, unknown field","data":{"message":{"user_id":"8"}}}`
)

func session() string {
	return strings.Join([]string{recMsg8, recTyping, recJoin, "", recConn, recMsg9, recByHand}, "\n") + "\n"
}

func writeRecording(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func lines(l ...string) string { return strings.Join(l, "\n") + "\n" }

func TestReplayPassesRecordsThroughUnchanged(t *testing.T) {
	t.Parallel()
	path := writeRecording(t, "session.jsonl", session())
	res := newCLI(t).run("replay", path)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, lines(recMsg8, recTyping, recJoin, recMsg9, recByHand), res.stdout, "JSON lines when stdout is not a terminal, byte for byte")
	assert.Empty(t, res.stderr)

	res = newCLI(t).run("replay", path, "--show-protocol")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, lines(recMsg8, recTyping, recJoin, recConn, recMsg9, recByHand), res.stdout)
}

func TestReplayFilters(t *testing.T) {
	t.Parallel()
	path := writeRecording(t, "session.jsonl", session())
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-c", "private-chat.4[3-9]"}, lines(recMsg9)},
		{[]string{"-c", "private-*"}, lines(recMsg8, recTyping, recMsg9, recByHand)},
		{[]string{"-c", "presence-*", "-c", "*.43"}, lines(recJoin, recMsg9)},
		{[]string{"-e", "MessageSent"}, lines(recMsg8, recMsg9, recByHand)},
		{[]string{"-e", `App\Events\User*`}, lines(recTyping)},
		{[]string{"-e", "member_*"}, lines(recJoin)},
		{[]string{"--where", "data.message.user_id=8"}, lines(recMsg8, recByHand)},
		{[]string{"-c", "private-*", "-e", "MessageSent", "--where", "data.message.user_id=8"}, lines(recMsg8, recByHand)},
		{[]string{"--where", "ts>=2026-11-26T09:16:53Z", "-e", "*"}, lines(recTyping, recJoin, recMsg9)},
		{[]string{"--count", "2"}, lines(recMsg8, recTyping)},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			res := newCLI(t).run(append([]string{"replay", path, "--json"}, tt.args...)...)
			require.Equal(t, 0, res.code, res.stderr)
			assert.Equal(t, tt.want, res.stdout)
		})
	}
}

func TestReplayMalformedLines(t *testing.T) {
	t.Parallel()
	path := writeRecording(t, "broken.jsonl", lines(recMsg8, `{"type":"event","channel":"private-chat.42"`, recTyping, `["not","an","object"]`, recMsg9))
	res := newCLI(t).run("replay", path)
	assert.Equal(t, ExitError, res.code, "malformed lines make the exit status 1")
	assert.Equal(t, lines(recMsg8, recTyping, recMsg9), res.stdout, "every valid line still comes out")
	assert.Contains(t, res.stderr, path+":2: invalid JSON")
	assert.Contains(t, res.stderr, path+":4: a JSON array, not an object")
	assert.Contains(t, res.stderr, "error: replay: 2 malformed lines skipped")

	c := newCLI(t)
	c.stdin = lines(recMsg8, "{oops}")
	res = c.run("replay", "-")
	assert.Equal(t, ExitError, res.code)
	assert.Contains(t, res.stderr, "stdin:2: invalid JSON")
	assert.Equal(t, lines(recMsg8), res.stdout)
}

func TestReplayGzipStdinAndSeveralFiles(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write([]byte(lines(recTyping, recJoin)))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	first := writeRecording(t, "first.jsonl", lines(recMsg8))
	second := writeRecording(t, "second.jsonl.gz", gz.String())
	c := newCLI(t)
	c.stdin = lines(recMsg9)
	res := c.run("replay", first, "-", second)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, lines(recMsg8, recMsg9, recTyping, recJoin), res.stdout, "files in the order given, stdin where - is")

	c = newCLI(t)
	c.stdin = gz.String()
	res = c.run("replay", "-")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, lines(recTyping, recJoin), res.stdout, "gzip on stdin too")
}

func TestReplayPrettyOnATerminal(t *testing.T) {
	t.Parallel()
	path := writeRecording(t, "session.jsonl", session())
	c := newCLI(t)
	c.outTTY = true
	c.env["NO_COLOR"] = "1"
	res := c.run("replay", path, "-e", "MessageSent", "-e", "member_added")
	require.Equal(t, 0, res.code, res.stderr)
	out := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	require.Len(t, out, 4, res.stdout)
	assert.Contains(t, out[0], "private-chat.42")
	assert.Contains(t, out[0], "MessageSent")
	assert.NotContains(t, res.stdout, `App\Events`)
	assert.Contains(t, out[0], "Morning!")
	assert.Contains(t, out[1], "Bob")
	assert.NotContains(t, res.stdout, "\x1b[", "NO_COLOR")
	assert.False(t, strings.HasPrefix(res.stdout, "{"))

	c.outTTY = false
	res = c.run("replay", path, "--pretty", "--count", "1")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, 1, strings.Count(res.stdout, "\n"))
	assert.Contains(t, res.stdout, "Morning!")
}

func TestReplayMegabyteLine(t *testing.T) {
	t.Parallel()
	big := `{"ts":"2026-11-26T09:16:52Z","type":"event","channel":"c","event":"Big","data":{"blob":"` + strings.Repeat("x", 1<<20) + `"}}`
	path := writeRecording(t, "big.jsonl", lines(recMsg8, big, recMsg9))
	res := newCLI(t).run("replay", path, "--json")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, lines(recMsg8, big, recMsg9), res.stdout)
}

func TestReplayExitCodes(t *testing.T) {
	t.Parallel()
	good := writeRecording(t, "good.jsonl", session())
	missing := filepath.Join(t.TempDir(), "missing.jsonl")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{"missing file", []string{"replay", good, missing}, ExitError, []string{"error: open recording: open " + missing + ": no such file or directory"}},
		{"no file", []string{"replay"}, ExitUsage, []string{"no recording given", "hint: name the files to replay"}},
		{"bad channel glob", []string{"replay", good, "-c", "private-[0-9"}, ExitUsage, []string{`--channel "private-[0-9": unterminated [`}},
		{"bad where", []string{"replay", good, "--where", "data.x=>3"}, ExitUsage, []string{"--where"}},
		{"negative speed", []string{"replay", good, "--speed", "-2"}, ExitUsage, []string{"--speed must be 0 or more"}},
		{"realtime and speed", []string{"replay", good, "--speed", "2", "--realtime"}, ExitUsage, []string{"--realtime and --speed exclude each other"}},
		{"loop without serve", []string{"replay", good, "--loop"}, ExitUsage, []string{"--loop needs --serve"}},
		{"stdin twice", []string{"replay", "-", "-"}, ExitUsage, []string{"- (stdin) given twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := newCLI(t).run(tt.args...)
			assert.Equal(t, tt.code, res.code, res.stderr)
			assert.Empty(t, res.stdout, "nothing comes out before the files are known to be there")
			for _, s := range tt.stderr {
				assert.Contains(t, res.stderr, s)
			}
		})
	}
}

func TestReplayInterruptedDuringRealtime(t *testing.T) {
	t.Parallel()
	later := strings.Replace(recMsg9, "09:16:56Z", "10:16:56Z", 1) // an hour later
	path := writeRecording(t, "slow.jsonl", lines(recMsg8, later))
	r := newCLI(t).start("replay", path, "--realtime", "--json")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.stdout.String(), "\n") {
		require.True(t, time.Now().Before(deadline), "the first record did not come out before the wait")
		time.Sleep(time.Millisecond)
	}
	r.cancel() // what SIGINT does in Main
	res := r.wait(t)
	assert.Equal(t, ExitInterrupted, res.code, res.stderr)
	assert.Equal(t, lines(recMsg8), res.stdout)
}

// TestReplayServe plays a recording through replay --serve and listens to
// it with tmsws listen, authorized with the served app secret.
func TestReplayServe(t *testing.T) {
	t.Parallel()
	path := writeRecording(t, "session.jsonl", session())
	srv := newCLI(t).start("replay", path, "--serve", "127.0.0.1:0", "--app-secret", "test-secret", "-c", "private-chat.4[23]")
	addr := regexp.MustCompile(`WebSocket  ws://(127\.0\.0\.1):(\d+)/app/(\S+)\?protocol=7`)
	var m []string
	deadline := time.Now().Add(10 * time.Second)
	for m = addr.FindStringSubmatch(srv.stderr.String()); m == nil; m = addr.FindStringSubmatch(srv.stderr.String()) {
		select {
		case code := <-srv.done:
			t.Fatalf("replay --serve exited with %d:\n%s", code, srv.stderr.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "replay --serve did not say where it listens:\n%s", srv.stderr.String())
		time.Sleep(time.Millisecond)
	}
	stderr := srv.stderr.String()
	assert.NotContains(t, stderr, "test-secret", "a secret the user chose is never printed")
	assert.Contains(t, stderr, "app secret …cret (from --app-secret")
	assert.Contains(t, stderr, "auth       POST http://127.0.0.1:"+m[2]+"/broadcasting/auth")
	assert.Contains(t, stderr, "tmsws listen --host 127.0.0.1 --port "+m[2]+" --scheme http --key "+m[3]+` --app-secret "$TMSWS_APP_SECRET" -c private-chat.42 -c private-chat.43`)
	_, err := strconv.Atoi(m[2])
	require.NoError(t, err)

	c := newCLI(t)
	c.env["TMSWS_KEY"] = m[3]
	res := c.run("listen", "--host", m[1], "--port", m[2], "--scheme", "http", "--app-secret", "test-secret", "-c", "private-chat.42", "--count", "3", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	recs := jsonLines(t, res.stdout)
	require.Len(t, recs, 3)
	assert.Equal(t, `App\Events\MessageSent`, recs[0].Get("event").String())
	assert.JSONEq(t, `{"message":{"id":1201,"user_id":8,"content":"Morning! \"quoted\" ✓\n"}}`, recs[0].Get("data").Raw)
	assert.Equal(t, `App\Events\UserIsTyping`, recs[1].Get("event").String())
	assert.Equal(t, "MessageSent", recs[2].Get("event").String())
	assert.JSONEq(t, `{"message":{"user_id":"8"}}`, recs[2].Get("data").Raw)

	srv.cancel()
	sres := srv.wait(t)
	assert.Equal(t, ExitInterrupted, sres.code, sres.stderr)
	assert.Contains(t, sres.stderr, "private-chat.42", "subscriptions are logged")
}
