package pusherapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/pusher"
)

// Refusal is a refused request whose exit code is not auth.Error's: its
// message is the whole story, and the error it wraps (a *pusher.ConnError,
// a *cmdutil.UsageError) gives app.Main the code and the hint.
type Refusal struct {
	Msg   string
	Cause error
}

func (r *Refusal) Error() string { return r.Msg }
func (r *Refusal) Unwrap() error { return r.Cause }

// ExitError gives the refusals the contract names their exit codes: an
// unknown app id (404) is a connection that cannot be made, exit 4; a
// payload over the server's limit (413) is bad usage, exit 2. dataBytes is
// the data as given, requestBytes the request body sent.
func ExitError(e *auth.Error, appID string, dataBytes, requestBytes int) error {
	switch e.Status {
	case http.StatusNotFound:
		e.Op += fmt.Sprintf(": no app with id %s on this server", strconv.Quote(appID))
		hint := e.Hint
		e.Hint = "" // the ConnError's hint is the one printed
		return &Refusal{Msg: e.Error(), Cause: &pusher.ConnError{URL: e.URL, Code: e.Status, Reason: "no app with id " + strconv.Quote(appID), Hint: hint}}
	case http.StatusRequestEntityTooLarge:
		e.Detail = strings.TrimPrefix(e.Detail+"; ", "; ")
		e.Detail += fmt.Sprintf("the data is %d bytes, the request %d bytes, over the server's limit", dataBytes, requestBytes)
		return &Refusal{Msg: e.Error(), Cause: &cmdutil.UsageError{Msg: e.Error(), Hint: e.Hint}}
	}
	return e
}

// Meaning returns the status an answer means and the server's message.
// Soketi answers errors with HTTP 200 and {"error":"...","code":401} in the
// body, so a 2xx body with an "error" is that error.
func Meaning(resp *http.Response, body []byte) (status int, msg string, in200 bool) {
	status = resp.StatusCode
	t := bytes.TrimSpace(body)
	if len(t) > 0 && t[0] == '{' && jsonsafe.Valid(t) == nil {
		doc := gjson.ParseBytes(t)
		if e := doc.Get("error"); e.Exists() && e.Type != gjson.Null {
			msg = e.String()
			if c := doc.Get("code"); status >= 200 && status <= 299 && c.Type == gjson.Number && c.Int() >= 400 && c.Int() <= 599 {
				status, in200 = int(c.Int()), true
			} else if status >= 200 && status <= 299 {
				status, in200 = http.StatusBadRequest, true
			}
		} else if m := doc.Get("message"); m.Exists() {
			msg = m.String()
		}
		return status, auth.CleanMessage(msg), in200
	}
	if status >= 200 && status <= 299 {
		return status, "", false
	}
	if len(t) > 0 && t[0] != '<' { // a plain text answer (Pusher's); not an HTML page
		msg = string(t)
	}
	return status, auth.CleanMessage(msg), false
}

// APIError explains a refused HTTP API request. refused is what the last
// hint says was refused when nothing more precise applies ("the event",
// "the request").
func APIError(op, endpoint string, status int, msg, location, refused string) *auth.Error {
	e := &auth.Error{Op: op, Status: status, URL: endpoint, Message: msg}
	lower := strings.ToLower(msg)
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		e.Kind = auth.Unauthorized
		if status == http.StatusForbidden {
			e.Kind = auth.Forbidden
		}
		switch {
		case strings.Contains(lower, "signature"), strings.Contains(lower, "secret"):
			e.Hint = "the server refused the signature: check --app-secret (REVERB_APP_SECRET or PUSHER_APP_SECRET) and --key; they must be the app's, on this server"
		case strings.Contains(lower, "timestamp expired"), strings.Contains(lower, "not within"):
			e.Hint = "the server's clock and this machine's differ by more than 10 minutes: fix the clock (auth_timestamp must be within 600 s)"
		case strings.Contains(lower, "auth_key"), strings.Contains(lower, "app key"):
			e.Hint = "the server does not know this app key: check --key (the app key, REVERB_APP_KEY or PUSHER_APP_KEY)"
		case status == http.StatusForbidden:
			e.Hint = "the server refused the request: the app may be disabled, over its quota, or not allowed to use the HTTP API"
		default:
			e.Hint = "the server refused the signature: check --app-secret (REVERB_APP_SECRET or PUSHER_APP_SECRET) and --key; they must be the app's, on this server"
		}
	case status == http.StatusNotFound:
		e.Kind = auth.Status
		e.Hint = "unknown app id, or no HTTP API at this address: check --app-id (REVERB_APP_ID or PUSHER_APP_ID; Soketi's default is app-id), --host/--port, and --ws-path when Reverb runs under a REVERB_SERVER_PATH"
	case status == http.StatusRequestEntityTooLarge:
		e.Kind = auth.Status
		e.Hint = "the payload is too large for the server: Pusher accepts 10 KB of data, Reverb 10,000 bytes for the whole request (its max_request_size, REVERB_MAX_REQUEST_SIZE), Soketi 100 KB; send less, e.g. an id the clients fetch the rest with"
	case status >= 300 && status <= 399:
		e.Kind = auth.Status
		if location != "" {
			e.Detail = "redirect to " + auth.RedactURL(location)
		}
		e.Hint = "the HTTP API does not redirect: check --scheme (http or https), --host and --port"
	case status == http.StatusTooManyRequests:
		e.Kind = auth.Status
		e.Hint = "the server is throttling requests: wait a moment and try again"
	case status >= 500:
		e.Kind = auth.ServerError
		e.Hint = "the server failed: try again, or check its logs"
	default:
		e.Kind = auth.Status
		e.Hint = "the server refused " + refused + ": see its message"
	}
	return e
}

// TransportError classifies a request that got no answer: exit code 4.
func TransportError(op, endpoint string, err error) *auth.Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its text repeats the signed URL
	}
	e := &auth.Error{Op: op, URL: endpoint, Err: err}
	var ne net.Error
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		e.Kind, e.Hint = auth.Timeout, "no answer within --http-timeout: check --host and --port, or raise --http-timeout"
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalid):
		e.Kind, e.Hint = auth.TLS, "TLS verification failed: pass --cacert FILE with the server's CA bundle (or --insecure to skip verification)"
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		e.Kind, e.Hint = auth.TLS, "the server does not speak TLS there: use --scheme http"
	default:
		e.Kind, e.Hint = auth.Network, "the server cannot be reached: is it running? check --host, --port and --scheme (the HTTP API is served on the WebSocket port)"
	}
	return e
}

// Redact takes the request's signature and the secret out of a server
// message (Pusher and Soketi quote what they were sent).
func Redact(msg string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}
