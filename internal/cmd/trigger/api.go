package trigger

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/amusoft/tmsws/internal/english"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/pusher"
)

// APIBase is the base URL of the server's HTTP API: the WebSocket
// server's scheme, host and port (Reverb and Soketi serve both on one
// port), or https://api-NAME.pusher.com when the host is the --cluster's
// ws-NAME.pusher.com.
func APIBase(s *config.Settings) string {
	if s.Cluster != "" && s.Host == "ws-"+s.Cluster+".pusher.com" {
		return "https://api-" + s.Cluster + ".pusher.com"
	}
	host := s.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return s.Scheme + "://" + host + ":" + strconv.Itoa(s.Port)
}

// eventBody is the HTTP API's event: data is the JSON document as a string.
type eventBody struct {
	Name     string   `json:"name"`
	Channels []string `json:"channels"`
	Data     string   `json:"data"`
	SocketID string   `json:"socket_id,omitempty"`
}

// maxAnswer caps how much of an HTTP API answer is read.
const maxAnswer = 64 << 10

func runAPI(ctx context.Context, opts *Options, log *cmdutil.StatusLog) error {
	s := opts.Settings
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	data := string(opts.Data)
	encrypted := isEncrypted(opts.Channels[0])
	if encrypted {
		// validateSettings made sure it is the only channel and that the
		// key is there.
		sealed, err := auth.EncryptData(opts.Channels[0], s.EncryptionMasterKey, opts.Data, nil)
		if err != nil {
			return err
		}
		data = sealed
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(eventBody{Name: opts.Event, Channels: opts.Channels, Data: data, SocketID: opts.SocketID}); err != nil {
		return fmt.Errorf("encode the event: %w", err)
	}
	raw := bytes.TrimSuffix(body.Bytes(), []byte("\n"))

	// Reverb serves the HTTP API under its REVERB_SERVER_PATH too, and
	// checks the signature on the path without it (Controller.php
	// verifySignature): the request goes to {ws-path}/apps/…, signed as
	// /apps/….
	path := "/apps/" + s.AppID + "/events"
	q := auth.SignAPIQuery(http.MethodPost, path, nil, raw, s.Key, s.AppSecret, now())
	endpoint := APIBase(s) + s.WSPath + path
	op := "trigger " + opts.Event
	res := result{Via: "http-api", Event: opts.Event, Channels: opts.Channels, Bytes: len(opts.Data)}

	client, err := s.HTTPClient()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"?"+q.Encode(), bytes.NewReader(raw))
	if err != nil {
		return &auth.Error{Kind: auth.Config, Op: op, URL: endpoint, Err: err, Hint: "check --host, --port and --app-id"}
	}
	for k, vs := range s.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "tmsws/"+opts.Version)

	log.Debug("trigger", fmt.Sprintf("POST %s (%s, %s of data)", endpoint, english.Count(len(opts.Channels), "channel"), english.Count(len(opts.Data), "byte")))
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e := transportError(op, endpoint, err)
		res.MS, res.Error = millis(time.Since(start)), e.Error()
		if werr := writeResult(opts, res); werr != nil {
			return werr
		}
		return e
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	took := time.Since(start)
	res.MS = millis(took)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e := transportError(op, endpoint, err)
		e.Status, e.Detail = resp.StatusCode, "reading the answer: "+err.Error()
		res.Error = e.Error()
		if werr := writeResult(opts, res); werr != nil {
			return werr
		}
		return e
	}

	status, msg, in200 := meaning(resp, answer)
	res.Status = status
	if status >= 200 && status <= 299 {
		res.OK = true
		how := ""
		if encrypted {
			how = ", end-to-end encrypted"
		}
		log.Info("trigger", fmt.Sprintf("published %s on %s (%s%s, %s)", opts.Event, strings.Join(opts.Channels, ", "), english.Count(len(opts.Data), "byte"), how, took.Round(time.Millisecond)))
		return writeResult(opts, res)
	}
	msg = redact(msg, q.Get("auth_signature"), s.AppSecret)
	e := apiError(op, endpoint, status, msg, resp.Header.Get("Location"))
	if in200 {
		e.Detail = "the server answered HTTP 200 with this error in the body, as Soketi does"
	}
	err = exitError(e, s.AppID, len(opts.Data), len(raw))
	res.Error = err.Error()
	if werr := writeResult(opts, res); werr != nil {
		return werr
	}
	return err
}

// apiRefusal is a refused request whose exit code is not auth.Error's: its
// message is the whole story, and the error it wraps (a *pusher.ConnError,
// a *cmdutil.UsageError) gives app.Main the code and the hint.
type apiRefusal struct {
	msg   string
	cause error
}

func (r *apiRefusal) Error() string { return r.msg }
func (r *apiRefusal) Unwrap() error { return r.cause }

// exitError gives the refusals the contract names their exit codes: an
// unknown app id (404) is a connection that cannot be made, exit 4; a
// payload over the server's limit (413) is bad usage, exit 2. dataBytes is
// the data as given, requestBytes the request body sent.
func exitError(e *auth.Error, appID string, dataBytes, requestBytes int) error {
	switch e.Status {
	case http.StatusNotFound:
		e.Op += fmt.Sprintf(": no app with id %s on this server", strconv.Quote(appID))
		hint := e.Hint
		e.Hint = "" // the ConnError's hint is the one printed
		return &apiRefusal{msg: e.Error(), cause: &pusher.ConnError{URL: e.URL, Code: e.Status, Reason: "no app with id " + strconv.Quote(appID), Hint: hint}}
	case http.StatusRequestEntityTooLarge:
		e.Detail = strings.TrimPrefix(e.Detail+"; ", "; ")
		e.Detail += fmt.Sprintf("the data is %d bytes, the request %d bytes, over the server's limit", dataBytes, requestBytes)
		return &apiRefusal{msg: e.Error(), cause: &cmdutil.UsageError{Msg: e.Error(), Hint: e.Hint}}
	}
	return e
}

// meaning returns the status an answer means and the server's message.
// Soketi answers errors with HTTP 200 and {"error":"...","code":401} in the
// body, so a 2xx body with an "error" is that error.
func meaning(resp *http.Response, body []byte) (status int, msg string, in200 bool) {
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

// apiError explains a refused HTTP API request.
func apiError(op, endpoint string, status int, msg, location string) *auth.Error {
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
		e.Hint = "the server refused the event: see its message"
	}
	return e
}

// transportError classifies a request that got no answer: exit code 4.
func transportError(op, endpoint string, err error) *auth.Error {
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

// redact takes the request's signature and the secret out of a server
// message (Pusher and Soketi quote what they were sent).
func redact(msg string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}
