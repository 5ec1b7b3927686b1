package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The proof that the server is a faithful Pusher server: the official
// client, pusher-js from npm (installed beside Soketi by scripts/test),
// connects to it, authorizes through its /broadcasting/auth, receives the
// recording, sees presence members come and go, and is refused with a
// wrong signature. The node scripts are in scripts/pusherjs.

const (
	envScriptsDir = "TMSWS_SOKETI_DIR"     // scripts/, where node_modules is
	envRequire    = "TMSWS_REQUIRE_SOKETI" // "1": a missing pusher-js fails instead of skipping
	nodeTimeout   = 15 * time.Second       // each script's own timeout
)

// pusherJS returns the node binary and the scripts/ directory with
// pusher-js installed, or skips (fails with TMSWS_REQUIRE_SOKETI=1).
func pusherJS(t *testing.T) (node, dir string) {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv(envRequire) == "1" {
			t.Fatalf("pusher-js is not usable although %s=1: %s; run scripts/test (it installs it)", envRequire, why)
		}
		t.Skipf("no pusher-js: run scripts/test (it installs pusher-js from npm); %s", why)
	}
	dir = os.Getenv(envScriptsDir)
	if dir == "" {
		unavailable(envScriptsDir + " is not set")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "pusher-js", "package.json")); err != nil {
		unavailable(fmt.Sprintf("pusher-js is not installed in %s/node_modules: run scripts/soketi install", dir))
	}
	if _, err := os.Stat(filepath.Join(dir, "pusherjs", "common.js")); err != nil {
		unavailable(fmt.Sprintf("%s has no pusherjs/common.js", dir))
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node is not on PATH")
	}
	return node, dir
}

// jsLine is one JSON line a script printed.
type jsLine struct {
	T       int             `json:"t"`
	Client  string          `json:"client"`
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Event   string          `json:"event"`
	Data    json.RawMessage `json:"data"`
	UserID  string          `json:"user_id"`
	ID      string          `json:"id"`
	Info    json.RawMessage `json:"info"`
	Me      string          `json:"me"`
	Members []string        `json:"members"`
	Error   json.RawMessage `json:"error"`
	Raw     string          `json:"-"`
}

// runScript runs scripts/pusherjs/<name>.js against s and returns its lines
// and exit code.
func runScript(t *testing.T, s *Server, name string, env ...string) ([]jsLine, int) {
	t.Helper()
	node, dir := pusherJS(t)
	host, port, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "pusherjs", name+".js"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"TMSWS_WS_HOST="+host, "TMSWS_WS_PORT="+port, "TMSWS_KEY="+s.AppKey(),
		"TMSWS_AUTH_URL="+s.AuthURL(), "TMSWS_TIMEOUT_MS="+strconv.Itoa(int(nodeTimeout/time.Millisecond)),
		// pusher-js must reach nothing but the loopback server.
		"HTTP_PROXY=", "HTTPS_PROXY=", "http_proxy=", "https_proxy=", "NO_PROXY=*")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err = cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "run %s.js: %v\nstderr:\n%s", name, err, stderr.String())
		code = ee.ExitCode()
	}
	t.Logf("%s.js exited %d after %v", name, code, time.Since(began).Round(time.Millisecond))
	var lines []jsLine
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l jsLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "%s.js printed a line that is not JSON: %s\nstderr:\n%s", name, sc.Text(), stderr.String())
		l.Raw = sc.Text()
		lines = append(lines, l)
	}
	if t.Failed() || code != 0 {
		t.Logf("%s.js output:\n%s\nstderr:\n%s", name, stdout.String(), stderr.String())
	}
	return lines, code
}

func linesOf(lines []jsLine, typ string) []jsLine {
	var out []jsLine
	for _, l := range lines {
		if l.Type == typ {
			out = append(out, l)
		}
	}
	return out
}

func TestPusherJSReceivesTheRecordingThroughServedAuth(t *testing.T) {
	t.Parallel()
	const channel = "private-chat.42"
	rec := &Recording{Items: []Item{
		{Offset: 0, Type: "event", Channel: channel, Event: `App\Events\MessageSent`,
			Data: []byte(`{"message":{"id":1,"temp_id":"t-1","content":"hi / there <b>&</b>","user_id":8}}`)},
		{Offset: 10 * time.Millisecond, Type: "event", Channel: "private-other", Event: "Elsewhere", Data: []byte(`{}`)},
		{Offset: 20 * time.Millisecond, Type: "event", Channel: channel, Event: "client-typing", Data: []byte(`{"typing":true}`), UserID: "8"},
		{Offset: 30 * time.Millisecond, Type: "event", Channel: channel, Event: `App\Events\MessagesRead`,
			Data: []byte(`{"ids":[1,2,3],"reader":{"id":9,"name":"Zoë ✓"},"at":null,"ok":false,"n":1.5}`)},
		{Offset: 40 * time.Millisecond, Type: "event", Channel: channel, Event: "plain", Data: []byte(`"just text"`)},
		{Offset: 50 * time.Millisecond, Type: "event", Channel: channel, Event: "list", Data: []byte(`[1,"two",{"three":3}]`)},
	}}
	s := start(t, Config{Recording: rec, Speed: 0})

	lines, code := runScript(t, s, "listen", "TMSWS_CHANNEL="+channel, "TMSWS_EXPECT=5")
	require.Equal(t, 0, code)
	require.Len(t, linesOf(lines, "subscribed"), 1, "pusher-js must report pusher:subscription_succeeded")
	events := linesOf(lines, "event")
	var want []Item
	for _, it := range rec.Items {
		if it.Channel == channel {
			want = append(want, it)
		}
	}
	frames := linesOf(lines, "frame")
	require.Len(t, events, len(want))
	require.Len(t, frames, len(want))
	for i, it := range want {
		assert.Equal(t, it.Event, events[i].Event, "event %d in recording order", i)
		assert.Equal(t, channel, events[i].Channel)
		assert.JSONEq(t, string(it.Data), string(events[i].Data), "event %d data as pusher-js hands it to the app", i)
		assert.Equal(t, it.Event, frames[i].Event)
		assert.Equal(t, it.UserID, frames[i].UserID, "event %d user_id", i)
	}
	assert.Empty(t, linesOf(lines, "subscription_error"))
	assert.Empty(t, linesOf(lines, "error"))
}

