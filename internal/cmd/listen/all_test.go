package listen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/pusherapi"
	"github.com/amusoft/tmsws/internal/record"
)

func TestListenAllFlags(t *testing.T) {
	t.Parallel()
	o, err := parse(t, "--all", "private-chat.*", "presence-*", "--discover-every", "500ms", "-c", "chat", "--app-id", "42")
	require.NoError(t, err)
	assert.Equal(t, "42", o.Settings.AppID)
	assert.True(t, o.All)
	assert.Equal(t, []string{"private-chat.*", "presence-*"}, o.Globs)
	assert.Equal(t, 500*time.Millisecond, o.DiscoverEvery)
	assert.Equal(t, []string{"chat"}, o.Channels)

	o, err = parse(t, "--all")
	require.NoError(t, err, "--all needs no -c")
	assert.Empty(t, o.Globs)
	assert.Equal(t, 2*time.Second, o.DiscoverEvery)
}

func TestListenAllUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"private-chat.*"}, `unexpected argument "private-chat.*"`},
		{[]string{"-c", "chat", "--discover-every", "1s"}, "--discover-every needs --all"},
		{[]string{"--all", "--discover-every", "0s"}, "--discover-every must be positive"},
		{[]string{"--all", "private-[chat"}, "malformed glob"},
		{[]string{"--all", ""}, "empty pattern"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			_, err := parse(t, tt.args...)
			var ue *cmdutil.UsageError
			require.ErrorAs(t, err, &ue)
			assert.Contains(t, ue.Msg, tt.msg)
		})
	}
}

// fakeAPI answers Channels with what the test set.
type fakeAPI struct {
	mu    sync.Mutex
	chans []pusherapi.Channel
	err   error
}

func (f *fakeAPI) set(err error, chans ...pusherapi.Channel) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chans, f.err = chans, err
}

func (f *fakeAPI) Channels(context.Context, string) ([]pusherapi.Channel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pusherapi.Channel(nil), f.chans...), f.err
}

// fakeClient records Subscribe and Unsubscribe calls.
type fakeClient struct {
	calls  []string
	refuse map[string]bool
}

func (f *fakeClient) Subscribe(_ context.Context, ch string) error {
	f.calls = append(f.calls, "+"+ch)
	if f.refuse[ch] {
		return &pusher.SubscriptionError{Channel: ch, Err: &auth.Error{Kind: auth.Forbidden, Status: 403}}
	}
	return nil
}

func (f *fakeClient) Unsubscribe(_ context.Context, ch string) error {
	f.calls = append(f.calls, "-"+ch)
	return nil
}

func (f *fakeClient) take() []string {
	c := f.calls
	f.calls = nil
	return c
}

type nopLog struct {
	mu           sync.Mutex
	infos, warns []string
}

func (l *nopLog) Info(_ string, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.infos = append(l.infos, msg)
}

func (l *nopLog) Warn(_ string, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.warns = append(l.warns, msg)
}

func (l *nopLog) Debug(string, string) {}

func (l *nopLog) lines() (infos, warns []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.infos...), append([]string(nil), l.warns...)
}

func count(n int) *int { return &n }

func occupied(name string, subs int) pusherapi.Channel {
	return pusherapi.Channel{Name: name, Occupied: true, SubscriptionCount: count(subs)}
}

type discoveryTest struct {
	d      *discovery
	api    *fakeAPI
	client *fakeClient
	status *bytes.Buffer
	log    *nopLog
	clock  time.Time
}

