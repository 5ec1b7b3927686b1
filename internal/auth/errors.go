package auth

import (
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
	"unicode"
)

// Kind classifies why a login or a channel authorization failed. The
// command layer maps kinds to exit codes (Refused → 3) and the pusher client
// retries the Temporary ones on its next reconnect.
type Kind int

// The kinds of failure.
const (
	// Unauthorized: HTTP 401 from the auth endpoint (no or expired token).
	Unauthorized Kind = iota + 1
	// Forbidden: HTTP 403 (the channel callback refused the user).
	Forbidden
	// CSRF: HTTP 419 (the route sits behind the web middleware).
	CSRF
	// Redirect: a 3xx answer, or an HTML page where JSON was expected.
	Redirect
	// ServerError: HTTP 5xx.
	ServerError
	// Timeout: no answer within the HTTP timeout or the context deadline.
	Timeout
	// Network: the server could not be reached (DNS, refused, reset).
	Network
	// TLS: the TLS handshake or certificate verification failed.
	TLS
	// InvalidJSON: a 2xx answer whose body is not a JSON object.
	InvalidJSON
	// NoAuth: a 2xx JSON answer without an "auth" string.
	NoAuth
	// Incomplete: a 2xx answer with "auth" but without a field the channel
	// kind needs ("channel_data" for presence, "shared_secret" for
	// private-encrypted).
	Incomplete
	// Rejected: the login was refused (HTTP 401 or 422 from the login route).
	Rejected
	// NoToken: a successful login answer in which no token was found.
	NoToken
	// Status: any other unexpected HTTP status.
	Status
	// Config: a local problem, such as an encrypted channel with local signing
	// or an auth URL that cannot be parsed.
	Config
	// Canceled: the context was canceled (Ctrl-C) while waiting.
	Canceled
)

var kindNames = map[Kind]string{
	Unauthorized: "unauthorized",
	Forbidden:    "forbidden",
	CSRF:         "csrf",
	Redirect:     "redirect",
	ServerError:  "server error",
	Timeout:      "timeout",
	Network:      "network",
	TLS:          "tls",
	InvalidJSON:  "invalid json",
	NoAuth:       "no auth",
	Incomplete:   "incomplete",
	Rejected:     "rejected",
	NoToken:      "no token",
	Status:       "status",
	Config:       "config",
	Canceled:     "canceled",
}

// String names the kind for logs and tests.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is a failed login or channel authorization. Its message never holds
// a token, a password or URL credentials; Hint says what to do and is
// printed by the caller on its own line (it is not part of Error()).
type Error struct {
	Kind   Kind
	Op     string // "authorize private-chat.42" or "login"
	Status int    // HTTP status, 0 when there was no answer
	URL    string // the request URL without userinfo, query or fragment
	// Message is the server's own message ("Unauthenticated."), if any.
	Message string
	// Detail says what was wrong with an answer ("no \"auth\" field",
	// "redirect to /login"); empty when the status says it all.
	Detail string
	Hint   string
	Err    error
}

// Error reads like `authorize private-chat.42: 403 Forbidden from
// https://host/broadcasting/auth (server said "This action is unauthorized.")`.
func (e *Error) Error() string {
	where := e.URL
	if where == "" {
		where = "the server"
	}
	var parts []string
	if e.Op != "" {
		parts = append(parts, e.Op)
	}
	switch {
	case e.Status != 0:
		parts = append(parts, fmt.Sprintf("%d %s from %s", e.Status, statusText(e.Status), where))
	case e.Kind == Timeout:
		parts = append(parts, "no answer from "+where+" in time")
	case e.Kind == Canceled:
		parts = append(parts, "canceled while waiting for "+where)
	case e.Kind == Network:
		parts = append(parts, "cannot reach "+where)
	case e.Kind == TLS:
		parts = append(parts, "TLS failure with "+where)
	}
	if e.Detail != "" {
		parts = append(parts, e.Detail)
	}
	// The cause of a timeout or a cancellation adds nothing a reader needs;
	// it stays reachable through Unwrap.
	if e.Err != nil && e.Status == 0 && e.Kind != Timeout && e.Kind != Canceled {
		parts = append(parts, e.Err.Error())
	}
	s := strings.Join(parts, ": ")
	if e.Message != "" {
		s += fmt.Sprintf(" (server said %q)", e.Message)
	}
	return s
}

