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

// CodeHint says what a user can do about a Pusher close or pusher:error
// code (4001: check --key, ...); "" when there is nothing specific to say.
func CodeHint(code int) string { return closeHint(code) }

// ErrorData reads the code and message of a pusher:error frame's Data in
// both encodings (Pusher's and Soketi's object, Reverb's JSON string); a
// missing or null code is 0.
func ErrorData(data []byte) (code int, message string) { return errorData(data) }
