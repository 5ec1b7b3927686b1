package server

import "sync"

// DefaultMaxQueueBytes is the default of Config.MaxQueueBytes.
const DefaultMaxQueueBytes = 4 << 20

// queue holds one connection's frames until its writer has sent them,
// bounded in bytes rather than frames, and allocated as it fills: the
// frames sit in chunks taken from a pool shared by every connection and
// given back as soon as they are written, so an idle connection holds no
// chunk, and a client that stops reading holds at most max bytes of frames
// (plus the one being written) before it is dropped.
//
// Frames queued with srv.mu held (push) never wait: over max they close
// the queue, and the caller drops the connection. Frames whose senders may
// wait (pushOrWait: Publish, playback, SendRaw) wait while the queue holds
// more than max/2, which keeps the other half for the frames that cannot
// wait. A frame always fits in an empty queue, so one larger than max still
// goes out.
type queue struct {
	mu         sync.Mutex
	head, tail *chunk // frames in order: head.items[r:], ..., tail.items[:w]
	r, w       int
	n          int // frames queued
	bytes      int // cost of the frames queued or being written
	max        int
	closed     bool          // the connection ended or overflowed: frames are dropped
	wake       chan struct{} // holds a token when there are frames to write
	room       chan struct{} // closed when frames are written; nil until someone waits
}

const chunkLen = 64

type chunk struct {
	items [chunkLen]outbound
	next  *chunk
}

var chunks = sync.Pool{New: func() any { return new(chunk) }}

func (q *queue) init(max int) {
	q.max = max
	q.wake = make(chan struct{}, 1)
}

// push queues o without waiting. It reports true, once, when o would have
// taken the queue over its budget: the queue is then closed and emptied,
// and the caller drops the connection. Frames pushed to a closed queue are
// dropped.
func (q *queue) push(o outbound) (overflow bool) {
	cost := o.cost()
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return false
	case cost > 0 && q.bytes > 0 && q.bytes+cost > q.max:
		q.closeLocked()
		q.mu.Unlock()
		return true
	}
	q.appendLocked(o, cost)
	q.mu.Unlock()
	q.signal()
	return false
}

// pushOrWait queues o if there is room for it. Otherwise it returns a
// channel that is closed when frames have been written: wait for it (or for
// the connection to end) and try again. queued is false when the queue is
// closed.
func (q *queue) pushOrWait(o outbound) (queued bool, room <-chan struct{}) {
	cost := o.cost()
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return false, nil
	case cost > 0 && q.bytes > 0 && q.bytes+cost > q.max/2:
		if q.room == nil {
			q.room = make(chan struct{})
		}
		room = q.room
		q.mu.Unlock()
		return false, room
	}
	q.appendLocked(o, cost)
	q.mu.Unlock()
	q.signal()
	return true, nil
}

func (q *queue) appendLocked(o outbound, cost int) {
	if q.tail == nil || q.w == chunkLen {
		c := chunks.Get().(*chunk)
		if q.tail == nil {
			q.head, q.r = c, 0
		} else {
			q.tail.next = c
		}
		q.tail, q.w = c, 0
	}
	q.tail.items[q.w] = o
	q.w++
	q.n++
	q.bytes += cost
}

// signal tells the writer there is work; it never blocks.
func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// next is the writer's: it releases the cost of the frame it has just
// written (0 for none), waking the senders waiting for room once there is
// some, and takes the next frame, if any. A frame's cost stays counted
// while it is being written.
func (q *queue) next(written int) (outbound, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.bytes -= written
	if q.room != nil && q.bytes <= q.max/2 {
		close(q.room)
		q.room = nil
	}
	if q.n == 0 {
		return outbound{}, false
	}
	o := q.head.items[q.r]
	q.head.items[q.r] = outbound{}
	q.r++
	q.n--
	if q.r == chunkLen || q.n == 0 {
		q.releaseHeadLocked()
	}
	return o, true
}

// releaseHeadLocked gives the head chunk, whose frames are all taken, back
// to the pool.
func (q *queue) releaseHeadLocked() {
	c := q.head
	q.head, q.r = c.next, 0
	if q.head == nil {
		q.tail, q.w = nil, 0
	}
	c.next = nil
	chunks.Put(c)
}

// close drops the queued frames and every later one, and wakes the
// senders waiting for room.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closeLocked()
}

func (q *queue) closeLocked() {
	q.closed = true
	for q.n > 0 {
		q.bytes -= q.head.items[q.r].cost()
		q.head.items[q.r] = outbound{}
		q.r++
		q.n--
		if q.r == chunkLen || q.n == 0 {
			q.releaseHeadLocked()
		}
	}
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
}
