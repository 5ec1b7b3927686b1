// Package trigger implements `tmsws trigger`: publish an event through the
// server's signed HTTP API, or with --client send a client- event over a
// subscribed channel.
package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/bytesize"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// Limits checked before anything is sent (pusher-protocol.md §11).
const (
	// DataWarnBytes is the data size over which trigger warns: Pusher's
	// documented limit and, roughly, Reverb's (10,000 bytes per request or
	// message). The event is still sent.
	DataWarnBytes = 10240
	maxChannels   = 100
	maxEventName  = 200
	// DefaultMaxMessageSize is Reverb's max_message_size: the largest
	// WebSocket message it accepts (REVERB_APP_MAX_MESSAGE_SIZE); above it
	// it closes the connection with 1009.
	DefaultMaxMessageSize = 10000
)

// Options are the parsed flags of `tmsws trigger`.
type Options struct {
	IO       *iostreams.IO
	Settings *config.Settings
	Version  string

	Channels []string
	Event    string
	// DataArg is -d as given: JSON, @FILE, or - for stdin.
	DataArg string
	// Data is the validated, compacted JSON document DataArg named; it is
	// filled before run is called.
	Data     []byte
	SocketID string
	JSON     bool

	// Client sends a client- event over the WebSocket instead of the HTTP
	// API.
	Client bool
	// Timeout bounds connecting, authorizing and subscribing with --client.
	Timeout time.Duration
	// Wait is how long --client watches for the server refusing the event
	// (a pusher:error, or closing the connection) after it was written.
	Wait time.Duration
	// MaxMessageSize is the largest client event frame --client sends, in
	// bytes (--max-message-size); 0 means no check.
	MaxMessageSize int64

	// Now is the clock of auth_timestamp; nil means time.Now.
	Now func() time.Time
}