// Unwrap returns the underlying error (a context or network error), if any.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may succeed: 5xx answers,
// timeouts, network failures and 429 Too Many Requests.
func (e *Error) Temporary() bool {
	switch e.Kind {
	case ServerError, Timeout, Network:
		return true
	case Status:
		return e.Status == http.StatusTooManyRequests
	}
	return false
}

// Refused reports whether the server refused the request (exit code 3):
// 401, 403, 419, a redirect or HTML answer, a rejected login, or an answer
// without "auth".
func (e *Error) Refused() bool {
	switch e.Kind {
	case Unauthorized, Forbidden, CSRF, Redirect, Rejected, NoAuth:
		return true
	}
	return false
}

func statusText(code int) string {
	if code == 419 {
		return "Page Expired" // Laravel's name for its CSRF status
	}
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Status"
}

// Hints, one per kind. They say what to do, never carry a secret.
const (
	hintUnauthorized = "the token is missing or expired: run tmsws login (or pass --token / TMSWS_TOKEN)"
	hintForbidden    = "the channel callback in routes/channels.php refused this user"
	hintCSRF         = "CSRF token mismatch: the endpoint is behind the web middleware; register broadcasting routes with the api middleware and auth:sanctum"
	hintRedirect     = "the server answered with a redirect or HTML instead of JSON: check --auth-url and that the route sends JSON to Accept: application/json"
	hintServerError  = "the Laravel app failed: check its logs (storage/logs/laravel.log)"
	hintTimeout      = "no answer within --http-timeout: check that the app is up, or raise --http-timeout"
	hintNetwork      = "the Laravel app cannot be reached: check --api-url / --auth-url and the network"
	hintTLS          = "TLS verification failed: pass --cacert FILE with the server's CA bundle (or --insecure to skip verification)"
	hintInvalidJSON  = "the endpoint did not answer with JSON: check that --auth-url is the Laravel broadcasting auth route"
	hintNoAuth       = "the answer has no \"auth\" field: check that --auth-url is the Laravel broadcasting auth route (with Sanctum often /api/broadcasting/auth)"
	hintPresence     = "a presence channel needs channel_data: the channel callback in routes/channels.php must return an array of user info, not true"
	hintEncrypted    = "set encryption_master_key_base64 in the pusher connection options of config/broadcasting.php (the app must broadcast with EncryptedPrivateChannel)"
	hintNotFound     = "no route there: check --auth-url (with Sanctum the route is often /api/broadcasting/auth)"
	hintThrottled    = "too many requests: wait a moment and try again"
	hintStatus       = "unexpected status: check --auth-url"

	hintLoginUnauthorized = "check the user and password"
	hintLoginForbidden    = "the app refused this login: the account may be disabled or the route protected"
	hintLoginCSRF         = "CSRF token mismatch: the login route is behind the web middleware; use the app's API login route (--login-path, default /api/login)"
	hintLoginRedirect     = "the server answered with a redirect or HTML instead of JSON: check --api-url and --login-path and that the route sends JSON to Accept: application/json"
	hintLoginInvalidJSON  = "the login route did not answer with JSON: check --api-url and --login-path"
	hintLoginNotFound     = "no route there: check --api-url and --login-path"
	hintLoginStatus       = "unexpected status: check --api-url and --login-path"
)

// classifyStatus builds the error for a non-2xx answer.
func classifyStatus(op, u string, status int, location, message string, login bool) *Error {
	e := &Error{Op: op, Status: status, URL: u, Message: message}
	switch {
	case status >= 300 && status < 400:
		e.Kind, e.Hint = Redirect, pick(login, hintLoginRedirect, hintRedirect)
		if location != "" {
			e.Detail = "redirect to " + location
		}
	case status == http.StatusUnauthorized && login, status == http.StatusUnprocessableEntity && login:
		e.Kind, e.Hint = Rejected, hintLoginUnauthorized
	case status == http.StatusUnauthorized:
		e.Kind, e.Hint = Unauthorized, hintUnauthorized
	case status == http.StatusForbidden:
		e.Kind, e.Hint = Forbidden, pick(login, hintLoginForbidden, hintForbidden)
	case status == 419:
		e.Kind, e.Hint = CSRF, pick(login, hintLoginCSRF, hintCSRF)
	case status >= 500:
		e.Kind, e.Hint = ServerError, hintServerError
	case status == http.StatusNotFound, status == http.StatusMethodNotAllowed:
		e.Kind, e.Hint = Status, pick(login, hintLoginNotFound, hintNotFound)
	case status == http.StatusTooManyRequests:
		e.Kind, e.Hint = Status, hintThrottled
	default:
		e.Kind, e.Hint = Status, pick(login, hintLoginStatus, hintStatus)
	}
	return e
}

