package pusher

import "context"

// sendRequest is one frame for the session's run loop to write.
type sendRequest struct {
	msg  []byte
	done chan error // buffered: the loop never waits for the sender
}

// Send writes msg, one JSON text frame such as a client event
// ({"event":"client-typing","channel":"private-chat.42","data":{...}}), on
// the live connection. The frame goes through the session's run loop, the
// one writer of data frames, and Send returns once the write has completed
// (nil) or failed (the connection is then treated as lost and Run
// reconnects). While no connection is live (before the first handshake,
// during a reconnect, after Run returned) Send waits for one; it returns
// ctx.Err() when ctx ends first. Send may be called from any goroutine, but
// not from a Sink, whose Write runs on the loop itself.
func (c *Client) Send(ctx context.Context, msg []byte) error {
	req := sendRequest{msg: msg, done: make(chan error, 1)}
	select {
	case c.sends <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
