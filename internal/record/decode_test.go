package record

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 11, 26, 9, 16, 54, 123456789, time.UTC)
	tests := []struct {
		name string
		r    Record
	}{
		{"event", Record{TS: ts, Type: TypeEvent, Channel: "private-chat.42", Event: `App\Events\MessageSent`,
			Data: []byte(`{"message":{"id":7,"content":"hi \"there\"\n","user_id":8}}`), SocketID: "123.456"}},
		{"client event with user", Record{TS: ts, Type: TypeEvent, Channel: "presence-chat.42", Event: "client-typing", Data: []byte(`{"typing":true}`), UserID: "8", SocketID: "1.2"}},
		{"string data", Record{TS: ts, Type: TypeEvent, Channel: "chat", Event: "Raw", Data: []byte(`"not json {"`)}},
		{"array data", Record{TS: ts, Type: TypeEvent, Channel: "chat", Event: "List", Data: []byte(`[1, 2 ,{"a":null}]`)}},
		{"null data", Record{TS: ts, Type: TypeEvent, Channel: "chat", Event: "Nothing", Data: []byte(`null`)}},
		{"no data", Record{TS: ts, Type: TypeEvent, Channel: "chat", Event: "Bare"}},
		{"member added", Record{TS: ts, Type: TypeMemberAdded, Channel: "presence-chat.42", UserID: "9", Data: []byte(`{"name":"Bob"}`)}},
		{"member removed", Record{TS: ts, Type: TypeMemberRemoved, Channel: "presence-chat.42", UserID: "9"}},
		{"cached event", Record{TS: ts, Type: TypeEvent, Channel: "cache-prices", Event: "PriceChanged", Cached: true, Data: []byte(`{"usd":1}`), SocketID: "1.2"}},
		{"cache miss", Record{TS: ts, Type: TypeCacheMiss, Channel: "cache-prices", SocketID: "1.2"}},
		{"reconnecting", Record{TS: ts, Type: TypeReconnecting, Message: "closed with 4200", Code: 4200, Attempt: 2, Delay: 4500 * time.Millisecond}},
		{"error", Record{TS: ts, Type: TypeError, Message: "ünïcødé ✓ \u2028 tab\t", Code: -1}},
		{"zero time", Record{Type: TypeConnected, SocketID: "1.2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			line := tt.r.AppendJSON(nil)
			got, err := Decode(line)
			require.NoError(t, err, string(line))
			want := tt.r
			if want.TS.IsZero() {
				// AppendJSON writes the zero time as 0001-01-01T00:00:00Z.
				want.TS = time.Time{}
			}
			assert.Equal(t, want, got)
			assert.Equal(t, string(line), string(got.AppendJSON(nil)), "encoding again gives the same line")
		})
	}
}

