package server

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cacheMiss is the frame a cache channel's subscriber gets when nothing is
// cached.
func cacheMiss(channel string) string {
	return `{"event":"pusher:cache_miss","channel":` + quote(channel) + `}`
}

func TestCacheChannelSendsTheLastEventOrAMiss(t *testing.T) {
	t.Parallel()
	for _, like := range []Like{LikePusher, LikeReverb} {
		for _, channel := range []string{"cache-news", "private-cache-orders", "presence-cache-room"} {
			t.Run(like.String()+"/"+channel, func(t *testing.T) {
				t.Parallel()
				s := start(t, Config{Like: like})
				a, _ := joinAs(t, s, channel, "1")
				assert.Equal(t, cacheMiss(channel), string(a.readRaw()), "nothing cached yet: a miss, right after subscription_succeeded")

				s.Publish(channel, "first", `{"n":1}`, "")
				status, _ := signedPost(t, s, "/apps/app-id/events", `{"name":"App\\Events\\Price","channel":`+quote(channel)+`,"data":"{\"n\":2}"}`)
				require.Equal(t, http.StatusOK, status)
				a.expect("first")
				last := string(a.readRaw())

				b, _ := joinAs(t, s, channel, "2")
				assert.Equal(t, last, string(b.readRaw()), "the last event, as it was sent, right after subscription_succeeded")
				b.expectNoReply()
				if s.kindOf(channel).presence {
					a.expect("pusher_internal:member_added")
				}
				a.expectNoReply()
			})
		}
	}
}

func TestCacheKeptWhileSubscribedWithReverbForThirtyMinutesWithPusher(t *testing.T) {
	t.Parallel()
	const channel = "cache-news"
	for _, like := range []Like{LikePusher, LikeReverb} {
		t.Run(like.String(), func(t *testing.T) {
			t.Parallel()
			var clock atomic.Int64
			clock.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Unix())
			s := start(t, Config{Like: like, Now: func() time.Time { return time.Unix(clock.Load(), 0) }})

			// Published while the channel has a subscriber, which then leaves.
			a, _ := joinAs(t, s, channel, "")
			a.readRaw() // the miss
			s.Publish(channel, "while-subscribed", "{}", "")
			want := string(a.readRaw())
			require.NoError(t, a.ws.Close())
			require.NoError(t, s.WaitSubscribed(testCtx(t), channel, 0))
			b, _ := joinAs(t, s, channel, "")
			if like == LikeReverb {
				assert.Equal(t, cacheMiss(channel), string(b.readRaw()), "Reverb's cache goes with the channel's last subscriber")
			} else {
				assert.Equal(t, want, string(b.readRaw()), "Pusher keeps it")
			}
			require.NoError(t, b.ws.Close())
			require.NoError(t, s.WaitSubscribed(testCtx(t), channel, 0))

			// Published while nobody is subscribed.
			s.Publish(channel, "to-nobody", "{}", "")
			c, _ := joinAs(t, s, channel, "")
			if like == LikeReverb {
				assert.Equal(t, cacheMiss(channel), string(c.readRaw()), "Reverb drops events for channels nobody is subscribed to")
			} else {
				c.expect("to-nobody")
			}
			require.NoError(t, c.ws.Close())
			require.NoError(t, s.WaitSubscribed(testCtx(t), channel, 0))

			if like == LikePusher {
				clock.Add(int64(pusherCacheTTL/time.Second) + 1)
				d, _ := joinAs(t, s, channel, "")
				assert.Equal(t, cacheMiss(channel), string(d.readRaw()), "Pusher keeps it for 30 minutes")
			}
		})
	}
}

func TestCacheOfWhispersAndOtherKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		like    Like
		channel string
		whisper bool   // a client event is relayed first
		want    string // what a later subscriber gets after subscription_succeeded; "" for nothing
	}{
		// Reverb's CacheChannel keeps whatever it broadcasts, whispers too.
		{LikeReverb, "cache-room", true, `{"event":"client-typing","channel":"cache-room","data":{"typing":true}}`},
		{LikeReverb, "private-cache-room", true, `{"event":"client-typing","channel":"private-cache-room","data":{"typing":true}}`},
		{LikePusher, "private-cache-room", true, cacheMiss("private-cache-room")},
		// Reverb's "cache" prefix needs no hyphen; Pusher's does.
		{LikeReverb, "cacheroom", false, cacheMiss("cacheroom")},
		{LikePusher, "cacheroom", false, ""},
		// Reverb has no encrypted cache channels.
		{LikePusher, "private-encrypted-cache-room", false, cacheMiss("private-encrypted-cache-room")},
		{LikeReverb, "private-encrypted-cache-room", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.like.String()+"/"+tt.channel, func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Like: tt.like})
			a, _ := joinAs(t, s, tt.channel, "")
			b, _ := joinAs(t, s, tt.channel, "")
			if s.kindOf(tt.channel).cache {
				a.readRaw() // the misses
				b.readRaw()
			}
			if tt.whisper {
				a.send(`{"event":"client-typing","channel":` + quote(tt.channel) + `,"data":{"typing":true}}`)
				b.expect("client-typing")
			}
			c, _ := joinAs(t, s, tt.channel, "")
			if tt.want == "" {
				c.expectNoReply()
				return
			}
			assert.JSONEq(t, tt.want, string(c.readRaw()))
		})
	}
}

func TestCacheOfPlayedEvents(t *testing.T) {
	t.Parallel()
	const channel = "cache-prices"
	rec := &Recording{Items: []Item{
		ev(0, channel, "price", `{"n":1}`),
		ev(time.Millisecond, channel, "price", `{"n":2}`),
	}}
	for _, like := range []Like{LikePusher, LikeReverb} {
		t.Run(like.String(), func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{Like: like, Recording: rec})
			a, _ := joinAs(t, s, channel, "")
			assert.Equal(t, cacheMiss(channel), string(a.readRaw()), "the miss comes before the playback")
			a.expect("price")
			last := string(a.readRaw())

			b, _ := joinAs(t, s, channel, "")
			assert.Equal(t, last, string(b.readRaw()), "the last event played to anyone")
			assert.JSONEq(t, `{"n":1}`, dataOf(t, b.expect("price")).Raw, "then its own playback from the start")
			assert.JSONEq(t, `{"n":2}`, dataOf(t, b.expect("price")).Raw)
		})
	}
}
