package soketitest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, ctx context.Context, s *Soketi) *Client {
	t.Helper()
	c, err := Dial(ctx, s.WSURL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.Regexp(t, `^\d+\.\d+$`, c.SocketID)
	return c
}

func subscribe(t *testing.T, ctx context.Context, s *Soketi, c *Client, channel, auth, channelData string) Frame {
	t.Helper()
	require.NoError(t, c.Subscribe(ctx, channel, auth, channelData))
	f, err := c.WaitFor(ctx, "pusher_internal:subscription_succeeded", channel)
	require.NoError(t, err)
	require.NoError(t, s.WaitSubscribed(ctx, channel))
	return f
}

func TestTriggerReachesPublicSubscriber(t *testing.T) {
	t.Parallel()
	s := FromEnv(t)
	ctx := testContext(t)
	c := dial(t, ctx, s)
	channel := UniqueChannel(t, "chat")
	subscribe(t, ctx, s, c, channel, "", "")

	require.NoError(t, s.Trigger(ctx, []string{channel}, `App\Events\MessageSent`, `{"message":{"id":7,"content":"hi / there"}}`, ""))

	f, err := c.WaitFor(ctx, `App\Events\MessageSent`, channel)
	require.NoError(t, err)
	assert.Equal(t, channel, f.Channel)
	assert.JSONEq(t, `{"message":{"id":7,"content":"hi / there"}}`, f.DataString())
	assert.Contains(t, string(f.Raw), `"data":"{`, "the HTTP API data arrives as a JSON string")
}

func TestTriggerSkipsExcludedSocket(t *testing.T) {
	t.Parallel()
	s := FromEnv(t)
	ctx := testContext(t)
	channel := UniqueChannel(t, "room")
	sender, other := dial(t, ctx, s), dial(t, ctx, s)
	subscribe(t, ctx, s, sender, channel, "", "")
	subscribe(t, ctx, s, other, channel, "", "")

	require.NoError(t, s.Trigger(ctx, []string{channel}, "first", `{"n":1}`, sender.SocketID))
	require.NoError(t, s.Trigger(ctx, []string{channel}, "second", `{"n":2}`, ""))

	f, err := other.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "first", f.Event)
	f, err = sender.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "second", f.Event, "the excluded socket must not get the first event")
}

