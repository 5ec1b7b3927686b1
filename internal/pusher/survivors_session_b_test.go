package pusher

// Tests written for the mutants of session.go that a mutation run left
// alive (issue 10, part C): the texts of the [auth], [channel] and
// [connection] status lines, the message of a refusal, which bytes end a
// channel name, and the boundaries of activityTimeout and truncate.

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/record"
)

// noViaAuth signs like a Signer but has no Via method.
type noViaAuth struct{}

func (noViaAuth) Authorize(ctx context.Context, socketID, channel string) (auth.Result, error) {
	return (&auth.Signer{Key: "app-key", Secret: "app-secret"}).Authorize(ctx, socketID, channel)
}

// withViaAuth is noViaAuth with a Via method saying via.
type withViaAuth struct {
	noViaAuth
	via string
}

func (v withViaAuth) Via() string { return v.via }

// TestAuthLineSaysHowTheChannelWasAuthorized: the [auth] line names the
// auth endpoint ("through URL"), or says the channel was signed locally
// (": signed locally …"), and says neither when the Authorizer cannot tell
// (no Via method, or an empty Via).
func TestAuthLineSaysHowTheChannelWasAuthorized(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a    Authorizer
		want string
	}{
		{"a Signer", &auth.Signer{Key: "app-key", Secret: "app-secret"}, "[auth] authorized private-x: signed locally with the app secret ("},
		{"an auth endpoint", withViaAuth{via: "through http://127.0.0.1:8000/broadcasting/auth"}, "[auth] authorized private-x through http://127.0.0.1:8000/broadcasting/auth ("},
		{"some other way", withViaAuth{via: "asked the oracle"}, "[auth] authorized private-x: asked the oracle ("},
		{"an empty Via", withViaAuth{via: ""}, "[auth] authorized private-x ("},
		{"no Via method", noViaAuth{}, "[auth] authorized private-x ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := hostiletest.Start(t, func(c *hostiletest.Conn) {
				_ = c.Established(`"activity_timeout":30`)
				c.Serve()
			})
			log := &lineLog{}
			sink, _ := runClient(t, h.URL(), Options{Channels: []string{"private-x"}, Authorizer: tt.a, Log: log})
			sink.next(t, record.TypeSubscribed) // the [auth] line comes before the subscribe
			assert.Contains(t, "\n"+log.text(), "\n"+tt.want, "the [auth] line")
		})
	}
}

// TestAuthorizedVia pins the suffix of the [auth] line for every kind of
// Authorizer.
func TestAuthorizedVia(t *testing.T) {
	t.Parallel()
	assert.Equal(t, ": "+auth.ViaLocal, authorizedVia(&auth.Signer{}))
	assert.Equal(t, " through http://h/broadcasting/auth", authorizedVia(withViaAuth{via: "through http://h/broadcasting/auth"}))
	assert.Equal(t, ": asked the oracle", authorizedVia(withViaAuth{via: "asked the oracle"}))
	assert.Equal(t, "", authorizedVia(withViaAuth{via: ""}))
	assert.Equal(t, "", authorizedVia(noViaAuth{}))
}

