package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
	nodeTimeout   = 60 * time.Second       // each script's own timeout: it only ends a failing script
)

// nodeScripts returns the node binary and the scripts/ directory with the
// npm package pkg installed (pusher-js, laravel-echo) and the script dir
// (pusherjs, echo) present, or skips (fails with TMSWS_REQUIRE_SOKETI=1).
func nodeScripts(t *testing.T, pkg, scriptDir string) (node, dir string) {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv(envRequire) == "1" {
			t.Fatalf("%s is not usable although %s=1: %s; run scripts/test (it installs it)", pkg, envRequire, why)
		}
		t.Skipf("no %s: run scripts/test (it installs it from npm); %s", pkg, why)
	}
	dir = os.Getenv(envScriptsDir)
	if dir == "" {
		unavailable(envScriptsDir + " is not set")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
		unavailable(fmt.Sprintf("%s is not installed in %s/node_modules: run scripts/soketi install", pkg, dir))
	}
	if _, err := os.Stat(filepath.Join(dir, scriptDir, "common.js")); err != nil {
		unavailable(fmt.Sprintf("%s has no %s/common.js", dir, scriptDir))
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
	Listen  string          `json:"listen"`
	Data    json.RawMessage `json:"data"`
	UserID  string          `json:"user_id"`
	ID      string          `json:"id"`
	Info    json.RawMessage `json:"info"`
	Me      string          `json:"me"`
	Members []string        `json:"members"`
	Users   json.RawMessage `json:"users"`
	User    json.RawMessage `json:"user"`
	State   string          `json:"state"`
	Error   json.RawMessage `json:"error"`
	Raw     string          `json:"-"`
}

// nodeRun is a running script: its lines as they come, its stdin for
// commands.
type nodeRun struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	began  time.Time
	read   chan struct{} // closed once stdout is read to its end
	cancel context.CancelFunc

	mu      sync.Mutex
	lines   []jsLine
	bad     string        // a line that is not JSON
	changed chan struct{} // closed and replaced on every new line
}

// startScript starts scripts/<script>.js ("pusherjs/listen", "echo/cache")
// against s: the server's address, key, path prefix and auth endpoint are
// in the environment, with env added.
func startScript(t *testing.T, s *Server, script string, env ...string) *nodeRun {
	t.Helper()
	scriptDir, _, _ := strings.Cut(script, "/")
	pkg := "pusher-js"
	if scriptDir == "echo" {
		pkg = "laravel-echo"
	}
	node, dir := nodeScripts(t, pkg, scriptDir)
	host, port, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout+10*time.Second)
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, script+".js"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"TMSWS_WS_HOST="+host, "TMSWS_WS_PORT="+port, "TMSWS_KEY="+s.AppKey(), "TMSWS_WS_PATH="+s.Path(),
		"TMSWS_AUTH_URL="+s.AuthURL(), "TMSWS_TIMEOUT_MS="+strconv.Itoa(int(nodeTimeout/time.Millisecond)),
		// pusher-js must reach nothing but the loopback server.
		"HTTP_PROXY=", "HTTPS_PROXY=", "http_proxy=", "https_proxy=", "NO_PROXY=*")
	cmd.Env = append(cmd.Env, env...)
	r := &nodeRun{t: t, name: script, cmd: cmd, read: make(chan struct{}), changed: make(chan struct{}), cancel: cancel}
	r.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = &r.stderr
	r.began = time.Now()
	require.NoError(t, cmd.Start(), "start %s.js", script)
	go r.scan(stdout)
	t.Cleanup(func() {
		cancel()
		<-r.read
		_ = cmd.Wait()
	})
	return r
}

func (r *nodeRun) scan(stdout io.Reader) {
	defer close(r.read)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l jsLine
		err := json.Unmarshal(sc.Bytes(), &l)
		l.Raw = sc.Text()
		r.mu.Lock()
		if err != nil && r.bad == "" {
			r.bad = l.Raw
		}
		r.lines = append(r.lines, l)
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
	}
}

// next waits for the first line after the lines seen by earlier calls
// that match says is the one, and returns it; it fails the test when the
// script ends or times out first.
func (r *nodeRun) next(what string, match func(jsLine) bool) jsLine {
	r.t.Helper()
	deadline := time.After(nodeTimeout)
	for i := 0; ; {
		r.mu.Lock()
		lines, changed := r.lines, r.changed
		r.mu.Unlock()
		for ; i < len(lines); i++ {
			if match(lines[i]) {
				return lines[i]
			}
		}
		select {
		case <-changed:
		case <-r.read:
			r.mu.Lock()
			more := len(r.lines) > i
			r.mu.Unlock()
			if !more {
				r.t.Fatalf("%s.js ended before %s; it printed:\n%s\nstderr:\n%s", r.name, what, r.output(), r.stderr.String())
			}
		case <-deadline:
			r.t.Fatalf("%s.js: no %s after %v; it printed:\n%s", r.name, what, nodeTimeout, r.output())
		}
	}
}

// nextOf waits for a line of type typ from client ("" for any).
func (r *nodeRun) nextOf(client, typ string) jsLine {
	r.t.Helper()
	return r.next(fmt.Sprintf("%q line from client %q", typ, client), func(l jsLine) bool {
		return l.Type == typ && (client == "" || l.Client == client)
	})
}

// command writes a line on the script's stdin.
func (r *nodeRun) command(line string) {
	r.t.Helper()
	_, err := io.WriteString(r.stdin, line+"\n")
	require.NoError(r.t, err, "write %q to %s.js", line, r.name)
}

func (r *nodeRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, l := range r.lines {
		b.WriteString(l.Raw + "\n")
	}
	return b.String()
}

