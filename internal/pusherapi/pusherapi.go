// Package pusherapi is the signed HTTP API of Pusher Channels, Laravel Reverb and Soketi.
//
// The read side (channels, one channel, its users, the connection count)
// and the publishing side (an event) share one request path: signed as
// Pusher's server libraries sign (auth_key, auth_timestamp, auth_version,
// body_md5 on a POST, auth_signature over "METHOD\n/apps/…\nQUERY"), sent
// under --ws-path, answers read with a size cap and through jsonsafe, and
// refusals classified into *auth.Error the way trigger has always done.
// docs/http-api.md says which server answers what.
package pusherapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// MaxAnswer caps how much of an HTTP API answer is read. A channel list
// may be long: 4 MiB holds tens of thousands of channels.
const MaxAnswer = 4 << 20

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

// Client calls one app's HTTP API.
type Client struct {
	base   string // APIBase + ws-path: requests go to base+/apps/…
	appID  string
	key    string
	secret string
	http   *http.Client
	header http.Header
	ua     string

	// Now is the clock of auth_timestamp; nil means time.Now.
	Now func() time.Time
	// MaxAnswer overrides the answer size cap (tests); 0 means MaxAnswer.
	MaxAnswer int64
}

// New builds a client from resolved settings. A missing app id or app
// secret is an *auth.Error of kind Config (exit 2) that says where to give
// it.
func New(s *config.Settings, version string) (*Client, error) {
	if s.AppID == "" {
		return nil, &auth.Error{Kind: auth.Config, Op: "HTTP API", Detail: "no app id given: the HTTP API's paths are /apps/{app-id}/…",
			Hint: "pass --app-id ID or set " + config.EnvAppID + " (REVERB_APP_ID or PUSHER_APP_ID in the app's .env; Soketi's default is app-id), or app-id in the profile"}
	}
	if s.AppSecret == "" {
		return nil, &auth.Error{Kind: auth.Config, Op: "HTTP API", Detail: "no app secret given: HTTP API requests are signed with it",
			Hint: "pass --app-secret SECRET or set " + config.EnvAppSecret + " (REVERB_APP_SECRET or PUSHER_APP_SECRET in the app's .env)"}
	}
	hc, err := s.HTTPClient()
	if err != nil {
		return nil, err
	}
	return &Client{
		base:   APIBase(s) + s.WSPath,
		appID:  s.AppID,
		key:    s.Key,
		secret: s.AppSecret,
		http:   hc,
		header: s.Header,
		ua:     "tmsws/" + version,
	}, nil
}

// Channel is one channel as the HTTP API describes it. The counts are nil
// where the server did not give them.
type Channel struct {
	Name              string          `json:"channel"`
	Occupied          bool            `json:"occupied"`
	SubscriptionCount *int            `json:"subscription_count,omitempty"`
	UserCount         *int            `json:"user_count,omitempty"` // presence channels
	Cache             json.RawMessage `json:"cache,omitempty"`      // channel info of a cache channel, when the server gives it
}

// Event is an event to publish.
type Event struct {
	Name     string
	Channels []string
	Data     string // the event's data as sent: the JSON document as a string
	SocketID string // excluded connection, optional
}

// IsPresence says whether a channel name is a presence channel's.
func IsPresence(name string) bool { return strings.HasPrefix(name, "presence-") }

