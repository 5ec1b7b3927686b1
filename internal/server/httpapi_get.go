package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// The read side of the signed HTTP API (docs/http-api.md): GET
// /apps/{id}/channels, /channels/{name}, /channels/{name}/users and, like
// Reverb only, /connections. Requests are verified as the POSTs are (the
// signature covers "GET\n<path>\n<query>"; a GET has no body_md5); the
// answers have Pusher's shapes, or Reverb's where Config.Like says so:
//
//   - counts are of real subscriptions (a refused or pending subscribe is
//     not counted); user_count is distinct presence users;
//   - /channels lists occupied channels only; like Pusher, user_count is
//     refused (400) unless filter_by_prefix starts with presence-; like
//     Reverb it is given to the presence channels and ignored for others
//     (InteractsWithChannelInformation: subscription_count only for
//     non-presence channels, user_count only for presence ones);
//   - /channels/{name} always has "occupied"; like Pusher, user_count on a
//     channel that is not presence- is a 400;
//   - /users of a channel that is not presence- is a 400, of an empty one
//     {"users":[]} like Pusher and Soketi, 404 {} like Reverb;
//   - /connections is Reverb's: the connections subscribed to at least one
//     channel (ArrayChannelManager::connections); Pusher has no such
//     endpoint, so LikePusher answers 404.

// channelState is a copy of one channel's counts, taken under s.mu.
type channelState struct {
	subs, users int
	ids         []string // presence: user ids in join order
	last        []byte   // the cache channel's last event (LikeReverb)
}

// channelStates copies the state of the channels whose names start with
// prefix (all for ""); only occupied channels exist in s.channels.
func (s *Server) channelStates(prefix string) map[string]channelState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]channelState)
	for name, ch := range s.channels {
		if !strings.HasPrefix(name, prefix) || len(ch.subs) == 0 {
			continue
		}
		out[name] = channelState{subs: len(ch.subs), users: len(ch.users), ids: slices.Clone(ch.order), last: ch.last}
	}
	return out
}

// channelStateOf is one channel's state; ok is false when nobody is
// subscribed.
func (s *Server) channelStateOf(name string) (channelState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[name]
	if ch == nil || len(ch.subs) == 0 {
		return channelState{}, false
	}
	return channelState{subs: len(ch.subs), users: len(ch.users), ids: slices.Clone(ch.order), last: ch.last}, true
}

// subscribedConnections counts the connections subscribed to at least one
// channel.
func (s *Server) subscribedConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[*Conn]struct{})
	for _, ch := range s.channels {
		for c := range ch.subs {
			seen[c] = struct{}{}
		}
	}
	return len(seen)
}

// cacheInfo is the "cache" info of a cache channel, nil when there
// is none: like Reverb the last event as it was broadcast
// (CacheChannel::cachedPayload), like Pusher {"data":…,"ttl":seconds}.
func (s *Server) cacheInfo(name string, st channelState) json.RawMessage {
	if !s.kindOf(name).cache {
		return nil
	}
	if s.cfg.Like == LikeReverb {
		if st.last == nil {
			return nil
		}
		return json.RawMessage(st.last)
	}
	s.mu.Lock()
	e, ok := s.cached[name]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	ttl := pusherCacheTTL - s.cfg.Now().Sub(e.at)
	if ttl <= 0 {
		return nil
	}
	b, _ := json.Marshal(struct {
		Data string `json:"data"`
		TTL  int    `json:"ttl"`
	}{gjson.GetBytes(e.frame, "data").String(), int(ttl.Seconds())})
	return b
}

// infoSet is the ?info= attributes asked for.
type infoSet map[string]bool

func parseInfo(r *http.Request) infoSet {
	set := infoSet{}
	for _, v := range r.URL.Query()["info"] {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				set[a] = true
			}
		}
	}
	return set
}

// channelInfo is a channel's info object, in the server's field order.
type channelInfo struct {
	Occupied          *bool           `json:"occupied,omitempty"`
	UserCount         *int            `json:"user_count,omitempty"`
	SubscriptionCount *int            `json:"subscription_count,omitempty"`
	Cache             json.RawMessage `json:"cache,omitempty"`
}

func ptr[T any](v T) *T { return &v }

