package server

import (
	"fmt"
	"strings"
)

// Like is the server the embedded server imitates where Pusher Channels
// and Laravel Reverb behave differently (pusher-protocol.md §9, §9.1).
// Where they agree, both modes behave the same.
//
//	                              LikePusher (zero value)        LikeReverb
//	pusher:error data             an object (Config.ErrorStyle)  a JSON string
//	unknown app key               4001, then close frame 4001    4001, then TCP drop
//	bad or missing signature      code null "Invalid signature:  4009 "Connection is
//	                              Expected HMAC ..."             unauthorized", no channel
//	auth's key prefix             must be the app key            ignored
//	client event, public channel  4301, channel set              relayed
//	client event, not subscribed  4301, channel set              4009 "The client is not a
//	                                                             member of the specified
//	                                                             channel.", no channel
//	client event data             relayed as sent                an object or array (a JSON
//	                                                             string holding one is
//	                                                             decoded), else 4200
//	channel kinds                 private-, presence-, cache-,   private*, presence*, cache*
//	                              private-cache-, presence-      (no hyphen needed);
//	                              cache-, private-encrypted-     private-encrypted-cache- is
//	                              cache-                         a plain private channel
//	channel names                 [-a-zA-Z0-9_=@,.;], ≤ 164      any non-empty string
//	subscribing twice             "Existing subscription"        subscription_succeeded again
//	unknown pusher: events        ignored                        4200 "Invalid message format"
//	pusher:pong                   "data":"{}"                    no data key
//	server pings                  none                           after PingInterval of
//	                                                             silence; 4201 and a drop
//	                                                             when unanswered
//	cached event kept             30 minutes, subscribed or not  while the channel has
//	                                                             subscribers; whispers too
//
// The 10,000-byte message limit (Config.MaxMessageSize, closed with 1009)
// and the cache channels' last event or pusher:cache_miss right after
// subscription_succeeded are the same in both.
type Like int

const (
	// LikePusher is Pusher Channels (and mostly Soketi): the zero value,
	// what the client's tests run against.
	LikePusher Like = iota
	// LikeReverb is Laravel Reverb, as replay --serve and demo run.
	LikeReverb
)

// String is the mode's name as --like takes it.
func (l Like) String() string {
	if l == LikeReverb {
		return "reverb"
	}
	return "pusher"
}

// ParseLike reads a --like value: "reverb" or "pusher", in any case.
func ParseLike(s string) (Like, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "reverb":
		return LikeReverb, nil
	case "pusher":
		return LikePusher, nil
	}
	return 0, fmt.Errorf("%q is not a server to behave like: use reverb (Laravel Reverb) or pusher (Pusher Channels)", clip(s))
}

// kind is how a channel's name makes it behave.
type kind struct {
	auth     bool // subscribing needs a signature
	presence bool // members are tracked (auth is then true too)
	cache    bool // the last event is sent to new subscribers
}

// kindOf classifies a channel name the way the imitated server does:
// Reverb's ChannelBroker matches private-cache-, presence-cache-, then any
// name starting "cache", then "private" and "presence" without a hyphen;
// Pusher its documented prefixes (pusher-protocol.md §3.1).
func (s *Server) kindOf(name string) kind {
	has := func(prefix string) bool { return strings.HasPrefix(name, prefix) }
	if s.cfg.Like == LikeReverb {
		switch {
		case has("private-cache-"):
			return kind{auth: true, cache: true}
		case has("presence-cache-"):
			return kind{auth: true, presence: true, cache: true}
		case has("cache"):
			return kind{cache: true}
		case has("private"):
			return kind{auth: true}
		case has("presence"):
			return kind{auth: true, presence: true}
		}
		return kind{}
	}
	switch {
	case has(prefixPrivate):
		return kind{auth: true, cache: has("private-cache-") || has("private-encrypted-cache-")}
	case has(prefixPresence):
		return kind{auth: true, presence: true, cache: has("presence-cache-")}
	}
	return kind{cache: has("cache-")}
}

// validName reports whether the imitated server accepts name for a
// channel: Pusher's character set and length, or with Reverb any
// non-empty name (a message's size is limited anyway).
func (s *Server) validName(name string) bool {
	if s.cfg.Like == LikeReverb {
		return name != ""
	}
	return isValidChannel(name)
}
