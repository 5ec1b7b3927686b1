package replay

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/filter"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/server"
)

// DefaultServeSecret is the app secret of replay --serve when --app-secret
// is not given. It is public: fine for a server on your own machine only.
const DefaultServeSecret = "tmsws-local-secret"

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
	secret, secretNote := s.AppSecret, ""
	if secret == "" {
		secret, secretNote = DefaultServeSecret, " (the default for local use; choose one with --app-secret)"
	}
	srv, err := server.Start(server.Config{
		Addr:      opts.Serve,
		AppKey:    s.Key,
		AppSecret: secret,
		Recording: rec,
		Speed:     opts.speed(),
		Loop:      opts.Loop,
		NoHistory: true,
		Logf:      func(format string, args ...any) { log.Info("server", fmt.Sprintf(format, args...)) },
	})
	if err != nil {
		return err
	}
	defer srv.Close()

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
			plural(len(rec.Items), "record"), plural(len(channels), "channel"), strings.Join(clipList(channels, 5), ", "), pace))
	}
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.HTTPURL(), "http://"))
	log.Info("server", "WebSocket  "+srv.URL()+"/app/"+srv.AppKey()+"?protocol=7")
	log.Info("server", "app key    "+srv.AppKey())
	// A secret the user chose may be a real one: never print it, as with tokens.
	shownSecret, exampleSecret := srv.AppSecret(), shellQuote(srv.AppSecret())
	if secretNote == "" {
		shownSecret, exampleSecret = config.Mask(secret)+" (from --app-secret / TMSWS_APP_SECRET)", `"$TMSWS_APP_SECRET"`
	}
	log.Info("server", "app secret "+shownSecret+secretNote)
	log.Info("server", "auth       POST "+srv.AuthURL()+" (signs for any socket and channel)")
	example := []string{"tmsws listen --host", host, "--port", port, "--scheme http --key", srv.AppKey(), "--app-secret", exampleSecret}
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

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
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
