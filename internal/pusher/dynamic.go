package pusher

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/record"
)

// Channels added while the client runs (Subscribe) and removed again
// (Unsubscribe). The client keeps the set, under mu; the live session's
// run loop, the one writer, brings its connection in line with the set
// whenever a dynOp asks it to, and a new session (after every reconnect)
// subscribes the whole set after the Options.Channels. A dynamic channel
// that is refused (by the Authorizer or the server) is taken out of the
// set with a subscription_error record and a warning; Run goes on.

// dynOp asks the live session to bring one channel in line with the set.
type dynOp struct {
	channel string
	done    chan error // buffered; always answered before the session's ended closes
}

// liveSession is how Subscribe and Unsubscribe reach the session that runs.
type liveSession struct {
	ops   chan dynOp
	ended chan struct{}
}

// dynState is where a dynamic channel stands on one connection.
type dynState uint8

const (
	dynAuthorizing dynState = iota + 1 // the Authorizer is asked; no frame sent yet
	dynSent                            // pusher:subscribe sent
)

// Subscribe adds channel to the client's set while it runs: it is
// authorized (Authorizer) and subscribed on the live connection, and again
// after every reconnect, like the Options.Channels. Safe from any
// goroutine (not from a Sink, whose Write runs on the loop itself);
// returns once the subscribe frame was sent or queued for the next
// connection; a channel already in the set is a no-op. When the
// Authorizer refuses the channel, Subscribe returns that error (a
// *SubscriptionError) and the channel is not in the set; a refusal by the
// server comes later, as a subscription_error record. Neither ends Run.
func (c *Client) Subscribe(ctx context.Context, channel string) error {
	c.mu.Lock()
	if slices.Contains(c.opts.Channels, channel) || c.dynSet[channel] {
		c.mu.Unlock()
		return nil
	}
	c.dynSet[channel] = true
	c.dynamic = append(c.dynamic, channel)
	live := c.live
	c.mu.Unlock()
	return live.ask(ctx, channel)
}

// Unsubscribe removes channel from the set: pusher:unsubscribe is sent on
// the live connection and it is not subscribed again. It returns once the
// frame was sent (or no connection is live). A channel not added with
// Subscribe is a no-op.
func (c *Client) Unsubscribe(ctx context.Context, channel string) error {
	c.mu.Lock()
	if !c.dynSet[channel] {
		c.mu.Unlock()
		return nil
	}
	c.dropDynamicLocked(channel)
	live := c.live
	c.mu.Unlock()
	return live.ask(ctx, channel)
}

func (c *Client) dropDynamicLocked(channel string) {
	delete(c.dynSet, channel)
	if i := slices.Index(c.dynamic, channel); i >= 0 {
		c.dynamic = slices.Delete(c.dynamic, i, i+1)
	}
}

// wantsDynamic reports whether channel is in the dynamic set now.
func (c *Client) wantsDynamic(channel string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dynSet[channel]
}

