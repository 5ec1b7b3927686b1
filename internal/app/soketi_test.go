package app

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/laraveltest"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// These tests run tmsws against a real Pusher server (Soketi, started by
// scripts/test) and a faithful fake of the Laravel app. Without Soketi they
// skip, saying why.

var alice = laraveltest.User{ID: "8", Name: "Alice", Password: "correct horse"}

func newLaravel(t *testing.T, allow func(laraveltest.User, string) bool) *laraveltest.App {
	return laraveltest.New(t, laraveltest.Config{
		AppKey:    soketitest.DefaultKey,
		AppSecret: soketitest.DefaultSecret,
		Users:     map[string]laraveltest.User{"alice@example.com": alice},
		Allow:     allow,
	})
}

func soketiCLI(t *testing.T, sk *soketitest.Soketi, app *laraveltest.App) *cli {
	c := newCLI(t).pointAt(sk.Addr)
	c.env["TMSWS_KEY"] = sk.Key
	c.env["TMSWS_API_URL"] = app.URL
	return c
}

func TestSoketiLoginThenListenOnPrivateAndPresence(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	app := newLaravel(t, nil)
	c := soketiCLI(t, sk, app)

	c.stdin = "correct horse\n"
	res := c.run("login", "--user", "alice@example.com", "--password-stdin")
	require.Equal(t, 0, res.code, res.stderr)
	creds := filepath.Join(c.env["XDG_CONFIG_HOME"], "tmsws", "credentials")
	st, err := os.Stat(creds)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	cred, ok, err := config.LoadToken(filepath.Dir(creds), app.URL)
	require.NoError(t, err)
	require.True(t, ok, "the token is stored under the login API's origin")
	token := cred.Token
	require.NotEmpty(t, token)
	assert.NotContains(t, res.stderr, token)

	res = c.run("login", "status")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "alice@example.com")
	assert.Contains(t, res.stdout, token[len(token)-4:])
	assert.NotContains(t, res.stdout, token)

	priv := soketitest.UniqueChannel(t, "private-chat")
	pres := soketitest.UniqueChannel(t, "presence-chat")
	pub := soketitest.UniqueChannel(t, "chat")
	c.stdin = ""
	r := c.start("listen", "-c", priv, "-c", pres, "-c", pub, "--count", "3")
	ctx := ctxT(t)
	require.NoError(t, sk.WaitSubscribed(ctx, pub))
	require.NoError(t, sk.WaitSubscribed(ctx, priv))
	require.NoError(t, sk.WaitSubscribed(ctx, pres))

	// A second member (Bob, through his own connection) joins and leaves.
	bob, err := soketitest.Dial(ctx, sk.WSURL())
	require.NoError(t, err)
	cd := `{"user_id":"9","user_info":{"name":"Bob"}}`
	require.NoError(t, bob.Subscribe(ctx, pres, laraveltest.SignChannel(sk.Key, sk.Secret, bob.SocketID, pres, cd), cd))
	_, err = bob.WaitFor(ctx, "pusher_internal:subscription_succeeded", pres)
	require.NoError(t, err)
	require.NoError(t, bob.Close())

	require.NoError(t, sk.Trigger(ctx, []string{priv}, `App\Events\MessageSent`, `{"message":{"id":1,"content":"hello","temp_id":"tmp-1"}}`, ""))
	require.NoError(t, sk.Trigger(ctx, []string{pres}, `App\Events\UserIsTyping`, `{"user_id":9,"typing":true}`, ""))
	require.NoError(t, sk.Trigger(ctx, []string{pub}, "Announcement", `"plain text"`, ""))
	res = r.wait(t)
	require.Equal(t, 0, res.code, res.stderr)

	recs := jsonLines(t, res.stdout)
	var got []string
	for _, rec := range recs {
		got = append(got, rec.Get("type").String()+" "+rec.Get("channel").String()+" "+rec.Get("event").String()+" "+rec.Get("user_id").String())
	}
	assert.Equal(t, []string{
		"member_added " + pres + "  9",
		"member_removed " + pres + "  9",
		"event " + priv + ` App\Events\MessageSent `,
		"event " + pres + ` App\Events\UserIsTyping `,
		"event " + pub + " Announcement ",
	}, got)
	assert.Equal(t, "plain text", recs[4].Get("data").String())
	assert.Equal(t, "hello", recs[2].Get("data.message.content").String())
	assert.Contains(t, res.stderr, "[auth] authorized "+priv)
	assert.Contains(t, res.stderr, "[channel] subscribed "+pres+" (1 present: Alice)")
	assert.NotContains(t, res.stderr, token)

	// Both channels were authorized through /broadcasting/auth with the socket id.
	var authorized []string
	for _, a := range app.AuthRequests() {
		assert.Equal(t, 200, a.Status)
		assert.Equal(t, "application/json", a.Accept)
		authorized = append(authorized, a.Channel)
	}
	assert.ElementsMatch(t, []string{priv, pres}, authorized)
}

