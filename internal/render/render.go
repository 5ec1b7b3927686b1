// Package render turns records into the pretty, colour-coded lines that
// tmsws shows on a terminal:
//
//	15:04:05.000  private-chat.42  MessageSent  alice: hi there (temp_id tmp-1)
//
// The time, the channel in a colour of its own (the same name always gets
// the same colour), the event tag coloured by kind (message, typing, read
// receipt, member, error, lifecycle) and a readable body. Event names lose
// their namespace (`App\Events\MessageSent` shows as `MessageSent`); the JSON
// output keeps the full name. Anything taken from the wire is sanitized, so
// a payload can neither break a line nor send escape sequences to the
// terminal.
package render

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/record"
)

// Options control the pretty output. The colour decision is made by the
// caller (iostreams); Pretty never reads or sets fatih/color's globals.
type Options struct {
	Color      bool           // emit ANSI colours
	ShowSocket bool           // append the receiving socket id to lines that carry one
	Location   *time.Location // zone for the time column; nil means time.Local
	// Channels known in advance (listen's -c) size the channel column from
	// the first line, so lines line up from the start.
	Channels []string
	// MaxBody cuts a line's body (the data) longer than this many columns,
	// ending it with "… (12.3 KB, --wide or --json for all)"; 0 never cuts.
	// Callers set it only for a terminal without --wide (see BodyLimit).
	MaxBody int
}

// BodyLimit is the MaxBody for a terminal termWidth columns wide: a few
// lines' worth, so one large payload cannot fill the screen.
func BodyLimit(termWidth int) int {
	if termWidth <= 0 {
		termWidth = 80
	}
	return bodyLines * termWidth
}

// bodyLines is how many terminal lines a cut body fills at most.
const bodyLines = 4

// minBody is the least MaxBody honoured: a cut must leave something to read.
const minBody = 40

// The channel column stops growing at maxChannelWidth, so one odd name
// cannot push every later line far to the right. The event column has one
// width from the first line to the last: the common chat events
// (UserIsTyping, MessageSent, MessagesRead) fit it, and a longer name
// overflows its own line without moving the column for the others.
const (
	maxChannelWidth = 40
	tagWidth        = len("UserIsTyping")
	timeLayout      = "15:04:05.000"
	// noTime stands for a record without ts (one read from a file that
	// lacks it), as wide as a time.
	noTime = "--:--:--    "
)

// Pretty writes one line per record. It is not safe for concurrent use:
// give it a single writer goroutine.
type Pretty struct {
	w    io.Writer
	opts Options
	loc  *time.Location

	line []byte // the line being built, reused
	body []byte // the body being built, reused
	text []byte // the strings read from the data, unescaped (see get)

	channelWidth int // widest channel seen, capped

	st styles
}

// NewPretty returns a Pretty writing to w. w should be buffered; Pretty
// writes each line with a single Write call.
func NewPretty(w io.Writer, opts Options) *Pretty {
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	p := &Pretty{
		w:    w,
		opts: opts,
		loc:  loc,
		line: make([]byte, 0, 512),
		body: make([]byte, 0, 512),
		st:   newStyles(opts.Color),
	}
	if p.opts.MaxBody > 0 && p.opts.MaxBody < minBody {
		p.opts.MaxBody = minBody
	}
	for _, ch := range opts.Channels {
		if n := len(ch); n > p.channelWidth {
			p.channelWidth = min(n, maxChannelWidth)
		}
	}
	return p
}

// Flush flushes w when it can be flushed (a *bufio.Writer, say).
func (p *Pretty) Flush() error {
	if f, ok := p.w.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("flush output: %w", err)
		}
	}
	return nil
}

