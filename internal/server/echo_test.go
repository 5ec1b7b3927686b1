package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The proof that a Laravel app's front end works against the server as it
// would against Reverb: Laravel Echo (npm laravel-echo, on pusher-js,
// installed by scripts/test) set up as the Laravel docs set it up for
// Reverb, driven by the scripts in scripts/echo. Where Reverb and Pusher
// differ, the test runs in both modes (Echo's broadcaster 'pusher' then).

// echoEnv is the environment of an Echo script for the server's mode.
func echoEnv(s *Server, env ...string) []string {
	broadcaster := "reverb"
	if s.Like() == LikePusher {
		broadcaster = "pusher"
	}
	return append([]string{"TMSWS_BROADCASTER=" + broadcaster}, env...)
}

func runEcho(t *testing.T, s *Server, name string, env ...string) ([]jsLine, int) {
	t.Helper()
	return startScript(t, s, "echo/"+name, echoEnv(s, env...)...).Wait()
}

func listenNames(t *testing.T, names ...string) string {
	t.Helper()
	b, err := json.Marshal(names)
	require.NoError(t, err)
	return "TMSWS_LISTEN=" + string(b)
}

// byListener groups the events' data by the name the app listened with.
func byListener(lines []jsLine) map[string][]string {
	out := map[string][]string{}
	for _, l := range linesOf(lines, "event") {
		out[l.Listen] = append(out[l.Listen], string(l.Data))
	}
	return out
}

func TestEchoPrivateChannelListenByEchoNames(t *testing.T) {
	t.Parallel()
	const channel = "private-chat.42"
	rec := &Recording{Items: []Item{
		ev(0, channel, `App\Events\MessageSent`, `{"id":1}`),
		ev(time.Millisecond, channel, "MessageSent", `{"id":99}`),   // no namespace: .listen('MessageSent') is App\Events\MessageSent
		ev(2*time.Millisecond, channel, "message.sent", `{"id":2}`), // a broadcastAs() name
		ev(3*time.Millisecond, channel, `App\Events\MessageSent`, `{"id":3}`),
	}}
	s := start(t, Config{Like: LikeReverb, Recording: rec})
	lines, code := runEcho(t, s, "listen", "TMSWS_ECHO_KIND=private", "TMSWS_CHANNEL=chat.42", "TMSWS_EXPECT=5",
		listenNames(t, "MessageSent", `.App\Events\MessageSent`, ".message.sent"))
	require.Equal(t, 0, code)
	require.Len(t, linesOf(lines, "subscribed"), 1)
	assert.Equal(t, map[string][]string{
		"MessageSent":             {`{"id":1}`, `{"id":3}`},
		`.App\Events\MessageSent`: {`{"id":1}`, `{"id":3}`},
		".message.sent":           {`{"id":2}`},
	}, byListener(lines))
}

func TestEchoPublicChannelGetsWhatTheHTTPAPIPublishes(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Like: LikeReverb})
	run := startScript(t, s, "echo/listen", echoEnv(s, "TMSWS_ECHO_KIND=channel", "TMSWS_CHANNEL=news", "TMSWS_EXPECT=2",
		listenNames(t, ".news.published", "NewsPublished"))...)
	run.NextOf("", "subscribed")
	for _, body := range []string{
		`{"name":"news.published","channel":"news","data":"{\"n\":1}"}`,
		`{"name":"App\\Events\\NewsPublished","channels":["news","elsewhere"],"data":"{\"n\":2}"}`,
	} {
		status, ans := signedPost(t, s, "/apps/app-id/events", body)
		require.Equal(t, http.StatusOK, status, ans.Raw)
	}
	lines, code := run.Wait()
	require.Equal(t, 0, code)
	assert.Equal(t, map[string][]string{".news.published": {`{"n":1}`}, "NewsPublished": {`{"n":2}`}}, byListener(lines))
}

func TestEchoEncryptedPrivateChannel(t *testing.T) {
	t.Parallel()
	const channel = "private-encrypted-chat.42"
	rec := &Recording{Items: []Item{ev(0, channel, `App\Events\MessageSent`, `{"message":{"content":"for your eyes only ✓"}}`)}}
	s := start(t, Config{Like: LikeReverb, Recording: rec})
	lines, code := runEcho(t, s, "listen", "TMSWS_ECHO_KIND=encrypted", "TMSWS_CHANNEL=chat.42", "TMSWS_EXPECT=1", listenNames(t, "MessageSent"))
	require.Equal(t, 0, code)
	events := linesOf(lines, "event")
	require.Len(t, events, 1)
	assert.JSONEq(t, `{"message":{"content":"for your eyes only ✓"}}`, string(events[0].Data), "decrypted with the shared secret from /broadcasting/auth")
}