// TestSubscriptionErrorMessage: a pusher:subscription_error's message is
// its "error" field; without one, the whole data, so the user still sees
// what the server said. Run ends with the refusal, and the record carries
// the same message and status.
func TestSubscriptionErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data, want string
	}{
		{"with an error field", `{"type":"AuthError","error":"Invalid signature","status":401}`, "Invalid signature"},
		{"without one", `{"type":"AuthError","status":401}`, `{"type":"AuthError","status":401}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := hostiletest.Start(t, func(c *hostiletest.Conn) {
				_ = c.Established(`"activity_timeout":30`)
				_, _, _ = c.ReadMessage() // the subscribe
				_ = c.Send([]byte(`{"event":"pusher:subscription_error","channel":"private-x","data":` + strconv.Quote(tt.data) + `}`))
				_, _, _ = c.ReadMessage() // the client's close
			})
			sink := newSink()
			c := New(Options{URL: h.URL(), Channels: []string{"private-x"}, Authorizer: &auth.Signer{Key: "app-key", Secret: "app-secret"}, Sink: sink, ReconnectAttempts: 3})
			c.sleep = (&sleepLog{}).sleep
			err := c.Run(ctx10(t))
			var se *SubscriptionError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, "private-x", se.Channel)
			assert.Equal(t, 401, se.Code)
			assert.Equal(t, tt.want, se.Message)
			assert.Equal(t, "subscribe private-x: refused by the server (401): "+tt.want, se.Error())
			r := sink.next(t, record.TypeSubscriptionError)
			assert.Equal(t, "private-x", r.Channel)
			assert.Equal(t, 401, r.Code)
			assert.Equal(t, tt.want, r.Message)
		})
	}
}

// TestServerErrorLineNamesItsChannel: the [connection] line of a
// pusher:error says "on CHANNEL" when the error is about one, and nothing
// of the kind when it is not.
func TestServerErrorLineNamesItsChannel(t *testing.T) {
	t.Parallel()
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		c.ConfirmSubscribe()
		_ = c.Send([]byte(`{"event":"pusher:error","channel":"chat","data":{"code":4201,"message":"slow down"}}`))
		_ = c.Send([]byte(`{"event":"pusher:error","data":{"code":4100,"message":"over quota"}}`))
		c.Serve()
	})
	log := &lineLog{}
	sink, _ := runClient(t, h.URL(), Options{Channels: []string{"chat"}, Log: log})
	for range 2 {
		sink.next(t, record.TypeError) // each line comes before its record
	}
	lines := "\n" + log.text() + "\n"
	assert.Contains(t, lines, "\n[connection] server error on chat: 4201 slow down\n")
	assert.Contains(t, lines, "\n[connection] server error: 4100 over quota\n")
}

// TestPresenceSubscribedLine: the [channel] line of a presence channel
// counts the members (the server's count, else the members listed), names
// them (the "name" of their info, else "user ID"), ten at most and "…"
// after the tenth, and lists nothing when nobody is there.
func TestPresenceSubscribedLine(t *testing.T) {
	t.Parallel()
	members := func(n int) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			if i > 1 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"%d":{"name":"M%d"}`, i, i)
		}
		return b.String()
	}
	names := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = "M" + strconv.Itoa(i+1)
		}
		return strings.Join(s, ", ")
	}
	tests := []struct {
		channel, data, want string
	}{
		{"presence-named", `{"presence":{"count":2,"hash":{"8":{"name":"Ann"},"9":{"name":"Bob"}}}}`, "subscribed presence-named (2 present: Ann, Bob)"},
		{"presence-nameless", `{"presence":{"count":2,"hash":{"8":{"name":"Ann"},"9":{"email":"b@x"}}}}`, "subscribed presence-nameless (2 present: Ann, user 9)"},
		{"presence-uncounted", `{"presence":{"hash":{"8":{"name":"Ann"},"9":{"name":"Bob"}}}}`, "subscribed presence-uncounted (2 present: Ann, Bob)"},
		{"presence-counted", `{"presence":{"count":5,"hash":{"8":{"name":"Ann"},"9":{"name":"Bob"}}}}`, "subscribed presence-counted (5 present: Ann, Bob)"},
		{"presence-empty", `{"presence":{"count":0,"ids":[],"hash":{}}}`, "subscribed presence-empty (0 present)"},
		{"presence-nine", `{"presence":{"count":9,"hash":{` + members(9) + `}}}`, "subscribed presence-nine (9 present: " + names(9) + ")"},
		{"presence-ten", `{"presence":{"count":10,"hash":{` + members(10) + `}}}`, "subscribed presence-ten (10 present: " + names(10) + ")"},
		{"presence-eleven", `{"presence":{"count":11,"hash":{` + members(11) + `}}}`, "subscribed presence-eleven (11 present: " + names(10) + ", …)"},
	}
	data := map[string]string{}
	var channels []string
	for _, tt := range tests {
		data[tt.channel] = tt.data
		channels = append(channels, tt.channel)
	}
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if gjson.GetBytes(msg, "event").String() != "pusher:subscribe" {
				continue
			}
			ch := gjson.GetBytes(msg, "data.channel").String()
			_ = c.Send([]byte(`{"event":"pusher_internal:subscription_succeeded","channel":` + strconv.Quote(ch) + `,"data":` + strconv.Quote(data[ch]) + `}`))
		}
	})
	log := &lineLog{}
	sink, _ := runClient(t, h.URL(), Options{Channels: channels, Log: log})
	for range channels {
		sink.next(t, record.TypeSubscribed) // each line comes before its record
	}
	lines := "\n" + log.text() + "\n"
	for _, tt := range tests {
		assert.Contains(t, lines, "\n[channel] "+tt.want+"\n", tt.channel)
	}
}

