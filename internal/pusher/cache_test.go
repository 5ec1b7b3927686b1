package pusher

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/server"
)

// cacheRun runs a Client on channels against a scripted server and returns
// its sink and log; Run ends with the test.
func cacheRun(t *testing.T, script func(c *hostiletest.Conn), channels []string, tweak func(*Client)) (*memSink, *memLog) {
	t.Helper()
	h := hostiletest.Start(t, script)
	sink, log := newSink(), &memLog{}
	c := New(Options{URL: h.URL(), Channels: channels, Sink: sink, Log: log,
		Authorizer: &auth.Signer{Key: "app-key", Secret: "app-secret"}})
	c.sleep = (&sleepLog{}).sleep
	if tweak != nil {
		tweak(c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		receive(t, done, "Run returning after cancel")
	})
	return sink, log
}

// serveCache greets, confirms the subscription and sends frames after it.
func serveCache(frames ...func(ch string, n int) []byte) func(c *hostiletest.Conn) {
	return func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		ch := c.ConfirmSubscribe()
		for _, f := range frames {
			_ = c.Send(f(ch, c.N))
		}
		c.Serve()
	}
}

func event(name string) func(ch string, n int) []byte {
	return func(ch string, n int) []byte {
		return hostiletest.Event(ch, name, `{"conn":`+strconv.Itoa(n)+`}`)
	}
}

func cacheMiss(ch string, _ int) []byte {
	return []byte(`{"event":"pusher:cache_miss","channel":"` + ch + `"}`)
}

func TestCachedEventIsMarked(t *testing.T) {
	t.Parallel()
	for _, ch := range []string{"cache-prices", "private-cache-chat.42", "presence-cache-room.1", "cachePrices"} {
		t.Run(ch, func(t *testing.T) {
			t.Parallel()
			sink, _ := cacheRun(t, serveCache(event("last"), event("live"), event("live2")), []string{ch}, nil)
			sink.next(t, record.TypeSubscribed)
			ev := sink.next(t, record.TypeEvent)
			assert.Equal(t, "last", ev.Event)
			assert.True(t, ev.Cached, "the first event after the confirmation is the cache")
			assert.Contains(t, string(ev.AppendJSON(nil)), `"cached":true`)
			for _, want := range []string{"live", "live2"} {
				ev = sink.next(t, record.TypeEvent)
				assert.Equal(t, want, ev.Event)
				assert.False(t, ev.Cached)
				assert.NotContains(t, string(ev.AppendJSON(nil)), `cached`)
			}
		})
	}
}

func TestFirstEventOnOtherChannelsIsNotCached(t *testing.T) {
	t.Parallel()
	for _, ch := range []string{"chat", "private-chat.42", "presence-chat.42", "my-cache-x"} {
		t.Run(ch, func(t *testing.T) {
			t.Parallel()
			sink, _ := cacheRun(t, serveCache(event("first")), []string{ch}, nil)
			ev := sink.next(t, record.TypeEvent)
			assert.Equal(t, "first", ev.Event)
			assert.False(t, ev.Cached)
		})
	}
}

func TestCacheMissIsARecordAndAStatusLine(t *testing.T) {
	t.Parallel()
	sink, log := cacheRun(t, serveCache(cacheMiss, event("live")), []string{"cache-prices"}, nil)
	sub := sink.next(t, record.TypeSubscribed)
	miss := sink.next(t, record.TypeCacheMiss, record.TypeEvent, record.TypeProtocol)
	assert.Equal(t, record.TypeCacheMiss, miss.Type)
	assert.Equal(t, "cache-prices", miss.Channel)
	assert.Equal(t, sub.SocketID, miss.SocketID)
	assert.Empty(t, miss.Event)
	assert.True(t, miss.IsDefault(), "shown without --show-protocol")
	ev := sink.next(t, record.TypeEvent)
	assert.Equal(t, "live", ev.Event)
	assert.False(t, ev.Cached, "after a miss, the first event is live")
	assert.Contains(t, log.all(), "info channel: cache-prices: nothing cached")
}

// TestCacheIsMarkedOnEveryResubscription: every reconnect subscribes
// again, and the server replays its cache again: marked each time, not
// shown as a new event.
func TestCacheIsMarkedOnEveryResubscription(t *testing.T) {
	t.Parallel()
	script := func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		ch := c.ConfirmSubscribe()
		_ = c.Send(hostiletest.Event(ch, "last", `{"conn":`+strconv.Itoa(c.N)+`}`))
		_ = c.Send(hostiletest.Event(ch, "live", `{"conn":`+strconv.Itoa(c.N)+`}`))
		if c.N == 1 {
			return // drop: the client reconnects
		}
		c.Serve()
	}
	sink, _ := cacheRun(t, script, []string{"cache-prices"}, nil)
	for conn := 1; conn <= 2; conn++ {
		ev := sink.next(t, record.TypeEvent)
		assert.Equal(t, "last", ev.Event)
		assert.True(t, ev.Cached, "connection %d", conn)
		assert.Equal(t, int64(conn), gjson.GetBytes(ev.Data, "conn").Int())
		ev = sink.next(t, record.TypeEvent)
		assert.Equal(t, "live", ev.Event)
		assert.False(t, ev.Cached, "connection %d", conn)
	}
}

