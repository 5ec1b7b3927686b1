// Package stats is the session summary that listen and subscribe print on
// stderr at exit with --stats (and always with -v): events per channel and
// event name, the rate, reconnects and their causes, and the largest
// payload, with a warning when it is over the 10 KB limit of Pusher and
// Reverb.
//
// A Collector is fed from the command's sink: Seen with every record the
// client delivers, before any filtering, and Shown with every record that
// passed the filters and was shown. Both run on the hot path and allocate
// nothing once a channel and event name have been seen.
package stats

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/amusoft/tmsws/internal/english"

	"github.com/fatih/color"

	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// PayloadLimit is the largest event data Pusher Channels and Laravel
// Reverb accept, in bytes (10 KB).
const PayloadLimit = 10240

// maxCauses bounds the distinct reconnect causes kept; later ones count as
// "other".
const maxCauses = 8

// Collector counts what a session received and showed. The zero value is
// not ready: use New. A nil *Collector ignores everything, so a command can
// feed one unconditionally. It is not safe for concurrent use: the client
// delivers records from one goroutine, and Print runs after it returned.
type Collector struct {
	start    time.Time
	channels map[string]*channelStats
	order    []*channelStats // first seen first

	received int // event records
	shown    int // event records shown

	reconnects  int
	causes      []cause
	otherCauses int

	largest                      int // bytes of the largest event data
	largestChannel, largestEvent string
}

type channelStats struct {
	name            string
	events          map[string]*eventStats
	order           []*eventStats
	received, shown int
	joined, left    int
}

type eventStats struct {
	name            string // the full name as received
	received, shown int
}

type cause struct {
	msg string
	n   int
}

// New returns a Collector for a session that started at start.
func New(start time.Time) *Collector {
	return &Collector{start: start, channels: map[string]*channelStats{}}
}

// Seen counts a record the client delivered, before filtering: events per
// channel and name, presence changes, reconnects (with their cause) and the
// largest event payload. Channels appear in the summary from their first
// record, a subscribed record included.
func (c *Collector) Seen(r *record.Record) {
	if c == nil {
		return
	}
	switch r.Type {
	case record.TypeEvent:
		ch := c.channel(r.Channel)
		ev := ch.event(r.Event)
		c.received++
		ch.received++
		ev.received++
		if n := len(r.Data); n > c.largest {
			c.largest, c.largestChannel, c.largestEvent = n, ch.name, ev.name
		}
	case record.TypeMemberAdded:
		c.channel(r.Channel).joined++
	case record.TypeMemberRemoved:
		c.channel(r.Channel).left++
	case record.TypeSubscribed:
		c.channel(r.Channel)
	case record.TypeReconnecting:
		c.reconnects++
		c.addCause(r.Message)
	}
}

// Shown counts an event record that passed the filters and was shown; other
// records are ignored.
func (c *Collector) Shown(r *record.Record) {
	if c == nil || r.Type != record.TypeEvent {
		return
	}
	ch := c.channel(r.Channel)
	ch.event(r.Event).shown++
	ch.shown++
	c.shown++
}

// A server chooses the channel and event names it sends: the summary keeps
// at most maxNames of each kind (per channel for events), each cut to
// maxName bytes, and counts the rest under otherName, so a server sending
// a million distinct names cannot make it grow without bound.
const (
	maxNames  = 256
	maxName   = 200
	otherName = "(others)"
)

// key is the name a channel or event is counted under.
func key(name string) string {
	if len(name) > maxName {
		cut := maxName
		for cut > 0 && name[cut]&0xC0 == 0x80 {
			cut--
		}
		return name[:cut] + "…"
	}
	return name
}

func (c *Collector) channel(name string) *channelStats {
	ch := c.channels[name]
	if ch == nil {
		if ch = c.channels[key(name)]; ch != nil {
			return ch
		}
		name = strings.Clone(key(name))
		if len(c.order) >= maxNames {
			name = otherName
			if ch = c.channels[name]; ch != nil {
				return ch
			}
		}
		ch = &channelStats{name: name, events: map[string]*eventStats{}}
		c.channels[name] = ch
		c.order = append(c.order, ch)
	}
	return ch
}

func (ch *channelStats) event(name string) *eventStats {
	ev := ch.events[name]
	if ev == nil {
		if ev = ch.events[key(name)]; ev != nil {
			return ev
		}
		name = strings.Clone(key(name))
		if len(ch.order) >= maxNames {
			name = otherName
			if ev = ch.events[name]; ev != nil {
				return ev
			}
		}
		ev = &eventStats{name: name}
		ch.events[name] = ev
		ch.order = append(ch.order, ev)
	}
	return ev
}

func (c *Collector) addCause(msg string) {
	if msg == "" {
		msg = "unknown cause"
	}
	msg = key(msg)
	for i := range c.causes {
		if c.causes[i].msg == msg {
			c.causes[i].n++
			return
		}
	}
	if len(c.causes) == maxCauses {
		c.otherCauses++
		return
	}
	c.causes = append(c.causes, cause{msg: strings.Clone(msg), n: 1})
}

// Events is the number of event records seen (before filtering) and
// shown.
func (c *Collector) Events() (received, shown int) { return c.received, c.shown }

// Reconnects is the number of reconnecting records seen.
func (c *Collector) Reconnects() int { return c.reconnects }

// Largest is the largest event payload seen: its size in bytes of data,
// channel and event name; 0 and empty names when no event had data.
func (c *Collector) Largest() (bytes int, channel, event string) {
	return c.largest, c.largestChannel, c.largestEvent
}

