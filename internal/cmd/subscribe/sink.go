package subscribe

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/amusoft/tmsws/internal/english"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/filter"
	"github.com/amusoft/tmsws/internal/format"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/stats"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// sink follows the session: the connection, each channel's confirmation,
// and the expected events. It stops the client (pusher.ErrStop) once every
// channel is confirmed and every expected event has arrived.
type sink struct {
	start    time.Time
	deadline time.Time
	log      *cmdutil.StatusLog
	stats    *stats.Collector // nil without --stats or -v

	channels  []*channelState // in -c order
	byName    map[string]*channelState
	confirmed int

	expect  *filter.Filter // nil without --expect
	pattern string
	wheres  []string
	want    int
	matched int

	summary bool          // --json: keep the events for the summary
	out     *bufio.Writer // stdout: the events as JSON lines without --json
	// formatter is --jq or --template, for the events (through formatted,
	// on out) or the summary; nil without.
	formatter *format.Formatter
	formatted *format.Writer

	schema     *cmdutil.SchemaCheck // --schema; nil without
	schemaFile string
	events     [][]byte // the matched records, for the summary
	buf        []byte

	socketID    string // of the latest connection; "" until connected
	connectedAt time.Time
	connected   bool
	lastCause   string // why the connection was lost or could not be made

	// auth is how private and presence channels are authorized, for the
	// summary: authEndpoint or authLocal; "" when not known.
	auth string
}

type channelState struct {
	name       string
	presence   bool
	subscribed bool
	at         time.Time // first confirmation
	members    int
	refusal    string
}

func newSink(opts *Options, start time.Time, expect *filter.Filter, log *cmdutil.StatusLog, st *stats.Collector, out *bufio.Writer) *sink {
	k := &sink{
		start:      start,
		log:        log,
		stats:      st,
		byName:     map[string]*channelState{},
		expect:     expect,
		pattern:    opts.Expect,
		wheres:     opts.Wheres,
		want:       opts.Count,
		summary:    opts.JSON,
		schemaFile: opts.Schema,
		out:        out,
	}
	for _, name := range opts.Channels {
		ch := &channelState{name: name, presence: strings.HasPrefix(name, "presence-")}
		k.channels = append(k.channels, ch)
		k.byName[name] = ch
	}
	return k
}

func (k *sink) Write(r *record.Record) error {
	k.stats.Seen(r)
	switch r.Type {
	case record.TypeConnected:
		if k.socketID == "" {
			k.connectedAt = r.TS
		}
		k.socketID, k.connected = r.SocketID, true
	case record.TypeDisconnected:
		k.connected, k.lastCause = false, r.Message
	case record.TypeReconnecting:
		k.lastCause = r.Message
	case record.TypeSubscriptionError:
		if ch := k.byName[r.Channel]; ch != nil {
			ch.refusal = r.Message
		}
	case record.TypeSubscribed:
		return k.subscribed(r)
	case record.TypeEvent, record.TypeMemberAdded, record.TypeMemberRemoved:
		// What listen shows by default, and -e selects from.
		if k.schema != nil && k.schema.Record(r) {
			return k.broken(r)
		}
		return k.event(r)
	}
	return nil
}

func (k *sink) subscribed(r *record.Record) error {
	ch := k.byName[r.Channel]
	if ch == nil {
		return nil
	}
	if ch.subscribed {
		k.log.Debug("channel", "subscribed "+ch.name+" again ("+since(k.start, r.TS)+" since start)")
		return nil // after a reconnect: the first confirmation counts
	}
	ch.subscribed, ch.at = true, r.TS
	k.confirmed++
	line := "subscribed " + ch.name + " (" + since(k.start, r.TS) + " since start"
	if ch.presence {
		ch.members = memberCount(r.Data)
		line += ", " + english.Count(ch.members, "member")
	}
	k.log.Info("channel", line+")")
	if k.confirmed == len(k.channels) && k.expect != nil && k.matched < k.want {
		k.log.Info("expect", fmt.Sprintf("waiting up to %s for %s", humanDuration(time.Until(k.deadline)), k.expectation(k.want)))
	}
	return k.doneOrNot()
}

