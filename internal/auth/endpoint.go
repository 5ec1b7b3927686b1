// Package auth talks to the Laravel side of a Pusher-protocol app: it logs in
// to the API for a bearer token, authorizes private, presence and encrypted
// channels through /broadcasting/auth (or signs them locally with the app
// secret), and classifies every failure into an *Error that says what to do.
package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/jsonsafe"
)

// Channel name prefixes that decide what an authorization must return.
const (
	PrivatePrefix   = "private-"
	PresencePrefix  = "presence-"
	EncryptedPrefix = "private-encrypted-"
)

// DefaultUserAgent is sent when a caller sets none.
const DefaultUserAgent = "tmsws"

// maxBody caps how much of an answer is read: auth and login answers are
// a few hundred bytes; an HTML error page is at most some kilobytes.
const maxBody = 1 << 20

// Result is what a channel authorization yields; the pusher client sends
// Auth and ChannelData verbatim.
type Result struct {
	Auth         string // "key:signature"
	ChannelData  string // presence channels: the exact JSON string that was signed
	SharedSecret string // private-encrypted channels: base64 of the 32-byte key
}

// Authorizer authorizes a channel for a connection. Both *Endpoint and
// *Signer implement it.
type Authorizer interface {
	Authorize(ctx context.Context, socketID, channel string) (Result, error)
}

// Endpoint authorizes through the Laravel app's /broadcasting/auth.
type Endpoint struct {
	HTTP   *http.Client // its Timeout is the --http-timeout; nil means a 10s default
	URL    string       // full auth URL
	Token  string       // bearer token, may be ""
	Header http.Header  // extra -H headers; they override the defaults of the same name
	// UserAgent defaults to DefaultUserAgent.
	UserAgent string
}

// Authorize POSTs socket_id and channel_name as a form, the way pusher-js
// does, with Accept: application/json so Laravel answers errors in JSON.
// Redirects are never followed: Laravel redirects unauthenticated non-JSON
// requests to its login page, and that is reported as a Redirect error.
func (e *Endpoint) Authorize(ctx context.Context, socketID, channel string) (Result, error) {
	op := "authorize " + channel
	form := url.Values{"socket_id": {socketID}, "channel_name": {channel}}
	hdr := http.Header{}
	hdr.Set("Accept", "application/json")
	hdr.Set("Content-Type", "application/x-www-form-urlencoded")
	if e.Token != "" {
		hdr.Set("Authorization", "Bearer "+e.Token)
	}
	ans, err := do(ctx, e.HTTP, http.MethodPost, e.URL, []byte(form.Encode()), hdr, e.Header, e.UserAgent, op, false, e.Token)
	if err != nil {
		var ae *Error
		if errors.As(err, &ae) && ae.Kind == ServerError && strings.HasPrefix(channel, EncryptedPrefix) {
			// pusher-php throws when it has no key to derive the shared secret from.
			ae.Hint += "; for a private-encrypted- channel, check that encryption_master_key_base64 is set in config/broadcasting.php"
		}
		return Result{}, err
	}
	r, err := parseAuth(ans, channel)
	if err != nil {
		return Result{}, err
	}
	return r, nil
}

// answer is a 2xx response, read and checked to be a JSON object.
type answer struct {
	op     string
	url    string // redacted
	status int
	body   []byte
}

func (a *answer) fail(kind Kind, detail, hint string) *Error {
	return &Error{Kind: kind, Op: a.op, Status: a.status, URL: a.url, Detail: detail, Hint: hint}
}

// do sends one request without following redirects and classifies every
// answer that is not a 2xx JSON object. secrets are scrubbed from server
// messages.
func do(ctx context.Context, c *http.Client, method, rawURL string, body []byte, hdr, extra http.Header,
	userAgent, op string, login bool, secrets ...string) (*answer, error) {
	redacted := RedactURL(rawURL)
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		flag := pick(login, "--api-url and --login-path", "--auth-url")
		return nil, &Error{Kind: Config, Op: op, URL: redacted, Detail: "not an http(s) URL: " + redacted,
			Hint: "check " + flag}
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Kind: Config, Op: op, URL: redacted, Err: err}
	}
	req.Header = hdr.Clone()
	if userAgent == "" {
		userAgent = DefaultUserAgent
	}
	req.Header.Set("User-Agent", userAgent)
	for k, vs := range extra {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}

	resp, err := noRedirects(c).Do(req)
	if err != nil {
		return nil, classifyTransport(ctx, op, redacted, err, login, secrets...)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		_ = resp.Body.Close()
	}()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		e := classifyTransport(ctx, op, redacted, err, login, secrets...)
		e.Status = resp.StatusCode
		e.Detail = "reading the answer: " + e.Err.Error()
		return nil, e
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := ""
		if looksJSON(resp, data) {
			msg = CleanMessage(gjson.GetBytes(data, "message").String(), secrets...)
			if login && resp.StatusCode == http.StatusUnprocessableEntity {
				msg = withFirstValidationError(msg, data, secrets...)
			}
		}
		return nil, classifyStatus(op, redacted, resp.StatusCode, redactLocation(u, resp.Header.Get("Location"), secrets...), msg, login)
	}

	a := &answer{op: op, url: redacted, status: resp.StatusCode, body: data}
	if isHTML(resp, data) {
		return nil, a.fail(Redirect, "an HTML page instead of JSON", pick(login, hintLoginRedirect, hintRedirect))
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' || jsonsafe.Valid(trimmed) != nil {
		detail := "not a JSON object"
		switch {
		case len(trimmed) == 0:
			detail = "an empty body instead of JSON"
		case jsonsafe.Depth(trimmed) != nil:
			detail = "a JSON object " + strings.TrimPrefix(jsonsafe.ErrTooDeep.Error(), "JSON ")
		}
		return nil, a.fail(InvalidJSON, detail, pick(login, hintLoginInvalidJSON, hintInvalidJSON))
	}
	a.body = trimmed
	return a, nil
}

