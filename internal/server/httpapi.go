package server

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// The signed HTTP API of Pusher Channels (pusher-protocol.md §9): the
// publishing half, POST /apps/{id}/events and /apps/{id}/batch_events, so
// that a Laravel app (the pusher broadcaster pointed at this server) or
// tmsws trigger can publish into it; the read half (GET channels, users,
// connections) is in httpapi_get.go. Requests are checked as Pusher checks
// them; refusals are JSON {"error":"...","code":N} like Soketi's.

// Limits of the HTTP API (pusher-protocol.md §11).
const (
	timestampWindow  = 600 // seconds auth_timestamp may be off the server clock
	maxEventChannels = 100 // channels of one event
	maxBatchEvents   = 10
	maxEventName     = 200
)

type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func apiErrorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// quoted is a client-chosen value in double quotes, clipped and escaped.
func quoted(v string) string { return `"` + clip(v) + `"` }

// quotedSigned is a string to sign in double quotes, clipped and escaped
// (its newlines show as \n).
func quotedSigned(v string) string { return `"` + termsafe.Clip(v, maxSigned) + `"` }

func writeAPIError(w http.ResponseWriter, e *apiError) {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
		Code  int    `json:"code"`
	}{e.msg, e.status})
	writeJSON(w, e.status, b)
}

// apiEvent is one event to publish, checked.
type apiEvent struct {
	name, data, socketID string
	channels             []string
}

// serveEvents publishes one event to one or more channels:
// {"name":..,"data":"<string>","channels":[..]|"channel":..,"socket_id":..}.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, e := s.verifyAPIRequest(r)
	if e == nil {
		var ev apiEvent
		if ev, e = s.parseEvent(body, ""); e == nil {
			s.publishAPI([]apiEvent{ev})
		}
	}
	s.answerAPI(w, r, e)
}

// serveBatchEvents publishes up to 10 events:
// {"batch":[{"channel":..,"name":..,"data":..,"socket_id":..},...]}. Nothing
// is published unless every event is valid.
func (s *Server) serveBatchEvents(w http.ResponseWriter, r *http.Request) {
	body, e := s.verifyAPIRequest(r)
	if e == nil {
		var evs []apiEvent
		if evs, e = s.parseBatch(body); e == nil {
			s.publishAPI(evs)
		}
	}
	s.answerAPI(w, r, e)
}

func (s *Server) answerAPI(w http.ResponseWriter, r *http.Request, e *apiError) {
	if e != nil {
		s.logf("HTTP API: %s %s refused: %d %s", r.Method, clip(r.URL.Path), e.status, e.msg)
		writeAPIError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, []byte(`{}`))
}

func (s *Server) publishAPI(evs []apiEvent) {
	for _, ev := range evs {
		// Logged first, so a subscriber that has the event finds the line.
		s.logf("HTTP API: published %s on %s", clip(ev.name), termsafe.Clip(strings.Join(ev.channels, ", "), maxSigned))
		for _, ch := range ev.channels {
			s.Publish(ch, ev.name, ev.data, ev.socketID)
		}
	}
}

// maxAPIBody is how much of a request body is read: room for a full batch
// of the largest events, JSON escaping included.
func (s *Server) maxAPIBody() int64 {
	if s.cfg.MaxEventData < 0 {
		return 32 << 20
	}
	return maxBatchEvents * (6*int64(s.cfg.MaxEventData) + 64<<10)
}

// verifyAPIRequest checks the app id and the request's signature the way
// Pusher does and returns the body: auth_key must be the app key,
// auth_version 1.0, auth_timestamp within 600 s of the server clock,
// body_md5 the MD5 of the body (recomputed, as Reverb and Soketi do), and
// auth_signature the HMAC-SHA256 of "POST\n<path>\n<query>", the query
// being every parameter but auth_signature, keys lowercased and sorted,
// values unescaped.
func (s *Server) verifyAPIRequest(r *http.Request) ([]byte, *apiError) {
	if id := r.PathValue("app_id"); id != s.cfg.AppID {
		return nil, apiErrorf(http.StatusNotFound, "Unknown app id %s: this server's app id is %s", quoted(id), quoted(s.cfg.AppID))
	}
	limit := s.maxAPIBody()
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, apiErrorf(http.StatusBadRequest, "Cannot read the request body: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, apiErrorf(http.StatusRequestEntityTooLarge, "Request body larger than %d bytes", limit)
	}

	q := r.URL.Query()
	for _, k := range []string{"auth_key", "auth_timestamp", "auth_version", "auth_signature"} {
		if q.Get(k) == "" {
			return nil, apiErrorf(http.StatusUnauthorized, "Missing %s: sign the request the way Pusher's server libraries do", k)
		}
	}
	if key := q.Get("auth_key"); key != s.cfg.AppKey {
		return nil, apiErrorf(http.StatusUnauthorized, "Unknown auth_key %s: this server's app key is %s", quoted(key), quoted(s.cfg.AppKey))
	}
	if v := q.Get("auth_version"); v != "1.0" {
		return nil, apiErrorf(http.StatusUnauthorized, "Unsupported auth_version %s: only 1.0 is supported", quoted(v))
	}
	ts, err := strconv.ParseInt(q.Get("auth_timestamp"), 10, 64)
	if err != nil {
		return nil, apiErrorf(http.StatusUnauthorized, "auth_timestamp %s is not a Unix time in seconds", quoted(q.Get("auth_timestamp")))
	}
	now := s.cfg.Now().Unix()
	if d := now - ts; d > timestampWindow || d < -timestampWindow {
		return nil, apiErrorf(http.StatusUnauthorized,
			"Timestamp expired: Given timestamp (%d) not within %ds of server time (%d); check the clock of the publisher", ts, timestampWindow, now)
	}
	if len(body) > 0 {
		md := auth.BodyMD5(body)
		if given := q.Get("body_md5"); given != "" && !strings.EqualFold(given, md) {
			return nil, apiErrorf(http.StatusUnauthorized, "body_md5 %s is not the MD5 of the body (%s)", quoted(given), md)
		}
		q.Set("body_md5", md)
	}
	toSign := auth.APIStringToSign(r.Method, r.URL.Path, q)
	given := q.Get("auth_signature")
	if !hmac.Equal([]byte(strings.ToLower(given)), []byte(auth.Sign(s.cfg.AppSecret, toSign))) {
		return nil, apiErrorf(http.StatusUnauthorized,
			"Invalid signature: you should have sent HmacSHA256Hex(%s, your_secret_key), but you sent %s",
			quotedSigned(toSign), quoted(given))
	}
	return body, nil
}

