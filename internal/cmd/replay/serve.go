package replay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/amusoft/tmsws/internal/english"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/filter"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/server"
)

// DefaultServeSecret is the app secret of replay --serve on a loopback
// address when --app-secret is not given. It is public: fine for a server
// on your own machine only, so a server others can reach gets a random
// secret instead (serveSecret).
const DefaultServeSecret = "tmsws-local-secret"

// defaultMaxMessageSize is the default of --max-message-size: Reverb's
// max_message_size.
const defaultMaxMessageSize = server.DefaultMaxMessageSize

// defaultLike is the default of --like: the server is a stand-in for a
// production Reverb.
const defaultLike = "reverb"

// like is the server --like names; validateServeLimits has checked it.
func (o *Options) like() server.Like {
	if o.Like == "" {
		return server.LikeReverb
	}
	l, _ := server.ParseLike(o.Like)
	return l
}

// validateServeLimits checks --max-message-size, --allow-origin and --like.
func (o *Options) validateServeLimits() error {
	if o.Like != "" {
		if _, err := server.ParseLike(o.Like); err != nil {
			return &cmdutil.UsageError{Msg: "--like: " + err.Error(), Hint: "reverb imitates Laravel Reverb (the default), pusher Pusher Channels"}
		}
	}
	switch {
	case o.Serve == "" && o.Like != "" && o.like() != server.LikeReverb:
		return &cmdutil.UsageError{Msg: "--like needs --serve", Hint: "it chooses how the server of --serve ADDR behaves"}
	case o.MaxMessageSize < 0:
		return &cmdutil.UsageError{Msg: fmt.Sprintf("--max-message-size must be 0 or more, got %d", o.MaxMessageSize),
			Hint: "give the largest message in bytes a client may send (Reverb's limit is 10000), or 0 for no limit"}
	case o.Serve == "" && o.MaxMessageSize != defaultMaxMessageSize:
		return &cmdutil.UsageError{Msg: "--max-message-size needs --serve", Hint: "it limits what the clients of --serve ADDR may send"}
	case o.Serve == "" && len(o.AllowOrigins) > 0:
		return &cmdutil.UsageError{Msg: "--allow-origin needs --serve", Hint: "it lets browser pages connect to the server of --serve ADDR"}
	}
	for _, origin := range o.AllowOrigins {
		if err := server.CheckAllowOrigin(origin); err != nil {
			return &cmdutil.UsageError{Msg: "--allow-origin: " + err.Error()}
		}
	}
	return nil
}

// serveSecret chooses the app secret of --serve ADDR: the user's, or
// without one DefaultServeSecret on a loopback address and a random one on
// any other (the default is public: anyone could sign with it). note is
// what the log adds after a secret it shows; "" for the user's, which is
// never shown.
func serveSecret(userSecret, addr string) (secret, note string, err error) {
	switch {
	case userSecret != "":
		return userSecret, "", nil
	case server.IsLoopbackAddr(addr):
		return DefaultServeSecret, " (the default for local use; choose one with --app-secret)", nil
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("choose a random app secret: %w; give one with --app-secret", err)
	}
	return hex.EncodeToString(b), " (random, as " + addr + " can be reached from other machines; choose one with --app-secret)", nil
}

// exposureWarning says who can reach a server listening on bound, the
// address really bound, when it is not a loopback one; "" otherwise.
func exposureWarning(bound string) string {
	if server.IsLoopbackAddr(bound) {
		return ""
	}
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return "listening on " + bound + ", not a loopback address: anyone who can reach it can connect and read the recording"
	}
	local := net.JoinHostPort("127.0.0.1", port)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return fmt.Sprintf("listening on every network interface (%s): anyone who can reach this machine on port %s can connect and read the recording; use %s to keep it local",
			bound, port, local)
	}
	return fmt.Sprintf("listening on %s, not a loopback address: anyone who can reach %s can connect and read the recording; use %s to keep it local",
		bound, host, local)
}

// LoadRecording reads the recordings in files ("-" is stdin, gzip read
// transparently, as replay reads them) into what the embedded server plays:
// the event, member_added and member_removed records that pass flt, in file
// order. Offsets are measured from the ts of the first of them; a record
// without ts, or stamped earlier than the one before it (files out of
// order), keeps the offset of the record before it, so offsets never go
// back.
//
// Malformed lines are skipped and come back as "FILE:LINE: reason" reports
// (at most 100, then one line with the total). The error is for a file that
// cannot be opened or read, or ctx ending.
func LoadRecording(ctx context.Context, files []string, stdin io.Reader, flt *filter.Filter, maxLine int64) (*server.Recording, []string, error) {
	if err := checkFiles(files); err != nil {
		return nil, nil, err
	}
	rec := &server.Recording{}
	var (
		bad   []string
		nbad  int
		first time.Time
		last  time.Duration
	)
	report := func(src string, n int, err error) {
		nbad++
		if nbad <= maxReports {
			bad = append(bad, malformedLine(src, n, err))
		}
	}
	err := scan(ctx, files, stdin, maxLine, nil, func(src string, n int, line []byte, bad error) error {
		if bad != nil {
			report(src, n, bad)
			return nil
		}
		if err := record.Validate(line); err != nil {
			report(src, n, err)
			return nil
		}
		typ := filter.RecordType(line)
		if !isDefault(typ) || !flt.MatchJSONType(line, typ) {
			return nil
		}
		r, err := record.Decode(line)
		if err != nil {
			report(src, n, err)
			return nil
		}
		off := last
		if !r.TS.IsZero() {
			if first.IsZero() {
				first = r.TS
			}
			off = max(r.TS.Sub(first), last)
		}
		last = off
		rec.Items = append(rec.Items, server.Item{
			Offset: off, Type: r.Type, Channel: r.Channel, Event: r.Event, Data: r.Data, UserID: r.UserID,
		})
		return nil
	})
	if nbad > maxReports {
		bad = append(bad, fmt.Sprintf("replay: %d malformed lines in all; only the first %d are shown", nbad, maxReports))
	}
	if err != nil {
		return nil, bad, err
	}
	return rec, bad, nil
}