// describe is the info of an occupied channel for the attributes asked.
func (s *Server) describe(name string, st channelState, info infoSet, occupied bool) channelInfo {
	k := s.kindOf(name)
	var ci channelInfo
	if occupied {
		ci.Occupied = ptr(true)
	}
	if info["user_count"] && k.presence {
		ci.UserCount = ptr(st.users)
	}
	// Reverb gives subscription_count to non-presence channels only;
	// Pusher to every channel.
	if info["subscription_count"] && (!k.presence || s.cfg.Like != LikeReverb) {
		ci.SubscriptionCount = ptr(st.subs)
	}
	if info["cache"] {
		ci.Cache = s.cacheInfo(name, st)
	}
	return ci
}

// serveChannels answers GET /apps/{id}/channels[?filter_by_prefix&info]:
// {"channels":{"name":{…},…}}.
func (s *Server) serveChannels(w http.ResponseWriter, r *http.Request) {
	if _, e := s.verifyAPIRequest(r); e != nil {
		s.answerAPI(w, r, e)
		return
	}
	prefix := r.URL.Query().Get("filter_by_prefix")
	info := parseInfo(r)
	if s.cfg.Like != LikeReverb && info["user_count"] && !strings.HasPrefix(prefix, "presence-") {
		s.answerAPI(w, r, apiErrorf(http.StatusBadRequest,
			"user_count may only be requested for presence channels: give filter_by_prefix starting with presence-"))
		return
	}
	states := s.channelStates(prefix)
	out := make(map[string]channelInfo, len(states))
	for name, st := range states {
		out[name] = s.describe(name, st, info, info["occupied"])
	}
	b, _ := json.Marshal(struct {
		Channels map[string]channelInfo `json:"channels"`
	}{out})
	writeJSON(w, http.StatusOK, b)
}

// serveChannel answers GET /apps/{id}/channels/{name}[?info]:
// {"occupied":…,…}.
func (s *Server) serveChannel(w http.ResponseWriter, r *http.Request) {
	if _, e := s.verifyAPIRequest(r); e != nil {
		s.answerAPI(w, r, e)
		return
	}
	name := r.PathValue("channel_name")
	if !s.validName(name) {
		s.answerAPI(w, r, apiErrorf(http.StatusBadRequest, "Invalid channel name %s", quoted(name)))
		return
	}
	info := parseInfo(r)
	if s.cfg.Like != LikeReverb && info["user_count"] && !s.kindOf(name).presence {
		s.answerAPI(w, r, apiErrorf(http.StatusBadRequest, "user_count may only be requested for presence channels, not %s", quoted(name)))
		return
	}
	st, ok := s.channelStateOf(name)
	if !ok {
		writeJSON(w, http.StatusOK, []byte(`{"occupied":false}`))
		return
	}
	b, _ := json.Marshal(s.describe(name, st, info, true))
	writeJSON(w, http.StatusOK, b)
}

// serveChannelUsers answers GET /apps/{id}/channels/{name}/users:
// {"users":[{"id":"…"},…]} in join order.
func (s *Server) serveChannelUsers(w http.ResponseWriter, r *http.Request) {
	if _, e := s.verifyAPIRequest(r); e != nil {
		s.answerAPI(w, r, e)
		return
	}
	name := r.PathValue("channel_name")
	st, ok := s.channelStateOf(name)
	if s.cfg.Like == LikeReverb {
		// ChannelUsersController: 404 {} for a channel nobody is on, 400
		// {} for one that is not presence.
		switch {
		case !ok:
			writeJSON(w, http.StatusNotFound, []byte(`{}`))
			return
		case !s.kindOf(name).presence:
			writeJSON(w, http.StatusBadRequest, []byte(`{}`))
			return
		}
	} else if !s.kindOf(name).presence {
		s.answerAPI(w, r, apiErrorf(http.StatusBadRequest, "Users may only be listed for presence channels, not %s", quoted(name)))
		return
	}
	type user struct {
		ID string `json:"id"`
	}
	users := make([]user, 0, len(st.ids))
	for _, id := range st.ids {
		users = append(users, user{id})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Users []user `json:"users"`
	}{users})
	writeJSON(w, http.StatusOK, bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// serveConnections answers GET /apps/{id}/connections like Reverb:
// {"connections":N}; like Pusher, which has no such endpoint, 404.
func (s *Server) serveConnections(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Like != LikeReverb {
		http.NotFound(w, r)
		return
	}
	if _, e := s.verifyAPIRequest(r); e != nil {
		s.answerAPI(w, r, e)
		return
	}
	b, _ := json.Marshal(struct {
		Connections int `json:"connections"`
	}{s.subscribedConnections()})
	writeJSON(w, http.StatusOK, b)
}
