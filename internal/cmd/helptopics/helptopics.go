// Package helptopics holds the additional help topics of tmsws: `tmsws
// help exit-codes`, `environment`, `config` and `formats`. Each is a cobra
// command with no Run and no subcommands, which cobra lists under
// "Additional help topics" and prints with tmsws help TOPIC.
package helptopics

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/amusoft/tmsws/internal/bytesize"
	"github.com/amusoft/tmsws/internal/config"
)

// ExitCode is one row of the exit-codes topic.
type ExitCode struct {
	Code    int
	Meaning string
	// Causes are examples of what ends tmsws with Code.
	Causes string
}

// New returns the help topics. codes is the exit-code table (the app owns
// the codes and their meaning).
func New(codes []ExitCode) []*cobra.Command {
	return []*cobra.Command{
		topic("exit-codes", "The exit codes of every command, with example causes", exitCodes(codes)),
		topic("environment", "The environment variables tmsws reads, and the Laravel .env keys", environment()),
		topic("config", "The config folder, its config file of profiles, the credentials file", configTopic()),
		topic("formats", "The JSON record of --json and -o, and the recordings replay reads", formats()),
	}
}

// topic is a help topic: a command with no Run and no subcommands, which
// cobra's help shows as its Long alone (no usage, no flags), for tmsws help
// NAME and tmsws NAME.
func topic(name, short, long string) *cobra.Command {
	return &cobra.Command{Use: name, Short: short, Long: long}
}

func exitCodes(codes []ExitCode) string {
	var b strings.Builder
	b.WriteString(`Exit codes of tmsws

Every command ends with one of these codes; scripts and CI can rely on them.
An error is one line on stderr ("error: ..."), often with a "hint: ..." line
saying what to do.

`)
	for _, c := range codes {
		fmt.Fprintf(&b, "  %-4d %s\n", c.Code, c.Meaning)
		wrap(&b, "       ", c.Causes)
	}
	b.WriteString(`
Examples:
  tmsws subscribe -c private-chat.42 --expect MessageSent --timeout 30s; echo "exit $?"
  tmsws doctor -c private-chat.42 || echo "failed with $?"
`)
	return b.String()
}