// TestCacheWindow: an event that comes after the window is live, so a
// server without a cache for the name (Reverb has none for
// private-encrypted-cache-, Soketi none for a bare "cache" prefix) does not
// get its first live event marked.
func TestCacheWindow(t *testing.T) {
	t.Parallel()
	sink, _ := cacheRun(t, serveCache(event("late")), []string{"cache-prices"}, func(c *Client) { c.cacheWindow = time.Nanosecond })
	ev := sink.next(t, record.TypeEvent)
	assert.Equal(t, "late", ev.Event)
	assert.False(t, ev.Cached)
}

// TestCacheOfEachChannel: two cache channels confirmed back to back, their
// cached events interleaved: each channel's first event is its cache.
func TestCacheOfEachChannel(t *testing.T) {
	t.Parallel()
	script := func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		for range 2 {
			if _, msg, err := c.ReadMessage(); err != nil || gjson.GetBytes(msg, "event").String() != "pusher:subscribe" {
				return
			}
		}
		for _, f := range []string{
			`{"event":"pusher_internal:subscription_succeeded","channel":"cache-a","data":"{}"}`,
			`{"event":"pusher_internal:subscription_succeeded","channel":"cache-b","data":"{}"}`,
		} {
			_ = c.Send([]byte(f))
		}
		_ = c.Send(hostiletest.Event("cache-b", "b-cached", `{}`))
		_ = c.Send(hostiletest.Event("cache-a", "a-cached", `{}`))
		_ = c.Send(hostiletest.Event("cache-b", "b-live", `{}`))
		_ = c.Send(cacheMiss("cache-a", 0)) // out of turn: still a miss, and a-live stays live
		_ = c.Send(hostiletest.Event("cache-a", "a-live", `{}`))
		c.Serve()
	}
	sink, _ := cacheRun(t, script, []string{"cache-a", "cache-b"}, nil)
	got := map[string]bool{}
	for range 4 {
		ev := sink.next(t, record.TypeEvent)
		got[ev.Event] = ev.Cached
	}
	assert.Equal(t, map[string]bool{"a-cached": true, "b-cached": true, "a-live": false, "b-live": false}, got)
}

func TestIsCacheChannel(t *testing.T) {
	t.Parallel()
	for _, ch := range []string{"cache-x", "private-cache-x", "presence-cache-x", "private-encrypted-cache-x", "cachex", "cache"} {
		assert.True(t, IsCacheChannel(ch), ch)
	}
	for _, ch := range []string{"chat", "private-chat", "presence-chat", "private-encrypted-chat", "private-cachex", "x-cache-y", "Cache-x"} {
		assert.False(t, IsCacheChannel(ch), ch)
	}
}

// TestCacheWindowEdges drives the session with the reader's timestamps:
// each channel has its own window from its own confirmation, and once
// every window is over nothing is waited for (the hot path is back to a
// length check).
func TestCacheWindowEdges(t *testing.T) {
	t.Parallel()
	sink := newSink()
	s := &session{c: New(Options{Sink: sink}), socketID: "1.1", keys: map[string]*[32]byte{}, members: map[string]map[string][]byte{}}
	t0 := time.Now()
	send := func(ms int, msg string) record.Record {
		t.Helper()
		require.NoError(t, s.handle(frame{ts: t0.Add(time.Duration(ms) * time.Millisecond), data: []byte(msg)}))
		return receive(t, sink.ch, "the record of "+msg)
	}
	confirm := func(ch string) string {
		return `{"event":"pusher_internal:subscription_succeeded","channel":"` + ch + `","data":"{}"}`
	}
	ev := func(ch string) string { return `{"event":"e","channel":"` + ch + `","data":"{}"}` }

	send(0, confirm("cache-a"))
	send(900, confirm("cache-b"))
	send(950, confirm("chat"))
	assert.False(t, send(1001, ev("cache-a")).Cached, "1 ms after cache-a's window")
	assert.Len(t, s.cacheWait, 1, "cache-a is done with")
	assert.True(t, send(1900, ev("cache-b")).Cached, "the last millisecond of cache-b's window")
	assert.False(t, send(1901, ev("cache-b")).Cached, "cache-b's second event")

	send(3000, confirm("cache-c"))
	send(3000, confirm("cache-d"))
	assert.False(t, send(4500, ev("chat")).Cached)
	assert.Empty(t, s.cacheWait, "every window is over: nothing is waited for")
	assert.False(t, send(4501, ev("cache-c")).Cached)
}

// TestCacheWithTheEmbeddedServer: the embedded server (replay --serve,
// demo) keeps cache channels as Reverb does; the client marks what it
// replays after a reconnect and shows its miss before the first event.
func TestCacheWithTheEmbeddedServer(t *testing.T) {
	t.Parallel()
	h := start(t, server.Config{}, Options{Channels: []string{"cache-prices"}})
	require.NoError(t, h.srv.WaitSubscribed(ctx10(t), "cache-prices", 1))
	miss := h.sink.next(t, record.TypeCacheMiss, record.TypeEvent)
	assert.Equal(t, record.TypeCacheMiss, miss.Type, "nothing published yet")
	h.srv.Publish("cache-prices", "PriceChanged", `{"usd":1}`, "")
	ev := h.sink.next(t, record.TypeEvent)
	assert.False(t, ev.Cached, "published live")
	h.srv.DropAll()
	ev = h.sink.next(t, record.TypeEvent, record.TypeCacheMiss)
	assert.Equal(t, record.TypeEvent, ev.Type)
	assert.True(t, ev.Cached, "replayed after the reconnect")
	assert.JSONEq(t, `{"usd":1}`, string(ev.Data))
}