// wait waits for the script to end and returns its lines and exit code.
func (r *nodeRun) wait() ([]jsLine, int) {
	t := r.t
	t.Helper()
	<-r.read
	err := r.cmd.Wait()
	r.cancel()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "run %s.js: %v\nstderr:\n%s", r.name, err, r.stderr.String())
		code = ee.ExitCode()
	}
	t.Logf("%s.js exited %d after %v", r.name, code, time.Since(r.began).Round(time.Millisecond))
	r.mu.Lock()
	bad, lines := r.bad, r.lines
	r.mu.Unlock()
	require.Empty(t, bad, "%s.js printed a line that is not JSON\nstderr:\n%s", r.name, r.stderr.String())
	if t.Failed() || code != 0 {
		t.Logf("%s.js output:\n%s\nstderr:\n%s", r.name, r.output(), r.stderr.String())
	}
	return lines, code
}

// runScript runs scripts/pusherjs/<name>.js against s to its end and
// returns its lines and exit code.
func runScript(t *testing.T, s *Server, name string, env ...string) ([]jsLine, int) {
	t.Helper()
	return startScript(t, s, "pusherjs/"+name, env...).wait()
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
	for _, like := range []Like{LikePusher, LikeReverb} {
		t.Run(like.String(), func(t *testing.T) {
			t.Parallel()
			testPusherJSReceivesTheRecording(t, rec, like)
		})
	}
}

func testPusherJSReceivesTheRecording(t *testing.T, rec *Recording, like Like) {
	const channel = "private-chat.42"
	s := start(t, Config{Recording: rec, Speed: 0, Like: like})

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
	for _, like := range []Like{LikePusher, LikeReverb} {
		t.Run(like.String(), func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Recording: rec, Speed: 4, Like: like})

			lines, code := runScript(t, s, "listen", "TMSWS_CHANNEL="+channel, "TMSWS_EXPECT=2")
			require.Equal(t, 0, code)
			events := linesOf(lines, "event")
			require.Len(t, events, 2)
			for i, it := range rec.Items {
				assert.JSONEq(t, string(it.Data), string(events[i].Data), "pusher-js decrypts event %d with the shared secret from /broadcasting/auth", i)
			}
		})
	}
}

func TestPusherJSPresenceMembersJoinAndLeave(t *testing.T) {
	t.Parallel()
	for _, like := range []Like{LikePusher, LikeReverb} {
		t.Run(like.String(), func(t *testing.T) {
			t.Parallel()
			testPusherJSPresence(t, like)
		})
	}
}

func testPusherJSPresence(t *testing.T, like Like) {
	const channel = "presence-room.7"
	s := start(t, Config{Like: like})

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
	for like, why := range map[Like]string{
		LikePusher: `"code":null,"message":"Invalid signature: Expected HMAC SHA256 hex digest of `,
		LikeReverb: `"code":4009,"message":"Connection is unauthorized"`,
	} {
		t.Run(like.String(), func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Like: like, Recording: &Recording{Items: []Item{{Type: "event", Channel: channel, Event: "leak", Data: []byte(`{}`)}}}})

			lines, code := runScript(t, s, "badauth", "TMSWS_CHANNEL="+channel)
			require.Equal(t, 0, code, "the client must see the refusal")
			require.Len(t, linesOf(lines, "authorizing"), 1)
			assert.Empty(t, linesOf(lines, "subscribed"))
			assert.Empty(t, linesOf(lines, "event"), "nothing of the channel reaches a refused client")
			assert.Empty(t, linesOf(lines, "subscription_error"), "the error names no channel")
			errs := linesOf(lines, "error")
			require.Len(t, errs, 1)
			assert.Contains(t, string(errs[0].Error), why, "the refusal says why, its data decoded by pusher-js: %s", errs[0].Raw)
			assert.Equal(t, 0, s.Subscribers(channel))
			assert.Equal(t, 1, s.SubscribeCount(channel))
		})
	}
}

func TestPusherJSAnswersReverbPings(t *testing.T) {
	t.Parallel()
	const channel = "news"
	s := start(t, Config{Like: LikeReverb, PingInterval: time.Second}) // pusher-js answers within it, loaded or not
	lines, code := runScript(t, s, "idle", "TMSWS_CHANNEL="+channel, "TMSWS_EXPECT=3")
	require.Equal(t, 0, code)
	pings := linesOf(lines, "ping")
	require.Len(t, pings, 3)
	for _, p := range pings {
		assert.Equal(t, "connected", p.State, "answered pings keep it connected")
	}
	assert.Len(t, linesOf(lines, "connected"), 1, "never dropped, so never reconnected")
	err := s.waitFor(testCtx(t), func() bool {
		n := 0
		for _, f := range s.received {
			if f.Event() == "pusher:pong" {
				n++
			}
		}
		return n == 3
	})
	require.NoError(t, err, "pusher-js answers each pusher:ping with pusher:pong")
}

func TestPusherJSUnderAPathPrefix(t *testing.T) {
	t.Parallel()
	const channel = "private-chat.42"
	rec := &Recording{Items: []Item{ev(0, channel, "e", `{"n":1}`)}}
	s := start(t, Config{Like: LikeReverb, Path: "/ws", Recording: rec})
	lines, code := runScript(t, s, "listen", "TMSWS_CHANNEL="+channel, "TMSWS_EXPECT=1")
	require.Equal(t, 0, code)
	events := linesOf(lines, "event")
	require.Len(t, events, 1, "pusher-js's wsPath /ws reaches /ws/app/KEY")
	assert.JSONEq(t, `{"n":1}`, string(events[0].Data))
}
