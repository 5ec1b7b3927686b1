package server

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync/atomic"
	"time"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/english"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/nacl/secretbox"

	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/record"
)

// Playback: every subscription to a channel that the recording has items
// for gets its own goroutine, started once subscription_succeeded is queued,
// which sends the channel's items in order at their recorded offsets
// (scaled by Config.Speed) from the moment of the subscription, and again
// and again with Config.Loop. Unsubscribing or closing stops it at once:
// the goroutine ends, and frames it queued but the writer has not sent yet
// are dropped (see Conn.writeLoop), so nothing of the channel follows the
// unsubscribe.

// playback is one subscription's playing of the recording.
type playback struct {
	conn    *Conn
	channel string
	items   []Item
	start   time.Time     // the subscription moment
	stop    chan struct{} // closed by leaveLocked
	stopped atomic.Bool   // set before stop is closed; read by the writer
}

// indexRecording groups the items the server can play by channel, in
// recording order.
func (s *Server) indexRecording(rec *Recording) map[string][]Item {
	if rec == nil {
		return nil
	}
	byChannel := make(map[string][]Item)
	for _, it := range rec.Items {
		switch it.Type {
		case "", record.TypeEvent:
		case record.TypeMemberAdded, record.TypeMemberRemoved:
			if !s.kindOf(it.Channel).presence || it.UserID == "" {
				continue
			}
		default:
			continue // connection and protocol records are not replayed
		}
		byChannel[it.Channel] = append(byChannel[it.Channel], it)
	}
	return byChannel
}

// logPlaybackLocked tells Logf that c's subscription to channel is about to
// be played; joinLocked calls it before queueing subscription_succeeded, so
// the line is written before the client can see any reply.
func (s *Server) logPlaybackLocked(c *Conn, channel string) {
	if items := s.recorded[channel]; len(items) > 0 {
		s.logf("playing %s on %s to socket %s", english.Count(len(items), "event"), clip(channel), c.socketID)
	}
}

// startPlaybackLocked starts playing the recording's items of channel to c,
// if it has any. Called by joinLocked after subscription_succeeded is
// queued.
func (s *Server) startPlaybackLocked(c *Conn, channel string) {
	items := s.recorded[channel]
	if len(items) == 0 {
		return
	}
	pb := &playback{conn: c, channel: channel, items: items, start: time.Now(), stop: make(chan struct{})}
	c.playbacks[channel] = pb
	s.playing++
	s.wg.Add(1) // c's goroutine is counted, so Close is not waiting on zero
	go func() {
		defer s.wg.Done()
		s.play(pb)
		s.mu.Lock()
		s.playing--
		s.notifyLocked()
		s.mu.Unlock()
	}()
}

// stopPlaybackLocked stops c's playback of channel, if any.
func (s *Server) stopPlaybackLocked(c *Conn, channel string) {
	pb := c.playbacks[channel]
	if pb == nil {
		return
	}
	delete(c.playbacks, channel)
	pb.stopped.Store(true)
	close(pb.stop)
}

// play sends pb's items until they are done (without Loop) or the
// subscription ends.
func (s *Server) play(pb *playback) {
	rec := s.cfg.Recording.Items
	first, last := rec[0].Offset, rec[len(rec)-1].Offset
	var key *[32]byte
	if strings.HasPrefix(pb.channel, prefixEncrypted) {
		k := auth.SharedSecret(pb.channel, s.cfg.EncryptionMasterKey)
		key = &k
	}
	cache := s.kindOf(pb.channel).cache
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	wait := func(until time.Time) bool {
		d := time.Until(until)
		if d <= 0 {
			return !pb.stopped.Load()
		}
		timer.Reset(d)
		select {
		case <-timer.C:
			return true
		case <-pb.stop:
			return false
		case <-pb.conn.done:
			return false
		}
	}

	start := pb.start
	for {
		for _, it := range pb.items {
			if !wait(start.Add(s.scale(it.Offset - first))) {
				return
			}
			msg := playFrame(pb.channel, it, key)
			if cache && (it.Type == "" || it.Type == record.TypeEvent) {
				s.keepLast(pb.channel, msg)
			}
			if !pb.conn.sendPlayback(pb, msg) {
				return
			}
		}
		if !s.cfg.Loop {
			return
		}
		// The next round starts where the recording ends, plus the gap,
		// so every channel of the recording keeps its place in it.
		start = start.Add(s.scale(last - first)).Add(s.cfg.LoopGap)
		if now := time.Now(); start.Before(now) {
			start = now // a slow client: do not rush through the next round
		}
		if !wait(start) {
			return
		}
	}
}