// noRedirects returns a copy of c (sharing its transport) that hands 3xx
// answers back instead of following them.
func noRedirects(c *http.Client) *http.Client {
	var cp http.Client
	if c != nil {
		cp = *c
	} else {
		cp.Timeout = 10 * time.Second
	}
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

func mediaType(resp *http.Response) string {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return strings.ToLower(mt)
}

func isHTML(resp *http.Response, body []byte) bool {
	mt := mediaType(resp)
	if mt == "text/html" || mt == "application/xhtml+xml" {
		return true
	}
	t := bytes.TrimSpace(body)
	return len(t) > 0 && t[0] == '<'
}

func looksJSON(resp *http.Response, body []byte) bool {
	if isHTML(resp, body) {
		return false
	}
	t := bytes.TrimSpace(body)
	return len(t) > 0 && t[0] == '{' && jsonsafe.Valid(t) == nil
}

// jsonString decodes a JSON string value exactly (encoding/json is the
// reference decoder); ok is false when raw is not a JSON string.
func jsonString(res gjson.Result) (string, bool) {
	if res.Type != gjson.String {
		return "", false
	}
	var s string
	if err := json.Unmarshal([]byte(res.Raw), &s); err != nil {
		return "", false
	}
	return s, true
}

// parseAuth reads a /broadcasting/auth success body.
func parseAuth(a *answer, channel string) (Result, error) {
	var r Result
	authRes := gjson.GetBytes(a.body, "auth")
	s, ok := jsonString(authRes)
	if !ok || s == "" {
		detail := `no "auth" field in the answer`
		if authRes.Exists() {
			detail = `"auth" is not a non-empty string`
		}
		return r, a.fail(NoAuth, detail, hintNoAuth)
	}
	r.Auth = s

	cd := gjson.GetBytes(a.body, "channel_data")
	switch {
	case cd.Type == gjson.String:
		r.ChannelData, _ = jsonString(cd)
	case cd.IsObject():
		// Not what Laravel sends, but the only bytes that can have been
		// signed are the ones we were given: forward them untouched.
		r.ChannelData = cd.Raw
	case cd.Exists() && cd.Type != gjson.Null:
		return r, a.fail(Incomplete, `"channel_data" is neither a JSON string nor an object`, hintPresence)
	}
	if strings.HasPrefix(channel, PresencePrefix) {
		if r.ChannelData == "" {
			return r, a.fail(Incomplete, `no "channel_data" in the answer, and a presence channel needs it`, hintPresence)
		}
		if jsonsafe.ValidString(r.ChannelData) != nil || !gjson.Get(r.ChannelData, "user_id").Exists() {
			return r, a.fail(Incomplete, `"channel_data" is not a JSON object with a user_id`, hintPresence)
		}
	}

	ss := gjson.GetBytes(a.body, "shared_secret")
	if ss.Exists() && ss.Type != gjson.Null {
		v, ok := jsonString(ss)
		if !ok {
			return r, a.fail(Incomplete, `"shared_secret" is not a string`, hintEncrypted)
		}
		r.SharedSecret = v
	}
	if strings.HasPrefix(channel, EncryptedPrefix) {
		if r.SharedSecret == "" {
			return r, a.fail(Incomplete, `no "shared_secret" in the answer, and an encrypted channel needs it`, hintEncrypted)
		}
		if key, err := base64.StdEncoding.DecodeString(r.SharedSecret); err != nil || len(key) != 32 {
			return r, a.fail(Incomplete, `"shared_secret" is not the base64 of a 32-byte key`, hintEncrypted)
		}
	}
	return r, nil
}

// withFirstValidationError appends the first message of a Laravel 422
// `errors` object ({"email":["These credentials do not match our records."]})
// when it says more than `message` does.
func withFirstValidationError(msg string, body []byte, secrets ...string) string {
	var first string
	gjson.GetBytes(body, "errors").ForEach(func(_, v gjson.Result) bool {
		if v.IsArray() {
			v = v.Get("0")
		}
		first = CleanMessage(v.String(), secrets...)
		return first == ""
	})
	switch {
	case first == "" || strings.HasPrefix(msg, first):
		return msg
	case msg == "":
		return first
	default:
		return msg + " " + first
	}
}

// IsRefused reports whether err is an *Error the server refused (exit 3).
func IsRefused(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Refused()
}

// IsTemporary reports whether err is an *Error worth retrying later.
func IsTemporary(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Temporary()
}
