package pusher

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/server"
)

// refusingAuth refuses one channel with a 403 and signs the others.
type refusingAuth struct {
	refuse string
	inner  auth.Signer
}

func (r *refusingAuth) Authorize(ctx context.Context, socketID, channel string) (auth.Result, error) {
	if channel == r.refuse {
		return auth.Result{}, &auth.Error{Kind: auth.Forbidden, Status: 403, Op: "authorize " + channel}
	}
	return r.inner.Authorize(ctx, socketID, channel)
}

// nextOn waits for the next record of type ty on channel.
func (m *memSink) nextOn(t *testing.T, ty, channel string) record.Record {
	t.Helper()
	for {
		if r := m.next(t, ty); r.Channel == channel {
			return r
		}
	}
}

func TestSubscribeAddsChannelsToTheLiveConnection(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{Channels: []string{"chat"}})
	ctx := ctx10(t)
	require.NoError(t, h.srv.WaitSubscribed(ctx, "chat", 1))

	for _, ch := range []string{"news", "private-room.1", "presence-room.2", "private-cache-last"} {
		require.NoError(t, h.client.Subscribe(ctx, ch))
		require.NoError(t, h.srv.WaitSubscribed(ctx, ch, 1), ch)
		h.sink.nextOn(t, record.TypeSubscribed, ch)
	}
	require.NoError(t, h.client.Subscribe(ctx, "news"), "already in the set: a no-op")
	require.NoError(t, h.client.Subscribe(ctx, "chat"), "a channel of the Options: a no-op")
	assert.Equal(t, 1, h.srv.SubscribeCount("news"))
	assert.Equal(t, 1, h.srv.SubscribeCount("chat"))

	h.srv.Publish("private-room.1", "MessageSent", `{"id":7}`, "")
	ev := h.sink.next(t, record.TypeEvent)
	assert.Equal(t, "private-room.1", ev.Channel)
	assert.JSONEq(t, `{"id":7}`, string(ev.Data))

	// Presence: the member list of a dynamic channel is kept, so a member
	// who leaves is named.
	other, _, err := websocket.DefaultDialer.Dial(h.srv.URL()+"/app/app-key?protocol=7", nil)
	require.NoError(t, err)
	_, hello, err := other.ReadMessage()
	require.NoError(t, err)
	sid := gjson.Get(gjson.GetBytes(hello, "data").String(), "socket_id").String()
	cd := `{"user_id":"9","user_info":{"name":"Bob"}}`
	require.NoError(t, other.WriteJSON(map[string]any{"event": "pusher:subscribe", "data": map[string]string{
		"channel": "presence-room.2", "auth": server.SignChannel("app-key", "app-secret", sid, "presence-room.2", cd), "channel_data": cd}}))
	h.sink.nextOn(t, record.TypeMemberAdded, "presence-room.2")
	other.Close()
	removed := h.sink.nextOn(t, record.TypeMemberRemoved, "presence-room.2")
	assert.JSONEq(t, `{"name":"Bob"}`, string(removed.Data))

	// Cache: the event published before a new subscription is replayed
	// and marked cached.
	h.srv.Publish("private-cache-two", "Last", `{"n":1}`, "")
	require.NoError(t, h.client.Subscribe(ctx, "private-cache-two"))
	cached := h.sink.nextOn(t, record.TypeEvent, "private-cache-two")
	assert.True(t, cached.Cached)

	h.cancel()
	assert.ErrorIs(t, h.wait(t), context.Canceled)
}

func TestSubscribeBeforeRunIsQueued(t *testing.T) {
	t.Parallel()
	h := startTweaked(t, server.Config{}, Options{}, func(c *Client) {
		require.NoError(t, c.Subscribe(context.Background(), "private-early"))
	})
	require.NoError(t, h.srv.WaitSubscribed(ctx10(t), "private-early", 1))
}

func TestUnsubscribeLeavesAndIsNotResubscribed(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{Channels: []string{"chat"}})
	ctx := ctx10(t)
	require.NoError(t, h.srv.WaitSubscribed(ctx, "chat", 1))
	// Public channels are subscribed in order, synchronously: on the next
	// connection, "gone" would come before "kept".
	require.NoError(t, h.client.Subscribe(ctx, "gone"))
	require.NoError(t, h.client.Subscribe(ctx, "private-gone"))
	require.NoError(t, h.client.Subscribe(ctx, "kept"))
	require.NoError(t, h.srv.WaitSubscribed(ctx, "private-gone", 1))
	require.NoError(t, h.srv.WaitSubscribed(ctx, "kept", 1))

	require.NoError(t, h.client.Unsubscribe(ctx, "gone"))
	require.NoError(t, h.client.Unsubscribe(ctx, "private-gone"))
	require.NoError(t, h.client.Unsubscribe(ctx, "never-added"), "not in the set: a no-op")
	require.NoError(t, h.srv.WaitSubscribed(ctx, "gone", 0), "pusher:unsubscribe sent on the live connection")
	require.NoError(t, h.srv.WaitSubscribed(ctx, "private-gone", 0))

	h.srv.DropAll()
	c2, err := h.srv.WaitConn(ctx, 2)
	require.NoError(t, err)
	require.NoError(t, c2.WaitSubscribed(ctx, "chat"))
	require.NoError(t, c2.WaitSubscribed(ctx, "kept"), "a dynamic channel is subscribed again after a reconnect")
	assert.Equal(t, 1, h.srv.SubscribeCount("gone"), "an unsubscribed channel is not subscribed again")
	assert.Equal(t, 2, h.srv.SubscribeCount("kept"))

	// Subscribed again after Unsubscribe: it is back.
	require.NoError(t, h.client.Subscribe(ctx, "gone"))
	require.NoError(t, c2.WaitSubscribed(ctx, "gone"))
}