// runServe plays the recordings to the clients of an embedded Pusher
// server on opts.Serve until ctx ends.
func runServe(ctx context.Context, opts *Options) error {
	s := opts.Settings
	if s == nil {
		s = &config.Settings{Key: config.DefaultKey, Color: config.DefaultColor}
	}
	flt, err := filter.CompileWithChannels(opts.Channels, opts.Events, opts.Wheres)
	if err != nil {
		return err
	}
	rec, bad, err := LoadRecording(ctx, opts.Files, opts.IO.In, flt, opts.MaxLine)
	for _, b := range bad {
		fmt.Fprintln(opts.IO.ErrOut, b)
	}
	if err != nil {
		return err
	}
	log := cmdutil.NewStatusLog(opts.IO.ErrOut, opts.IO.ColorEnabled(s.Color, opts.IO.ErrTTY), s.Verbose)
	secret, secretNote, err := serveSecret(s.AppSecret, opts.Serve)
	if err != nil {
		return err
	}
	srv, err := server.Start(server.Config{
		Addr:           opts.Serve,
		AppKey:         s.Key,
		AppSecret:      secret,
		Like:           opts.like(),
		Path:           s.WSPath,
		Recording:      rec,
		Speed:          opts.speed(),
		Loop:           opts.Loop,
		MaxMessageSize: opts.MaxMessageSize,
		AllowOrigins:   opts.AllowOrigins,
		NoHistory:      true,
		Logf:           func(format string, args ...any) { log.Info("server", fmt.Sprintf(format, args...)) },
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	if w := exposureWarning(srv.Addr()); w != "" {
		log.Warn("server", w)
	}

	channels := recordedChannels(rec)
	switch {
	case len(rec.Items) == 0:
		log.Warn("server", "nothing to play: no event or member record of the recordings passed the filters; serving anyway")
	default:
		pace := "all at once"
		if sp := opts.speed(); sp > 0 {
			pace = fmt.Sprintf("at speed %g", sp)
		}
		if opts.Loop {
			pace += ", looping"
		}
		log.Info("server", fmt.Sprintf("playing %s on %s (%s) to each subscriber, %s",
			english.Count(len(rec.Items), "record"), english.Count(len(channels), "channel"), strings.Join(clipList(channels, 5), ", "), pace))
	}
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.HTTPURL(), "http://"))
	here := ""
	if srv.URL() != "ws://"+srv.Addr() {
		here = " (from this machine)"
	}
	log.Info("server", "behaves    "+likeNote(srv.Like()))
	log.Info("server", "WebSocket  "+srv.URL()+srv.Path()+"/app/"+srv.AppKey()+"?protocol=7"+here)
	apiNote := ""
	if srv.Path() != "" {
		apiNote = " (signed as /apps/" + srv.AppID() + "/..., without " + srv.Path() + ")"
	}
	gets := "GET /channels[/NAME[/users]]"
	if srv.Like() == server.LikeReverb {
		gets += " and /connections"
	}
	log.Info("server", "HTTP API   POST "+srv.HTTPURL()+srv.Path()+"/apps/"+srv.AppID()+"/events and /batch_events, "+gets+apiNote)
	log.Info("server", "app key    "+srv.AppKey())
	// A secret the user chose may be a real one: never print it, as with tokens.
	shownSecret, exampleSecret := srv.AppSecret(), shellQuote(srv.AppSecret())
	if secretNote == "" {
		shownSecret, exampleSecret = config.Mask(secret)+" (from --app-secret / TMSWS_APP_SECRET)", `"$TMSWS_APP_SECRET"`
	}
	log.Info("server", "app secret "+shownSecret+secretNote)
	log.Info("server", "auth       POST "+srv.AuthURL()+" (signs for any socket and channel)")
	example := []string{"tmsws listen --host", host, "--port", port, "--scheme http --key", srv.AppKey(), "--app-secret", exampleSecret}
	if srv.Path() != "" {
		example = append(example, "--ws-path", shellQuote(srv.Path()))
	}
	for _, ch := range clipList(channels, 3) {
		if ch != "..." {
			example = append(example, "-c", shellQuote(ch))
		}
	}
	if len(channels) == 0 {
		example = append(example, "-c", "private-chat.42")
	}
	log.Info("server", "try        "+strings.Join(example, " "))
	log.Info("server", "press Ctrl-C to stop")

	<-ctx.Done()
	return ctx.Err()
}

// likeNote is the log's line about --like.
func likeNote(l server.Like) string {
	if l == server.LikeReverb {
		return "like Laravel Reverb (string errors, no close codes but 1009, client events on public channels, pings to idle clients); --like pusher for Pusher Channels"
	}
	return "like Pusher Channels (object errors, close codes, client events on private and presence channels only, no pings); --like reverb for Laravel Reverb"
}

// recordedChannels are the channels of the recording in order of first
// appearance.
func recordedChannels(rec *server.Recording) []string {
	seen := map[string]bool{}
	var out []string
	for _, it := range rec.Items {
		if it.Channel != "" && !seen[it.Channel] {
			seen[it.Channel] = true
			out = append(out, it.Channel)
		}
	}
	return out
}

func clipList(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], "...")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,:/@=+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