func TestEchoPresenceHereJoiningLeaving(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Like: LikeReverb})
	lines, code := runEcho(t, s, "presence", "TMSWS_CHANNEL=chat.42")
	require.Equal(t, 0, code)
	here := linesOf(lines, "here")
	require.Len(t, here, 2)
	require.Equal(t, []string{"a", "b"}, []string{here[0].Client, here[1].Client})
	var aUsers, bUsers []map[string]string
	require.NoError(t, json.Unmarshal(here[0].Users, &aUsers))
	require.NoError(t, json.Unmarshal(here[1].Users, &bUsers))
	require.Len(t, aUsers, 1, "a is alone when it joins")
	require.Len(t, bUsers, 2, "b sees a and itself")
	assert.Contains(t, bUsers, aUsers[0])
	var bUser map[string]string
	for _, u := range bUsers {
		if u["name"] != aUsers[0]["name"] {
			bUser = u
		}
	}
	require.NotNil(t, bUser)
	assert.Regexp(t, `^Guest \d+$`, bUser["name"])

	joining, leaving := linesOf(lines, "joining"), linesOf(lines, "leaving")
	require.Len(t, joining, 1)
	require.Len(t, leaving, 1)
	for _, l := range []jsLine{joining[0], leaving[0]} {
		var u map[string]string
		require.NoError(t, json.Unmarshal(l.User, &u))
		assert.Equal(t, bUser, u, "a sees b %s", l.Type)
	}
	assert.Less(t, indexOf(lines, "joining"), indexOf(lines, "leaving"))
}