// memberCount reads the presence member count of a subscription_succeeded:
// presence.count, else the number of presence.ids.
func memberCount(data []byte) int {
	if n := gjson.GetBytes(data, "presence.count"); n.Exists() {
		return int(n.Int())
	}
	return len(gjson.GetBytes(data, "presence.ids").Array())
}

func (k *sink) event(r *record.Record) error {
	// A cache channel's replayed event happened before the run: it does
	// not meet an expectation.
	if k.expect == nil || r.Cached || k.matched >= k.want || !k.expect.Match(r) {
		return nil
	}
	k.matched++
	k.stats.Shown(r)
	k.buf = r.AppendJSON(k.buf[:0])
	switch {
	case k.summary:
		k.events = append(k.events, bytes.Clone(bytes.TrimSuffix(k.buf, []byte("\n"))))
	case k.formatted != nil:
		if err := k.formatted.Write(k.buf); err != nil {
			return fmt.Errorf("write stdout: %w", err)
		}
	default:
		if _, err := k.out.Write(k.buf); err != nil {
			return fmt.Errorf("write stdout: %w", err)
		}
	}
	return k.doneOrNot()
}

// broken ends the run at the first event that broke its contract (exit 6):
// the check has failed, whatever else arrives. The event is shown (with
// its violations) when it is also an expected one.
func (k *sink) broken(r *record.Record) error {
	k.log.Warn("schema", termsafe.Clip(r.Event, 200)+" on "+termsafe.Clip(r.Channel, 200)+" broke its contract: "+termsafe.Clip(strings.Join(r.Violations, "; "), 2000))
	if err := k.event(r); err != nil && !errors.Is(err, pusher.ErrStop) {
		return err
	}
	return k.schema.Err()
}

// doneOrNot stops the client once everything has arrived.
func (k *sink) doneOrNot() error {
	if k.confirmed == len(k.channels) && (k.expect == nil || k.matched >= k.want) {
		return pusher.ErrStop
	}
	return nil
}

func (k *sink) Flush() error {
	if err := k.out.Flush(); err != nil {
		return fmt.Errorf("write stdout: %w", err)
	}
	return nil
}

// expectation describes n expected events: "3 MessageSent events where
// data.x=1".
func (k *sink) expectation(n int) string {
	s := english.Count(n, k.pattern+" event")
	if len(k.wheres) > 0 {
		s += " where " + strings.Join(k.wheres, " and ")
	}
	return s
}

// achieved says what succeeded, for the final status line.
func (k *sink) achieved() string {
	s := english.Count(len(k.channels), "channel") + " subscribed"
	if k.expect != nil {
		s += ", " + k.expectation(k.matched)
	}
	return s
}

// timeoutError says what had not arrived when the deadline passed: the
// connection itself (a connection failure), confirmations, or expected
// events.
func (k *sink) timeoutError(url string, timeout time.Duration) error {
	if k.socketID == "" {
		ce := &pusher.ConnError{URL: url, Reason: "no connection within " + timeout.String(),
			Hint: "check that the server runs and that --host/--port/--scheme point at it, or raise --timeout"}
		if k.lastCause != "" {
			ce.Err = errors.New(k.lastCause)
		}
		return ce
	}
	lost := ""
	if !k.connected && k.lastCause != "" {
		lost = " (the connection was lost: " + k.lastCause + ")"
	}
	var missing []string
	for _, ch := range k.channels {
		if !ch.subscribed {
			missing = append(missing, ch.name)
		}
	}
	if len(missing) > 0 {
		return &cmdutil.TimeoutError{Msg: "timed out: no subscription confirmation within " + timeout.String() + " for " + strings.Join(missing, ", ") + lost}
	}
	return &cmdutil.TimeoutError{Msg: fmt.Sprintf("timed out: %d of %s within %s%s", k.matched, k.expectation(k.want), timeout, lost)}
}

// humanDuration rounds d to what a person reads: 3s for 2.999s, 1.5s,
// 250ms, 1m30s.
func humanDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d >= 10*time.Second:
		d = d.Round(time.Second)
	case d >= time.Second:
		d = d.Round(100 * time.Millisecond)
	case d >= 10*time.Millisecond:
		d = d.Round(10 * time.Millisecond)
	default:
		d = d.Round(time.Millisecond)
	}
	return d.String()
}