// Write renders r as one line.
func (p *Pretty) Write(r *record.Record) error {
	p.text = p.text[:0]
	if cap(p.text) > keepText {
		p.text = nil // one huge payload does not keep its size for the run
	}
	k := kindOf(r)

	// A cache channel's replayed last event: a dim "cached" before the body.
	b0, mark := p.body[:0], 0
	cached := r.Cached && r.Type == record.TypeEvent
	if cached {
		b0 = append(b0, p.st.faint.pre...)
		b0 = append(b0, "cached"...)
		b0 = append(b0, p.st.faint.post...)
		mark = len(b0)
		b0 = append(b0, "  "...)
	}
	p.body = p.appendBody(b0, r, k)
	if cached && len(p.body) == mark+2 {
		p.body = p.body[:mark]
	}
	if p.opts.MaxBody > 0 {
		p.body = p.cut(p.body, r)
	}
	if p.opts.ShowSocket && r.SocketID != "" && r.Type != record.TypeConnected {
		if len(p.body) > 0 {
			p.body = append(p.body, "  "...)
		}
		p.body = append(p.body, p.st.faint.pre...)
		p.body = append(p.body, "socket "...)
		p.body = appendSafe(p.body, r.SocketID)
		p.body = append(p.body, p.st.faint.post...)
	}

	b := p.line[:0]
	b = append(b, p.st.faint.pre...)
	if r.TS.IsZero() {
		b = append(b, noTime...)
	} else {
		b = r.TS.In(p.loc).AppendFormat(b, timeLayout)
	}
	b = append(b, p.st.faint.post...)
	b = append(b, "  "...)

	if r.Channel != "" || p.channelWidth > 0 {
		b, p.channelWidth = appendColumn(b, p.st.channel(r.Channel), r.Channel, p.channelWidth, maxChannelWidth, true)
		b = append(b, "  "...)
	}

	b, _ = appendColumn(b, p.st.kinds[k], tagOf(r), tagWidth, 0, len(p.body) > 0)
	if len(p.body) > 0 {
		b = append(b, "  "...)
		b = append(b, p.body...)
	}
	b = append(b, '\n')
	if len(r.Violations) > 0 {
		b = p.appendViolations(b, r.Violations)
	}
	p.line = b

	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// violationIndent puts a violation's line under the channel column, past
// the time.
const violationIndent = "              " // len(timeLayout) + 2

// appendViolations appends one line under the event for each way its data
// broke its --schema contract: "✗ schema: /message/user_id: expected
// integer, got string", red with colour on, the text sanitized.
func (p *Pretty) appendViolations(b []byte, vs []string) []byte {
	for _, v := range vs {
		b = append(b, violationIndent...)
		b = append(b, p.st.violation.pre...)
		b = append(b, "✗ schema: "...)
		b = appendSafe(b, v)
		b = append(b, p.st.violation.post...)
		b = append(b, '\n')
	}
	return b
}

// appendColumn appends text, sanitized and styled, padded to the widest
// value seen so far (up to limit) when pad is set, and returns the new
// widest value.
func appendColumn(b []byte, st style, text string, widest, limit int, pad bool) ([]byte, int) {
	b = append(b, st.pre...)
	start := len(b)
	b = appendSafe(b, text)
	w := runeCount(b[start:])
	b = append(b, st.post...)
	if w > widest && w <= limit {
		widest = w
	}
	if pad {
		for ; w < widest; w++ {
			b = append(b, ' ')
		}
	}
	return b, widest
}

// cut shortens body to MaxBody columns when it is longer, and says how
// large the whole data was. Columns are runes outside escape sequences; the
// cut never splits a UTF-8 sequence, a sanitized \xNN escape, or a colour
// sequence, and with colour on, a colour left open is closed.
func (p *Pretty) cut(body []byte, r *record.Record) []byte {
	limit := p.opts.MaxBody
	cols, at := 0, -1
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == 0x1b { // a colour sequence of ours: ESC [ params final
			j := i + 1
			if j < len(body) && body[j] == '[' {
				j++
				for j < len(body) && (body[j] < 0x40 || body[j] > 0x7e) {
					j++
				}
			}
			i = j
			continue
		}
		if c&0xC0 == 0x80 {
			continue // a UTF-8 continuation byte
		}
		if cols == limit {
			at = i
			break
		}
		cols++
	}
	if at < 0 {
		return body
	}
	// Do not end inside a sanitized escape such as \x1b or \u202e: back up
	// to its backslash when one starts within the last 6 bytes.
	if k := bytesLastIndexByte(body[max(0, at-5):at], '\\'); k >= 0 {
		at = max(0, at-5) + k
	}
	size := len(r.Data)
	if size == 0 {
		size = len(r.Message)
	}
	out := body[:at]
	if p.opts.Color { // close whatever colour the cut left open
		out = append(out, "\x1b[0m"...)
	}
	out = append(out, p.st.faint.pre...)
	out = append(out, "… ("...)
	out = appendSize(out, size)
	out = append(out, ", --wide or --json for all)"...)
	return append(out, p.st.faint.post...)
}

