package app

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/pusherjstest"
	"github.com/amusoft/tmsws/internal/server"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// uniqueName is a channel name suffix no other test on the shared Soketi
// uses.
func uniqueName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Pusher-js clients subscribe to Soketi; tmsws channels lists them, info
// counts them, users names the presence members, and connections says
// Soketi has no such endpoint.
func TestSoketiChannelsSeePusherJSClients(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	// The embedded server's /broadcasting/auth signs for anyone with
	// Soketi's key and secret.
	authSrv, err := server.Start(server.Config{AppKey: sk.Key, AppSecret: sk.Secret})
	require.NoError(t, err)
	t.Cleanup(func() { authSrv.Close() })

	id := uniqueName(t)
	presence, public := "presence-chsk."+id, "chsk-"+id
	run := pusherjstest.Start(t, pusherjstest.Target{Host: sk.Host(), Port: strconv.Itoa(sk.Port()), Key: sk.Key, AuthURL: authSrv.AuthURL()}, "pusherjs/channels")
	members := map[string]string{}
	for _, cmd := range []string{"sub a " + presence, "sub b " + presence, "sub a " + public} {
		run.Command(cmd)
		f := strings.Fields(cmd)
		l := run.Next("subscribed "+cmd, func(l pusherjstest.Line) bool {
			return l.Type == "subscribed" && l.Client == f[1] && l.Channel == f[2]
		})
		if strings.HasPrefix(f[2], "presence-") {
			members[f[1]] = l.Me
		}
	}
	c := apiCLI(t, sk.Addr)

	r := c.run("channels", "--prefix", "presence-chsk."+id)
	require.Equal(t, 0, r.code, r.stderr)
	lines := jsonLines(t, r.stdout)
	require.Len(t, lines, 1, r.stdout)
	assert.Equal(t, presence, lines[0].Get("channel").String())
	assert.True(t, lines[0].Get("occupied").Bool())
	assert.Equal(t, int64(2), lines[0].Get("subscription_count").Int(), r.stdout)

	r = c.run("channels", "--jq", `select(.channel | endswith("`+id+`")) | .channel`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, public+"\n"+presence+"\n", r.stdout)

	r = c.run("channels", "info", presence)
	require.Equal(t, 0, r.code, r.stderr)
	doc := gjson.Parse(r.stdout)
	assert.True(t, doc.Get("occupied").Bool(), r.stdout)
	assert.Equal(t, int64(2), doc.Get("subscription_count").Int(), r.stdout)
	assert.Equal(t, int64(2), doc.Get("user_count").Int(), r.stdout)

	r = c.run("channels", "users", presence)
	require.Equal(t, 0, r.code, r.stderr)
	got := strings.Fields(r.stdout)
	assert.ElementsMatch(t, []string{members["a"], members["b"]}, got)

	r = c.run("connections")
	assert.Equal(t, 4, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "does not offer")
	assert.Contains(t, r.stderr, "Reverb does")

	run.Command("quit b")
	run.NextOf("b", "quit")
	run.Command("done")
	run.NextOf("", "done")
}

func TestSoketiChannelsExitCodes(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	c := apiCLI(t, sk.Addr)
	c.env["TMSWS_APP_SECRET"] = "not-the-secret"
	r := c.run("channels")
	assert.Equal(t, 3, r.code, r.stderr)
	assert.Contains(t, r.stderr, "--app-secret")
	assert.NotContains(t, r.stderr, "not-the-secret")

	c = apiCLI(t, sk.Addr)
	c.env["TMSWS_APP_ID"] = "no-such-app"
	r = c.run("channels", "info", "chat")
	assert.Equal(t, 4, r.code, r.stderr)
	assert.Contains(t, r.stderr, `no app with id "no-such-app"`)

	c = apiCLI(t, sk.Addr)
	delete(c.env, "TMSWS_APP_ID")
	r = c.run("channels")
	assert.Equal(t, 2, r.code, r.stderr)
}