func TestDecodeDefaultsAndLeniency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		line string
		want Record
	}{
		{"no type is an event", `{"channel":"chat","event":"E"}`, Record{Type: TypeEvent, Channel: "chat", Event: "E"}},
		{"empty type is an event", `{"type":"","event":"E"}`, Record{Type: TypeEvent, Event: "E"}},
		{"unknown fields ignored", `{"zzz":[1,{"x":2}],"type":"member_added","extra":{"ts":"nope"},"user_id":"3"}`, Record{Type: TypeMemberAdded, UserID: "3"}},
		{"numeric user_id", `{"user_id":42}`, Record{Type: TypeEvent, UserID: "42"}},
		{"null fields are missing", `{"ts":null,"channel":null,"code":null}`, Record{Type: TypeEvent}},
		{"other zone", `{"ts":"2026-11-26T14:16:54+05:00"}`, Record{Type: TypeEvent, TS: time.Date(2026, 11, 26, 9, 16, 54, 0, time.UTC)}},
		{"spaces and newline", " \t{ \"event\" : \"E\" , \"data\" : { \"a\" : 1 } }\r\n", Record{Type: TypeEvent, Event: "E", Data: []byte(`{ "a" : 1 }`)}},
		{"escaped key", `{"ev\u0065nt":"E"}`, Record{Type: TypeEvent, Event: "E"}},
		{"last duplicate wins", `{"event":"A","event":"B"}`, Record{Type: TypeEvent, Event: "B"}},
		{"cached false", `{"event":"E","cached":false}`, Record{Type: TypeEvent, Event: "E"}},
		{"cached null", `{"event":"E","cached":null}`, Record{Type: TypeEvent, Event: "E"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Decode([]byte(tt.line))
			require.NoError(t, err)
			assert.True(t, tt.want.TS.Equal(got.TS), "ts %v, want %v", got.TS, tt.want.TS)
			got.TS, tt.want.TS = time.Time{}, time.Time{}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeDoesNotAliasTheLine(t *testing.T) {
	t.Parallel()
	line := []byte(`{"ts":"2026-11-26T09:16:54Z","channel":"chat","event":"E","data":{"a":1},"user_id":"7","socket_id":"1.2","message":"m"}`)
	r, err := Decode(line)
	require.NoError(t, err)
	for i := range line {
		line[i] = 'x'
	}
	assert.Equal(t, "chat", r.Channel)
	assert.Equal(t, "E", r.Event)
	assert.Equal(t, `{"a":1}`, string(r.Data))
	assert.Equal(t, "7", r.UserID)
	assert.Equal(t, "1.2", r.SocketID)
	assert.Equal(t, "m", r.Message)
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want string
	}{
		{``, "empty line"},
		{"  \r\n", "empty line"},
		{`{"type":"event"`, "invalid JSON"},
		{`{"type":"event",}`, "invalid JSON at byte 17: invalid character '}'"},
		{`{"type":"event"} {"type":"event"}`, "invalid JSON"},
		{`not json`, "invalid JSON at byte 2: invalid character 'o'"},
		{`[{"type":"event"}]`, "a JSON array, not an object"},
		{`"event"`, "a JSON string, not an object"},
		{`42`, "a JSON number, not an object"},
		{`null`, "a JSON null, not an object"},
		{`true`, "a JSON boolean, not an object"},
		{`{"ts":"yesterday"}`, `ts "yesterday" is not an RFC 3339 time`},
		{`{"ts":1700000000}`, "ts is a number (1700000000), not a string"},
		{`{"type":7}`, "type is a number (7), not a string"},
		{`{"channel":["a"]}`, "channel is an array, not a string"},
		{`{"event":{"a":1}}`, "event is an object, not a string"},
		{`{"user_id":true}`, "user_id is true, not a string"},
		{`{"code":"4200"}`, `code is a string ("4200"), not an integer`},
		{`{"attempt":1.5}`, "attempt 1.5 is not an integer"},
		{`{"delay":"soon"}`, `delay "soon" is not a duration`},
		{`{"delay":3}`, "delay is a number (3), not a string"},
		{`{"cached":"true"}`, `cached is a string ("true"), not true or false`},
		{`{"cached":1}`, "cached is a number (1), not true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.line))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	assert.NoError(t, Validate([]byte(`{"ts":"not checked here","type":[]}`+"\n")), "Validate checks the shape only")
	assert.NoError(t, Validate([]byte(`{}`)))
	assert.ErrorContains(t, Validate([]byte(`{"a":1`)), "invalid JSON")
	assert.ErrorContains(t, Validate([]byte(`[]`)), "not an object")
}

func BenchmarkDecode(b *testing.B) {
	r := Record{TS: time.Now(), Type: TypeEvent, Channel: "private-chat.42", Event: `App\Events\MessageSent`, Data: []byte(`{"message":{"id":7,"content":"hi","user_id":8}}`), SocketID: "123.456"}
	line := r.AppendJSON(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(line); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeYearsThatCannotBeWrittenBack: a ts whose UTC year has no four
// digits is refused, since the record is written back in UTC (the fuzzer
// found 0000-01-01T00:00:00+01:00, written back as -0001-12-31T23:00:00Z);
// the edge years themselves are fine.
func TestDecodeYearsThatCannotBeWrittenBack(t *testing.T) {
	t.Parallel()
	for _, ts := range []string{"0000-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00"} {
		_, err := Decode([]byte(`{"ts":"` + ts + `","type":"event"}`))
		require.Error(t, err, ts)
		assert.Contains(t, err.Error(), "outside the years 0000 to 9999 in UTC", ts)
	}
	for _, ts := range []string{"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "0000-01-01T01:00:00+01:00"} {
		r, err := Decode([]byte(`{"ts":"` + ts + `","type":"event"}`))
		require.NoError(t, err, ts)
		back, err := Decode(r.AppendJSON(nil))
		require.NoError(t, err, "written back: %s", r.AppendJSON(nil))
		assert.True(t, r.TS.Equal(back.TS), ts)
	}
}
