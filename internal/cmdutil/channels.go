package cmdutil

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/pusher"
)

// MaxChannelLen is the longest channel name accepted (Soketi's limit;
// Pusher's is 164).
const MaxChannelLen = 200

var channelName = regexp.MustCompile(`^#?[-a-zA-Z0-9_=@,.;]+$`)

// CheckChannel returns a usage error for a name no Pusher server accepts.
func CheckChannel(ch string) error {
	if !channelName.MatchString(ch) || len(ch) > MaxChannelLen {
		return &UsageError{Msg: fmt.Sprintf("invalid channel name %q", ch), Hint: "channel names use letters, digits and _ - = @ , . ; (at most 200 characters)"}
	}
	return nil
}

// NeedsAuth reports whether a channel must be authorized.
func NeedsAuth(ch string) bool {
	return strings.HasPrefix(ch, "private-") || strings.HasPrefix(ch, "presence-")
}

// Authorizer picks how channels are authorized: signed locally with
// --app-secret, else through the auth endpoint with the token. It is nil
// when no channel needs it.
func Authorizer(s *config.Settings, channels []string, log pusher.Logger) (pusher.Authorizer, error) {
	need := false
	for _, ch := range channels {
		need = need || NeedsAuth(ch)
	}
	if !need {
		return nil, nil
	}
	if s.AppSecret != "" {
		log.Debug("auth", "signing channels locally with --app-secret")
		return &auth.Signer{Key: s.Key, Secret: s.AppSecret}, nil
	}
	client, err := s.HTTPClient()
	if err != nil {
		return nil, err
	}
	if s.Token == "" {
		log.Warn("auth", "no token: authorizing without one (run tmsws login, or pass --token / TMSWS_TOKEN)")
	} else {
		log.Debug("auth", "token "+config.Mask(s.Token)+" from "+s.TokenSource)
	}
	return &auth.Endpoint{HTTP: client, URL: s.AuthURL, Token: s.Token, Header: s.Header}, nil
}

// CheckChannels checks every name and refuses duplicates.
func CheckChannels(channels []string) error {
	seen := make(map[string]bool, len(channels))
	for _, ch := range channels {
		if err := CheckChannel(ch); err != nil {
			return err
		}
		if seen[ch] {
			return Usagef("channel %q given twice", ch)
		}
		seen[ch] = true
	}
	return nil
}

// UpgradeHeader is the header of the WebSocket upgrade: the -H headers and
// tmsws's User-Agent.
func UpgradeHeader(s *config.Settings, version string) http.Header {
	h := s.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("User-Agent", "tmsws/"+version)
	return h
}

// ChannelWarnings says, for each name that a Pusher server would refuse but
// Reverb accepts, why (one line each); nil when there is nothing to say.
func ChannelWarnings(channels []string) []string { return nil }
