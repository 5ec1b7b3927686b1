package stats

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/record"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

const (
	sent   = `App\Events\MessageSent`
	typing = `App\Events\UserIsTyping`
	read   = `App\Events\MessagesRead`
)

func ev(channel, event string, data string) *record.Record {
	r := &record.Record{TS: t0, Type: record.TypeEvent, Channel: channel, Event: event}
	if data != "" {
		r.Data = []byte(data)
	}
	return r
}

// feed sends r through Seen and, when shown, Shown, as a sink does.
func feed(c *Collector, r *record.Record, shown bool) {
	c.Seen(r)
	if shown {
		c.Shown(r)
	}
}

func texts(lines []Line) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.Text)
	}
	return out
}

func TestSummaryOfASession(t *testing.T) {
	t.Parallel()
	c := New(t0)
	c.Seen(&record.Record{Type: record.TypeConnected, SocketID: "1.2"})
	c.Seen(&record.Record{Type: record.TypeSubscribed, Channel: "private-chat.42"})
	c.Seen(&record.Record{Type: record.TypeSubscribed, Channel: "presence-chat.42"})
	c.Seen(&record.Record{Type: record.TypeSubscribed, Channel: "chat"})
	for i := 0; i < 800; i++ {
		feed(c, ev("private-chat.42", sent, `{"m":1}`), true)
	}
	for i := 0; i < 380; i++ {
		feed(c, ev("private-chat.42", typing, `{"t":true}`), true)
	}
	for i := 0; i < 20; i++ {
		feed(c, ev("private-chat.42", read, `{}`), true)
	}
	big := `{"body":"` + strings.Repeat("x", 12469) + `"}`
	feed(c, ev("presence-chat.42", sent, big), true)
	feed(c, ev("presence-chat.42", typing, `{}`), false) // filtered out
	feed(c, ev("presence-chat.42", typing, ""), false)
	c.Seen(&record.Record{Type: record.TypeMemberAdded, Channel: "presence-chat.42", UserID: "9"})
	c.Seen(&record.Record{Type: record.TypeMemberAdded, Channel: "presence-chat.42", UserID: "10"})
	c.Seen(&record.Record{Type: record.TypeMemberRemoved, Channel: "presence-chat.42", UserID: "9"})
	c.Seen(&record.Record{Type: record.TypeDisconnected, Code: 4200, Message: "closed with 4200 Server is closing"})
	c.Seen(&record.Record{Type: record.TypeReconnecting, Code: 4200, Message: "closed with 4200 Server is closing", Attempt: 1})
	c.Seen(&record.Record{Type: record.TypeProtocol, Event: "pusher:pong"})

	lines := c.Lines(t0.Add(2*time.Minute + 3*time.Second))
	assert.Equal(t, []string{
		"2m03s, 1,203 events (9.8/s), 1,201 shown, 1 reconnect (closed with 4200 Server is closing)",
		"  private-chat.42   MessageSent 800  UserIsTyping 380  MessagesRead 20",
		"  presence-chat.42  MessageSent 1  (2 filtered out)  members 2 joined, 1 left",
		"  chat              no events",
		"  largest payload 12,480 bytes: MessageSent on presence-chat.42 (over the 10 KB Pusher/Reverb limit)",
	}, texts(lines))
	assert.True(t, lines[4].Warn, "a payload over the limit is a warning")
	assert.False(t, lines[0].Warn)

	received, shown := c.Events()
	assert.Equal(t, 1203, received)
	assert.Equal(t, 1201, shown)
	assert.Equal(t, 1, c.Reconnects())
	n, ch, e := c.Largest()
	assert.Equal(t, 12480, n)
	assert.Equal(t, "presence-chat.42", ch)
	assert.Equal(t, sent, e)
}

func TestSummaryLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		feed    func(c *Collector)
		elapsed time.Duration
		want    []string
		warn    bool
	}{
		{
			name:    "nothing happened",
			elapsed: 412 * time.Millisecond,
			want:    []string{"412ms, 0 events (0.0/s), no reconnects"},
		},
		{
			name: "everything shown and a payload under the limit",
			feed: func(c *Collector) {
				feed(c, ev("chat", "Ping", `"`+strings.Repeat("a", 10238)+`"`), true)
			},
			elapsed: 12300 * time.Millisecond,
			want: []string{
				"12.3s, 1 event (0.1/s), no reconnects",
				"  chat  Ping 1",
				"  largest payload 10,240 bytes: Ping on chat",
			},
		},
		{
			name: "one byte over the limit",
			feed: func(c *Collector) {
				feed(c, ev("chat", "Ping", `"`+strings.Repeat("a", 10239)+`"`), true)
			},
			elapsed: time.Second,
			want: []string{
				"1.0s, 1 event (1.0/s), no reconnects",
				"  chat  Ping 1",
				"  largest payload 10,241 bytes: Ping on chat (over the 10 KB Pusher/Reverb limit)",
			},
			warn: true,
		},
		{
			name: "several reconnect causes, counted",
			feed: func(c *Collector) {
				for i := 0; i < 2; i++ {
					c.Seen(&record.Record{Type: record.TypeReconnecting, Code: 4200, Message: "closed with 4200 Server is closing"})
				}
				c.Seen(&record.Record{Type: record.TypeReconnecting, Message: "connection lost (no close frame)"})
				c.Seen(&record.Record{Type: record.TypeReconnecting})
			},
			elapsed: time.Hour + 2*time.Minute + 3*time.Second,
			want: []string{
				"1h02m03s, 0 events (0.0/s), 4 reconnects (2× closed with 4200 Server is closing; 1× connection lost (no close frame); 1× unknown cause)",
			},
		},
		{
			name: "a fast session rounds the rate",
			feed: func(c *Collector) {
				for i := 0; i < 2500; i++ {
					feed(c, ev("chat", "n", ""), true)
				}
			},
			elapsed: 2 * time.Second,
			want: []string{
				"2.0s, 2,500 events (1,250/s), no reconnects",
				"  chat  n 2,500",
			},
		},
		{
			name: "members who only left, on a channel without events",
			feed: func(c *Collector) {
				c.Seen(&record.Record{Type: record.TypeMemberRemoved, Channel: "presence-chat.42", UserID: "9"})
			},
			elapsed: time.Second,
			want: []string{
				"1.0s, 0 events (0.0/s), no reconnects",
				"  presence-chat.42  no events  members 1 left",
			},
		},
		{
			name: "all filtered out",
			feed: func(c *Collector) {
				feed(c, ev("chat", "n", ""), false)
			},
			elapsed: time.Second,
			want: []string{
				"1.0s, 1 event (1.0/s), 0 shown, no reconnects",
				"  chat  (1 filtered out)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := New(t0)
			if tt.feed != nil {
				tt.feed(c)
			}
			lines := c.Lines(t0.Add(tt.elapsed))
			assert.Equal(t, tt.want, texts(lines))
			assert.Equal(t, tt.warn, lines[len(lines)-1].Warn)
		})
	}
}

func TestManyDistinctCausesAreBounded(t *testing.T) {
	t.Parallel()
	c := New(t0)
	for i := 0; i < 20; i++ {
		c.Seen(&record.Record{Type: record.TypeReconnecting, Message: "cause " + string(rune('a'+i))})
	}
	head := c.Lines(t0.Add(time.Second))[0].Text
	assert.Contains(t, head, "20 reconnects")
	assert.Contains(t, head, "1× cause h; 12× other causes")
	assert.NotContains(t, head, "cause i")
}

func TestPrint(t *testing.T) {
	t.Parallel()
	c := New(t0)
	feed(c, ev("chat", "Big", `"`+strings.Repeat("a", 20000)+`"`), true)

	var plain bytes.Buffer
	require.NoError(t, c.Print(&plain, t0.Add(time.Second), false))
	assert.Equal(t, "[stats] 1.0s, 1 event (1.0/s), no reconnects\n"+
		"[stats]   chat  Big 1\n"+
		"[stats]   largest payload 20,002 bytes: Big on chat (over the 10 KB Pusher/Reverb limit)\n", plain.String())

	var colored bytes.Buffer
	require.NoError(t, c.Print(&colored, t0.Add(time.Second), true))
	assert.Contains(t, colored.String(), "\x1b[36m[stats]\x1b[0m")
	assert.Contains(t, colored.String(), "\x1b[33m  largest payload")
}

