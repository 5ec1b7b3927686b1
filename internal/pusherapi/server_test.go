package pusherapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/server"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// The client reads the embedded server's answers, in both of its shapes.
func TestAgainstTheEmbeddedServer(t *testing.T) {
	t.Parallel()
	for _, like := range []server.Like{server.LikePusher, server.LikeReverb} {
		srv, err := server.Start(server.Config{Like: like, Path: "/ws"})
		require.NoError(t, err)
		t.Cleanup(func() { srv.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t.Cleanup(cancel)
		for _, user := range []string{"7", "3"} {
			c, err := soketitest.Dial(ctx, srv.URL()+"/ws/app/app-key?protocol=7&client=test&version=1")
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			for _, ch := range []string{"chat", "presence-room"} {
				sig, cd := "", ""
				if strings.HasPrefix(ch, "presence-") {
					cd = `{"user_id":"` + user + `"}`
					sig = server.SignChannel("app-key", "app-secret", c.SocketID, ch, cd)
				}
				require.NoError(t, c.Subscribe(ctx, ch, sig, cd))
				_, err := c.WaitFor(ctx, "pusher_internal:subscription_succeeded", ch)
				require.NoError(t, err)
			}
		}
		host, port, _ := strings.Cut(strings.TrimPrefix(srv.HTTPURL(), "http://"), ":")
		s := settingsFor(t, "http://"+host+":"+port, "/ws")
		s.Key, s.AppSecret, s.AppID = "app-key", "app-secret", "app-id"
		client, err := New(s, "test")
		require.NoError(t, err)

		chs, err := client.Channels(ctx, "")
		require.NoError(t, err)
		require.Len(t, chs, 2)
		assert.Equal(t, "chat", chs[0].Name)
		assert.Equal(t, 2, *chs[0].SubscriptionCount)
		require.NotNil(t, chs[1].UserCount, "a second request gives the presence channels' user_count")
		assert.Equal(t, 2, *chs[1].UserCount)

		chs, err = client.Channels(ctx, "presence-")
		require.NoError(t, err)
		require.Len(t, chs, 1)
		assert.Equal(t, 2, *chs[0].UserCount)

		ch, err := client.Channel(ctx, "presence-room")
		require.NoError(t, err)
		assert.True(t, ch.Occupied)
		assert.Equal(t, 2, *ch.UserCount)

		ch, err = client.Channel(ctx, "chat")
		require.NoError(t, err)
		assert.Equal(t, 2, *ch.SubscriptionCount)

		ids, err := client.Users(ctx, "presence-room")
		require.NoError(t, err)
		assert.Equal(t, []string{"7", "3"}, ids)

		ids, err = client.Users(ctx, "presence-nobody")
		require.NoError(t, err)
		assert.Empty(t, ids)

		n, err := client.Connections(ctx)
		if like == server.LikeReverb {
			require.NoError(t, err)
			assert.Equal(t, 2, n)
		} else {
			var ce *pusher.ConnError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), "does not offer")
		}
	}
}
