package app

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/server"
)

func reverbServer(t *testing.T, like server.Like) *server.Server {
	t.Helper()
	srv, err := server.Start(server.Config{Like: like})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	return srv
}

func TestChannelsAgainstTheEmbeddedServer(t *testing.T) {
	t.Parallel()
	srv := reverbServer(t, server.LikeReverb)
	ctx := ctxT(t)
	rawSubscriber(t, ctx, srv.URL(), "app-key", "app-secret", "chat", "presence-room.1", "private-x")
	rawSubscriber(t, ctx, srv.URL(), "app-key", "app-secret", "chat")
	c := apiCLI(t, srv.Addr())

	r := c.run("channels")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `{"channel":"chat","occupied":true,"subscription_count":2}
{"channel":"presence-room.1","occupied":true,"user_count":1}
{"channel":"private-x","occupied":true,"subscription_count":1}
`, r.stdout)

	r = c.run("channels", "--prefix", "presence-")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `{"channel":"presence-room.1","occupied":true,"user_count":1}`+"\n", r.stdout)

	r = c.run("channels", "--jq", ".channel")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "chat\npresence-room.1\nprivate-x\n", r.stdout)

	r = c.run("channels", "--template", "{{.channel}}={{.subscription_count}}\n", "--prefix", "pri")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "private-x=1\n", r.stdout)

	r = c.run("channels", "info", "presence-room.1")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `{"channel":"presence-room.1","occupied":true,"user_count":1}`+"\n", r.stdout)

	r = c.run("channels", "info", "nobody", "--jq", ".occupied")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "false\n", r.stdout)

	r = c.run("channels", "users", "presence-room.1")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "9\n", r.stdout)

	r = c.run("channels", "users", "presence-room.1", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `{"id":"9"}`+"\n", r.stdout)

	r = c.run("channels", "users", "presence-room.1", "--template", "user {{.id}}\n")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "user 9\n", r.stdout)

	r = c.run("connections")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `{"connections":2}`+"\n", r.stdout)

	// On a terminal: a table, aligned key: value lines, a sentence.
	c.outTTY = true
	r = c.run("channels")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `NAME             SUBSCRIPTIONS  USERS
chat             2              -
presence-room.1  -              1
private-x        1              -
`, r.stdout)

	r = c.run("channels", "--prefix", "presence-")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "NAME             SUBSCRIPTIONS  USERS\npresence-room.1  -              1\n", r.stdout)

	r = c.run("channels", "--json", "--prefix", "chat")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `{"channel":"chat","occupied":true,"subscription_count":2}`+"\n", r.stdout)

	r = c.run("channels", "info", "chat")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "channel:       chat\noccupied:      yes\nsubscriptions: 2\n", r.stdout)

	r = c.run("channels", "info", "presence-room.1")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "channel:       presence-room.1\noccupied:      yes\nsubscriptions: -\nusers:         1\n", r.stdout)

	r = c.run("connections")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "2 connections\n", r.stdout)

	r = c.run("channels", "--prefix", "none-")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "no occupied channels")
}

func TestChannelsWithNothingOccupiedPrintsNothing(t *testing.T) {
	t.Parallel()
	srv := reverbServer(t, server.LikeReverb)
	r := apiCLI(t, srv.Addr()).run("channels")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	assert.NotContains(t, r.stderr, "no occupied channels", "not a terminal")
}