// keepLast records a played event as its cache channel's last event.
func (s *Server) keepLast(channel string, msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keepLastLocked(channel, s.channels[channel], msg)
}

// scale divides a recorded interval by Speed; at Speed 0 everything is due
// at once.
func (s *Server) scale(d time.Duration) time.Duration {
	if s.cfg.Speed == 0 || d <= 0 {
		return 0
	}
	return time.Duration(float64(d) / s.cfg.Speed)
}

// playFrame builds the frame of a recorded item on channel; key, when not
// nil, encrypts an event's data the way Pusher's server libraries do.
func playFrame(channel string, it Item, key *[32]byte) []byte {
	switch it.Type {
	case record.TypeMemberAdded:
		info := bytes.TrimSpace(it.Data)
		if string(info) == "null" {
			info = nil
		}
		return frame("pusher_internal:member_added", channel, jsonString(string(memberAddedData(it.UserID, info))), "")
	case record.TypeMemberRemoved:
		return frame("pusher_internal:member_removed", channel, jsonString(string(memberRemovedData(it.UserID))), "")
	}
	data := eventData(it.Data)
	if key != nil {
		data = jsonString(string(encrypt(key, []byte(dataString(data)))))
	}
	return frame(it.Event, channel, data, it.UserID)
}

// eventData returns the wire "data" of a recorded event: a JSON string
// holding the recorded JSON (Pusher's double encoding), or the recorded
// value itself when it already is a string. No data is sent as "".
func eventData(raw []byte) []byte {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return []byte(`""`)
	case raw[0] == '"':
		return jsonsafe.FixUTF8(raw)
	}
	return jsonString(string(raw))
}

// dataString decodes a JSON string literal made by eventData.
func dataString(lit []byte) string {
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return string(lit) // a recorded string that was not valid JSON: keep its bytes
	}
	return s
}

// SharedSecret is the base64 shared secret of an encrypted channel, the one
// /broadcasting/auth hands out for it.
func (s *Server) SharedSecret(channel string) string {
	k := auth.SharedSecret(channel, s.cfg.EncryptionMasterKey)
	return base64.StdEncoding.EncodeToString(k[:])
}

// encrypt seals plaintext with a random nonce and returns
// {"nonce":"<base64>","ciphertext":"<base64>"}.
func encrypt(key *[32]byte, plaintext []byte) []byte {
	var nonce [24]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails
	box := secretbox.Seal(nil, plaintext, &nonce, key)
	b := []byte(`{"nonce":"`)
	b = base64.StdEncoding.AppendEncode(b, nonce[:])
	b = append(b, `","ciphertext":"`...)
	b = base64.StdEncoding.AppendEncode(b, box)
	return append(b, `"}`...)
}

// sendPlayback queues a playback frame, waiting for room in the queue (a
// slow reader slows the playback down); false when the connection or the
// subscription has ended.
func (c *Conn) sendPlayback(pb *playback, msg []byte) bool {
	if c.silent.Load() {
		return !pb.stopped.Load()
	}
	return c.enqueueWait(outbound{kind: outMessage, msgType: websocket.TextMessage, data: msg, pb: pb}, pb.stop)
}