func TestHTTPAPIRejectsWrongSecret(t *testing.T) {
	t.Parallel()
	s := FromEnv(t)
	ctx := testContext(t)
	wrong := newSoketi(s.Addr)
	wrong.Secret = "not-the-secret"

	err := wrong.Trigger(ctx, []string{"any"}, "e", "{}", "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")

	_, err = wrong.Channels(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
}

func TestPresenceChannelInfo(t *testing.T) {
	t.Parallel()
	s := FromEnv(t)
	ctx := testContext(t)
	c := dial(t, ctx, s)
	channel := UniqueChannel(t, "presence-room")
	channelData := `{"user_id":"8","user_info":{"name":"Alice"}}`
	auth := s.Key + ":" + Sign(s.Secret, c.SocketID+":"+channel+":"+channelData)

	f := subscribe(t, ctx, s, c, channel, auth, channelData)
	assert.JSONEq(t, `{"presence":{"ids":["8"],"hash":{"8":{"name":"Alice"}},"count":1}}`, f.DataString())

	info, err := s.Channel(ctx, channel)
	require.NoError(t, err)
	assert.Equal(t, ChannelInfo{Occupied: true, SubscriptionCount: 1, UserCount: 1}, info)

	users, err := s.Users(ctx, channel)
	require.NoError(t, err)
	assert.Equal(t, []string{"8"}, users)

	all, err := s.Channels(ctx)
	require.NoError(t, err)
	assert.Contains(t, all, channel)

	require.NoError(t, c.Send(ctx, "pusher:unsubscribe", map[string]string{"channel": channel}, ""))
	require.NoError(t, s.WaitVacant(ctx, channel))
}

func TestPrivateChannelNeedsValidAuth(t *testing.T) {
	t.Parallel()
	s := FromEnv(t)
	ctx := testContext(t)
	c := dial(t, ctx, s)
	channel := UniqueChannel(t, "private-chat")

	require.NoError(t, c.Subscribe(ctx, channel, s.Key+":"+Sign("wrong-secret", c.SocketID+":"+channel), ""))
	_, err := c.WaitFor(ctx, "pusher_internal:subscription_succeeded", channel)
	require.ErrorIs(t, err, ErrRejected)

	subscribe(t, ctx, s, c, channel, s.Key+":"+Sign(s.Secret, c.SocketID+":"+channel), "")
}

func TestWaitSubscribedGivesUp(t *testing.T) {
	t.Parallel()
	s := FromEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()

	err := s.WaitSubscribed(ctx, UniqueChannel(t, "nobody"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "Occupied:false")
}

func TestPrivateSoketiStopRestartKill(t *testing.T) {
	t.Parallel()
	s := Start(t)
	ctx := testContext(t)
	addr := s.Addr
	c := dial(t, ctx, s)
	channel := UniqueChannel(t, "chat")
	subscribe(t, ctx, s, c, channel, "", "")

	s.Restart(t)
	require.Equal(t, addr, s.Addr, "restart keeps the port")
	f, err := c.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "pusher:error", f.Event)
	assert.JSONEq(t, `{"code":4200,"message":"Server closed. Please reconnect shortly."}`, string(f.Data))
	_, err = c.Read(ctx)
	var closeErr *websocket.CloseError
	require.ErrorAs(t, err, &closeErr, "a graceful stop closes clients")
	assert.Equal(t, 4200, closeErr.Code)

	// The restarted server has forgotten the channel; a new client works.
	info, err := s.Channel(ctx, channel)
	require.NoError(t, err)
	assert.False(t, info.Occupied)
	c2 := dial(t, ctx, s)
	subscribe(t, ctx, s, c2, channel, "", "")
	require.NoError(t, s.Trigger(ctx, []string{channel}, "after-restart", "{}", ""))
	_, err = c2.WaitFor(ctx, "after-restart", channel)
	require.NoError(t, err)

	s.Kill(t)
	_, err = c2.Read(ctx)
	require.Error(t, err)
	require.ErrorAs(t, err, &closeErr)
	assert.Equal(t, websocket.CloseAbnormalClosure, closeErr.Code, "a killed server sends no close frame")
	_, err = Dial(ctx, s.WSURL())
	require.Error(t, err, "nothing listens after Kill")

	s.StartAgain(t)
	dial(t, ctx, s)
}

func TestStartRunsIndependentServers(t *testing.T) {
	t.Parallel()
	a, b := Start(t), Start(t)
	require.NotEqual(t, a.Addr, b.Addr)
	assert.True(t, strings.HasPrefix(a.Addr, "127.0.0.1:"))
	a.Stop(t)
	ctx := testContext(t)
	_, err := b.Channels(ctx)
	require.NoError(t, err, "stopping one private Soketi leaves the other running")
}

// recorder is a testing.TB whose Skip and Fatal end the calling goroutine,
// as the real ones do, and remember the message.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func runRecorded(t *testing.T, f func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestWithoutSoketi(t *testing.T) {
	tests := []struct {
		name     string
		require  string
		call     func(testing.TB)
		wantSkip bool
	}{
		{"FromEnv skips", "", func(tb testing.TB) { FromEnv(tb) }, true},
		{"Start skips", "", func(tb testing.TB) { Start(tb) }, true},
		{"FromEnv fails when required", "1", func(tb testing.TB) { FromEnv(tb) }, false},
		{"Start fails when required", "1", func(tb testing.TB) { Start(tb) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvAddr, "")
			t.Setenv(EnvDir, "")
			t.Setenv(EnvRequire, tt.require)
			r := runRecorded(t, tt.call)
			if tt.wantSkip {
				assert.Contains(t, r.skipped, "no Soketi: run scripts/test (it installs and starts Soketi)")
				assert.Empty(t, r.failed)
			} else {
				assert.Contains(t, r.failed, "run scripts/test (it installs and starts Soketi)")
				assert.Empty(t, r.skipped)
			}
		})
	}
}

func TestFromEnvRejectsSomethingElse(t *testing.T) {
	// A port where nothing listens: closed right after a private Soketi stops.
	s := Start(t)
	s.Stop(t)
	t.Setenv(EnvAddr, s.Addr)
	t.Setenv(EnvRequire, "1")
	r := runRecorded(t, func(tb testing.TB) { FromEnv(tb) })
	assert.Contains(t, r.failed, "does not answer")
}