func TestChannelsExitCodes(t *testing.T) {
	t.Parallel()
	reverb := reverbServer(t, server.LikeReverb)
	pusherLike := reverbServer(t, server.LikePusher)
	tests := []struct {
		name   string
		cli    func() *cli
		args   []string
		code   int
		stderr []string
	}{
		{name: "wrong secret", cli: func() *cli {
			c := apiCLI(t, reverb.Addr())
			c.env["TMSWS_APP_SECRET"] = "not-the-secret"
			return c
		}, args: []string{"channels"}, code: 3, stderr: []string{"list channels: 401", "--app-secret"}},
		{name: "wrong secret, users", cli: func() *cli {
			c := apiCLI(t, reverb.Addr())
			c.env["TMSWS_APP_SECRET"] = "not-the-secret"
			return c
		}, args: []string{"channels", "users", "presence-x"}, code: 3},
		{name: "wrong secret, connections", cli: func() *cli {
			c := apiCLI(t, reverb.Addr())
			c.env["TMSWS_APP_SECRET"] = "not-the-secret"
			return c
		}, args: []string{"connections"}, code: 3},
		{name: "nothing listening", cli: func() *cli { return apiCLI(t, "127.0.0.1:1") }, args: []string{"channels"}, code: 4, stderr: []string{"cannot reach"}},
		{name: "nothing listening, info", cli: func() *cli { return apiCLI(t, "127.0.0.1:1") }, args: []string{"channels", "info", "chat"}, code: 4},
		{name: "nothing listening, connections", cli: func() *cli { return apiCLI(t, "127.0.0.1:1") }, args: []string{"connections"}, code: 4},
		{name: "missing app id", cli: func() *cli {
			c := apiCLI(t, reverb.Addr())
			delete(c.env, "TMSWS_APP_ID")
			return c
		}, args: []string{"channels"}, code: 2, stderr: []string{"no app id", "--app-id", "TMSWS_APP_ID"}},
		{name: "missing app id, connections", cli: func() *cli {
			c := apiCLI(t, reverb.Addr())
			delete(c.env, "TMSWS_APP_ID")
			return c
		}, args: []string{"connections"}, code: 2},
		{name: "missing secret", cli: func() *cli {
			c := apiCLI(t, reverb.Addr())
			delete(c.env, "TMSWS_APP_SECRET")
			return c
		}, args: []string{"channels", "info", "chat"}, code: 2, stderr: []string{"no app secret", "--app-secret"}},
		{name: "unknown app id", cli: func() *cli {
			c := apiCLI(t, reverb.Addr())
			c.env["TMSWS_APP_ID"] = "other"
			return c
		}, args: []string{"channels"}, code: 4, stderr: []string{`no app with id "other"`}},
		{name: "--app-id flag", cli: func() *cli { return apiCLI(t, reverb.Addr()) }, args: []string{"channels", "--app-id", "other"}, code: 4, stderr: []string{`no app with id "other"`}},
		{name: "users of a private channel", cli: func() *cli { return apiCLI(t, reverb.Addr()) }, args: []string{"channels", "users", "private-x"}, code: 2, stderr: []string{"not a presence channel"}},
		{name: "bad channel name", cli: func() *cli { return apiCLI(t, reverb.Addr()) }, args: []string{"channels", "info", "a b"}, code: 2},
		{name: "bad prefix", cli: func() *cli { return apiCLI(t, reverb.Addr()) }, args: []string{"channels", "--prefix", "a/b"}, code: 2},
		{name: "no channel", cli: func() *cli { return apiCLI(t, reverb.Addr()) }, args: []string{"channels", "info"}, code: 2},
		{name: "unknown subcommand", cli: func() *cli { return apiCLI(t, reverb.Addr()) }, args: []string{"channels", "list"}, code: 2},
		{name: "bad jq", cli: func() *cli { return apiCLI(t, reverb.Addr()) }, args: []string{"channels", "--jq", ".["}, code: 2},
		{name: "connections like pusher", cli: func() *cli { return apiCLI(t, pusherLike.Addr()) }, args: []string{"connections"}, code: 4, stderr: []string{"does not offer", "Reverb does"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.cli().run(tt.args...)
			assert.Equal(t, tt.code, r.code, r.stderr)
			assert.Empty(t, r.stdout)
			for _, s := range tt.stderr {
				assert.Contains(t, r.stderr, s)
			}
			assert.NotContains(t, r.stderr, "not-the-secret")
			assert.NotContains(t, r.stderr, "auth_signature")
			assert.False(t, strings.Contains(r.stderr, "app-secret\n"), r.stderr)
		})
	}
}