func bytesLastIndexByte(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// appendSize appends n the way a person reads it: "980 bytes", "12.3 KB",
// "4.0 MB" (units of 1024, as bytesize).
func appendSize(b []byte, n int) []byte {
	switch {
	case n < 1024:
		b = strconv.AppendInt(b, int64(n), 10)
		return append(b, " bytes"...)
	case n < 1<<20:
		b = strconv.AppendFloat(b, float64(n)/(1<<10), 'f', 1, 64)
		return append(b, " KB"...)
	}
	b = strconv.AppendFloat(b, float64(n)/(1<<20), 'f', 1, 64)
	return append(b, " MB"...)
}

func runeCount(b []byte) int {
	n := 0
	for _, c := range b {
		if c&0xC0 != 0x80 {
			n++
		}
	}
	return n
}

// tagOf is the text of the event column.
func tagOf(r *record.Record) string {
	switch r.Type {
	case record.TypeEvent:
		return record.ShortEvent(r.Event)
	case record.TypeMemberAdded:
		return "→ joined"
	case record.TypeMemberRemoved:
		return "← left"
	case record.TypeProtocol:
		if r.Event != "" {
			return r.Event
		}
	}
	return r.Type
}

// appendBody appends the readable part of the line.
func (p *Pretty) appendBody(b []byte, r *record.Record, k kind) []byte {
	data := bytesString(r.Data)
	switch r.Type {
	case record.TypeEvent:
		if len(data) == 0 {
			return b
		}
		if isJSONString(data) {
			return p.appendStringValue(b, data)
		}
		var ok bool
		switch k {
		case kindMessage:
			b, ok = p.appendMessage(b, data)
		case kindTyping:
			b, ok = p.appendTyping(b, data, r.UserID)
		case kindRead:
			b, ok = p.appendRead(b, data, r.UserID)
		}
		if ok {
			return b
		}
		return appendCompactJSON(b, data)
	case record.TypeMemberAdded, record.TypeMemberRemoved:
		// "Bob (user 9)" when the member's info has a name, else "user 9";
		// a join also shows the rest of the info.
		name := p.get(data, "name")
		if name.Type == gjson.String && name.Str != "" {
			b = appendSafe(b, name.Str)
			if r.UserID != "" {
				b = append(b, " (user "...)
				b = appendSafe(b, r.UserID)
				b = append(b, ')')
			}
		} else if r.UserID != "" {
			b = append(b, "user "...)
			b = appendSafe(b, r.UserID)
		}
		if r.Type == record.TypeMemberAdded && len(data) > 0 && !(name.Exists() && p.keyCount(data) == 1) {
			b = append(b, ' ')
			b = appendCompactJSON(b, data)
		}
		return b
	case record.TypeSubscribed:
		return p.appendSubscribed(b, data)
	case record.TypeCacheMiss:
		return append(b, "nothing cached"...)
	case record.TypeConnected:
		if r.SocketID != "" {
			b = append(b, "socket "...)
			b = appendSafe(b, r.SocketID)
		}
		return appendLifecycle(b, r, data)
	case record.TypeReconnecting:
		if r.Attempt != 0 {
			b = append(b, "attempt "...)
			b = strconv.AppendInt(b, int64(r.Attempt), 10)
		}
		if r.Delay != 0 {
			if len(b) > 0 {
				b = append(b, ' ')
			}
			b = append(b, "in "...)
			b = append(b, r.Delay.String()...)
		}
		return appendLifecycle(b, r, data)
	case record.TypeProtocol:
		if len(data) > 0 {
			if isJSONString(data) {
				return p.appendStringValue(b, data)
			}
			return appendCompactJSON(b, data)
		}
		return b
	default: // subscription_error, disconnected, error, and types yet unknown
		return appendLifecycle(b, r, data)
	}
}

// appendLifecycle appends `: message (code N)`, or the data when there is
// no message.
func appendLifecycle(b []byte, r *record.Record, data string) []byte {
	msg := r.Message
	if msg == "" && len(data) > 0 {
		msg = firstString(data, "message", "error")
	}
	if msg != "" {
		if len(b) > 0 {
			b = append(b, ": "...)
		}
		b = appendSafe(b, msg)
	}
	code := int64(r.Code)
	if code == 0 && len(data) > 0 {
		code = firstInt(data, "status", "code")
	}
	if code != 0 {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(b, "(code "...)
		b = strconv.AppendInt(b, code, 10)
		b = append(b, ')')
	}
	if msg == "" && code == 0 && len(data) > 0 && !isEmptyJSON(data) {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = appendCompactJSON(b, data)
	}
	return b
}

func isEmptyJSON(data string) bool {
	d := strings.TrimSpace(data)
	return d == "{}" || d == "[]" || d == "null" || d == `""`
}

// ---- colours ----

type kind uint8

const (
	kindOther kind = iota
	kindMessage
	kindTyping
	kindRead
	kindMember
	kindError
	kindLifecycle
	kindCount
)

// style is the escape sequences around a coloured run; empty without colour.
type style struct{ pre, post string }

type styles struct {
	faint, bold style
	violation   style
	kinds       [kindCount]style
	palette     []style
}

// channelPalette is what channel names are hashed into: readable on dark
// and light terminals, and without red, which means an error here.
var channelPalette = []color.Attribute{
	color.FgCyan, color.FgGreen, color.FgYellow, color.FgBlue, color.FgMagenta,
	color.FgHiCyan, color.FgHiGreen, color.FgHiYellow, color.FgHiBlue, color.FgHiMagenta,
}

func newStyles(enabled bool) styles {
	mk := func(attrs ...color.Attribute) style {
		c := iostreams.Color(enabled, attrs...)
		// Take the sequences fatih/color wraps text in, once, so the hot
		// path appends bytes instead of formatting strings.
		s := c.Sprint("\x00")
		i := strings.IndexByte(s, 0)
		return style{pre: s[:i], post: s[i+1:]}
	}
	st := styles{faint: mk(color.Faint), bold: mk(color.Bold), violation: mk(color.FgRed)}
	st.kinds[kindOther] = mk(color.Bold)
	st.kinds[kindMessage] = mk(color.FgGreen, color.Bold)
	st.kinds[kindTyping] = mk(color.FgYellow)
	st.kinds[kindRead] = mk(color.FgCyan)
	st.kinds[kindMember] = mk(color.FgMagenta, color.Bold)
	st.kinds[kindError] = mk(color.FgRed, color.Bold)
	st.kinds[kindLifecycle] = mk(color.Faint)
	for _, a := range channelPalette {
		st.palette = append(st.palette, mk(a))
	}
	return st
}

// channel is the stable colour of a channel name: FNV-1a of the name
// picks a palette entry.
func (s *styles) channel(name string) style {
	return s.palette[channelColorIndex(name)]
}

func channelColorIndex(name string) int {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	return int(h % uint32(len(channelPalette)))
}

// kindOf sorts a record for the colour of its tag and for the body.
func kindOf(r *record.Record) kind {
	switch r.Type {
	case record.TypeEvent:
		return eventKind(record.ShortEvent(r.Event))
	case record.TypeMemberAdded, record.TypeMemberRemoved:
		return kindMember
	case record.TypeError, record.TypeSubscriptionError:
		return kindError
	}
	return kindLifecycle
}

// eventKind sorts an event by its short name: typing indicators
// (UserIsTyping, client-typing), read receipts (MessagesRead) and messages
// (MessageSent and other Message* events).
func eventKind(short string) kind {
	name := strings.TrimPrefix(short, "client-")
	switch {
	case containsFold(name, "typing"):
		return kindTyping
	case strings.HasSuffix(name, "Read") || strings.HasSuffix(name, "-read") || strings.HasSuffix(name, "_read"):
		return kindRead
	case containsFold(name, "message"):
		return kindMessage
	}
	return kindOther
}

// containsFold reports whether s contains the lowercase ASCII word sub,
// ignoring ASCII case, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for ; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}
