package pusher

import (
	"errors"
	"fmt"
	"strings"

	"github.com/amusoft/tmsws/internal/english"
)

// ConnError is a connection that could not be made or kept: the exit code 4
// family. Hint says what to do about it.
type ConnError struct {
	URL      string
	Code     int // Pusher close or error code, 0 when none
	Reason   string
	Attempts int // reconnect attempts made before giving up
	Err      error
	Hint     string
}

func (e *ConnError) Error() string {
	var b strings.Builder
	b.WriteString("connect ")
	b.WriteString(e.URL)
	if e.Attempts > 0 {
		fmt.Fprintf(&b, ": gave up after %s", english.Count(e.Attempts, "reconnect attempt"))
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Code, e.Reason)
	} else if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *ConnError) Unwrap() error { return e.Err }

// SubscriptionError is a channel the server or the auth endpoint refused:
// the exit code 3 family.
type SubscriptionError struct {
	Channel string
	Code    int // server error code or HTTP status, 0 when none
	Message string
	Err     error // the authorization error, when authorization failed
}

func (e *SubscriptionError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	s := "subscribe " + e.Channel + ": refused by the server"
	if e.Code != 0 {
		s += fmt.Sprintf(" (%d)", e.Code)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *SubscriptionError) Unwrap() error { return e.Err }

// Hint says what to do about a refused subscription when the server, not
// the auth endpoint, refused it.
func (e *SubscriptionError) Hint() string {
	if e.Err != nil {
		return ""
	}
	if strings.Contains(e.Message, "signature") || e.Code == 4009 || e.Code == 401 {
		return "the server rejected the channel signature: the auth endpoint signs with a different app key/secret than this server uses (check --key, or --app-secret)"
	}
	return "the server refused the subscription: check the channel name and the app's limits"
}

// closeAction is what a Pusher close or error code asks the client to do.
type closeAction int

const (
	actionBackoff  closeAction = iota // reconnect after the policy delay
	actionRetryNow                    // 4200–4299: reconnect at once
	actionStop                        // 4000–4099 and 4300 up: do not reconnect
)

// actionFor is pusher-js's getCloseAction: 4000–4099 are refusals,
// 4100–4199 ask for a backoff, 4200–4299 for an immediate reconnect, and
// 4300 and above are errors that a reconnect does not mend. Anything else
// (1000–3999, no code) is a drop, retried after the policy delay.
func actionFor(code int) closeAction {
	switch {
	case code >= 4000 && code <= 4099, code >= 4300 && code <= 4999:
		return actionStop
	case code >= 4200 && code <= 4299:
		return actionRetryNow
	default:
		return actionBackoff
	}
}

// CodeHint says what a user can do about a Pusher close or pusher:error
// code (4001: check --key, ...); "" when there is nothing specific to say.
func CodeHint(code int) string {
	switch code {
	case 4000:
		return "the server only accepts TLS: use --scheme https"
	case 4001:
		return "the server does not know this app key: check --key (TMSWS_KEY)"
	case 4003:
		return "the app is disabled on the server"
	case 4004, 4100:
		return "the app is over its connection quota: close other connections or raise the limit"
	case 4005:
		return "path not found: check --host and --key"
	case 4006, 4007, 4008:
		return "the server refused protocol version 7"
	case 4009:
		return "the server refused the connection: if the app restricts origins, send one with -H 'Origin: https://your.app'"
	case 4301:
		return "the server refused a client event over its rate limit"
	}
	if code >= 4200 && code <= 4299 {
		return "the server asked for a reconnect (it may be restarting): try again in a moment"
	}
	return ""
}

// disconnect is why a live session ended.
type disconnect struct {
	code   int
	reason string
	err    error
}

func (d *disconnect) Error() string {
	switch {
	case d.code != 0 && d.reason != "":
		return fmt.Sprintf("closed with %d %s", d.code, d.reason)
	case d.code != 0:
		return fmt.Sprintf("closed with %d", d.code)
	case d.err != nil:
		return d.err.Error()
	}
	return d.reason
}

func (d *disconnect) Unwrap() error { return d.err }

// ErrStop may be returned by a Sink to end Run without an error.
var ErrStop = errors.New("stop")