func TestEchoWhisper(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		like    Like
		kind    string // Echo's channel kind
		whisper string
		relayed string // the whisper a gets; "" for none
		err     string // b's error data; "" for none
	}{
		{"private", LikeReverb, "private", `{"typing":true}`, `{"typing":true}`, ""},
		{"private", LikePusher, "private", `{"typing":true}`, `{"typing":true}`, ""},
		{"presence", LikeReverb, "join", `{"typing":true}`, `{"typing":true}`, ""},
		{"public", LikeReverb, "channel", `{"typing":true}`, `{"typing":true}`, ""},
		{"public", LikePusher, "channel", `{"typing":true}`, "",
			`{"code":4301,"message":"Client event rejected - only supported on private and presence channels"}`},
		{"string data", LikeReverb, "private", `"typing"`, "", `{"code":4200,"message":"Invalid message format"}`},
		{"string data", LikePusher, "private", `"typing"`, `"typing"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.like.String(), func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Like: tt.like})
			run := startScript(t, s, "echo/whisper", echoEnv(s, "TMSWS_ECHO_KIND="+tt.kind, "TMSWS_CHANNEL=room.1", "TMSWS_WHISPER="+tt.whisper)...)
			a := run.NextOf("a", "subscribed")
			first := run.Next("a's whisper or b's error", func(l jsLine) bool {
				return (l.Client == "a" && l.Type == "whisper") || (l.Client == "b" && l.Type == "error")
			})
			// Published after it, the marker comes after anything the
			// whisper could have caused.
			s.Publish(a.Channel, "marker", "{}", "")
			lines, code := run.Wait()
			require.Equal(t, 0, code)
			whispers := linesOf(lines, "whisper")
			var errs []jsLine
			for _, l := range linesOf(lines, "error") {
				if l.Client == "b" {
					errs = append(errs, l)
				}
			}
			if tt.relayed != "" {
				assert.Equal(t, "whisper", first.Type)
				require.Len(t, whispers, 1)
				assert.JSONEq(t, tt.relayed, string(whispers[0].Data))
			} else {
				assert.Empty(t, whispers, "nothing relayed")
			}
			if tt.err != "" {
				require.Len(t, errs, 1)
				var e struct {
					Type string          `json:"type"`
					Data json.RawMessage `json:"data"`
				}
				require.NoError(t, json.Unmarshal(errs[0].Error, &e))
				assert.Equal(t, "PusherError", e.Type)
				assert.JSONEq(t, tt.err, string(e.Data), "pusher-js decodes Reverb's string error data: the app sees an object either way")
			} else {
				assert.Empty(t, errs)
			}
		})
	}
}

func TestEchoCacheChannel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		like          Like
		kind, channel string
		wire          string // the channel's name on the wire
	}{
		{LikeReverb, "channel", "cache-prices", "cache-prices"},
		{LikeReverb, "private", "cache-orders", "private-cache-orders"},
		{LikePusher, "channel", "cache-prices", "cache-prices"},
	}
	for _, tt := range tests {
		t.Run(tt.like.String()+"/"+tt.wire, func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Like: tt.like})
			run := startScript(t, s, "echo/cache", echoEnv(s, "TMSWS_ECHO_KIND="+tt.kind, "TMSWS_CHANNEL="+tt.channel, "TMSWS_LISTEN=PriceChanged")...)
			run.NextOf("a", "subscribed")
			run.NextOf("a", "cache_miss")

			s.Publish(tt.wire, `App\Events\PriceChanged`, `{"price":1}`, "")
			status, ans := signedPost(t, s, "/apps/app-id/events", `{"name":"App\\Events\\PriceChanged","channel":"`+tt.wire+`","data":"{\"price\":2}"}`)
			require.Equal(t, http.StatusOK, status, ans.Raw)
			run.Next("a's second event", func(l jsLine) bool { return l.Client == "a" && l.Type == "event" && string(l.Data) == `{"price":2}` })

			run.Command("join b")
			got := run.Next("b's first event or miss", func(l jsLine) bool { return l.Client == "b" && (l.Type == "event" || l.Type == "cache_miss") })
			assert.Equal(t, "event", got.Type, "the channel's last event, not a miss")
			assert.JSONEq(t, `{"price":2}`, string(got.Data))

			// Everyone leaves, then someone comes back (a reconnect, say).
			run.Command("leave")
			run.NextOf("", "left")
			require.NoError(t, s.WaitSubscribed(testCtx(t), tt.wire, 0))
			run.Command("join c")
			got = run.Next("c's first event or miss", func(l jsLine) bool { return l.Client == "c" && (l.Type == "event" || l.Type == "cache_miss") })
			if tt.like == LikeReverb {
				assert.Equal(t, "cache_miss", got.Type, "Reverb's cache went with the channel's last subscriber")
			} else {
				assert.Equal(t, "event", got.Type, "Pusher keeps the last event")
				assert.JSONEq(t, `{"price":2}`, string(got.Data))
			}
			run.Command("done")
			lines, code := run.Wait()
			require.Equal(t, 0, code)
			for _, client := range []string{"a", "b", "c"} {
				var events []string
				for _, l := range lines {
					if l.Client == client && (l.Type == "event" || l.Type == "cache_miss") {
						events = append(events, l.Type+" "+string(l.Data))
					}
				}
				assert.LessOrEqual(t, len(events), 3, "client %s: %v", client, events)
			}
			assert.Equal(t, []string{"cache_miss ", `event {"price":1}`, `event {"price":2}`}, clientEvents(lines, "a"), "a: the miss, then each event once")
			assert.Equal(t, []string{`event {"price":2}`}, clientEvents(lines, "b"), "b: the cached event once")
		})
	}
}

// clientEvents lists a client's event and cache_miss lines as "type data".
func clientEvents(lines []jsLine, client string) []string {
	var out []string
	for _, l := range lines {
		if l.Client == client && (l.Type == "event" || l.Type == "cache_miss") {
			out = append(out, l.Type+" "+string(l.Data))
		}
	}
	return out
}

func TestEchoBadSignature(t *testing.T) {
	t.Parallel()
	for like, want := range map[Like]string{
		LikeReverb: `{"code":4009,"message":"Connection is unauthorized"}`,
		LikePusher: `{"code":null,"message":"Invalid signature: Expected HMAC SHA256 hex digest of SOCKET:private-vault.1, but got ` + strings.Repeat("0", 64) + `"}`,
	} {
		t.Run(like.String(), func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Like: like})
			lines, code := runEcho(t, s, "badauth", "TMSWS_CHANNEL=vault.1")
			require.Equal(t, 0, code, "the app must see the refusal")
			auths := linesOf(lines, "authorizing")
			require.Len(t, auths, 1)
			assert.Empty(t, linesOf(lines, "subscribed"))
			assert.Empty(t, linesOf(lines, "subscription_error"), "no channel in the error: Echo's .error() is not called")
			errs := linesOf(lines, "error")
			require.Len(t, errs, 1)
			var e struct {
				Type string          `json:"type"`
				Data json.RawMessage `json:"data"`
			}
			require.NoError(t, json.Unmarshal(errs[0].Error, &e))
			assert.Equal(t, "PusherError", e.Type)
			var socketID struct {
				SocketID string `json:"socket_id"`
			}
			require.NoError(t, json.Unmarshal([]byte(auths[0].Raw), &socketID))
			assert.JSONEq(t, strings.Replace(want, "SOCKET", socketID.SocketID, 1), string(e.Data))
			assert.Equal(t, 0, s.Subscribers("private-vault.1"))
		})
	}
}

func TestEchoUnderAPathPrefix(t *testing.T) {
	t.Parallel()
	const channel = "news"
	rec := &Recording{Items: []Item{ev(0, channel, "news.published", `{"n":1}`)}}
	s := start(t, Config{Like: LikeReverb, Path: "/reverb", Recording: rec})
	lines, code := runEcho(t, s, "listen", "TMSWS_ECHO_KIND=channel", "TMSWS_CHANNEL="+channel, "TMSWS_EXPECT=1", listenNames(t, ".news.published"))
	require.Equal(t, 0, code)
	assert.Equal(t, map[string][]string{".news.published": {`{"n":1}`}}, byListener(lines), "Echo's wsPath /reverb reaches /reverb/app/KEY")
}