func TestNilCollectorDoesNothing(t *testing.T) {
	t.Parallel()
	var c *Collector
	c.Seen(ev("chat", "n", "{}"))
	c.Shown(ev("chat", "n", "{}"))
	assert.Nil(t, c.Lines(t0))
	var b bytes.Buffer
	require.NoError(t, c.Print(&b, t0, false))
	assert.Empty(t, b.String())
}

func TestSeenAndShownDoNotAllocate(t *testing.T) {
	c := New(t0)
	recs := []*record.Record{
		ev("private-chat.42", sent, `{"m":1}`),
		ev("private-chat.42", typing, `{}`),
		ev("presence-chat.42", sent, `{"m":12345}`),
		{Type: record.TypeMemberAdded, Channel: "presence-chat.42", UserID: "9"},
		{Type: record.TypeProtocol, Event: "pusher:pong"},
	}
	for _, r := range recs {
		feed(c, r, true) // first sight of each name may allocate
	}
	allocs := testing.AllocsPerRun(1000, func() {
		for _, r := range recs {
			feed(c, r, true)
		}
	})
	assert.Zero(t, allocs)
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0:                                     "0ms",
		999 * time.Millisecond:                "999ms",
		time.Second:                           "1.0s",
		59*time.Second + 940*time.Millisecond: "59.9s",
		time.Minute:                           "1m00s",
		2*time.Minute + 3*time.Second:         "2m03s",
		25*time.Hour + 61*time.Second:         "25h01m01s",
	} {
		assert.Equal(t, want, Duration(d), "%v", d)
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 12480: "12,480", 1234567: "1,234,567", -1234: "-1,234"} {
		assert.Equal(t, want, Thousands(n))
	}
}

func BenchmarkSeenAndShown(b *testing.B) {
	c := New(t0)
	r := ev("private-chat.42", sent, `{"message":{"id":7,"content":"hi"}}`)
	b.ReportAllocs()
	for b.Loop() {
		c.Seen(r)
		c.Shown(r)
	}
}

// TestNamesAreBounded: the server chooses channel and event names; a
// million distinct ones must not grow the summary without bound, and their
// control characters must not reach the terminal.
func TestNamesAreBounded(t *testing.T) {
	t.Parallel()
	c := New(time.Unix(0, 0))
	long := strings.Repeat("n", 10_000)
	for i := range 2000 {
		c.Seen(&record.Record{Type: record.TypeEvent, Channel: "ch" + strconv.Itoa(i), Event: "e"})
		c.Seen(&record.Record{Type: record.TypeEvent, Channel: "one", Event: long + strconv.Itoa(i)})
	}
	evil := &record.Record{Type: record.TypeEvent, Channel: "one", Event: "\x1b]0;pwned\x07"}
	c.Seen(evil)
	c.Shown(evil)
	c.Seen(&record.Record{Type: record.TypeReconnecting, Message: "closed: \x1b[2J" + long})
	assert.LessOrEqual(t, len(c.order), maxNames+1)
	assert.LessOrEqual(t, len(c.channels["one"].order), maxNames+1)
	for _, ev := range c.channels["one"].order {
		assert.LessOrEqual(t, len(ev.name), maxName+len("…"))
	}
	var b strings.Builder
	require.NoError(t, c.Print(&b, time.Unix(10, 0), false))
	out := b.String()
	assert.NotContains(t, out, "\x1b")
	assert.NotContains(t, out, "\x07")
	assert.Contains(t, out, `\x1b]0;pwned\x07`)
	assert.Contains(t, out, otherName)
	assert.Less(t, len(out), 200_000)
}