// IsCache says whether a channel name is a cache channel's (cache-,
// private-cache-, private-encrypted-cache-, presence-cache-).
func IsCache(name string) bool {
	for _, p := range []string{"cache-", "private-cache-", "private-encrypted-cache-", "presence-cache-"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// answer is a 2xx answer: its JSON body, checked by jsonsafe.
type answer struct {
	status int
	body   []byte
}

// call sends one signed request and returns its 2xx answer, or the error
// it means. path is signed as is and sent under the ws-path.
// refused names what was refused in the hint of a refusal nothing more
// precise explains ("the request", "the event").
func (c *Client) call(ctx context.Context, op, refused, method, path string, params url.Values, body []byte) (answer, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	q := auth.SignAPIQuery(method, path, params, body, c.key, c.secret, now())
	endpoint := c.base + path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint+"?"+q.Encode(), rd)
	if err != nil {
		return answer{}, &auth.Error{Kind: auth.Config, Op: op, URL: endpoint, Err: err, Hint: "check --host, --port and --app-id"}
	}
	for k, vs := range c.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)

	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		return answer{}, TransportError(op, endpoint, err)
	}
	limit := c.MaxAnswer
	if limit <= 0 {
		limit = MaxAnswer
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	resp.Body.Close()
	if err != nil {
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		e := TransportError(op, endpoint, err)
		e.Status, e.Detail = resp.StatusCode, "reading the answer: "+err.Error()
		return answer{}, e
	}
	if int64(len(raw)) > limit {
		return answer{}, &auth.Error{Kind: auth.InvalidJSON, Op: op, Status: resp.StatusCode, URL: endpoint,
			Detail: fmt.Sprintf("the answer is larger than %d bytes", limit),
			Hint:   "this is not a Pusher-compatible HTTP API answer, or far more than tmsws reads: check --host and --port, or narrow the request (e.g. --prefix)"}
	}
	status, msg, in200 := Meaning(resp, raw)
	if status >= 200 && status <= 299 {
		return answer{status: status, body: raw}, nil
	}
	msg = Redact(msg, q.Get("auth_signature"), c.secret)
	e := APIError(op, endpoint, status, msg, resp.Header.Get("Location"), refused)
	if in200 {
		e.Detail = "the server answered HTTP 200 with this error in the body, as Soketi does"
	}
	return answer{status: status, body: raw}, e
}

// object checks that a 2xx answer is a JSON object.
func object(op string, a answer, endpoint string) ([]byte, error) {
	t := bytes.TrimSpace(a.body)
	if len(t) == 0 || t[0] != '{' {
		return nil, &auth.Error{Kind: auth.InvalidJSON, Op: op, Status: a.status, URL: endpoint,
			Detail: "the answer is not a JSON object", Hint: "this is not a Pusher-compatible HTTP API: check --host, --port and --ws-path"}
	}
	if err := jsonsafe.Valid(t); err != nil {
		return nil, &auth.Error{Kind: auth.InvalidJSON, Op: op, Status: a.status, URL: endpoint,
			Detail: "the answer is not valid JSON: " + err.Error(), Hint: "this is not a Pusher-compatible HTTP API: check --host, --port and --ws-path"}
	}
	return t, nil
}

func (c *Client) appPath(rest string) string { return "/apps/" + c.appID + rest }

// notFound turns a 404 into the unknown app id it means (exit 4).
func (c *Client) notFound(err error) error {
	var ae *auth.Error
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return ExitError(ae, c.appID, 0, 0)
	}
	return err
}

// refusedInfo says whether a 400 refused the info attributes asked for
// (Pusher refuses subscription_count unless the app enables it).
func refusedInfo(err error) bool {
	var ae *auth.Error
	return errors.As(err, &ae) && ae.Status == http.StatusBadRequest
}

// channelsInfo is the info asked of GET /channels: subscription_count
// (Reverb answers it; Soketi gives it unasked) and, with a presence-
// prefix only, user_count (Pusher refuses user_count otherwise).
func channelsInfo(prefix string, withSubs bool) []string {
	var info []string
	if IsPresence(prefix) {
		info = append(info, "user_count")
	}
	if withSubs {
		info = append(info, "subscription_count")
	}
	return info
}

// Channels returns the occupied channels whose names start with prefix,
// sorted by name: GET /apps/{id}/channels?filter_by_prefix=…&info=…. When
// the server refuses subscription_count (Pusher, unless enabled), it asks
// again without. The presence channels' user_count, which may only be asked
// with the presence- prefix, comes from a second request with it.
func (c *Client) Channels(ctx context.Context, prefix string) ([]Channel, error) {
	out, err := c.list(ctx, prefix)
	if err != nil || !strings.HasPrefix(presencePrefix, prefix) {
		return out, err
	}
	// user_count may only be asked with the presence- prefix (Pusher
	// refuses it otherwise, and Reverb and Soketi follow): when the list
	// holds presence channels without it, a second request gives it.
	missing := false
	for _, ch := range out {
		missing = missing || (IsPresence(ch.Name) && ch.UserCount == nil)
	}
	if !missing || prefix == presencePrefix {
		return out, nil
	}
	presence, err := c.list(ctx, presencePrefix)
	if err != nil {
		return out, nil // the counts stay unknown; the list itself is right
	}
	users := make(map[string]*int, len(presence))
	for _, ch := range presence {
		users[ch.Name] = ch.UserCount
	}
	for i := range out {
		if out[i].UserCount == nil {
			out[i].UserCount = users[out[i].Name]
		}
	}
	return out, nil
}

