package app

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listen --jq prints each record through the expression, after the
// filters; -o still gets the JSON records.
func TestListenJQAndTemplate(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--jq", ".data.message.content"}, "hi\nthere\n"},
		{[]string{"--jq", "{id: .data.message.id}"}, "{\"id\":1}\n{\"id\":2}\n"},
		{[]string{"--template", "{{short .event}} #{{.data.message.id}} {{.data.message.content}}"}, "MessageSent #1 hi\nMessageSent #2 there\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			channel := "chat-" + strings.NewReplacer(" ", "", ".", "", "{", "", "}", "", "#", "", ":", "").Replace(strings.Join(tc.args, ""))
			channel = channel[:min(len(channel), 40)]
			out := filepath.Join(t.TempDir(), "session.jsonl")
			args := append([]string{"listen", "-c", channel, "-e", "MessageSent", "--count", "2", "-o", out}, tc.args...)
			r := newCLI(t).pointAt(srv.Addr()).start(args...)
			require.NoError(t, srv.WaitSubscribed(ctxT(t), channel, 1))
			srv.Publish(channel, `App\Events\UserIsTyping`, `{"typing":true}`, "")
			srv.Publish(channel, `App\Events\MessageSent`, `{"message":{"id":1,"content":"hi"}}`, "")
			srv.Publish(channel, `App\Events\MessageSent`, `{"message":{"id":2,"content":"there"}}`, "")
			res := r.wait(t)
			require.Equal(t, 0, res.code, res.stderr)
			assert.Equal(t, tc.want, res.stdout)
			file, err := os.ReadFile(out)
			require.NoError(t, err)
			recs := jsonLines(t, string(file))
			require.Len(t, recs, 2, "-o holds the records, not the expression's output")
			assert.Equal(t, "hi", recs[0].Get("data.message.content").String())
		})
	}
}

func TestReplayJQAndTemplate(t *testing.T) {
	t.Parallel()
	path := writeRecording(t, "session.jsonl", session())
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"--jq", ".data.message.user_id"}, "8\nnull\nnull\n9\n8\n", 0},
		{[]string{"-e", "MessageSent", "--jq", "select(.data.message.user_id == 8) | .data.message.content"}, "Morning! \"quoted\" ✓\n\n", 0},
		{[]string{"--jq", `.channel // "none"`, "--count", "2"}, "private-chat.42\nprivate-chat.42\n", 0},
		{[]string{"--template", "{{.type}}"}, "event\nevent\nmember_added\nevent\n<no value>\n", 0},
		// Given twice or with --pretty, or broken: bad usage.
		{[]string{"--jq", ".", "--template", "{{.}}"}, "", ExitUsage},
		{[]string{"--jq", ".", "--pretty"}, "", ExitUsage},
		{[]string{"--jq", ".data | ("}, "", ExitUsage},
		{[]string{"--jq", ""}, "", ExitUsage},
		{[]string{"--template", "{{.data"}, "", ExitUsage},
		{[]string{"--jq", ".", "--serve", "127.0.0.1:0"}, "", ExitUsage},
		// A record the expression fails on is reported and skipped: exit 1.
		{[]string{"--jq", ".data.message | keys[0]"}, "content\ncontent\nuser_id\n", ExitError},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			res := newCLI(t).run(append([]string{"replay", path}, tc.args...)...)
			require.Equal(t, tc.code, res.code, res.stderr)
			assert.Equal(t, tc.want, res.stdout)
			switch tc.code {
			case ExitUsage:
				assert.Regexp(t, `(?m)^error: --(jq|template)`, res.stderr)
			case ExitError:
				assert.Contains(t, res.stderr, "--jq: keys cannot be applied to: null (record 2, skipped)")
				assert.Contains(t, res.stderr, "--jq failed on 2 of 5 records")
			}
		})
	}
	// --speed takes the decoded path: the same output.
	res := newCLI(t).run("replay", path, "--speed", "1000", "--jq", ".data.message.user_id")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "8\nnull\nnull\n9\n8\n", res.stdout)
}

// On a terminal, what a record's text holds is escaped; in a pipe it is
// printed as jq -r prints it.
func TestReplayJQOnATerminalEscapes(t *testing.T) {
	t.Parallel()
	path := writeRecording(t, "hostile.jsonl", `{"type":"event","channel":"c","event":"e","data":{"x":"a\u001b]0;owned\u0007b"}}`+"\n")
	c := newCLI(t)
	c.outTTY = true
	res := c.run("replay", path, "--jq", ".data.x")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "a\\x1b]0;owned\\x07b\n", res.stdout)
	res = newCLI(t).run("replay", path, "--jq", ".data.x")
	assert.Equal(t, "a\x1b]0;owned\x07b\n", res.stdout)
}

// replay --jq prints what jq prints for the same records (objects with
// their keys sorted, as gh --jq prints them).
func TestReplayJQEqualsJQ(t *testing.T) {
	t.Parallel()
	jq, err := exec.LookPath("jq")
	if err != nil {
		if os.Getenv("TMSWS_REQUIRE_SOKETI") == "1" {
			t.Fatal("jq is not installed although TMSWS_REQUIRE_SOKETI=1: scripts/test installs it")
		}
		t.Skip("jq is not installed: run scripts/test (it installs it)")
	}
	demo, err := os.ReadFile("../../testdata/demo/chat-session.jsonl")
	require.NoError(t, err)
	path := writeRecording(t, "demo.jsonl", string(demo))
	for _, expr := range []string{
		`.data.message.content // empty`,
		`select(.event == "App\\Events\\MessageSent") | .data.message.user_id`,
		`[.type, .channel, (.user_id // "-")] | join(" ")`,
		`.data.user.name? // empty`,
	} {
		cmd := exec.Command(jq, "-r", "-c", expr)
		cmd.Stdin = bytes.NewReader(demo)
		want, err := cmd.Output()
		require.NoError(t, err, expr)
		res := newCLI(t).run("replay", path, "--jq", expr)
		require.Equal(t, 0, res.code, res.stderr)
		assert.Equal(t, string(want), res.stdout, expr)
	}
}

func TestSubscribeJQ(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	r := newCLI(t).pointAt(srv.Addr()).start("subscribe", "-c", "chat-sub-jq", "--expect", "MessageSent", "--jq", ".data.message.content")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat-sub-jq", 1))
	srv.Publish("chat-sub-jq", `App\Events\MessageSent`, `{"message":{"content":"arrived"}}`, "")
	res := r.wait(t)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "arrived\n", res.stdout)

	// With --json, the expression applies to the summary.
	r = newCLI(t).pointAt(srv.Addr()).start("subscribe", "-c", "chat-sub-jq2", "--json", "--jq", `[.ok, .channels[0].subscribed] | @csv`)
	res = r.wait(t)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "true,true\n", res.stdout)
}