func newDiscoveryTest(globs []string, static ...string) *discoveryTest {
	dt := &discoveryTest{api: &fakeAPI{}, client: &fakeClient{refuse: map[string]bool{}}, status: &bytes.Buffer{}, log: &nopLog{},
		clock: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	dt.d = &discovery{api: dt.api, globs: globs, every: time.Second, grace: 2 * time.Second, static: map[string]bool{},
		log: dt.log, status: dt.status, plus: iostreams.Color(false), minus: iostreams.Color(false),
		now: func() time.Time { return dt.clock }, kick: make(chan struct{}, 1), joined: map[string]time.Time{}, refused: map[string]bool{}}
	for _, ch := range static {
		dt.d.static[ch] = true
	}
	return dt
}

// poll advances the clock by a second and polls.
func (dt *discoveryTest) poll(t *testing.T) []string {
	t.Helper()
	dt.clock = dt.clock.Add(time.Second)
	require.NoError(t, dt.d.poll(context.Background(), dt.client))
	return dt.client.take()
}

func (dt *discoveryTest) lines() string {
	s := dt.status.String()
	dt.status.Reset()
	return s
}

func TestDiscoveryJoinsNewChannelsThatMatch(t *testing.T) {
	t.Parallel()
	dt := newDiscoveryTest([]string{"private-chat.*", "presence-*"}, "private-chat.1")
	dt.api.set(nil,
		occupied("news", 1), // no glob matches
		occupied("presence-room", 1),
		occupied("private-chat.1", 2),             // a -c channel: the client has it
		occupied("private-chat.7", 1),             // someone else is there
		pusherapi.Channel{Name: "private-chat.8"}, // not occupied
	)
	assert.Equal(t, []string{"+presence-room", "+private-chat.7"}, dt.poll(t))
	assert.Equal(t, "+ presence-room\n+ private-chat.7\n", dt.lines())
	assert.Empty(t, dt.poll(t), "joined once")

	all := newDiscoveryTest(nil)
	all.api.set(nil, occupied("news", 1), occupied("private-encrypted-a", 1), occupied("private-encrypted-b", 1))
	assert.Equal(t, []string{"+news"}, all.poll(t), "no glob: every channel, but encrypted ones need the master key")
	all.poll(t)
	assert.Len(t, all.log.warns, 1, "one warning for the encrypted channels")
	assert.Contains(t, all.log.warns[0], "--encryption-master-key")

	all.d.encrypt = true
	assert.Equal(t, []string{"+private-encrypted-a", "+private-encrypted-b"}, all.poll(t))
}

func TestDiscoveryLeavesAVacatedChannelAfterTheGrace(t *testing.T) {
	t.Parallel()
	dt := newDiscoveryTest(nil)
	dt.api.set(nil, occupied("chat", 1))
	assert.Equal(t, []string{"+chat"}, dt.poll(t))
	dt.lines()

	dt.api.set(nil, occupied("chat", 2))
	assert.Empty(t, dt.poll(t), "someone and us")
	dt.api.set(nil, occupied("chat", 1))
	assert.Empty(t, dt.poll(t), "only us: the grace starts")
	assert.Empty(t, dt.poll(t), "1s of 2s")
	dt.api.set(nil, occupied("chat", 2))
	assert.Empty(t, dt.poll(t), "back in use: the grace starts again later")
	dt.api.set(nil, occupied("chat", 1))
	assert.Empty(t, dt.poll(t))
	assert.Empty(t, dt.poll(t))
	assert.Equal(t, []string{"-chat"}, dt.poll(t), "2s only us: left")
	assert.Equal(t, "- chat\n", dt.lines())

	dt.api.set(nil)
	assert.Empty(t, dt.poll(t), "gone and not ours: nothing to do")
	dt.api.set(nil, occupied("chat", 1))
	assert.Equal(t, []string{"+chat"}, dt.poll(t), "it came back")

	// Gone from the list counts as vacant; a presence channel with only
	// the observer too.
	dt.api.set(nil)
	dt.poll(t)
	dt.poll(t)
	assert.Equal(t, []string{"-chat"}, dt.poll(t))

	dt.api.set(nil, pusherapi.Channel{Name: "presence-room", Occupied: true, UserCount: count(2)})
	assert.Equal(t, []string{"+presence-room"}, dt.poll(t))
	dt.api.set(nil, pusherapi.Channel{Name: "presence-room", Occupied: true, UserCount: count(1)})
	dt.poll(t)
	dt.poll(t)
	assert.Equal(t, []string{"-presence-room"}, dt.poll(t))
}

func TestDiscoveryRefusedChannelsAreNotRetriedUntilTheyComeBack(t *testing.T) {
	t.Parallel()
	dt := newDiscoveryTest(nil)
	dt.client.refuse["private-no"] = true
	dt.api.set(nil, occupied("private-no", 1))
	assert.Equal(t, []string{"+private-no"}, dt.poll(t))
	assert.Empty(t, dt.lines(), "no + line for a refused channel")
	assert.Empty(t, dt.poll(t), "not asked again")
	dt.api.set(nil)
	dt.poll(t)
	dt.api.set(nil, occupied("private-no", 1))
	assert.Equal(t, []string{"+private-no"}, dt.poll(t), "asked again once it came back")

	// A refusal by the server comes through the sink.
	dt.client.refuse = nil
	dt.api.set(nil, occupied("private-late", 1))
	assert.Equal(t, []string{"+private-late"}, dt.poll(t))
	sink := dt.d.wrap(nopSink{})
	require.NoError(t, sink.Write(&record.Record{Type: record.TypeSubscriptionError, Channel: "private-late"}))
	assert.Empty(t, dt.poll(t))
	dt.api.set(nil, occupied("private-late", 5))
	assert.Empty(t, dt.poll(t), "refused: neither left nor joined again")
}

type nopSink struct{}

func (nopSink) Write(*record.Record) error { return nil }
func (nopSink) Flush() error               { return nil }

func TestDiscoveryPollsAfterConnectAndWarnsOnFailures(t *testing.T) {
	t.Parallel()
	dt := newDiscoveryTest(nil)
	dt.d.every = time.Hour // only the kicks poll
	boom := errors.New("connection refused")
	dt.api.set(boom)
	assert.ErrorIs(t, dt.d.start(context.Background(), dt.client), boom, "the first poll's failure ends listen")

	dt.api.set(nil)
	client := &syncClient{calls: make(chan string, 10)}
	require.NoError(t, dt.d.start(context.Background(), client))
	defer dt.d.stop()
	dt.api.set(nil, occupied("chat", 1))
	sink := dt.d.wrap(nopSink{})
	require.NoError(t, sink.Write(&record.Record{Type: record.TypeConnected}))
	select {
	case call := <-client.calls:
		assert.Equal(t, "+chat", call, "a connected record polls at once")
	case <-time.After(10 * time.Second):
		t.Fatal("no poll within 10s of a connected record")
	}
}

// syncClient hands the calls to the test as they happen.
type syncClient struct{ calls chan string }

func (s *syncClient) Subscribe(_ context.Context, ch string) error {
	s.calls <- "+" + ch
	return nil
}

func (s *syncClient) Unsubscribe(_ context.Context, ch string) error {
	s.calls <- "-" + ch
	return nil
}

// scriptedAPI answers its first call with no channel, calls 2 to 5 with an
// error, and every later one with chat.
type scriptedAPI struct {
	mu    sync.Mutex
	calls int
}

func (a *scriptedAPI) Channels(context.Context, string) ([]pusherapi.Channel, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	switch {
	case a.calls == 1:
		return nil, nil
	case a.calls <= 5:
		return nil, errors.New("503 Service Unavailable")
	}
	return []pusherapi.Channel{occupied("chat", 1)}, nil
}

// A failing poll in the background is one warning (not one per poll), and
// the next poll tries again; its recovery is said once.
func TestDiscoveryWarnsOnceWhileListingFails(t *testing.T) {
	t.Parallel()
	dt := newDiscoveryTest(nil)
	dt.d.api = &scriptedAPI{}
	dt.d.every = time.Millisecond
	client := &syncClient{calls: make(chan string, 10)}
	require.NoError(t, dt.d.start(context.Background(), client))
	select {
	case call := <-client.calls:
		assert.Equal(t, "+chat", call, "tried again after the failures")
	case <-time.After(10 * time.Second):
		t.Fatal("chat was not joined within 10s")
	}
	// A few more good polls: the recovery is still said only once.
	api := dt.d.api.(*scriptedAPI)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(10 * time.Second); ; <-tick.C {
		api.mu.Lock()
		n := api.calls
		api.mu.Unlock()
		if n >= 9 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no 9 polls within 10s")
	}
	dt.d.stop()
	infos, warns := dt.log.lines()
	require.Len(t, warns, 1, "one warning for the same failure")
	assert.Contains(t, warns[0], "503 Service Unavailable")
	assert.Equal(t, []string{"listing the channels works again"}, infos)
}

func TestAllAuthorizerRoutesByChannel(t *testing.T) {
	t.Parallel()
	given := &auth.Endpoint{URL: "http://127.0.0.1:1/broadcasting/auth"}
	signer := &auth.Signer{Key: "app-key", Secret: "app-secret", UserID: ObserverID}
	a := &allAuthorizer{static: map[string]bool{"private-mine": true}, given: given, signer: signer}
	res, err := a.Authorize(context.Background(), "1.2", "presence-found")
	require.NoError(t, err, "a discovered channel is signed locally")
	assert.Contains(t, res.ChannelData, ObserverID)
	_, err = a.Authorize(context.Background(), "1.2", "private-mine")
	require.Error(t, err, "a -c channel goes to its endpoint (nothing listens there)")
	assert.Empty(t, a.Via(), "two ways: the [auth] line names neither")
	a.given = &auth.Signer{Key: "app-key", Secret: "app-secret"}
	assert.Equal(t, signer.Via(), a.Via())
}

// The list is the server's: names that are no channel names are not
// subscribed, and at most maxDiscovered channels are followed, each with
// one warning.
func TestDiscoveryBoundsWhatTheServerLists(t *testing.T) {
	t.Parallel()
	dt := newDiscoveryTest(nil)
	list := []pusherapi.Channel{occupied("bad\x1b]0;x\x07name", 2), occupied("two words", 2), occupied(strings.Repeat("x", 20000), 2)}
	for i := range maxDiscovered + 5 {
		list = append(list, occupied(fmt.Sprintf("chat.%04d", i), 2))
	}
	dt.api.set(nil, list...)
	calls := dt.poll(t)
	require.Len(t, calls, maxDiscovered)
	for _, c := range calls {
		assert.True(t, strings.HasPrefix(c, "+chat."), c)
	}
	dt.poll(t)
	_, warns := dt.log.lines()
	require.Len(t, warns, 2, "one warning each, not one per poll: %q", warns)
	assert.Contains(t, warns[0], "not channel names")
	assert.NotContains(t, warns[0], "\x1b")
	assert.Contains(t, warns[1], "more channels than listen --all follows (1000)")

	// A channel left frees a place for one more.
	list[3] = pusherapi.Channel{Name: list[3].Name, Occupied: true, SubscriptionCount: count(1)}
	dt.api.set(nil, list...)
	dt.poll(t)
	dt.poll(t)
	calls = dt.poll(t)
	assert.Equal(t, []string{"-chat.0000", "+chat.1000"}, calls)
}