func pick(login bool, a, b string) string {
	if login {
		return a
	}
	return b
}

// classifyTransport builds the error for a request that got no answer.
// secrets are scrubbed from the cause's text: it may quote the server's
// bytes (a malformed Location header holding a token, say).
func classifyTransport(ctx context.Context, op, u string, err error, login bool, secrets ...string) *Error {
	// http.Client wraps everything in *url.Error whose text repeats the full
	// URL (query included); keep only the cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	e := &Error{Op: op, URL: u, Err: &scrubbed{err: err, secrets: secrets}}
	if msg := err.Error(); strings.Contains(msg, "malformed MIME header") || strings.Contains(msg, "malformed HTTP") ||
		strings.Contains(msg, "failed to parse Location header") {
		// The server answered, but not in HTTP: it was reached.
		e.Kind, e.Detail = Status, "an answer that is not valid HTTP"
		e.Hint = "the server's answer is broken: check " + pick(login, "--api-url", "--auth-url") + " and what listens there"
		return e
	}
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		e.Kind = Canceled
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		e.Kind, e.Hint = Timeout, hintTimeout
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr),
		errors.As(err, &invalidCert):
		e.Kind, e.Hint = TLS, hintTLS
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		e.Kind = TLS
		e.Hint = "the server does not speak TLS there: check the scheme of " + pick(login, "--api-url", "--auth-url") + " (http or https)"
	default:
		e.Kind, e.Hint = Network, hintNetwork
	}
	return e
}

// RedactURL returns u without userinfo, query and fragment, for messages.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		// Never echo something we cannot take apart: it may hold a secret.
		if i := strings.IndexAny(u, "?#"); i >= 0 {
			u = u[:i]
		}
		if i := strings.LastIndex(u, "@"); i >= 0 {
			if j := strings.Index(u, "://"); j >= 0 && j < i {
				u = u[:j+3] + u[i+1:]
			} else {
				u = u[i+1:]
			}
		}
		return u
	}
	p.User = nil
	p.RawQuery = ""
	p.ForceQuery = false
	p.Fragment = ""
	p.RawFragment = ""
	return p.String()
}

// scrubbed is an error whose text has the secrets replaced; errors.Is and
// errors.As still see the original.
type scrubbed struct {
	err     error
	secrets []string
}

func (s *scrubbed) Error() string { return scrub(s.err.Error(), s.secrets) }
func (s *scrubbed) Unwrap() error { return s.err }

// scrub replaces every secret of 4 characters or more in s, as written and
// as a URL would escape it, with "[redacted]".
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) < 4 {
			continue
		}
		for _, form := range []string{sec, url.PathEscape(sec), url.QueryEscape(sec)} {
			s = strings.ReplaceAll(s, form, "[redacted]")
		}
	}
	return s
}

// redactLocation shortens a Location header for messages: a same-host target
// becomes its path, and credentials, query and secrets are dropped.
func redactLocation(base *url.URL, loc string, secrets ...string) string {
	return scrub(locationText(base, loc), secrets)
}

func locationText(base *url.URL, loc string) string {
	if loc == "" {
		return ""
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return "an unparsable location"
	}
	abs := base.ResolveReference(ref)
	if abs.Host == base.Host && abs.Scheme == base.Scheme {
		p := abs.EscapedPath()
		if p == "" {
			p = "/"
		}
		return p
	}
	return RedactURL(abs.String())
}

// CleanMessage makes a server message safe to print: one line, printable,
// at most 200 characters, with every secret replaced by "[redacted]".
func CleanMessage(msg string, secrets ...string) string {
	// Printable first, then scrubbed: a control character hidden inside a
	// secret ("pass\x7fword") would otherwise survive the scrub and vanish
	// afterwards, leaving the secret.
	msg = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, msg)
	msg = strings.Join(strings.Fields(msg), " ")
	msg = scrub(msg, secrets)
	const limit = 200
	if r := []rune(msg); len(r) > limit {
		msg = string(r[:limit]) + "…"
	}
	return msg
}