// NewCmdTrigger builds `tmsws trigger`. runF replaces the behaviour in flag
// tests.
func NewCmdTrigger(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Version: f.Version, MaxMessageSize: DefaultMaxMessageSize}
	cmd := &cobra.Command{
		Use:   "trigger -c CHANNEL -e EVENT -d DATA",
		Short: "Publish an event through the server's HTTP API, or a client event over the WebSocket",
		Long: `Publish an event the way a Laravel app does: through the server's signed HTTP API
(POST {ws-path}/apps/{app-id}/events), on the host and port of the connection
settings, or api-NAME.pusher.com with --cluster. It needs the app id (--app-id
or TMSWS_APP_ID) and the app secret (--app-secret or TMSWS_APP_SECRET). Under
--ws-path (Reverb's REVERB_SERVER_PATH) the request goes to that prefix and is
signed without it, as Reverb checks it.

The data (-d) is a JSON document, @FILE to read it from a file, or - to read it
from stdin. It is checked before anything is sent and published as a string, as
Laravel does. Over 10 KB it is still sent, with a warning: Pusher and Reverb
refuse such events (Soketi accepts up to 100 KB). A refused payload (413) exits
with 2, an unknown app id (404) with 4.

A private-encrypted- channel is end-to-end encrypted, as Laravel's
EncryptedPrivateChannel: the data is sealed with the channel's shared secret,
derived from the app's encryption master key (--encryption-master-key or
TMSWS_ENCRYPTION_MASTER_KEY, the app's PUSHER_ENCRYPTION_MASTER_KEY_BASE64), so
only listeners that authorized the channel can read it. Without the key tmsws
refuses to send, and such an event goes to that one channel alone (the HTTP API
does not mix it with others).

With --client, tmsws connects instead, subscribes the channel (private and
presence ones authorized like listen: the stored token, or --app-secret), sends
a client- event on it (a typing indicator, say, as Echo's whisper does), makes
sure the server did not refuse it, and exits. The server must allow client
events. The data must be a JSON object, as Reverb requires (a string gets 4200
"Invalid message format"), and the whole message at most --max-message-size
bytes (Reverb's max_message_size, 10,000 by default: above it Reverb closes the
connection with 1009 and the event is lost); both are checked before
connecting. A pusher:error or a closed connection within --wait of the send is
a failure. Public channels are allowed, with a warning: Reverb and Soketi relay
client events on them, Pusher Channels refuses them (4301).`,
		Example: `  tmsws trigger --app-id 123456 -c private-chat.42 -e 'App\Events\MessageSent' -d '{"message":{"content":"hi"}}'
  tmsws trigger -c chat -e Announcement -d @announcement.json
  jq -c .data event.json | tmsws trigger -c private-chat.42 -e MessageSent -d -
  tmsws trigger --app-id 123456 --encryption-master-key "$PUSHER_ENCRYPTION_MASTER_KEY_BASE64" -c private-encrypted-chat.42 -e MessageSent -d '{"message":{"content":"hi"}}'
  tmsws trigger --client -c presence-chat.42 -e client-typing -d '{"typing":true}'
  tmsws trigger --ws-path /ws --app-id 123456 -c chat -e Announcement -d '{}'   # Reverb under REVERB_SERVER_PATH=/ws`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &cmdutil.UsageError{Msg: fmt.Sprintf("unexpected argument %q", args[0]),
					Hint: "channels go with -c, the event with -e and the data with -d"}
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			data, err := readData(opts.DataArg, opts.IO.In)
			if err != nil {
				return err
			}
			opts.Data = data
			s, err := f.Settings(c)
			if err != nil {
				return err
			}
			opts.Settings = s
			if err := opts.validateSettings(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return Run(c.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&opts.Channels, "channel", "c", nil, "channel to publish on (repeatable, at most 100)")
	fl.StringVarP(&opts.Event, "event", "e", "", "event name, e.g. App\\Events\\MessageSent (client-NAME with --client)")
	fl.StringVarP(&opts.DataArg, "data", "d", "", "event data: a JSON document, @FILE, or - for stdin")
	fl.StringVar(&opts.SocketID, "socket-id", "", "leave out the connection with this socket id, as Laravel's toOthers() does")
	fl.String(config.FlagAppID, "", "the app id of the HTTP API's /apps/{id} (env "+config.EnvAppID+")")
	fl.BoolVar(&opts.JSON, "json", false, "also print the result as a JSON object on stdout")
	fl.BoolVar(&opts.Client, "client", false, "send a client- event over the WebSocket instead (on a private or presence channel; public ones only on Reverb and Soketi)")
	fl.DurationVar(&opts.Timeout, "timeout", 10*time.Second, "with --client: limit for connecting and subscribing")
	fl.DurationVar(&opts.Wait, "wait", time.Second, "with --client: how long to watch for the server refusing the event or closing the connection")
	fl.Var(bytesize.Value{N: &opts.MaxMessageSize}, "max-message-size", "with --client: the largest message sent, in `bytes` (Reverb's max_message_size, REVERB_APP_MAX_MESSAGE_SIZE); 0: no check")
	return cmd
}

var (
	socketID = regexp.MustCompile(`^\d+\.\d+$`)
)

// validate checks the flags that need no settings.
func (o *Options) validate() error {
	if len(o.Channels) == 0 {
		return &cmdutil.UsageError{Msg: "no channel given", Hint: "pass -c/--channel NAME, e.g. tmsws trigger -c private-chat.42 -e MessageSent -d '{}'"}
	}
	if len(o.Channels) > maxChannels {
		return &cmdutil.UsageError{Msg: fmt.Sprintf("%d channels given, the HTTP API takes at most %d per event", len(o.Channels), maxChannels),
			Hint: "trigger the event in several runs"}
	}
	if err := cmdutil.CheckChannels(o.Channels); err != nil {
		return err
	}
	if strings.TrimSpace(o.Event) == "" {
		return &cmdutil.UsageError{Msg: "no event name given", Hint: "pass -e/--event NAME, e.g. -e 'App\\Events\\MessageSent'"}
	}
	if len(o.Event) > maxEventName {
		return cmdutil.Usagef("the event name is %d characters long, servers accept at most %d", len(o.Event), maxEventName)
	}
	if o.DataArg == "" {
		return &cmdutil.UsageError{Msg: "no data given", Hint: "pass -d/--data with a JSON document, @FILE or - for stdin, e.g. -d '{}'"}
	}
	if o.SocketID != "" && !socketID.MatchString(o.SocketID) {
		return &cmdutil.UsageError{Msg: fmt.Sprintf("--socket-id %q is not a socket id", o.SocketID), Hint: "socket ids look like 123.456"}
	}
	if o.Client {
		return o.validateClient()
	}
	return nil
}

func (o *Options) validateClient() error {
	if len(o.Channels) != 1 {
		return &cmdutil.UsageError{Msg: "--client sends on one channel", Hint: "give one -c/--channel"}
	}
	ch := o.Channels[0]
	if !strings.HasPrefix(o.Event, "client-") {
		return &cmdutil.UsageError{Msg: fmt.Sprintf("client event %q does not start with client-", o.Event),
			Hint: "client events are named client-NAME, e.g. -e client-typing (Laravel Echo's whisper('typing') sends client-typing)"}
	}
	if strings.HasPrefix(ch, "private-encrypted-") {
		return &cmdutil.UsageError{Msg: fmt.Sprintf("client events cannot be sent on the encrypted channel %s", termsafe.Clip(ch, 64)),
			Hint: "Pusher does not support client events on private-encrypted- channels (pusher-js refuses them too); use a private- or presence- channel"}
	}
	if o.SocketID != "" {
		return &cmdutil.UsageError{Msg: "--socket-id does not go with --client", Hint: "the server never sends a client event back to its sender"}
	}
	if o.Timeout <= 0 {
		return cmdutil.Usagef("--timeout must be positive, got %s", o.Timeout)
	}
	if o.Wait < 0 {
		return cmdutil.Usagef("--wait must be 0 or more, got %s", o.Wait)
	}
	return nil
}

// validateSettings checks what the HTTP API needs from the settings.
func (o *Options) validateSettings() error {
	if o.Client {
		return nil
	}
	s := o.Settings
	if s.AppID == "" {
		return &cmdutil.UsageError{Msg: "no app id given: the HTTP API publishes to /apps/{app-id}/events",
			Hint: "pass --app-id ID or set " + config.EnvAppID + " (REVERB_APP_ID or PUSHER_APP_ID in the app's .env; Soketi's default is app-id), or app-id in the profile"}
	}
	if s.AppSecret == "" {
		return &cmdutil.UsageError{Msg: "no app secret given: HTTP API requests are signed with it",
			Hint: "pass --app-secret SECRET or set " + config.EnvAppSecret + " (REVERB_APP_SECRET or PUSHER_APP_SECRET in the app's .env); to send over the WebSocket with your login instead, use --client"}
	}
	return o.checkEncrypted()
}

func isEncrypted(channel string) bool { return strings.HasPrefix(channel, auth.EncryptedPrefix) }

// checkEncrypted: an event for a private-encrypted- channel is sealed with
// the channel's own key, so it goes to that channel alone (pusher-http-php
// and the HTTP API refuse to mix them), and it needs the master key.
func (o *Options) checkEncrypted() error {
	var enc []string
	for _, ch := range o.Channels {
		if isEncrypted(ch) {
			enc = append(enc, ch)
		}
	}
	if len(enc) == 0 {
		return nil
	}
	name := termsafe.Clip(enc[0], 64)
	if len(o.Channels) > 1 {
		return &cmdutil.UsageError{Msg: fmt.Sprintf("%s is end-to-end encrypted: an event for an encrypted channel goes to that channel alone, not with %d others",
			name, len(o.Channels)-1),
			Hint: "trigger it once per channel: each encrypted channel has its own key (the HTTP API refuses several channels with an encrypted one)"}
	}
	if len(o.Settings.EncryptionMasterKey) == 0 {
		return &cmdutil.UsageError{Msg: fmt.Sprintf("%s is end-to-end encrypted: pass --encryption-master-key (the app's PUSHER_ENCRYPTION_MASTER_KEY_BASE64) so listeners can decrypt it", name),
			Hint: "or set " + config.EnvEncryptionMasterKey + ", or encryption-master-key in the profile; sent without it, the event would reach listeners as plaintext they fail to decrypt"}
	}
	return nil
}

// maxDataFile caps what -d @FILE and -d - read: far above every server's
// limit, low enough to fail clearly on the wrong file.
const maxDataFile = 16 << 20

// readData reads -d (JSON, @FILE or -) and checks that it is one JSON
// document; it returns the document compacted.
func readData(arg string, stdin io.Reader) ([]byte, error) {
	var raw []byte
	source := "-d"
	switch {
	case arg == "-":
		source = "-d - (stdin)"
		if stdin == nil {
			return nil, cmdutil.Usagef("-d -: no stdin to read from")
		}
		b, err := io.ReadAll(io.LimitReader(stdin, maxDataFile+1))
		if err != nil {
			return nil, fmt.Errorf("read -d - from stdin: %w", err)
		}
		raw = b
	case strings.HasPrefix(arg, "@"):
		name := arg[1:]
		source = "-d @" + name
		if name == "" {
			return nil, &cmdutil.UsageError{Msg: "-d @ names no file", Hint: "pass -d @FILE, e.g. -d @event.json"}
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, &cmdutil.UsageError{Msg: fmt.Sprintf("%s: %v", source, err), Hint: "check the file name after @"}
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxDataFile+1))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", source, err)
		}
		raw = b
	default:
		raw = []byte(arg)
	}
	if len(raw) > maxDataFile {
		return nil, cmdutil.Usagef("%s: more than %d bytes of data; no server accepts that much", source, maxDataFile)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, &cmdutil.UsageError{Msg: source + ": the data is empty", Hint: "pass a JSON document, e.g. -d '{}'"}
	}
	if err := jsonsafe.Depth(raw); err != nil {
		return nil, cmdutil.Usagef("%s: %v: no app sends such data", source, err)
	}
	var doc json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, dataError(source, raw, err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, doc); err != nil {
		return nil, dataError(source, raw, err)
	}
	return out.Bytes(), nil
}