func environment() string {
	return `Environment variables

Each connection setting comes from its flag, else its TMSWS_* variable,
else a profile named with --profile or TMSWS_PROFILE, else the Laravel
project's .env, else the default profile, else the built-in default
(tmsws config list --show-origin shows where each value came from).

Connection settings
  TMSWS_PROFILE      --profile: the profile of the config file to use (default "default")
  TMSWS_HOST         --host: WebSocket host, HOST:PORT, or a ws://, wss://, http(s):// URL
  TMSWS_PORT         --port: WebSocket port
  TMSWS_SCHEME       --scheme: https (alias wss) or http (alias ws)
  TMSWS_KEY          --key: the app key, as in /app/{key}
  TMSWS_CLUSTER      --cluster: Pusher Channels cluster (host ws-NAME.pusher.com)
  TMSWS_WS_PATH      --ws-path: a path prefix before /app/{key}
  TMSWS_API_URL      --api-url: base URL of the Laravel app (login and auth)
  TMSWS_AUTH_URL     --auth-url: the channel authorization endpoint
  TMSWS_TOKEN        --token: bearer token for the API (instead of the stored login)
  TMSWS_APP_ID       --app-id: the app id of the HTTP API (/apps/{id}/...)
  TMSWS_APP_SECRET   --app-secret: signs trigger and HTTP API calls, and channel
                     auth locally when no --auth-url/--token flag asks for the endpoint
  TMSWS_ENCRYPTION_MASTER_KEY
                     --encryption-master-key: base64 32-byte key of private-encrypted- channels
  TMSWS_NO_ENV_FILE  a true value (1, true, yes, on) does what --no-env-file does:
                     tmsws does not read the Laravel project's .env

Colour
  NO_COLOR           any value: no colour (with --color auto)
  CLICOLOR_FORCE     any value but 0: colour even when not on a terminal (with --color auto)
  TERM               dumb: no colour (with --color auto)

Config folder
  XDG_CONFIG_HOME    the config folder is $XDG_CONFIG_HOME/tmsws (an absolute path only)
  HOME               else it is $HOME/.config/tmsws; ~ in a path setting (--cacert) is $HOME

Laravel .env keys
  Inside a Laravel project (the nearest directory upward from the working
  directory with artisan and .env), or with --env-file FILE, tmsws reads the
  .env as Laravel does. --no-env-file or TMSWS_NO_ENV_FILE=1 turns this off.
  With Laravel Reverb (the default):
    REVERB_APP_KEY (or VITE_REVERB_APP_KEY)   key
    REVERB_APP_ID                             app-id
    REVERB_APP_SECRET                         app-secret: signs trigger and HTTP API calls;
                                              channels still go through /broadcasting/auth
                                              unless --sign-locally is given
    REVERB_HOST, REVERB_PORT, REVERB_SCHEME   host, port, scheme
    VITE_REVERB_HOST, VITE_REVERB_PORT, VITE_REVERB_SCHEME
                                              preferred for the WebSocket when set: the
                                              browser's view of the server, as Echo connects
    REVERB_SERVER_PATH                        ws-path
    APP_URL                                   api-url
  With BROADCAST_CONNECTION=pusher (or the older BROADCAST_DRIVER=pusher):
    PUSHER_APP_KEY (or VITE_PUSHER_APP_KEY)   key
    PUSHER_APP_ID                             app-id
    PUSHER_APP_SECRET                         app-secret (as REVERB_APP_SECRET)
    PUSHER_APP_CLUSTER (or VITE_PUSHER_APP_CLUSTER)
                                              cluster
    PUSHER_HOST, PUSHER_PORT, PUSHER_SCHEME   host, port, scheme
    VITE_PUSHER_HOST, VITE_PUSHER_PORT, VITE_PUSHER_SCHEME
                                              preferred for the WebSocket when set
    APP_URL                                   api-url

Examples:
  TMSWS_HOST=127.0.0.1 TMSWS_PORT=8080 TMSWS_SCHEME=http tmsws listen -c chat
  TMSWS_PROFILE=staging tmsws subscribe -c private-chat.42 --expect MessageSent
  NO_COLOR=1 tmsws listen -c private-chat.42
  tmsws listen -c private-chat.42 --env-file ../my-app/.env
`
}

// keyUsage describes the keys that are not among the root's flags.
var keyUsage = map[string]string{
	"app-id": "the app id of the HTTP API (/apps/{id}/...), as trigger's --app-id (env " + config.EnvAppID + ")",
}

func configTopic() string {
	fs := pflag.NewFlagSet("tmsws", pflag.ContinueOnError)
	config.AddFlags(fs)
	var keys strings.Builder
	for _, k := range config.Keys() {
		usage := keyUsage[k]
		if f := fs.Lookup(k); f != nil && usage == "" {
			_, usage = pflag.UnquoteUsage(f)
		}
		keys.WriteString("  " + k + "\n")
		if usage != "" {
			wrap(&keys, "      ", usage)
		}
	}
	return `Config files

tmsws keeps its files in $XDG_CONFIG_HOME/tmsws, or ~/.config/tmsws when
XDG_CONFIG_HOME is not set (a folder of mode 0700; tmsws config path prints
the config file's path).

The config file (` + config.ConfigFileName + `) holds named profiles: a [name] line, then
"key = value" lines. A value is taken as it is, after trimming spaces (no
quotes, no inline comments); lines starting with # or ; are comments.
--profile NAME (or TMSWS_PROFILE) selects a profile; a setting it does
not give comes from the Laravel project's .env, then from [default] (the
whole order is in tmsws help environment).

  # ~/.config/tmsws/config
  [default]
  host = tms.amusoft.uz

  [local]
  host = 127.0.0.1
  port = 8080
  scheme = http
  key = app-key
  api-url = http://127.0.0.1:8000

  [staging]
  host = staging.tms.example.com
  header = X-Tenant: acme
  header = X-Debug: 1

Keys (each is the flag of the same name; header may be repeated):
` + keys.String() + `
The credentials file (` + config.CredentialsFileName + `, mode 0600) holds the tokens tmsws login
stores, each under the origin (scheme://host:port) of the API that issued
it, with its user; a token is only ever sent to its origin, and tmsws never
shows more than its last 4 characters. tmsws logout removes it.

  [https://tms.amusoft.uz:443]
  token = (the bearer token)
  user = alice@example.com
  saved_at = 2026-11-26T09:16:54Z

Commands
  tmsws config list [--show-origin]   every setting in use, and where it came from
  tmsws config get KEY                one setting's value as tmsws uses it here
  tmsws config set KEY VALUE          set a key in a profile (--profile) of the config file
  tmsws config unset KEY              remove a key from a profile of the config file
  tmsws config path                   print the config file's path

Examples:
  tmsws config set host staging.tms.example.com --profile staging
  tmsws --profile staging listen -c private-chat.42
  tmsws config list --show-origin
`
}

