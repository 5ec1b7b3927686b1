package app

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/server"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// listen --all against Soketi: the channels pusher-js subscribes after
// listen started are discovered through Soketi's HTTP API, joined, their
// events shown, and left once vacated.
func TestSoketiListenAll(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	// The embedded server's /broadcasting/auth signs for pusher-js with
	// Soketi's key and secret.
	authSrv, err := server.Start(server.Config{AppKey: sk.Key, AppSecret: sk.Secret})
	require.NoError(t, err)
	t.Cleanup(func() { authSrv.Close() })
	listenAllScenario(t, sk.Addr, authSrv.AuthURL(), sk.Key, func(channel, event, data string) {
		require.NoError(t, sk.Trigger(context.Background(), []string{channel}, event, data, ""))
	})
}

func TestSoketiListenAllWrongSecretExits3(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	c := apiCLI(t, sk.Addr)
	c.env["TMSWS_APP_SECRET"] = "not-the-secret"
	res := c.run("listen", "--all")
	assert.Equal(t, ExitAuth, res.code, res.stderr)
	assert.NotContains(t, res.stderr, "not-the-secret")
}
