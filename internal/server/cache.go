package server

import (
	"time"

	"github.com/gorilla/websocket"
)

// Cache channels (pusher-protocol.md §3.1, §9.1): right after
// subscription_succeeded a subscriber of a cache channel gets the channel's
// last event, as it was sent, or {"event":"pusher:cache_miss","channel":…}
// when there is none. The last event is the last one published through
// the HTTP API or Publish, or played from the recording to any subscriber;
// with LikeReverb also the last relayed client event, as Reverb's
// CacheChannel keeps whatever it broadcasts.
//
// How long it is kept differs: Reverb keeps it on the channel, so it is
// gone once the last subscriber leaves, and an event published to a
// channel nobody is subscribed to is not kept at all; Pusher keeps it for
// 30 minutes whether anyone is subscribed or not.

// pusherCacheTTL is how long Pusher keeps a cache channel's last event.
const pusherCacheTTL = 30 * time.Minute

// cachedEvent is a cache channel's last event with LikePusher.
type cachedEvent struct {
	frame []byte
	at    time.Time
}

// keepLastLocked records msg as channel's last event, if it is a cache
// channel. ch is the channel's state, nil when nobody is subscribed.
func (s *Server) keepLastLocked(name string, ch *channel, msg []byte) {
	if !s.kindOf(name).cache {
		return
	}
	if s.cfg.Like == LikeReverb {
		if ch != nil {
			ch.last = msg
		}
		return
	}
	s.cached[name] = cachedEvent{frame: msg, at: s.cfg.Now()}
}

// sendCachedLocked sends c, just subscribed to the cache channel name, the
// channel's last event or pusher:cache_miss.
func (s *Server) sendCachedLocked(c *Conn, name string, ch *channel) {
	var last []byte
	if s.cfg.Like == LikeReverb {
		last = ch.last
	} else if e, ok := s.cached[name]; ok {
		if s.cfg.Now().Sub(e.at) < pusherCacheTTL {
			last = e.frame
		} else {
			delete(s.cached, name)
		}
	}
	if last == nil {
		last = frame("pusher:cache_miss", name, nil, "")
	}
	c.send(websocket.TextMessage, last)
}