func TestResubscribeAfterReconnectAuthorizesAgain(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{})
	ctx := ctx10(t)
	c1, err := h.srv.WaitConn(ctx, 1)
	require.NoError(t, err)
	require.NoError(t, h.client.Subscribe(ctx, "presence-room.5"))
	require.NoError(t, c1.WaitSubscribed(ctx, "presence-room.5"))
	c1.Close(4200, "restart")
	c2, err := h.srv.WaitConn(ctx, 2)
	require.NoError(t, err)
	require.NoError(t, c2.WaitSubscribed(ctx, "presence-room.5"), "signed again for the new socket id")
}

func TestRefusedDynamicChannelDoesNotEndRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		style server.RefusalStyle
	}{
		{"subscription_error (Soketi)", server.SoketiRefusal},
		{"channel-less 4009 (Reverb)", server.ReverbRefusal},
		{"channel-less null code (Pusher)", server.PusherRefusal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, server.Config{}, Options{Channels: []string{"chat"}}, func(s *server.Server) {
				s.SetSubscribeFault(func(_ int, channel string) *server.SubscribeRefusal {
					if channel == "private-no" {
						return &server.SubscribeRefusal{Style: tt.style}
					}
					return nil
				})
			})
			ctx := ctx10(t)
			require.NoError(t, h.srv.WaitSubscribed(ctx, "chat", 1))
			require.NoError(t, h.client.Subscribe(ctx, "private-no"))
			rec := h.sink.next(t, record.TypeSubscriptionError)
			assert.Equal(t, "private-no", rec.Channel)

			// Run goes on: another channel is added and its events come.
			require.NoError(t, h.client.Subscribe(ctx, "private-yes"))
			require.NoError(t, h.srv.WaitSubscribed(ctx, "private-yes", 1))
			h.srv.Publish("private-yes", "Hello", `{}`, "")
			assert.Equal(t, "private-yes", h.sink.next(t, record.TypeEvent).Channel)

			// The refused channel left the set: not tried again after a
			// reconnect.
			h.srv.DropAll()
			c2, err := h.srv.WaitConn(ctx, 2)
			require.NoError(t, err)
			require.NoError(t, c2.WaitSubscribed(ctx, "private-yes"))
			assert.Equal(t, 1, h.srv.SubscribeCount("private-no"))
			select {
			case err := <-h.done:
				t.Fatalf("Run ended: %v", err)
			default:
			}
		})
	}
}

func TestDynamicChannelRefusedByTheAuthorizer(t *testing.T) {
	t.Parallel()
	ra := &refusingAuth{refuse: "private-secret", inner: auth.Signer{Key: "app-key", Secret: "app-secret"}}
	h := start(t, server.Config{}, Options{Channels: []string{"chat"}, Authorizer: ra})
	ctx := ctx10(t)
	require.NoError(t, h.srv.WaitSubscribed(ctx, "chat", 1))
	err := h.client.Subscribe(ctx, "private-secret")
	var sub *SubscriptionError
	require.ErrorAs(t, err, &sub)
	assert.Equal(t, "private-secret", sub.Channel)
	var ae *auth.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 403, ae.Status)
	rec := h.sink.next(t, record.TypeSubscriptionError)
	assert.Equal(t, "private-secret", rec.Channel)

	require.NoError(t, h.client.Subscribe(ctx, "private-open"))
	require.NoError(t, h.srv.WaitSubscribed(ctx, "private-open", 1))
	assert.Zero(t, h.srv.SubscribeCount("private-secret"))
	// Refused, it is out of the set: a second Subscribe asks again.
	require.ErrorAs(t, h.client.Subscribe(ctx, "private-secret"), &sub)
}

// TestSubscribeConcurrently adds and removes channels from many goroutines
// while the server drops the connection; at the end the server has exactly
// the channels left in the set.
func TestSubscribeConcurrently(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{ReconnectAttempts: -1})
	ctx := ctx10(t)
	_, err := h.srv.WaitConn(ctx, 1)
	require.NoError(t, err)
	const workers, channels = 8, 6
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 50 {
				ch := fmt.Sprintf("private-c%d", r.IntN(channels))
				if r.IntN(2) == 0 {
					assert.NoError(t, h.client.Subscribe(ctx, ch))
				} else {
					assert.NoError(t, h.client.Unsubscribe(ctx, ch))
				}
			}
		}()
	}
	h.srv.DropAll()
	wg.Wait()
	// Settle: every channel subscribed at the end except c0 and c1.
	for i := range channels {
		ch := fmt.Sprintf("private-c%d", i)
		if i < 2 {
			require.NoError(t, h.client.Unsubscribe(ctx, ch))
		} else {
			require.NoError(t, h.client.Subscribe(ctx, ch))
		}
	}
	for i := range channels {
		want := 1
		if i < 2 {
			want = 0
		}
		require.NoError(t, h.srv.WaitSubscribed(ctx, fmt.Sprintf("private-c%d", i), want))
	}
}