// dataError says where the JSON went wrong: line, column and byte.
func dataError(source string, raw []byte, err error) error {
	hint := "-d takes a JSON document: quote it for the shell, e.g. -d '{\"message\":{\"content\":\"hi\"}}'; a plain text needs JSON quotes too: -d '\"hi\"'"
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return &cmdutil.UsageError{Msg: fmt.Sprintf("%s is not valid JSON: %v", source, err), Hint: hint}
	}
	// The error happened after reading Offset bytes: the byte at fault is
	// the last one read.
	at := int(se.Offset) - 1
	if at < 0 {
		at = 0
	}
	if at > len(raw) {
		at = len(raw)
	}
	line := 1 + bytes.Count(raw[:at], []byte("\n"))
	col := at - bytes.LastIndexByte(raw[:at], '\n')
	return &cmdutil.UsageError{
		Msg:  fmt.Sprintf("%s is not valid JSON: line %d, column %d (byte %d): %s", source, line, col, at+1, se.Error()),
		Hint: hint,
	}
}

// Run publishes the event: through the HTTP API, or with --client over
// the WebSocket.
func Run(ctx context.Context, opts *Options) error {
	s := opts.Settings
	log := cmdutil.NewStatusLog(opts.IO.ErrOut, opts.IO.ColorEnabled(s.Color, opts.IO.ErrTTY), s.Verbose)
	if s.Insecure {
		log.Warn("trigger", "--insecure: TLS certificates are not verified")
	}
	var frame []byte
	if opts.Client {
		f, err := clientFrame(opts)
		if err != nil {
			return err
		}
		frame = f
	}
	for _, w := range cmdutil.ChannelWarnings(opts.Channels) {
		log.Warn("channel", w)
	}
	// With --client the frame check says more, unless it is off.
	if n := len(opts.Data); n > DataWarnBytes && (!opts.Client || opts.MaxMessageSize == 0) {
		log.Warn("trigger", fmt.Sprintf("the data is %d bytes, over the 10 KB (%d bytes) that Pusher and Reverb accept: they will likely refuse it (Soketi takes up to 100 KB); sending it anyway", n, DataWarnBytes))
	}
	if opts.Client {
		return runClient(ctx, opts, frame, log)
	}
	return runAPI(ctx, opts, log)
}

// result is the --json object on stdout.
type result struct {
	OK       bool     `json:"ok"`
	Via      string   `json:"via"` // "http-api" or "client"
	Event    string   `json:"event"`
	Channels []string `json:"channels"`
	Bytes    int      `json:"bytes"`
	MS       float64  `json:"ms"`
	Status   int      `json:"status,omitempty"`    // HTTP API: the status the server meant
	SocketID string   `json:"socket_id,omitempty"` // --client: the sending connection
	Error    string   `json:"error,omitempty"`
}

func writeResult(opts *Options, r result) error {
	if !opts.JSON {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode the result: %w", err)
	}
	if _, err := opts.IO.Out.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write the result: %w", err)
	}
	return nil
}

func millis(d time.Duration) float64 {
	return float64(d.Round(100*time.Microsecond)) / float64(time.Millisecond)
}
