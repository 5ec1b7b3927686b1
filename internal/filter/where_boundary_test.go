package filter

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/record"
)

// TestWhereBoundaries runs every --where operator against a value below,
// equal to and above the record's, for each kind of comparison the contract
// names: integers (exact, beyond 2^53 too), decimals, numeric strings,
// strings (byte-wise), quoted values (always text), RFC 3339 times (as
// instants) and the record's own fields. The equal case is the one that
// tells > from >= and < from <=; below and above tell = from !=.
func TestWhereBoundaries(t *testing.T) {
	t.Parallel()

	// holds[op] is whether the condition holds when its value is below,
	// equal to and above the record's value.
	type bea [3]bool
	holds := map[string]bea{
		"=":  {false, true, false},
		"==": {false, true, false},
		"!=": {true, false, true},
		">":  {true, false, false},
		">=": {true, true, false},
		"<":  {false, false, true},
		"<=": {false, true, true},
	}
	ops := []string{"=", "==", "!=", ">", ">=", "<", "<="}

	rec := &record.Record{
		TS:      time.Date(2026, 11, 26, 9, 16, 54, 500_000_000, time.UTC),
		Type:    record.TypeEvent,
		Channel: "private-chat.42",
		Event:   "MessageSent",
		Data: []byte(`{"n":42,"neg":-5,"zero":0,"price":12.5,"big":9007199254740993,"sid":"42",` +
			`"s":"hello","ten":10,"at":"2026-11-26T09:16:54Z","flag":true,"none":null,"obj":{"a":1}}`),
		UserID:   "42",
		SocketID: "123.456",
	}

	kinds := []struct {
		name  string
		path  string
		vals  [3]string // below, equal, above the record's value
		equal []string  // other spellings of the equal value
	}{
		{"integer", "data.n", [3]string{"41", "42", "43"}, []string{"42.0", "042", "+42", "4.2e1"}},
		{"negative integer", "data.neg", [3]string{"-6", "-5", "-4"}, []string{"-5.0", "-05"}},
		{"zero", "data.zero", [3]string{"-1", "0", "1"}, []string{"-0", "0.0", "+0"}},
		{"decimal", "data.price", [3]string{"12.49", "12.5", "12.51"}, []string{"12.50", "1.25e1"}},
		{"integer beyond 2^53", "data.big", [3]string{"9007199254740992", "9007199254740993", "9007199254740994"}, nil},
		{"numeric string", "data.sid", [3]string{"41", "42", "43"}, []string{"42.0"}},
		{"numbers, not text", "data.ten", [3]string{"9", "10", "11"}, nil}, // "9" > "10" as text
		{"string", "data.s", [3]string{"hell", "hello", "help"}, []string{`"hello"`, "'hello'"}},
		{"string, first byte", "data.s", [3]string{"Hello", "hello", "iello"}, nil},
		{"quoted numbers are text", "data.ten", [3]string{`"1"`, `"10"`, `"9"`}, []string{"'10'"}},
		{"boolean", "data.flag", [3]string{"tru", "true", "truf"}, nil},
		{"null", "data.none", [3]string{"nul", "null", "nulm"}, nil},
		{"object, raw JSON", "data.obj", [3]string{`{"a":0}`, `{"a":1}`, `{"a":2}`}, nil},
		{"time in data", "data.at", [3]string{"2026-11-26T09:16:53.999999999Z", "2026-11-26T09:16:54Z", "2026-11-26T09:16:54.000000001Z"},
			[]string{"2026-11-26T10:16:54+01:00", "2026-11-26T09:16:54.000Z"}},
		{"ts", "ts", [3]string{"2026-11-26T09:16:54.499999999Z", "2026-11-26T09:16:54.5Z", "2026-11-26T09:16:54.500000001Z"},
			[]string{"2026-11-26T04:16:54.5-05:00"}},
		{"user_id", "user_id", [3]string{"41", "42", "43"}, []string{`"42"`}},
		{"channel", "channel", [3]string{"private-chat.41", "private-chat.42", "private-chat.43"}, nil},
		{"event", "event", [3]string{"MessageSend", "MessageSent", "MessageSenu"}, nil},
		{"type", "type", [3]string{"evens", "event", "eventa"}, nil},
		{"socket_id", "socket_id", [3]string{"123.455", "123.456", "123.457"}, nil},
		{"path over the record", "@this.socket_id", [3]string{"123.455", "123.456", "123.457"}, nil},
	}

	check := func(t *testing.T, where string, want bool) {
		t.Helper()
		f, err := Compile(nil, []string{where})
		require.NoError(t, err, where)
		assert.Equal(t, want, f.Match(rec), "Match(%s)", where)
		assert.Equal(t, want, f.MatchJSON(rec.AppendJSON(nil)), "MatchJSON(%s)", where)
	}

	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			for _, op := range ops {
				for i, pos := range []string{"below", "equal", "above"} {
					t.Run(op+" "+pos, func(t *testing.T) {
						check(t, k.path+op+k.vals[i], holds[op][i])
						check(t, k.path+" "+op+" "+k.vals[i], holds[op][i]) // spaces around the operator
					})
				}
				for _, eq := range k.equal {
					t.Run(op+" equal as "+eq, func(t *testing.T) {
						check(t, k.path+op+eq, holds[op][1])
					})
				}
			}
			t.Run("bare path exists", func(t *testing.T) { check(t, k.path, true) })
			t.Run("~ the value's text", func(t *testing.T) {
				// ~ is a regular expression over the text, not an order:
				// only the equal value's text matches, anchored.
				for i, v := range k.vals {
					text := v
					if len(text) >= 2 && (text[0] == '"' || text[0] == '\'') {
						text = text[1 : len(text)-1]
					}
					check(t, k.path+"~'^"+regexp.QuoteMeta(text)+"$'", i == 1)
				}
			})
		})
	}

	// A condition on a path that does not exist never holds, whatever the
	// operator and value; the bare path says it does not exist.
	t.Run("missing path", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"data.nope", "data.n.deeper", "message", "user_id_x"} {
			check(t, path, false)
			for _, op := range append(ops[:len(ops):len(ops)], "~") {
				for _, v := range []string{"0", "42", "x", `""`, "null"} {
					check(t, path+op+v, false)
				}
			}
		}
	})

	// A record field that is empty is absent: its JSON line omits it.
	t.Run("empty field", func(t *testing.T) {
		t.Parallel()
		empty := &record.Record{TS: rec.TS, Type: record.TypeConnected}
		for _, where := range []string{"channel", "channel>=", "user_id<=0", "socket_id!=x", "event=''", `channel=""`} {
			f, err := Compile(nil, []string{where})
			if err != nil {
				continue // a missing value is a usage error, tested elsewhere
			}
			assert.False(t, f.Match(empty), "Match(%s)", where)
			assert.False(t, f.MatchJSON(empty.AppendJSON(nil)), "MatchJSON(%s)", where)
		}
	})
}