// ask hands the live session an op for channel and waits for its answer;
// with no session (nil, or one that ends first) the set alone decides what
// the next connection subscribes.
func (l *liveSession) ask(ctx context.Context, channel string) error {
	if l == nil {
		return nil
	}
	op := dynOp{channel: channel, done: make(chan error, 1)}
	select {
	case l.ops <- op:
	case <-l.ended:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// goLive registers s as the live session and returns the dynamic channels
// it must subscribe: both under one lock, so that a Subscribe either finds
// s live (and asks it) or is in the snapshot.
func (s *session) goLive() []string {
	c := s.c
	s.live = &liveSession{ops: make(chan dynOp), ended: make(chan struct{})}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live = s.live
	return slices.Clone(c.dynamic)
}

// endLive answers every op still waiting (the channel stays queued for the
// next connection) and takes s off the client.
func (s *session) endLive() {
	if s.live == nil {
		return
	}
	c := s.c
	c.mu.Lock()
	if c.live == s.live {
		c.live = nil
	}
	c.mu.Unlock()
	for ch, ws := range s.waiters {
		for _, w := range ws {
			w <- nil
		}
		delete(s.waiters, ch)
	}
	close(s.live.ended)
}

// reconcile brings the connection in line with the set for one channel:
// subscribe it when it is wanted and not on this connection, unsubscribe
// it when it is on this connection and no longer wanted. done, when not
// nil, is answered once that is done. A non-nil error ends the session.
func (s *session) reconcile(channel string, done chan error) error {
	want := s.c.wantsDynamic(channel)
	_, have := s.dyn[channel]
	switch {
	case want && !have:
		if done != nil {
			s.waiters[channel] = append(s.waiters[channel], done)
		}
		return s.subscribeDynamic(channel)
	case !want && have:
		err := s.unsubscribeDynamic(channel)
		s.answer(channel, nil)
		if done != nil {
			done <- nil
		}
		return err
	}
	if done != nil {
		done <- nil
	}
	return nil
}

// subscribeDynamic starts the subscription of a dynamic channel.
func (s *session) subscribeDynamic(channel string) error {
	if !needsAuth(channel) {
		s.dyn[channel] = dynSent
		err := s.sendSubscribe(channel, auth.Result{})
		s.answer(channel, nil)
		return err
	}
	s.dyn[channel] = dynAuthorizing
	if err := s.subscribe(s.authCtx, channel); err != nil {
		var sub *SubscriptionError
		if errors.As(err, &sub) {
			return s.dynRefused(channel, sub, nil)
		}
		return err
	}
	return nil
}

// unsubscribeDynamic leaves a dynamic channel on this connection.
func (s *session) unsubscribeDynamic(channel string) error {
	st := s.dyn[channel]
	delete(s.dyn, channel)
	delete(s.members, channel)
	delete(s.keys, channel)
	delete(s.cacheWait, channel)
	if i := slices.Index(s.pending, channel); i >= 0 {
		s.pending = slices.Delete(s.pending, i, i+1)
	}
	if st != dynSent {
		return nil // authorizing: the result is dropped when it comes
	}
	b := append(s.wbuf[:0], `{"event":"pusher:unsubscribe","data":{"channel":`...)
	b = record.AppendString(b, channel)
	b = append(b, "}}"...)
	s.wbuf = b
	s.c.opts.Log.Debug("channel", "unsubscribing "+channel)
	if err := s.write(b); err != nil {
		return s.writeFailed(err)
	}
	return nil
}

// dynAuthorized handles the Authorizer's answer for a dynamic channel.
func (s *session) dynAuthorized(ar authResult) error {
	if s.dyn[ar.channel] != dynAuthorizing {
		return nil // unsubscribed meanwhile, or an answer for an earlier try
	}
	if ar.err != nil {
		return s.dynRefused(ar.channel, &SubscriptionError{Channel: ar.channel, Err: ar.err}, nil)
	}
	s.c.opts.Log.Info("auth", "authorized "+ar.channel+authorizedVia(s.c.opts.Authorizer)+" ("+ar.took.Round(time.Millisecond).String()+")")
	if isEncrypted(ar.channel) {
		key, err := decodeSharedSecret(ar.res.SharedSecret)
		if err != nil {
			return s.dynRefused(ar.channel, &SubscriptionError{Channel: ar.channel, Message: err.Error()}, nil)
		}
		s.keys[ar.channel] = key
	}
	s.dyn[ar.channel] = dynSent
	err := s.sendSubscribe(ar.channel, ar.res)
	s.answer(ar.channel, nil)
	return err
}

// dynRefused takes a refused dynamic channel out of the set and off this
// connection: a subscription_error record (rec when the server's frame
// made one) and a warning, and Run goes on.
func (s *session) dynRefused(channel string, sub *SubscriptionError, rec *record.Record) error {
	c := s.c
	c.mu.Lock()
	c.dropDynamicLocked(channel)
	c.mu.Unlock()
	delete(s.dyn, channel)
	delete(s.keys, channel)
	if i := slices.Index(s.pending, channel); i >= 0 {
		s.pending = slices.Delete(s.pending, i, i+1)
	}
	c.opts.Log.Warn("channel", sub.Error()+": left out, the other channels go on")
	if rec == nil {
		rec = &record.Record{TS: time.Now(), Type: record.TypeSubscriptionError, Channel: channel, SocketID: s.socketID, Message: sub.Error()}
	}
	s.answer(channel, sub)
	return c.opts.Sink.Write(rec)
}

// answer tells the Subscribe calls waiting on channel how it went.
func (s *session) answer(channel string, err error) {
	for _, w := range s.waiters[channel] {
		w <- err
	}
	delete(s.waiters, channel)
}