// TestUnparsableFrameDebugLine: the -v line quoting a frame that is not a
// Pusher message shows up to 200 bytes of it as they are, and a longer
// one cut at 200 with "…".
func TestUnparsableFrameDebugLine(t *testing.T) {
	t.Parallel()
	frames := []string{"short", strings.Repeat("a", 199), strings.Repeat("b", 200), strings.Repeat("c", 201), strings.Repeat("d", 500)}
	h := hostiletest.Start(t, func(c *hostiletest.Conn) {
		_ = c.Established(`"activity_timeout":30`)
		c.ConfirmSubscribe()
		for _, f := range frames {
			_ = c.Send([]byte(f))
		}
		c.Serve()
	})
	log := &lineLog{}
	sink, _ := runClient(t, h.URL(), Options{Channels: []string{"chat"}, Log: log})
	for range frames {
		r := sink.next(t, record.TypeError) // each line comes before its record
		assert.Equal(t, "malformed frame: not valid JSON", r.Message)
	}
	var quoted []string
	for _, l := range strings.Split(log.text(), "\n") {
		if s, ok := strings.CutPrefix(l, "[connection] frame: "); ok {
			quoted = append(quoted, s)
		}
	}
	want := []string{"short", strings.Repeat("a", 199), strings.Repeat("b", 200), strings.Repeat("c", 200) + "…", strings.Repeat("d", 200) + "…"}
	assert.Equal(t, want, quoted)
}

// TestTruncateAtTheLimit: at, below and above the limit.
func TestTruncateAtTheLimit(t *testing.T) {
	t.Parallel()
	buf := make([]byte, 3, 16) // room behind the bytes, as in a frame buffer
	copy(buf, "abc")
	assert.Equal(t, "abc", truncate(buf, 4))
	assert.Equal(t, "abc", truncate(buf, 3))
	assert.Equal(t, "ab…", truncate(buf, 2))
	assert.Equal(t, "", truncate(nil, 0))
}

// channelNameChars is the set channel names are made of (Pusher's docs):
// [A-Za-z0-9_\-=@,.;].
var channelNameChars = regexp.MustCompile(`^[A-Za-z0-9_\-=@,.;]$`)

// TestMentionsAfterEveryByte: a pending channel's name counts as named
// in a refusal when it follows a byte that no channel name holds, and not
// when it follows one that continues a longer name, for each of the 256
// bytes (the edges of each range: '@' 'A' 'Z' '[', '/' '0' '9' ':', '`'
// 'a' 'z' '{', and '_', the first of the punctuation).
func TestMentionsAfterEveryByte(t *testing.T) {
	t.Parallel()
	for i := range 256 {
		b := byte(i)
		name := channelNameChars.Match([]byte{b})
		assert.Equal(t, name, isChannelNameByte(b), "isChannelNameByte(%q)", b)
		msg := string([]byte{b}) + "private-b is refused"
		assert.Equal(t, !name, mentions(msg, "private-b"), "mentions(%q, private-b)", msg)
		want := "private-a" // the oldest, when the message names none
		if !name {
			want = "private-b"
		}
		s := &session{pending: []string{"private-a", "private-b"}}
		assert.Equal(t, want, s.refusedChannel(msg), "refused with %q", msg)
	}
}

// TestActivityTimeoutAtTheCap: an activity_timeout below the cap is taken
// (in milliseconds), one at the cap gives the cap itself, one above it the
// cap; for the 120 s default and for a cap that is no whole number of
// milliseconds, which rounding the server's value would change.
func TestActivityTimeoutAtTheCap(t *testing.T) {
	t.Parallel()
	num := func(f float64) gjson.Result { return gjson.Parse(strconv.FormatFloat(f, 'g', -1, 64)) }
	for _, limit := range []time.Duration{120 * time.Second, 1234567891 * time.Nanosecond} {
		at := limit.Seconds()
		assert.Equal(t, limit, activityTimeout(num(at), limit), "at the cap %v", limit)
		assert.Equal(t, limit, activityTimeout(num(at+0.5), limit), "above the cap %v", limit)
		below := (limit - 200*time.Millisecond).Truncate(time.Millisecond)
		assert.Equal(t, below, activityTimeout(num(below.Seconds()), limit), "below the cap %v", limit)
	}
}
