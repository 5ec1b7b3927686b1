package server

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/pusherjstest"
)

// The proof that the server is a faithful Pusher server: the official
// client, pusher-js from npm (installed beside Soketi by scripts/test),
// connects to it, authorizes through its /broadcasting/auth, receives the
// recording, sees presence members come and go, and is refused with a
// wrong signature. The node scripts are in scripts/pusherjs.

// The scripts run through internal/pusherjstest; these name its pieces
// the way this package's tests use them, against a *Server.
type (
	jsLine  = pusherjstest.Line
	nodeRun = pusherjstest.Run
)

const nodeTimeout = pusherjstest.NodeTimeout

// startScript starts scripts/<script>.js ("pusherjs/listen", "echo/cache")
// against s: the server's address, key, path prefix and auth endpoint are
// in the environment, with env added.
func startScript(t *testing.T, s *Server, script string, env ...string) *nodeRun {
	t.Helper()
	host, port, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	return pusherjstest.Start(t, pusherjstest.Target{Host: host, Port: port, Key: s.AppKey(), WSPath: s.Path(), AuthURL: s.AuthURL()}, script, env...)
}

// runScript runs scripts/pusherjs/<name>.js against s to its end and
// returns its lines and exit code.
func runScript(t *testing.T, s *Server, name string, env ...string) ([]jsLine, int) {
	t.Helper()
	return startScript(t, s, "pusherjs/"+name, env...).Wait()
}

func linesOf(lines []jsLine, typ string) []jsLine { return pusherjstest.LinesOf(lines, typ) }

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