func formats() string {
	return `Formats

The JSON record
  --json (the default when stdout is not a terminal) and -o/--output FILE
  write one JSON object per line, the same in both, and replay reads them
  back:

  {"ts":"2026-11-26T09:16:54.123456789Z","type":"event","channel":"private-chat.42","event":"App\\Events\\MessageSent","data":{"message":{"id":7,"content":"hi"}},"socket_id":"123.456"}

  Fields (one left out when empty):
  ts         when tmsws received it: RFC 3339 with nanoseconds, UTC
  type       event: a channel event, client events included
             member_added, member_removed: presence channel members (user_id,
               and data is the member's user_info)
             cache_miss: a cache channel had no event to replay on subscribing
             subscribed, subscription_error: a channel's subscription
             connected, disconnected, reconnecting, error: the connection's life
             protocol: another pusher: frame
  channel    the channel's name
  event      the event's name, e.g. App\Events\MessageSent or client-typing
  cached     true on the event a cache channel's server replayed from its
             cache right after subscribing (sent before this run)
  data       the event's data: decoded when it was a JSON string (the Pusher
             norm), the string itself when it was not JSON; the decrypted
             plaintext on private-encrypted- channels
  user_id    the user the frame named (a member, a client event's sender)
  socket_id  the socket id of the connection that received it
  message    connected: the URL; disconnected, reconnecting, error,
             subscription_error: what happened
  code       disconnected: the close code; error: the pusher:error code;
             subscription_error: the status the server gave (the auth
             endpoint's HTTP status)
  attempt    reconnecting: the attempt number
  delay      reconnecting: the wait before it, as a Go duration (3s, 1.5s)
  violations with --schema: how the event's data broke its event's JSON
             Schema, e.g. ["/message/user_id: expected integer, got string"];
             absent when it kept the contract

  By default the output holds event, member_added, member_removed and
  cache_miss records; --show-protocol adds the others, in order.

Recordings
  A recording is a file of such lines (JSON lines, what listen --json > FILE
  and -o FILE write); tmsws replay FILE... reads them, - being stdin, and
  gzip-compressed files as they are, whatever their name. Each line must be
  one JSON object; a line without "type" is an event, fields replay does not
  know are ignored, blank lines are skipped and a CRLF line ending is
  accepted. A line longer than --max-frame (default ` + bytesize.FormatFlag(config.DefaultMaxFrame) + `) is skipped. A
  malformed line is reported on stderr as FILE:LINE: reason and skipped; the
  replay goes on and ends with exit 1.

Schemas
  tmsws schema infer FILE... writes one JSON Schema (2020-12) per event name,
  under "$defs" keyed by the event's name; --schema FILE on listen, replay and
  subscribe checks each event's data against it (see tmsws schema infer
  --help).

Examples:
  tmsws listen -c private-chat.42 -o session.jsonl
  tmsws replay session.jsonl --json | jq -c 'select(.type == "event") | .data'
  gzip session.jsonl && tmsws replay session.jsonl.gz
`
}

// wrap writes text as lines of at most 80 columns, each starting with
// indent.
func wrap(b *strings.Builder, indent, text string) {
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > 80 {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	if len(line) > len(indent) {
		b.WriteString(line + "\n")
	}
}