// Line is one line of the summary, without the "[stats] " prefix. Warn
// marks a line about something wrong (a payload over the limit).
type Line struct {
	Text string
	Warn bool
}

// Lines is the summary of the session as it stands at end.
func (c *Collector) Lines(end time.Time) []Line {
	if c == nil {
		return nil
	}
	elapsed := end.Sub(c.start)
	if elapsed < 0 {
		elapsed = 0
	}
	var head strings.Builder
	head.WriteString(Duration(elapsed))
	head.WriteString(", ")
	head.WriteString(plural(c.received, "event"))
	head.WriteString(" (")
	head.WriteString(rate(c.received, elapsed))
	head.WriteString(")")
	if c.shown != c.received {
		head.WriteString(", ")
		head.WriteString(Thousands(c.shown))
		head.WriteString(" shown")
	}
	head.WriteString(", ")
	if c.reconnects == 0 {
		head.WriteString("no reconnects")
	} else {
		head.WriteString(plural(c.reconnects, "reconnect"))
		head.WriteString(" (")
		head.WriteString(c.causeList())
		head.WriteString(")")
	}
	lines := []Line{{Text: head.String()}}

	width := 0
	for _, ch := range c.order {
		width = max(width, len(ch.name))
	}
	for _, ch := range c.order {
		lines = append(lines, Line{Text: "  " + ch.line(width)})
	}

	if c.largest > 0 {
		text := fmt.Sprintf("  largest payload %s bytes: %s on %s", Thousands(c.largest), record.ShortEvent(c.largestEvent), c.largestChannel)
		over := c.largest > PayloadLimit
		if over {
			text += " (over the 10 KB Pusher/Reverb limit)"
		}
		lines = append(lines, Line{Text: text, Warn: over})
	}
	return lines
}

func (c *Collector) causeList() string {
	if len(c.causes) == 1 && c.otherCauses == 0 {
		return c.causes[0].msg
	}
	parts := make([]string, 0, len(c.causes)+1)
	for _, k := range c.causes {
		parts = append(parts, strconv.Itoa(k.n)+"× "+k.msg)
	}
	if c.otherCauses > 0 {
		parts = append(parts, strconv.Itoa(c.otherCauses)+"× other causes")
	}
	return strings.Join(parts, "; ")
}

// line is the channel's summary: the shown events by short name, most
// frequent first, then what the filters hid and the presence changes.
func (ch *channelStats) line(width int) string {
	var b strings.Builder
	b.WriteString(ch.name)
	b.WriteString(strings.Repeat(" ", width-len(ch.name)))
	evs := make([]*eventStats, 0, len(ch.order))
	for _, ev := range ch.order {
		if ev.shown > 0 {
			evs = append(evs, ev)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].shown > evs[j].shown })
	for _, ev := range evs {
		b.WriteString("  ")
		b.WriteString(record.ShortEvent(ev.name))
		b.WriteString(" ")
		b.WriteString(Thousands(ev.shown))
	}
	if hidden := ch.received - ch.shown; hidden > 0 {
		fmt.Fprintf(&b, "  (%s filtered out)", Thousands(hidden))
	}
	if ch.received == 0 {
		b.WriteString("  no events")
	}
	switch {
	case ch.joined > 0 && ch.left > 0:
		fmt.Fprintf(&b, "  members %s joined, %s left", Thousands(ch.joined), Thousands(ch.left))
	case ch.joined > 0:
		fmt.Fprintf(&b, "  members %s joined", Thousands(ch.joined))
	case ch.left > 0:
		fmt.Fprintf(&b, "  members %s left", Thousands(ch.left))
	}
	return b.String()
}

// Print writes the summary on w (stderr), each line prefixed with
// "[stats]", the tag in cyan and warnings in yellow when colored. A nil
// Collector prints nothing.
func (c *Collector) Print(w io.Writer, end time.Time, colored bool) error {
	if c == nil {
		return nil
	}
	tag, warn := iostreams.Color(colored, color.FgCyan), iostreams.Color(colored, color.FgYellow)
	var b strings.Builder
	for _, l := range c.Lines(end) {
		b.WriteString(tag.Sprint("[stats]"))
		b.WriteByte(' ')
		// Channel and event names, and reconnect causes, are the server's.
		text := termsafe.String(l.Text)
		if l.Warn {
			b.WriteString(warn.Sprint(text))
		} else {
			b.WriteString(text)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Duration formats a session length the way the summary shows it: 412ms,
// 12.3s, 2m03s, 1h02m03s.
func Duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		s := int(d / time.Second)
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	s := int(d / time.Second)
	return fmt.Sprintf("%dh%02dm%02ds", s/3600, s/60%60, s%60)
}

// Thousands formats n with commas: 12,480.
func Thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	first := len(s) % 3
	if first == 0 {
		first = 3
	}
	b.WriteString(s[:first])
	for i := first; i < len(s); i += 3 {
		b.WriteByte(',')
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

func plural(n int, noun string) string {
	return Thousands(n) + " " + english.Noun(n, noun)
}

func rate(n int, d time.Duration) string {
	if d <= 0 {
		return "0/s"
	}
	r := float64(n) / d.Seconds()
	if r >= 100 {
		return Thousands(int(r+0.5)) + "/s"
	}
	return strconv.FormatFloat(r, 'f', 1, 64) + "/s"
}
