package app

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/laraveltest"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// joinSoketi subscribes Bob (user 9) to a presence channel of Soketi
// through his own connection; closing the client makes him leave.
func joinSoketi(ctx context.Context, t *testing.T, sk *soketitest.Soketi, channel string) *soketitest.Client {
	t.Helper()
	bob, err := soketitest.Dial(ctx, sk.WSURL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = bob.Close() })
	cd := `{"user_id":"9","user_info":{"name":"Bob"}}`
	require.NoError(t, bob.Subscribe(ctx, channel, laraveltest.SignChannel(sk.Key, sk.Secret, bob.SocketID, channel, cd), cd))
	_, err = bob.WaitFor(ctx, "pusher_internal:subscription_succeeded", channel)
	require.NoError(t, err)
	return bob
}

// TestSoketiFiltersApplyToMemberRecords: against a real Pusher server,
// the member records of a presence channel go through -e and --where like
// every other record, and Echo's leading dot names one event exactly.
func TestSoketiFiltersApplyToMemberRecords(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	app := newLaravel(t, nil)
	token := app.TokenFor(t, "alice@example.com")

	t.Run("member glob and Echo's name", func(t *testing.T) {
		t.Parallel()
		c := soketiCLI(t, sk, app)
		c.env["TMSWS_TOKEN"] = token
		pres := soketitest.UniqueChannel(t, "presence-chat")
		r := c.start("listen", "-c", pres, "--json", "-e", "member_*", "-e", `.App\Events\MessageSent`, "--count", "3")
		ctx := ctxT(t)
		require.NoError(t, sk.WaitSubscribed(ctx, pres))
		// Not App\Events\MessageSent exactly: dropped.
		require.NoError(t, sk.Trigger(ctx, []string{pres}, "message.sent", `{"message":{"id":1,"user_id":8}}`, ""))
		bob := joinSoketi(ctx, t, sk, pres)
		waitFor(t, r, `"type":"member_added"`)
		require.NoError(t, bob.Close())
		waitFor(t, r, `"type":"member_removed"`)
		require.NoError(t, sk.Trigger(ctx, []string{pres}, `App\Events\MessageSent`, `{"message":{"id":2,"user_id":9}}`, ""))
		res := r.wait(t)
		require.Equal(t, ExitOK, res.code, res.stderr)
		assert.Equal(t, []string{"member_added 9", "member_removed 9", `App\Events\MessageSent#2`}, kinds(t, res.stdout),
			"-e counts the member records it keeps toward --count")
	})

	t.Run("where drops member records", func(t *testing.T) {
		t.Parallel()
		c := soketiCLI(t, sk, app)
		c.env["TMSWS_TOKEN"] = token
		pres := soketitest.UniqueChannel(t, "presence-chat")
		r := c.start("listen", "-c", pres, "--json", "--where", "data.message.user_id=8", "--count", "1")
		ctx := ctxT(t)
		require.NoError(t, sk.WaitSubscribed(ctx, pres))
		joinSoketi(ctx, t, sk, pres)
		for {
			users, err := sk.Users(ctx, pres)
			require.NoError(t, err)
			if slices.Contains(users, "9") {
				break
			}
			require.NoError(t, ctx.Err())
			time.Sleep(20 * time.Millisecond)
		}
		require.NoError(t, sk.Trigger(ctx, []string{pres}, `App\Events\MessageSent`, `{"message":{"id":1,"user_id":9}}`, ""))
		require.NoError(t, sk.Trigger(ctx, []string{pres}, `App\Events\MessageSent`, `{"message":{"id":2,"user_id":8}}`, ""))
		res := r.wait(t)
		require.Equal(t, ExitOK, res.code, res.stderr)
		assert.Equal(t, []string{`App\Events\MessageSent#2`}, kinds(t, res.stdout), "Bob's join has no data.message")
	})
}