// rawEvent is an event as the HTTP API's JSON has it; fields are checked
// by hand to answer every mistake precisely.
type rawEvent struct {
	Name     json.RawMessage `json:"name"`
	Data     json.RawMessage `json:"data"`
	Channels json.RawMessage `json:"channels"`
	Channel  json.RawMessage `json:"channel"`
	SocketID json.RawMessage `json:"socket_id"`
}

func (s *Server) parseEvent(body []byte, where string) (apiEvent, *apiError) {
	var raw rawEvent
	if err := decodeObject(body, &raw); err != nil {
		return apiEvent{}, apiErrorf(http.StatusBadRequest, "Invalid JSON body%s: %v", where, err)
	}
	return s.checkEvent(raw, where)
}

func (s *Server) parseBatch(body []byte) ([]apiEvent, *apiError) {
	var doc struct {
		Batch json.RawMessage `json:"batch"`
	}
	if err := decodeObject(body, &doc); err != nil {
		return nil, apiErrorf(http.StatusBadRequest, "Invalid JSON body: %v", err)
	}
	var raws []rawEvent
	if isNull(doc.Batch) || json.Unmarshal(doc.Batch, &raws) != nil {
		return nil, apiErrorf(http.StatusBadRequest, `Missing or invalid "batch": it must be an array of events {"channel","name","data"}`)
	}
	if len(raws) > maxBatchEvents {
		return nil, apiErrorf(http.StatusBadRequest, "Batch too large: %d events, the limit is %d", len(raws), maxBatchEvents)
	}
	evs := make([]apiEvent, 0, len(raws))
	for i, raw := range raws {
		ev, e := s.checkEvent(raw, fmt.Sprintf(" in batch event %d", i))
		if e != nil {
			return nil, e
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// decodeObject decodes a JSON object into v, checked by jsonsafe first.
func decodeObject(body []byte, v any) error {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return errors.New("the body must be a JSON object")
	}
	if err := jsonsafe.Valid(t); err != nil {
		return fmt.Errorf("the body is not a JSON object: %w", err)
	}
	return json.Unmarshal(t, v)
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// stringField decodes a JSON string; ok is false when raw is absent, null
// or not a string.
func stringField(raw json.RawMessage) (string, bool) {
	var v string
	if isNull(raw) || json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	return v, true
}

func (s *Server) checkEvent(raw rawEvent, where string) (apiEvent, *apiError) {
	var ev apiEvent
	var ok bool
	if ev.name, ok = stringField(raw.Name); !ok || ev.name == "" {
		return ev, apiErrorf(http.StatusBadRequest, `Missing or invalid "name"%s: it must be a non-empty string`, where)
	}
	if len(ev.name) > maxEventName {
		return ev, apiErrorf(http.StatusBadRequest, `Event name too long%s: %d characters, the limit is %d`, where, len(ev.name), maxEventName)
	}
	if ev.data, ok = stringField(raw.Data); !ok {
		return ev, apiErrorf(http.StatusBadRequest, `Missing or invalid "data"%s: it must be a string (the event's JSON encoded as a string)`, where)
	}
	if s.cfg.MaxEventData >= 0 && len(ev.data) > s.cfg.MaxEventData {
		return ev, apiErrorf(http.StatusRequestEntityTooLarge, "Payload too large%s: data is %d bytes, the limit is %d", where, len(ev.data), s.cfg.MaxEventData)
	}

	switch {
	case !isNull(raw.Channels):
		if err := json.Unmarshal(raw.Channels, &ev.channels); err != nil {
			return ev, apiErrorf(http.StatusBadRequest, `Invalid "channels"%s: it must be an array of channel names`, where)
		}
	case !isNull(raw.Channel):
		ch, ok := stringField(raw.Channel)
		if !ok {
			return ev, apiErrorf(http.StatusBadRequest, `Invalid "channel"%s: it must be a channel name`, where)
		}
		ev.channels = []string{ch}
	}
	if len(ev.channels) == 0 {
		return ev, apiErrorf(http.StatusBadRequest, `Missing "channels"%s: give "channels" (an array) or "channel"`, where)
	}
	if len(ev.channels) > maxEventChannels {
		return ev, apiErrorf(http.StatusBadRequest, "Too many channels%s: %d, the limit is %d", where, len(ev.channels), maxEventChannels)
	}
	for _, ch := range ev.channels {
		if !s.validName(ch) {
			return ev, apiErrorf(http.StatusBadRequest, "Invalid channel name %s%s", quoted(ch), where)
		}
	}

	if !isNull(raw.SocketID) {
		id, ok := stringField(raw.SocketID)
		if !ok || !validSocketID.MatchString(id) {
			return ev, apiErrorf(http.StatusBadRequest, `Invalid "socket_id"%s: it must look like 123.456`, where)
		}
		ev.socketID = id
	}
	return ev, nil
}