func TestSoketiRestartMidStreamLosesNoEventAfterIt(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"clean stop (4200)", "kill (1006)"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			sk := soketitest.Start(t)
			app := newLaravel(t, nil)
			c := soketiCLI(t, sk, app)
			c.env["TMSWS_TOKEN"] = app.TokenFor(t, "alice@example.com")
			priv, pres := "private-chat.42", "presence-chat.42"
			r := c.start("listen", "-c", priv, "-c", pres, "--count", "6", "--show-protocol", "--reconnect-delay", "200ms", "--reconnect-attempts", "20")
			ctx := ctxT(t)
			require.NoError(t, sk.WaitSubscribed(ctx, priv))
			require.NoError(t, sk.WaitSubscribed(ctx, pres))
			require.NoError(t, sk.Trigger(ctx, []string{priv}, "before", `{"n":0}`, ""))
			waitFor(t, r, `"event":"before"`)

			if how == "kill (1006)" {
				sk.Kill(t)
				sk.StartAgain(t)
			} else {
				sk.Restart(t)
			}
			require.NoError(t, sk.WaitSubscribed(ctx, priv))
			require.NoError(t, sk.WaitSubscribed(ctx, pres))
			for i := 1; i <= 5; i++ {
				ch := priv
				if i%2 == 0 {
					ch = pres
				}
				require.NoError(t, sk.Trigger(ctx, []string{ch}, "after", `{"n":`+strconv.Itoa(i)+`}`, ""))
			}
			res := r.wait(t)
			require.Equal(t, 0, res.code, res.stderr)

			var ns []int64
			var types []string
			sockets := map[string]bool{}
			for _, rec := range jsonLines(t, res.stdout) {
				types = append(types, rec.Get("type").String())
				if rec.Get("type").String() == "event" {
					ns = append(ns, rec.Get("data.n").Int())
					sockets[rec.Get("socket_id").String()] = true
				}
			}
			assert.Equal(t, []int64{0, 1, 2, 3, 4, 5}, ns, "every event after the reconnect arrives, in order")
			assert.Len(t, sockets, 2, "events came over two connections")
			assert.Contains(t, types, "disconnected")
			assert.Contains(t, types, "reconnecting")
			assert.Equal(t, 2, count(types, "connected"))
			assert.Contains(t, res.stderr, "reconnecting")

			// Each private and presence channel was authorized again with the new socket id.
			bySocket := map[string][]string{}
			for _, a := range app.AuthRequests() {
				bySocket[a.SocketID] = append(bySocket[a.SocketID], a.Channel)
			}
			require.Len(t, bySocket, 2, "two socket ids authorized")
			for sid, chans := range bySocket {
				assert.ElementsMatch(t, []string{priv, pres}, chans, "socket %s", sid)
			}
		})
	}
}

func TestSoketiRefusedChannelExits3(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	app := newLaravel(t, func(u laraveltest.User, ch string) bool { return !strings.HasPrefix(ch, "chat.99") })
	c := soketiCLI(t, sk, app)
	c.env["TMSWS_TOKEN"] = app.TokenFor(t, "alice@example.com")
	res := c.run("listen", "-c", "private-chat.99")
	assert.Equal(t, ExitAuth, res.code, res.stderr)
	assert.Contains(t, res.stderr, "403")
	assert.Contains(t, res.stderr, "routes/channels.php")
	assert.Empty(t, res.stdout)
}

func TestSoketiWrongTokenExits3WithoutShowingIt(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	app := newLaravel(t, nil)
	c := soketiCLI(t, sk, app)
	res := c.run("listen", "-c", "private-chat.42", "--token", "7|notavalidtokenatall0000wxyz")
	assert.Equal(t, ExitAuth, res.code, res.stderr)
	assert.Contains(t, res.stderr, "401")
	assert.Contains(t, res.stderr, "tmsws login")
	assert.NotContains(t, res.stderr, "notavalidtoken")
	assert.Empty(t, res.stdout)
}

func TestSoketiWrongPasswordExits3WithTheServersMessage(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	app := newLaravel(t, nil)
	c := soketiCLI(t, sk, app)
	c.stdin = "wrong password\n"
	res := c.run("login", "--user", "alice@example.com", "--password-stdin")
	assert.Equal(t, ExitAuth, res.code, res.stderr)
	assert.Contains(t, res.stderr, "These credentials do not match our records.")
	assert.NotContains(t, res.stderr, "wrong password")
	res = c.run("login", "status")
	assert.Equal(t, ExitAuth, res.code)
}

func waitFor(t *testing.T, r *running, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.stdout.String(), s) {
		require.True(t, time.Now().Before(deadline), "%s did not show up; stderr:\n%s", s, r.stderr.String())
		time.Sleep(10 * time.Millisecond)
	}
}

func count(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}