const presencePrefix = "presence-"

// list is one GET /apps/{id}/channels: the occupied channels whose name
// starts with prefix, sorted by name.
func (c *Client) list(ctx context.Context, prefix string) ([]Channel, error) {
	op := "list channels"
	if prefix != "" {
		op += " " + termsafe.Clip(prefix, 64) + "*"
	}
	path := c.appPath("/channels")
	ask := func(withSubs bool) (answer, error) {
		params := url.Values{}
		if prefix != "" {
			params.Set("filter_by_prefix", prefix)
		}
		if info := channelsInfo(prefix, withSubs); len(info) > 0 {
			params.Set("info", strings.Join(info, ","))
		}
		return c.call(ctx, op, "the request", http.MethodGet, path, params, nil)
	}
	a, err := ask(true)
	if refusedInfo(err) {
		a, err = ask(false)
	}
	if err != nil {
		return nil, c.notFound(err)
	}
	doc, err := object(op, a, c.base+path)
	if err != nil {
		return nil, err
	}
	var wire struct {
		Channels map[string]wireChannel `json:"channels"`
	}
	if err := json.Unmarshal(doc, &wire); err != nil {
		return nil, badShape(op, a, c.base+path, err)
	}
	out := make([]Channel, 0, len(wire.Channels))
	for name, w := range wire.Channels {
		ch := w.channel(name)
		ch.Occupied = true // the list holds occupied channels only
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// wireChannel is a channel's info as the servers send it.
type wireChannel struct {
	Occupied          *bool           `json:"occupied"`
	SubscriptionCount *int            `json:"subscription_count"`
	UserCount         *int            `json:"user_count"`
	Cache             json.RawMessage `json:"cache"`
}

func (w wireChannel) channel(name string) Channel {
	ch := Channel{Name: name, SubscriptionCount: w.SubscriptionCount, UserCount: w.UserCount}
	if w.Occupied != nil {
		ch.Occupied = *w.Occupied
	}
	if t := bytes.TrimSpace(w.Cache); len(t) > 0 && string(t) != "null" {
		ch.Cache = append(json.RawMessage(nil), t...)
	}
	return ch
}

func badShape(op string, a answer, endpoint string, err error) error {
	return &auth.Error{Kind: auth.InvalidJSON, Op: op, Status: a.status, URL: endpoint,
		Detail: "the answer does not have the HTTP API's shape: " + termsafe.Clip(err.Error(), 120),
		Hint:   "this is not a Pusher-compatible HTTP API: check --host, --port and --ws-path"}
}

// Channel returns one channel's state: GET
// /apps/{id}/channels/{name}?info=… with user_count for a presence
// channel, subscription_count, and cache for a cache channel. An
// unoccupied channel is Occupied false, not an error.
func (c *Client) Channel(ctx context.Context, name string) (Channel, error) {
	op := "channel info " + termsafe.Clip(name, 64)
	path := c.appPath("/channels/" + name)
	ask := func(withSubs bool) (answer, error) {
		var info []string
		if IsPresence(name) {
			info = append(info, "user_count")
		}
		if withSubs {
			info = append(info, "subscription_count")
		}
		if IsCache(name) {
			info = append(info, "cache")
		}
		params := url.Values{}
		if len(info) > 0 {
			params.Set("info", strings.Join(info, ","))
		}
		return c.call(ctx, op, "the request", http.MethodGet, path, params, nil)
	}
	a, err := ask(true)
	if refusedInfo(err) {
		a, err = ask(false)
	}
	if err != nil {
		return Channel{}, c.notFound(err)
	}
	doc, err := object(op, a, c.base+path)
	if err != nil {
		return Channel{}, err
	}
	var w wireChannel
	if err := json.Unmarshal(doc, &w); err != nil {
		return Channel{}, badShape(op, a, c.base+path, err)
	}
	return w.channel(name), nil
}

// Users returns the ids of the users present on a presence channel, in
// the server's order: GET /apps/{id}/channels/{name}/users. A channel
// that is not a presence channel is refused before the request.
func (c *Client) Users(ctx context.Context, name string) ([]string, error) {
	op := "list users of " + termsafe.Clip(name, 64)
	if !IsPresence(name) {
		return nil, &auth.Error{Kind: auth.Config, Op: op, Detail: "only presence channels have users",
			Hint: "give a presence- channel, e.g. presence-chat.42"}
	}
	path := c.appPath("/channels/" + name + "/users")
	a, err := c.call(ctx, op, "the request", http.MethodGet, path, nil, nil)
	if err != nil {
		var ae *auth.Error
		// Reverb answers 404 with an empty {} for a channel nobody is on
		// (ChannelUsersController); an unknown app is a 404 with a message.
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound && string(bytes.TrimSpace(a.body)) == "{}" {
			return []string{}, nil
		}
		return nil, c.notFound(err)
	}
	doc, err := object(op, a, c.base+path)
	if err != nil {
		return nil, err
	}
	var wire struct {
		Users []struct {
			ID json.RawMessage `json:"id"`
		} `json:"users"`
	}
	if err := json.Unmarshal(doc, &wire); err != nil {
		return nil, badShape(op, a, c.base+path, err)
	}
	ids := make([]string, 0, len(wire.Users))
	for _, u := range wire.Users {
		ids = append(ids, idString(u.ID))
	}
	return ids, nil
}

// idString is a user id as text: a JSON string unquoted, a number as is.
func idString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// Connections returns the number of connections to the app: GET
// /apps/{id}/connections, which only Reverb serves. A server without it is
// a *pusher.ConnError (exit 4) that says so.
func (c *Client) Connections(ctx context.Context) (int, error) {
	op := "count connections"
	path := c.appPath("/connections")
	a, err := c.call(ctx, op, "the request", http.MethodGet, path, nil, nil)
	if err != nil {
		var ae *auth.Error
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound && !unknownApp(ae.Message) {
			return 0, &pusher.ConnError{URL: c.base + path, Code: ae.Status,
				Reason: "this server does not offer GET /apps/{id}/connections (Reverb does; Pusher and Soketi do not)",
				Hint:   "count connections with Reverb, or list the channels instead: tmsws channels"}
		}
		return 0, c.notFound(err)
	}
	doc, err := object(op, a, c.base+path)
	if err != nil {
		return 0, err
	}
	var wire struct {
		Connections *int `json:"connections"`
	}
	if err := json.Unmarshal(doc, &wire); err != nil {
		return 0, badShape(op, a, c.base+path, err)
	}
	if wire.Connections == nil {
		return 0, badShape(op, a, c.base+path, errors.New(`no "connections" number`))
	}
	return *wire.Connections, nil
}

// unknownApp says whether a 404's message is an unknown app id's: Reverb's
// "No matching application for ID [x].", Soketi's "The app x could not be
// found.", the embedded server's "Unknown app id …".
func unknownApp(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "app") && (strings.Contains(m, "could not be found") || strings.Contains(m, "matching application") || strings.Contains(m, "unknown app"))
}

// Trigger publishes an event: POST /apps/{id}/events, signed with
// body_md5. It returns nil on a 2xx.
func (c *Client) Trigger(ctx context.Context, ev Event) error {
	_, err := c.TriggerStatus(ctx, ev)
	return err
}

// TriggerStatus is Trigger that also returns the status the server meant
// (0 when there was no answer).
func (c *Client) TriggerStatus(ctx context.Context, ev Event) (int, error) {
	raw, err := EventBody(ev)
	if err != nil {
		return 0, err
	}
	op := "trigger " + ev.Name
	a, err := c.call(ctx, op, "the event", http.MethodPost, c.appPath("/events"), nil, raw)
	if err != nil {
		var ae *auth.Error
		if errors.As(err, &ae) {
			return a.status, ExitError(ae, c.appID, len(ev.Data), len(raw))
		}
		return 0, err
	}
	return a.status, nil
}

// eventBody is the HTTP API's event: data is the JSON document as a string.
type eventBody struct {
	Name     string   `json:"name"`
	Channels []string `json:"channels"`
	Data     string   `json:"data"`
	SocketID string   `json:"socket_id,omitempty"`
}

// EventBody is the request body of POST /apps/{id}/events, compact, HTML
// characters unescaped.
func EventBody(ev Event) ([]byte, error) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(eventBody{Name: ev.Name, Channels: ev.Channels, Data: ev.Data, SocketID: ev.SocketID}); err != nil {
		return nil, fmt.Errorf("encode the event: %w", err)
	}
	return bytes.TrimSuffix(body.Bytes(), []byte("\n")), nil
}
