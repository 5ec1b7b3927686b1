package server

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Server pings, as Reverb sends them (pusher-protocol.md §5): a client
// that has sent nothing for Config.PingInterval gets {"event":"pusher:ping"}
// (a WebSocket ping frame instead once it has sent a control frame itself,
// as Reverb's usesControlFrames), and a client still silent PingInterval
// after that ping is dropped: Reverb sends pusher:error 4201 "Pong reply
// not received in time" and closes TCP; Pusher closes with 4201. Anything
// the client sends counts as an answer, a pusher:ping or a WebSocket pong
// included.
//
// Reverb checks every 60 s and pings after its ping_interval (60 s by
// default) of silence, so it pings after 60 to 120 s and drops 60 s later.
// This server uses the activity_timeout it announces (30 s by default) as
// the interval, checked exactly, so a client that keeps the activity
// timeout pusher-js keeps is never pinged, and one that does not is found
// out within twice that.

// keepalive is one connection's ping state.
type keepalive struct {
	interval time.Duration
	timer    *time.Timer

	mu       sync.Mutex
	pingedAt time.Duration // since srv.epoch; 0 when no ping is unanswered
}

// pingInterval is the effective Config.PingInterval; 0 means no pings.
func (c *Config) pingInterval() time.Duration {
	switch {
	case c.PingInterval < 0:
		return 0
	case c.PingInterval > 0:
		return c.PingInterval
	case c.Like == LikeReverb:
		return time.Duration(c.ActivityTimeout) * time.Second
	}
	return 0
}

// since is the time on the server's monotonic clock.
func (s *Server) since() time.Duration { return time.Since(s.epoch) }

// touch records that the client sent something.
func (c *Conn) touch() {
	if c.ka != nil {
		c.lastSeen.Store(int64(c.srv.since()))
	}
}

// startKeepalive arms the connection's ping timer, when pings are on.
func (c *Conn) startKeepalive() {
	iv := c.srv.cfg.pingInterval()
	if iv <= 0 {
		return
	}
	c.ka = &keepalive{interval: iv}
	c.lastSeen.Store(int64(c.srv.since()))
	c.ka.mu.Lock()
	defer c.ka.mu.Unlock()
	c.ka.timer = time.AfterFunc(iv, c.checkActivity)
}

// stopKeepalive disarms the ping timer; a check already running finds the
// connection done and does nothing.
func (c *Conn) stopKeepalive() {
	if c.ka == nil {
		return
	}
	c.ka.mu.Lock()
	defer c.ka.mu.Unlock()
	if c.ka.timer != nil {
		c.ka.timer.Stop()
	}
}

// checkActivity runs when the client may have been silent for the
// interval: it pings it, drops it when a ping went unanswered, or waits
// for the rest of the interval.
func (c *Conn) checkActivity() {
	ka := c.ka
	ka.mu.Lock()
	defer ka.mu.Unlock()
	select {
	case <-c.done:
		return
	default:
	}
	now, last := c.srv.since(), time.Duration(c.lastSeen.Load())
	if ka.pingedAt != 0 && last >= ka.pingedAt {
		ka.pingedAt = 0 // answered
	}
	if ka.pingedAt == 0 {
		if idle := now - last; idle < ka.interval {
			ka.timer.Reset(ka.interval - idle)
			return
		}
		c.ping()
		ka.pingedAt = now
		ka.timer.Reset(ka.interval)
		return
	}
	if waited := now - ka.pingedAt; waited < ka.interval {
		ka.timer.Reset(ka.interval - waited)
		return
	}
	c.srv.logf("connection %d (socket %s): no answer to a ping in %v, dropping it", c.num, c.socketID, ka.interval)
	if c.srv.cfg.Like == LikeReverb {
		c.sendError("", CodePongTimeout, "Pong reply not received in time")
		c.enqueue(outbound{kind: outDrop})
		return
	}
	c.enqueue(outbound{kind: outClose, code: CodePongTimeout, reason: "Pong reply not received"})
}

// serverPing is Reverb's ping message.
var serverPing = []byte(`{"event":"pusher:ping"}`)

// ping sends a ping message, or a ping frame to a client that uses control
// frames.
func (c *Conn) ping() {
	if c.usesControl.Load() {
		c.send(websocket.PingMessage, nil)
		return
	}
	c.send(websocket.TextMessage, serverPing)
}