func TestPusherJSDecryptsAnEncryptedRecording(t *testing.T) {
	t.Parallel()
	const channel = "private-encrypted-chat.42"
	rec := &Recording{Items: []Item{
		{Offset: 0, Type: "event", Channel: channel, Event: "secret", Data: []byte(`{"message":{"content":"for your eyes only ✓"}}`)},
		{Offset: 5 * time.Millisecond, Type: "event", Channel: channel, Event: "secret", Data: []byte(`{"n":2}`)},
	}}
	s := start(t, Config{Recording: rec, Speed: 4})

	lines, code := runScript(t, s, "listen", "TMSWS_CHANNEL="+channel, "TMSWS_EXPECT=2")
	require.Equal(t, 0, code)
	events := linesOf(lines, "event")
	require.Len(t, events, 2)
	for i, it := range rec.Items {
		assert.JSONEq(t, string(it.Data), string(events[i].Data), "pusher-js decrypts event %d with the shared secret from /broadcasting/auth", i)
	}
}

func TestPusherJSPresenceMembersJoinAndLeave(t *testing.T) {
	t.Parallel()
	const channel = "presence-room.7"
	s := start(t, Config{})

	lines, code := runScript(t, s, "presence", "TMSWS_CHANNEL="+channel)
	require.Equal(t, 0, code)
	subs := linesOf(lines, "subscribed")
	require.Len(t, subs, 2)
	a, b := subs[0], subs[1]
	require.Equal(t, []string{"a", "b"}, []string{a.Client, b.Client})
	require.NotEmpty(t, a.Me)
	require.NotEmpty(t, b.Me)
	assert.NotEqual(t, a.Me, b.Me, "the auth endpoint generates a user per authorization")
	assert.Equal(t, []string{a.Me}, a.Members, "a is alone when it joins")
	assert.ElementsMatch(t, []string{a.Me, b.Me}, b.Members, "b sees a and itself")

	added := linesOf(lines, "member_added")
	require.Len(t, added, 1)
	assert.Equal(t, b.Me, added[0].ID, "a sees b join")
	assert.JSONEq(t, `{"name":"Guest `+b.Me+`"}`, string(added[0].Info))
	removed := linesOf(lines, "member_removed")
	require.Len(t, removed, 1)
	assert.Equal(t, b.Me, removed[0].ID, "a sees b leave")
	// In that order: the script prints events as they happen, and both may
	// fall in the same millisecond of T.
	assert.LessOrEqual(t, added[0].T, removed[0].T)
	assert.Less(t, indexOf(lines, "member_added"), indexOf(lines, "member_removed"))
}

// indexOf is the position of the first line of type typ, or -1.
func indexOf(lines []jsLine, typ string) int {
	for i, l := range lines {
		if l.Type == typ {
			return i
		}
	}
	return -1
}

func TestPusherJSWithoutAValidSignatureIsRefused(t *testing.T) {
	t.Parallel()
	const channel = "private-vault.1"
	s := start(t, Config{Recording: &Recording{Items: []Item{{Type: "event", Channel: channel, Event: "leak", Data: []byte(`{}`)}}}})

	lines, code := runScript(t, s, "badauth", "TMSWS_CHANNEL="+channel)
	require.Equal(t, 0, code, "the client must see the refusal")
	require.Len(t, linesOf(lines, "authorizing"), 1)
	assert.Empty(t, linesOf(lines, "subscribed"))
	assert.Empty(t, linesOf(lines, "event"), "nothing of the channel reaches a refused client")
	errs := append(linesOf(lines, "error"), linesOf(lines, "subscription_error")...)
	require.NotEmpty(t, errs)
	assert.True(t, strings.Contains(string(errs[0].Error), "Invalid signature"), "the refusal says why: %s", errs[0].Raw)
	assert.Equal(t, 0, s.Subscribers(channel))
	assert.Equal(t, 1, s.SubscribeCount(channel))
}
