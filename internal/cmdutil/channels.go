package cmdutil

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// MaxChannelLen is the longest channel name accepted, in bytes: Reverb
// validates nothing, but no name can be longer than its 10,000-byte
// message limit.
const MaxChannelLen = 10000

// Pusher's rules (pusher-protocol.md §3.2): what Pusher Channels and Soketi
// accept; Reverb accepts any name.
const (
	PusherMaxChannelLen = 164
	SoketiMaxChannelLen = 200
)

var pusherChannelName = regexp.MustCompile(`^#?[-a-zA-Z0-9_=@,.;]+$`)

// CheckChannel returns a usage error for a name no server can take: empty,
// longer than MaxChannelLen, not UTF-8, or holding whitespace or a control
// character. Names that only Pusher's stricter rules refuse pass; see
// ChannelWarnings.
func CheckChannel(ch string) error {
	name := `"` + termsafe.Clip(ch, 64) + `"`
	switch {
	case ch == "":
		return &UsageError{Msg: "empty channel name", Hint: "pass a name with -c, e.g. -c private-chat.42"}
	case len(ch) > MaxChannelLen:
		return &UsageError{Msg: fmt.Sprintf("invalid channel name %s: %d bytes long, over %d", name, len(ch), MaxChannelLen),
			Hint: fmt.Sprintf("no server takes a name longer than a whole message (Reverb: %d bytes); Pusher allows %d characters", MaxChannelLen, PusherMaxChannelLen)}
	case !utf8.ValidString(ch):
		return &UsageError{Msg: fmt.Sprintf("invalid channel name %s: not valid UTF-8", name), Hint: channelHint}
	}
	for i, r := range ch {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return &UsageError{Msg: fmt.Sprintf("invalid channel name %s: %s at byte %d", name, describeRune(r), i), Hint: channelHint}
		}
	}
	return nil
}

const channelHint = "channel names hold no whitespace or control characters; Pusher's set is letters, digits and _ - = @ , . ;"

func describeRune(r rune) string {
	switch {
	case r == ' ':
		return "a space"
	case unicode.IsSpace(r):
		return fmt.Sprintf("whitespace (%U)", r)
	case unicode.Is(unicode.Bidi_Control, r):
		return fmt.Sprintf("a bidi control character (%U)", r)
	}
	return fmt.Sprintf("a control character (%U)", r)
}

// ChannelWarnings says, for each name that a Pusher server would refuse but
// Reverb accepts, why (one line each); nil when there is nothing to say.
// The names are escaped and clipped for the terminal.
func ChannelWarnings(channels []string) []string {
	var out []string
	for _, ch := range channels {
		if w := channelWarning(ch); w != "" {
			out = append(out, w)
		}
	}
	return out
}

func channelWarning(ch string) string {
	n := utf8.RuneCountInString(ch)
	badChars := !pusherChannelName.MatchString(ch)
	if !badChars && n <= PusherMaxChannelLen {
		return ""
	}
	var why []string
	if badChars {
		why = append(why, "has characters outside Pusher's set (letters, digits and _ - = @ , . ;)")
	}
	if n > PusherMaxChannelLen {
		why = append(why, fmt.Sprintf("is %d characters long, over Pusher's %d", n, PusherMaxChannelLen))
	}
	var who string
	switch {
	case badChars || n > SoketiMaxChannelLen:
		who = "Pusher Channels and Soketi refuse it"
	default:
		who = fmt.Sprintf("Pusher Channels refuses it (Soketi takes up to %d)", SoketiMaxChannelLen)
	}
	return fmt.Sprintf(`channel "%s" %s: %s; Reverb accepts it`, termsafe.Clip(ch, 64), strings.Join(why, " and "), who)
}

// NeedsAuth reports whether a channel must be authorized.
func NeedsAuth(ch string) bool {
	return strings.HasPrefix(ch, "private-") || strings.HasPrefix(ch, "presence-")
}

// Authorizer picks how channels are authorized, as s.SignLocally decided
// (config's resolveSigning): signed locally with the app secret, else
// through the auth endpoint with the token. It is nil when no channel needs
// it. Both kinds say how in the client's [auth] line (their Via method).
func Authorizer(s *config.Settings, channels []string, log pusher.Logger) (pusher.Authorizer, error) {
	need := false
	for _, ch := range channels {
		need = need || NeedsAuth(ch)
	}
	if !need {
		return nil, nil
	}
	if s.SignLocally {
		if len(s.EncryptionMasterKey) != auth.MasterKeySize {
			for _, ch := range channels {
				if strings.HasPrefix(ch, auth.EncryptedPrefix) {
					return nil, &UsageError{Msg: fmt.Sprintf(`channel "%s" is end-to-end encrypted: signing it locally needs the encryption master key`, termsafe.Clip(ch, 64)),
						Hint: "pass --encryption-master-key (the app's PUSHER_ENCRYPTION_MASTER_KEY_BASE64) or set " + config.EnvEncryptionMasterKey + "; or authorize through the app's endpoint with --no-sign-locally"}
				}
			}
		}
		return &auth.Signer{Key: s.Key, Secret: s.AppSecret, MasterKey: s.EncryptionMasterKey}, nil
	}
	if err := s.CheckToken(); err != nil {
		return nil, err
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
			return Usagef(`channel "%s" given twice`, termsafe.Clip(ch, 64))
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
