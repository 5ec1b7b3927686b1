package server

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/record"
)

// ErrorStyle says how the data of a pusher:error frame is encoded.
type ErrorStyle int

const (
	// ErrorObject sends data as a JSON object, {"code":4001,"message":"..."},
	// as Pusher and Soketi do.
	ErrorObject ErrorStyle = iota
	// ErrorString sends data as a JSON string holding that object, as
	// Laravel Reverb does.
	ErrorString
)

// Pusher error codes the server itself uses (pusher-protocol.md §4).
const (
	CodeAppNotFound        = 4001
	CodeUnauthorized       = 4009
	CodeInvalidMessage     = 4200
	CodePongTimeout        = 4201
	CodeClientEventRefused = 4301
)

// Channel name prefixes that decide how a channel is authorized.
const (
	prefixPrivate   = "private-"
	prefixEncrypted = "private-encrypted-"
	prefixPresence  = "presence-"
)

func isPresence(channel string) bool { return strings.HasPrefix(channel, prefixPresence) }

// needsAuth reports whether subscribing to channel needs a signature:
// private-, private-encrypted- and presence- channels do.
func needsAuth(channel string) bool {
	return strings.HasPrefix(channel, prefixPrivate) || isPresence(channel)
}

// validChannel is the rule the Pusher server libraries apply
// (pusher-http-php validate_channel) plus Pusher's 164-character limit.
var validChannel = regexp.MustCompile(`\A#?[-a-zA-Z0-9_=@,.;]+\z`)

const maxChannelLen = 164

// isValidChannel reports whether name is a channel name Pusher accepts.
func isValidChannel(name string) bool {
	return len(name) <= maxChannelLen && validChannel.MatchString(name)
}

// SignChannel returns the auth string a Pusher server expects for a
// subscription: key + ":" + hex(HMAC-SHA256(secret, socketID:channel)), with
// ":" + channelData appended to the signed string when channelData is not
// empty (presence channels, pusher-protocol.md §7).
func SignChannel(key, secret, socketID, channel, channelData string) string {
	return auth.ChannelAuth(key, secret, socketID, channel, channelData)
}

func stringToSign(socketID, channel, channelData string) string {
	s := socketID + ":" + channel
	if channelData != "" {
		s += ":" + channelData
	}
	return s
}

// frame builds a server→client message with the keys in Pusher's order.
// data is raw JSON and is left out when empty; channel and userID are left
// out when empty.
func frame(event, channel string, data []byte, userID string) []byte {
	b := make([]byte, 0, 64+len(event)+len(channel)+len(data))
	b = append(b, `{"event":`...)
	b = record.AppendString(b, event)
	if channel != "" {
		b = append(b, `,"channel":`...)
		b = record.AppendString(b, channel)
	}
	if len(data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, data...)
	}
	if userID != "" {
		b = append(b, `,"user_id":`...)
		b = record.AppendString(b, userID)
	}
	return append(b, '}')
}

// jsonString returns s as a JSON string literal: the "double encoding" the
// server uses for the data of pusher: and pusher_internal: events.
func jsonString(s string) []byte { return record.AppendString(nil, s) }

// errorData returns the data of a pusher:error frame. code 0 is sent as
// null, Pusher's code for a refused subscription.
func errorData(style ErrorStyle, code int, message string) []byte {
	b := []byte(`{"code":`)
	if code == 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(code), 10)
	}
	b = append(b, `,"message":`...)
	b = record.AppendString(b, message)
	b = append(b, '}')
	if style == ErrorString {
		return jsonString(string(b))
	}
	return b
}

// errorFrame builds a pusher:error message; channel is set only for errors
// about a channel (Soketi's client-event errors).
func errorFrame(style ErrorStyle, channel string, code int, message string) []byte {
	return frame("pusher:error", channel, errorData(style, code, message), "")
}

// establishedFrame builds pusher:connection_established.
func establishedFrame(socketID string, activityTimeout int) []byte {
	d := []byte(`{"socket_id":`)
	d = record.AppendString(d, socketID)
	d = append(d, `,"activity_timeout":`...)
	d = strconv.AppendInt(d, int64(activityTimeout), 10)
	d = append(d, '}')
	return frame("pusher:connection_established", "", jsonString(string(d)), "")
}

// presenceData builds the subscription_succeeded data of a presence channel:
// {"presence":{"ids":[...],"hash":{id:info},"count":N}} with unique users in
// join order.
func presenceData(ids []string, info map[string][]byte) []byte {
	b := []byte(`{"presence":{"ids":[`)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = record.AppendString(b, id)
	}
	b = append(b, `],"hash":{`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = record.AppendString(b, id)
		b = append(b, ':')
		b = appendInfo(b, info[id])
	}
	b = append(b, `},"count":`...)
	b = strconv.AppendInt(b, int64(len(ids)), 10)
	return append(b, "}}"...)
}

func appendInfo(b, info []byte) []byte {
	if len(info) == 0 {
		return append(b, "null"...)
	}
	return append(b, info...)
}

// memberAddedData builds {"user_id":..,"user_info":..}; user_info is left
// out when the member has none.
func memberAddedData(userID string, info []byte) []byte {
	b := []byte(`{"user_id":`)
	b = record.AppendString(b, userID)
	if len(info) > 0 {
		b = append(b, `,"user_info":`...)
		b = append(b, info...)
	}
	return append(b, '}')
}

func memberRemovedData(userID string) []byte {
	b := []byte(`{"user_id":`)
	b = record.AppendString(b, userID)
	return append(b, '}')
}
