package filter

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/record"
)

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		name    string
		want    bool
	}{
		{`MessageSent`, `MessageSent`, true},
		{`MessageSent`, `MessageSen`, false},
		{`MessageSent`, `messagesent`, false}, // case-sensitive
		{`*Sent`, `MessageSent`, true},
		{`*Sent`, `MessageSentAgain`, false},
		{`*`, ``, true},
		{`*`, `App\Events\MessageSent`, true},
		{`?`, ``, false},
		{`?`, `é`, true}, // one character, not one byte
		{`Message?ent`, `MessageSent`, true},
		{`Message?ent`, `Messageent`, false},
		{`App\Events\*`, `App\Events\MessageSent`, true},
		{`App\Events\*`, `App\Models\MessageSent`, false},
		{`App\*\MessageSent`, `App\Events\Chat\MessageSent`, true}, // * crosses backslashes
		{`App\Events\MessageSent`, `App\Events\MessageSent`, true},
		{`*\MessageSent`, `App\Events\MessageSent`, true},
		{`[MU]*`, `UserIsTyping`, true},
		{`[MU]*`, `ChatRead`, false},
		{`[!M]*`, `UserIsTyping`, true},
		{`[^M]*`, `MessageSent`, false},
		{`[a-c]x`, `bx`, true},
		{`[a-c]x`, `dx`, false},
		{`[]]`, `]`, true},
		{`[a-]`, `-`, true},
		{`client-*`, `client-typing`, true},
		{`*Typing*`, `UserIsTyping`, true},
		{`a*b*c`, `aXbYbZc`, true},
		{`a*b*c`, `aXbYbZ`, false},
		{`**x`, `abx`, true},
		{`[!a]`, `!`, true}, // the ! negates, it is not a member
		{`[^a]`, `^`, true},
		{`[!a]`, `[`, true},
		{`[!]]`, `a`, true}, // ] right after ! is a literal
		{`[!]]`, `]`, false},
		{`[a-c]`, `-`, false}, // a range is not its ends and a dash
		{`[a-c]`, `c`, true},
		{`[a-a]`, `a`, true},    // a one-rune range
		{`x[ab]y`, `xay`, true}, // what follows a class is matched
		{`x[ab]y`, `xa`, false},
		{`x[!y]`, `x`, false}, // a class needs a character
		{`x[!y]`, `xz`, true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := compileGlob(tt.pattern)
			require.NoError(t, err)
			assert.Equal(t, tt.want, g.match(tt.name))
		})
	}
}

func TestGlobErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		want    string
	}{
		{``, `empty pattern`},
		{`[abc`, `unterminated [`},
		{`App\Events\[Msg`, `--event "App\Events\[Msg": unterminated [`},
		{`[]`, `unterminated [`},
		{`[z-a]`, `bad range z-a`},
		{`[`, `unterminated [`},
		{`[!`, `unterminated [`},
		{`[a-`, `unterminated [`},
		{`x[a-`, `unterminated [`},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			t.Parallel()
			_, err := Compile([]string{tt.pattern}, nil)
			var ue *UsageError
			require.True(t, errors.As(err, &ue), "want *UsageError, got %v", err)
			assert.Contains(t, ue.Msg, tt.want)
		})
	}
}

func TestEventFilterFullAndShortName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		patterns []string
		event    string
		want     bool
	}{
		{[]string{"MessageSent"}, `App\Events\MessageSent`, true}, // short name
		{[]string{`App\Events\MessageSent`}, `App\Events\MessageSent`, true},
		{[]string{`Events\MessageSent`}, `App\Events\MessageSent`, false}, // neither full nor short
		{[]string{"*Sent"}, `App\Events\MessageSent`, true},
		{[]string{"UserIsTyping", "MessagesRead"}, `App\Events\MessagesRead`, true}, // any may match
		{[]string{"UserIsTyping", "MessagesRead"}, `App\Events\MessageSent`, false},
		{[]string{"client-*"}, `client-typing`, true},
		{nil, `anything`, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.patterns, ",")+"~"+tt.event, func(t *testing.T) {
			t.Parallel()
			f, err := Compile(tt.patterns, nil)
			require.NoError(t, err)
			r := &record.Record{Type: record.TypeEvent, Event: tt.event}
			assert.Equal(t, tt.want, f.Match(r))
			assert.Equal(t, tt.want, f.MatchJSON(r.AppendJSON(nil)))
		})
	}
}

func TestWhereErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want []string
	}{
		{`data.x=>3`, []string{`--where "data.x=>3": unknown operator "=>"; use path=value, !=, >, >=, <, <=, ~ (regex), or a bare path`, `did you mean >=?`}},
		{`data.x=<3`, []string{`unknown operator "=<"`, `did you mean <=?`}},
		{`data.x=~^a`, []string{`unknown operator "=~"`, `use ~ for a regular expression`}},
		{`data.x<>3`, []string{`unknown operator "<>"`, `use != for not equal`}},
		{`data.x!3`, []string{`unknown operator "!"`}},
		{`data.s=<b>`, []string{`unknown operator "=<"`}},
		{`data.s>=<b>`, []string{`unknown operator ">=<"`, `quote it: data.s>="<b>"`}},
		{`=3`, []string{`missing path before the operator`}},
		{` >= 3`, []string{`missing path`}},
		{`data.x=`, []string{`missing value after "="`, `data.x=""`}},
		{`data.x>= `, []string{`missing value after ">="`}},
		{`data.x~[`, []string{`bad regular expression`, `missing closing ]`, `RE2`}},
		{`data.s="a b`, []string{`malformed quoted value "a b`}},
		{`data.s='a b`, []string{`unterminated quoted value 'a b`}},
		{`data.s~"\d+"`, []string{`malformed quoted value "\d+"`, `use '...' to take the text as it is`}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			f, err := Compile(nil, []string{tt.expr})
			assert.Nil(t, f)
			var ue *UsageError
			require.True(t, errors.As(err, &ue), "want *UsageError, got %v", err)
			for _, w := range tt.want {
				assert.Contains(t, ue.Error(), w)
			}
		})
	}
}

func TestWhereParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		path string
		op   opKind
		val  string
		num  bool
	}{
		{`data.message.user_id=42`, `data.message.user_id`, opEq, `42`, true},
		{`data.message.user_id==42`, `data.message.user_id`, opEq, `42`, true},
		{`data.x!=3`, `data.x`, opNe, `3`, true},
		{`data.x>=3.5`, `data.x`, opGe, `3.5`, true},
		{`data.x<=-1`, `data.x`, opLe, `-1`, true},
		{`data.x>1e3`, `data.x`, opGt, `1e3`, true},
		{`data.x<b`, `data.x`, opLt, `b`, false},
		{`data.x~^a=b$`, `data.x`, opRegex, `^a=b$`, false},
		{`data.a=b=c`, `data.a`, opEq, `b=c`, false},
		{`data.x = 3`, `data.x`, opEq, `3`, true},
		{`data.s="a b"`, `data.s`, opEq, `a b`, false},
		{`data.s="42"`, `data.s`, opEq, `42`, false}, // quoted: a string
		{`data.s="say \"hi\""`, `data.s`, opEq, `say "hi"`, false},
		{`data.s='a "b"'`, `data.s`, opEq, `a "b"`, false},
		{`data.s~'^\d+$'`, `data.s`, opRegex, `^\d+$`, false},
		{`data.s=""`, `data.s`, opEq, ``, false},
		{`data.x=Inf`, `data.x`, opEq, `Inf`, false},
		{`data.x=0x10`, `data.x`, opEq, `0x10`, false},
		{`data.items.#(id>3).name=bob`, `data.items.#(id>3).name`, opEq, `bob`, false},
		{`data.a\=b=c`, `data.a\=b`, opEq, `c`, false},
		{`data.a)=1`, `data.a)`, opEq, `1`, true}, // a stray ) does not hide the operator
		{`data.a]}>=1`, `data.a]}`, opGe, `1`, true},
		{`data.message`, `data.message`, opExists, ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			c, err := compileCond(tt.expr)
			require.NoError(t, err)
			assert.Equal(t, tt.path, c.path)
			assert.Equal(t, tt.op, c.op)
			assert.Equal(t, tt.val, c.val)
			assert.Equal(t, tt.num, c.valNum)
		})
	}
}

var ts = time.Date(2026, 11, 26, 9, 16, 54, 123456789, time.UTC)

// records is a small chat session used by the where tests.
var records = map[string]*record.Record{
	"msg": {
		TS: ts, Type: record.TypeEvent, Channel: "private-chat.42", Event: `App\Events\MessageSent`,
		Data:     []byte(`{"message":{"id":7,"content":"hi there","user_id":8,"temp_id":"tmp-1","big":9007199254740993,"price":"12.50","flag":true,"none":null,"empty":"","tags":["a","b"],"created_at":"2026-11-26T09:16:54.000000Z"},"user":{"name":"Alice"}}`),
		SocketID: "123.456",
	},
	"msgStrID": {
		TS: ts, Type: record.TypeEvent, Channel: "private-chat.42", Event: `App\Events\MessageSent`,
		Data: []byte(`{"message":{"id":"7","content":"hello","user_id":"42"}}`),
	},
	"typing": {
		TS: ts, Type: record.TypeEvent, Channel: "presence-chat.42", Event: "client-typing",
		Data: []byte(`{"user":{"name":"Bob"},"typing":false}`), UserID: "42",
	},
	"string": {
		TS: ts, Type: record.TypeEvent, Channel: "public", Event: "Ping",
		Data: []byte(`"plain text"`),
	},
	"nodata": {TS: ts, Type: record.TypeEvent, Channel: "public", Event: "Ping"},
}

func TestWhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		where []string
		rec   string
		want  bool
	}{
		// numeric against numbers and numeric strings
		{[]string{"data.message.user_id=8"}, "msg", true},
		{[]string{"data.message.user_id=8.0"}, "msg", true},
		{[]string{"data.message.user_id=08"}, "msg", true},
		{[]string{"data.message.user_id=9"}, "msg", false},
		{[]string{"data.message.user_id=42"}, "msgStrID", true},
		{[]string{"data.message.id>6"}, "msg", true},
		{[]string{"data.message.id>6"}, "msgStrID", true},
		{[]string{"data.message.id>=7", "data.message.id<=7"}, "msg", true},
		{[]string{"data.message.id<7"}, "msg", false},
		{[]string{"data.message.id!=7"}, "msg", false},
		{[]string{"data.message.id>10"}, "msg", false}, // numeric, not lexical ("7" > "10")
		{[]string{"data.message.price=12.5"}, "msg", true},
		{[]string{"data.message.price<12.51"}, "msg", true},
		// integers compare exactly beyond float64 precision
		{[]string{"data.message.big=9007199254740993"}, "msg", true},
		{[]string{"data.message.big=9007199254740992"}, "msg", false},
		{[]string{"data.message.big>9007199254740992"}, "msg", true},
		{[]string{"data.message.big=-9007199254740993"}, "msg", false},
		// strings
		{[]string{"data.message.content=hi there"}, "msg", true},
		{[]string{`data.message.content="hi there"`}, "msg", true},
		{[]string{"data.message.content=hi"}, "msg", false},
		{[]string{"data.message.content!=hi"}, "msg", true},
		{[]string{"data.message.content>hello"}, "msg", true}, // lexical
		{[]string{"data.message.content<a"}, "msg", false},
		{[]string{`data.message.id="7"`}, "msg", true}, // quoted compares text: 7 reads as "7"
		{[]string{"data.message.empty=\"\""}, "msg", true},
		{[]string{"data.message.empty=''"}, "msg", true}, // '' is the empty string too
		{[]string{"data.message.content=''"}, "msg", false},
		{[]string{"data.message.empty"}, "msg", true},
		// booleans, null, objects
		{[]string{"data.message.flag=true"}, "msg", true},
		{[]string{"data.message.flag=false"}, "msg", false},
		{[]string{"data.typing=false"}, "typing", true},
		{[]string{"data.message.none=null"}, "msg", true},
		{[]string{"data.message.none"}, "msg", true}, // null exists
		{[]string{`data.message.tags=["a","b"]`}, "msg", true},
		{[]string{"data.message.tags.#=2"}, "msg", true},
		{[]string{"data.message.tags.1=b"}, "msg", true},
		// regex
		{[]string{"data.message.content~^hi"}, "msg", true},
		{[]string{"data.message.content~(?i)^HI THERE$"}, "msg", true},
		{[]string{"data.message.content~^there"}, "msg", false},
		{[]string{"data.message.id~^7$"}, "msg", true},
		// missing paths never hold, != included; bare paths test existence
		{[]string{"data.message.nope"}, "msg", false},
		{[]string{"data.message.nope=1"}, "msg", false},
		{[]string{"data.message.nope!=1"}, "msg", false},
		{[]string{"data.message.nope~."}, "msg", false},
		{[]string{"data.x"}, "nodata", false},
		{[]string{"data"}, "nodata", false},
		{[]string{"data"}, "msg", true},
		// string data
		{[]string{"data=plain text"}, "string", true},
		{[]string{"data~plain"}, "string", true},
		{[]string{"data.x"}, "string", false},
		// record fields
		{[]string{"channel=private-chat.42"}, "msg", true},
		{[]string{"channel~^private-"}, "msg", true},
		{[]string{"channel~^presence-"}, "msg", false},
		{[]string{`event=App\Events\MessageSent`}, "msg", true},
		{[]string{"type=event"}, "msg", true},
		{[]string{"user_id=42"}, "typing", true},
		{[]string{"user_id"}, "msg", false},
		{[]string{"socket_id=123.456"}, "msg", true},
		{[]string{"ts>=2026-11-26T09:16:54Z"}, "msg", true},
		{[]string{"ts~^2026-11-26T09:16:54.123456789Z$"}, "msg", true},
		// RFC 3339 times compare as instants
		{[]string{"ts>2026-11-26T10:16:54+01:00"}, "msg", true},
		{[]string{"ts<2026-11-26T10:16:54+01:00"}, "msg", false},
		{[]string{"ts<=2026-11-26T09:16:54.123456789Z"}, "msg", true},
		{[]string{"data.message.created_at=2026-11-26T09:16:54Z"}, "msg", true},
		{[]string{"data.message.created_at<2026-11-26T09:16:54.5Z"}, "msg", true},
		{[]string{"data.message.content<2026-11-26T09:16:54Z"}, "msg", false}, // not a time: text
		// any other path is evaluated over the JSON record
		{[]string{"message"}, "msg", false},
		{[]string{"data|message.id=7"}, "msg", true},
		{[]string{"@this.channel=public"}, "string", true},
		// a gjson query inside the path
		{[]string{"data.message.tags.#(==b)"}, "msg", true},
		// all must hold
		{[]string{"data.message.user_id=8", "channel=private-chat.42"}, "msg", true},
		{[]string{"data.message.user_id=8", "channel=public"}, "msg", false},
	}
	for _, tt := range tests {
		t.Run(tt.rec+":"+strings.Join(tt.where, "&"), func(t *testing.T) {
			t.Parallel()
			f, err := Compile(nil, tt.where)
			require.NoError(t, err)
			r := records[tt.rec]
			assert.Equal(t, tt.want, f.Match(r), "Match")
			assert.Equal(t, tt.want, f.MatchJSON(r.AppendJSON(nil)), "MatchJSON")
		})
	}
}

// session is one record of every type, as listen writes them with
// --show-protocol, for the tests of the rule that filters apply to every
// record.
var session = []struct {
	name string
	rec  record.Record
}{
	{"msg8", record.Record{TS: ts, Type: record.TypeEvent, Channel: "private-chat.42", Event: `App\Events\MessageSent`, Data: []byte(`{"message":{"id":7,"content":"hi","user_id":8}}`), SocketID: "1.2"}},
	{"msg9", record.Record{TS: ts, Type: record.TypeEvent, Channel: "private-chat.42", Event: `App\Events\MessageSent`, Data: []byte(`{"message":{"id":8,"content":"yo","user_id":9}}`), SocketID: "1.2"}},
	{"typing", record.Record{TS: ts, Type: record.TypeEvent, Channel: "presence-chat.42", Event: `App\Events\UserIsTyping`, Data: []byte(`{"user_id":9,"typing":true}`), SocketID: "1.2"}},
	{"sentAs", record.Record{TS: ts, Type: record.TypeEvent, Channel: "private-chat.42", Event: "message.sent", Data: []byte(`{"message":{"user_id":8}}`), SocketID: "1.2"}},
	{"joined", record.Record{TS: ts, Type: record.TypeMemberAdded, Channel: "presence-chat.42", Data: []byte(`{"name":"Bob"}`), UserID: "9", SocketID: "1.2"}},
	{"left", record.Record{TS: ts, Type: record.TypeMemberRemoved, Channel: "presence-chat.42", UserID: "9", SocketID: "1.2"}},
	{"subscribed", record.Record{TS: ts, Type: record.TypeSubscribed, Channel: "presence-chat.42", Event: "pusher_internal:subscription_succeeded", Data: []byte(`{"presence":{"count":1}}`), SocketID: "1.2"}},
	{"connected", record.Record{TS: ts, Type: record.TypeConnected, SocketID: "1.2", Message: "ws://127.0.0.1:6001/app/app-key"}},
	{"pong", record.Record{TS: ts, Type: record.TypeProtocol, Event: "pusher:pong", SocketID: "1.2"}},
	{"reconnecting", record.Record{TS: ts, Type: record.TypeReconnecting, Message: "closed with 4200", Code: 4200, Attempt: 1}},
}

func TestFiltersApplyToEveryRecord(t *testing.T) {
	t.Parallel()
	all := []string{"msg8", "msg9", "typing", "sentAs", "joined", "left", "subscribed", "connected", "pong", "reconnecting"}
	tests := []struct {
		name   string
		events []string
		wheres []string
		want   []string
	}{
		{"no filter keeps everything", nil, nil, all},
		{"an event name keeps those events only", []string{"MessageSent"}, nil, []string{"msg8", "msg9"}},
		{"member_* keeps joins and leaves", []string{"member_*"}, nil, []string{"joined", "left"}},
		{"a type keeps that type", []string{"member_added"}, nil, []string{"joined"}},
		{"subscribed", []string{"subscribed"}, nil, []string{"subscribed"}},
		{"a pusher frame by its name", []string{"pusher:*"}, nil, []string{"pong"}},
		{"any may match", []string{"UserIsTyping", "member_removed"}, nil, []string{"typing", "left"}},
		{"a star keeps everything", []string{"*"}, nil, all},
		{"the event glob does not see types as names", []string{"*Sent"}, nil, []string{"msg8", "msg9"}},
		{"where drops records without the path", nil, []string{"data.message.user_id=8"}, []string{"msg8", "sentAs"}},
		{"a mistyped where keeps nothing", nil, []string{"message.user_id=8"}, nil},
		{"where on the type", nil, []string{"type=member_added"}, []string{"joined"}},
		{"where on a field of members", nil, []string{"user_id=9"}, []string{"joined", "left"}},
		{"where on the channel", nil, []string{"channel~^presence-"}, []string{"typing", "joined", "left", "subscribed"}},
		{"where on the member's data", nil, []string{"data.name=Bob"}, []string{"joined"}},
		{"event and where", []string{"MessageSent"}, []string{"data.message.user_id=8"}, []string{"msg8"}},
		{"members and where", []string{"member_*"}, []string{"data.name"}, []string{"joined"}},
		{"the lifecycle by type", []string{"connected", "reconnecting"}, nil, []string{"connected", "reconnecting"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := Compile(tt.events, tt.wheres)
			require.NoError(t, err)
			var decoded, raw, typed []string
			for _, s := range session {
				line := s.rec.AppendJSON(nil)
				if f.Match(&s.rec) {
					decoded = append(decoded, s.name)
				}
				if f.MatchJSON(line) {
					raw = append(raw, s.name)
				}
				if f.MatchJSONType(line, RecordType(line)) {
					typed = append(typed, s.name)
				}
			}
			assert.Equal(t, tt.want, decoded, "Match")
			assert.Equal(t, tt.want, raw, "MatchJSON")
			assert.Equal(t, tt.want, typed, "MatchJSONType")
		})
	}
}

func TestEchoLeadingDot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		event   string
		want    bool
	}{
		{`.App\Events\MessageSent`, `App\Events\MessageSent`, true},
		{`.App\Events\MessageSent`, `App\Events\MessageSentAgain`, false},
		{`.App\Events\MessageSent`, `MessageSent`, false},
		{`.MessageSent`, `App\Events\MessageSent`, false}, // exactly the name: no short form
		{`.MessageSent`, `MessageSent`, true},
		{`.message.sent`, `message.sent`, true},
		{`.message.sent`, `App\Events\message.sent`, false},
		{`.message.sent`, `.message.sent`, false}, // the dot is Echo's, not part of the name
		{`.message.*`, `message.sent`, true},      // the rest is still a glob
		{`.App\Events\*`, `App\Events\MessageSent`, true},
		{`.*Sent`, `App\Events\MessageSent`, true},
		// without the dot: full or short, as before
		{`message.sent`, `message.sent`, true},
		{`MessageSent`, `App\Events\MessageSent`, true},
		{`App\Events\MessageSent`, `App\Events\MessageSent`, true},
		{`*.sent`, `message.sent`, true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.event, func(t *testing.T) {
			t.Parallel()
			f, err := Compile([]string{tt.pattern}, nil)
			require.NoError(t, err)
			r := &record.Record{TS: ts, Type: record.TypeEvent, Channel: "c", Event: tt.event}
			assert.Equal(t, tt.want, f.Match(r), "Match")
			assert.Equal(t, tt.want, f.MatchJSON(r.AppendJSON(nil)), "MatchJSON")
		})
	}

	// Other records: the dot form names a type exactly too.
	f, err := Compile([]string{".member_added"}, nil)
	require.NoError(t, err)
	for _, s := range session {
		want := s.name == "joined"
		assert.Equal(t, want, f.Match(&s.rec), s.name)
		assert.Equal(t, want, f.MatchJSON(s.rec.AppendJSON(nil)), s.name)
	}

	for pattern, msg := range map[string]string{
		".":      `--event ".": a leading dot names one event exactly, as in Echo; give the name after it, e.g. .App\Events\MessageSent or .message.sent`,
		".[abc":  `--event ".[abc": unterminated [`,
		".[z-a]": `--event ".[z-a]": bad range z-a`,
	} {
		_, err := Compile([]string{pattern}, nil)
		var ue *UsageError
		require.ErrorAs(t, err, &ue, pattern)
		assert.Contains(t, ue.Msg, msg)
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name           string
		events, wheres []string
		channels       []string
		counted        []string // the types that count
	}{
		{"no filter: events", nil, nil, nil, []string{record.TypeEvent}},
		{"channel globs alone: events", nil, nil, []string{"presence-*"}, []string{record.TypeEvent}},
		{"an event glob: every kept record", []string{"member_*"}, nil, nil, []string{record.TypeEvent, record.TypeMemberAdded, record.TypeMemberRemoved, record.TypeSubscribed}},
		{"a where: every kept record", nil, []string{"user_id=9"}, nil, []string{record.TypeEvent, record.TypeMemberAdded, record.TypeMemberRemoved, record.TypeSubscribed}},
	} {
		f, err := CompileWithChannels(tt.channels, tt.events, tt.wheres)
		require.NoError(t, err)
		var got []string
		for _, typ := range []string{record.TypeEvent, record.TypeMemberAdded, record.TypeMemberRemoved, record.TypeSubscribed} {
			if f.Counts(typ) {
				got = append(got, typ)
			}
		}
		assert.Equal(t, tt.counted, got, tt.name)
	}
	var nilF *Filter
	assert.True(t, nilF.Counts(record.TypeEvent))
	assert.False(t, nilF.Counts(record.TypeMemberAdded))
}

func TestMatchJSONLineWithoutTypeIsEvent(t *testing.T) {
	t.Parallel()
	f, err := Compile([]string{"MessageSent"}, nil)
	require.NoError(t, err)
	assert.True(t, f.MatchJSON([]byte(`{"event":"App\\Events\\MessageSent","data":{}}`)))
	assert.False(t, f.MatchJSON([]byte(`{"event":"UserIsTyping","data":{}}`)))
	assert.False(t, f.MatchJSON([]byte(`{"type":"connected","socket_id":"1.2"}`)))
	assert.False(t, f.MatchJSON([]byte(`{"type":"event"}`)))
	assert.False(t, f.MatchJSON(nil))

	// --where type=event holds for a line without type, as for its record.
	f, err = Compile(nil, []string{"type=event"})
	require.NoError(t, err)
	for _, line := range []string{`{"event":"E"}`, `{"type":"","event":"E"}`, `{"type":"event","event":"E"}`} {
		r, err := record.Decode([]byte(line))
		require.NoError(t, err)
		assert.True(t, f.Match(&r), line)
		assert.True(t, f.MatchJSON([]byte(line)), line)
	}
	assert.False(t, f.MatchJSON([]byte(`{"type":"member_added"}`)))
}

func TestEmpty(t *testing.T) {
	t.Parallel()
	var nilF *Filter
	assert.True(t, nilF.Empty())
	assert.True(t, nilF.Match(records["msg"]))
	assert.True(t, nilF.MatchJSON([]byte(`{}`)))

	f, err := Compile(nil, nil)
	require.NoError(t, err)
	assert.True(t, f.Empty())
	assert.True(t, f.Match(records["nodata"]))

	f, err = Compile([]string{"*"}, nil)
	require.NoError(t, err)
	assert.False(t, f.Empty())
	f, err = Compile(nil, []string{"data"})
	require.NoError(t, err)
	assert.False(t, f.Empty())
}

func TestCompareIntText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"1", "1", 0}, {"1", "2", -1}, {"10", "9", 1}, {"-10", "-9", -1}, {"-1", "1", -1},
		{"007", "7", 0}, {"-0", "0", 0}, {"+5", "5", 0}, {"123456789012345678901", "123456789012345678900", 1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, compareIntText(tt.a, tt.b), "%s vs %s", tt.a, tt.b)
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	f, err := Compile([]string{"MessageSent", "UserIsTyping"},
		[]string{"data.message.user_id=8", "channel~^private-", "data.message.content!=spam", "data.message.temp_id"})
	require.NoError(t, err)
	r := records["msg"]
	line := r.AppendJSON(nil)
	require.True(t, f.Match(r))
	require.True(t, f.MatchJSON(line))
	assert.Zero(t, testing.AllocsPerRun(100, func() { f.Match(r) }), "Match")
	assert.Zero(t, testing.AllocsPerRun(100, func() { f.MatchJSON(line) }), "MatchJSON")

	// Member records go through the same globs and conditions.
	m := &session[4].rec
	require.Equal(t, record.TypeMemberAdded, m.Type)
	mline := m.AppendJSON(nil)
	require.False(t, f.Match(m))
	require.False(t, f.MatchJSON(mline))
	members, err := Compile([]string{"member_*"}, []string{"user_id=9", "data.name~^B"})
	require.NoError(t, err)
	require.True(t, members.Match(m))
	require.True(t, members.MatchJSON(mline))
	for _, flt := range []*Filter{f, members} {
		assert.Zero(t, testing.AllocsPerRun(100, func() { flt.Match(m) }), "Match")
		assert.Zero(t, testing.AllocsPerRun(100, func() { flt.MatchJSON(mline) }), "MatchJSON")
	}
}

func BenchmarkMatch(b *testing.B) {
	f, err := Compile([]string{`App\Events\*`, "UserIsTyping"},
		[]string{"data.message.user_id=8", "channel~^private-", "data.message.content"})
	require.NoError(b, err)
	r := records["msg"]
	line := r.AppendJSON(nil)
	b.Run("Record", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !f.Match(r) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("JSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !f.MatchJSON(line) {
				b.Fatal("no match")
			}
		}
	})
	// A member record: dropped by the glob since filters apply to every
	// record (before, it passed without a look).
	member := []byte(`{"ts":"2026-11-26T09:16:54.123456789Z","type":"member_added","channel":"presence-chat.42","data":{"name":"Alice"},"user_id":"9","socket_id":"48213.9930271"}` + "\n")
	b.Run("JSONMember", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.MatchJSON(member)
		}
	})
}

func TestTopLevelRawAgreesWithGjson(t *testing.T) {
	t.Parallel()
	lines := []string{
		`{"event":"App\\Events\\MessageSent"}`,
		`{"ts":"x","type":"event","event":"A\\B","data":{"event":"nested"}}`,
		`{"data":{"event":"nested","x":[1,{"event":2}]},"event":"outer"}`,
		`{"data":"a \"quoted\" \\ string","event":"e"}`,
		`{"data":"ends with a backslash \\","event":"e1"}`,
		`{"data":"\\\"","event":"e2"}`,
		`{"data":["\\\\\"]\"",{"k\"":"\\"}],"event":"e3"}`,
		`{"data":"unterminated \\\"`,
		` { "event" : "spaced" , "x" : 1 } `,
		`{"x":1,"event":7}`,
		`{"x":[1,2,3],"event":null}`,
		`{"x":true}`,
		`{}`,
		`[]`,
		`not json`,
		``,
		`{"event":"a\nb"}`,
		`{"event":"\u0041pp"}`,
		`{"event":"unterminated`,
		`{"x":{"y":}`,
	}
	for _, line := range lines {
		want := gjson.Get(line, "event")
		got := topLevelRaw(line, "event")
		if want.Exists() {
			assert.Equal(t, want.Raw, got, "%s", line)
		}
		var buf [128]byte
		assert.Equal(t, want.String(), eventName(line, &buf), "%s", line)
	}
	// A name longer than the buffer still works.
	long := strings.Repeat(`Ns\\`, 60) + "MessageSent"
	var buf [128]byte
	assert.Equal(t, strings.Repeat(`Ns\`, 60)+"MessageSent", eventName(`{"event":"`+long+`"}`, &buf))
}

func TestChannelGlobs(t *testing.T) {
	t.Parallel()
	f, err := CompileWithChannels([]string{"private-chat.*", "presence-chat.4[0-9]"}, nil, nil)
	require.NoError(t, err)
	require.False(t, f.Empty())
	tests := []struct {
		typ, channel string
		want         bool
	}{
		{record.TypeEvent, "private-chat.42", true},
		{record.TypeEvent, "private-chat.", true},
		{record.TypeEvent, "private-chatroom", false},
		{record.TypeEvent, "presence-chat.42", true},
		{record.TypeEvent, "presence-chat.420", false},
		{record.TypeEvent, "chat", false},
		{record.TypeEvent, "", false}, // an event belongs to a channel
		{record.TypeMemberAdded, "presence-chat.43", true},
		{record.TypeMemberAdded, "presence-chat.99", false},
		{record.TypeMemberRemoved, "", false},
		{record.TypeSubscribed, "private-chat.1", true},
		{record.TypeSubscribed, "other", false},
		{record.TypeSubscriptionError, "other", false},
		{record.TypeConnected, "", true}, // lifecycle records without a channel pass
		{record.TypeReconnecting, "", true},
		{record.TypeProtocol, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.channel, func(t *testing.T) {
			t.Parallel()
			r := &record.Record{TS: ts, Type: tt.typ, Channel: tt.channel, Event: "E"}
			assert.Equal(t, tt.want, f.Match(r), "Match")
			line := r.AppendJSON(nil)
			assert.Equal(t, tt.want, f.MatchJSON(line), "MatchJSON")
			assert.Equal(t, tt.want, f.MatchJSONType(line, RecordType(line)), "MatchJSONType")
		})
	}
}

func TestChannelGlobsWithEventsAndWheres(t *testing.T) {
	t.Parallel()
	f, err := CompileWithChannels([]string{"private-*"}, []string{"MessageSent"}, []string{"data.message.user_id=8"})
	require.NoError(t, err)
	line := func(typ, channel, event, data string) []byte {
		r := record.Record{TS: ts, Type: typ, Channel: channel, Event: event, Data: []byte(data)}
		return r.AppendJSON(nil)
	}
	assert.True(t, f.MatchJSON(line("event", "private-chat.1", `App\Events\MessageSent`, `{"message":{"user_id":8}}`)))
	assert.False(t, f.MatchJSON(line("event", "public", `App\Events\MessageSent`, `{"message":{"user_id":8}}`)), "channel")
	assert.False(t, f.MatchJSON(line("event", "private-chat.1", `App\Events\UserIsTyping`, `{"message":{"user_id":8}}`)), "event")
	assert.False(t, f.MatchJSON(line("event", "private-chat.1", `App\Events\MessageSent`, `{"message":{"user_id":9}}`)), "where")
	assert.False(t, f.MatchJSON(line("member_added", "private-x", "", `{"name":"a"}`)), "events and wheres apply to members")
	assert.False(t, f.MatchJSON(line("member_added", "presence-x", "", `{"name":"a"}`)), "and so do channels")
	// Escaped channel names in the raw line are read like gjson reads them.
	assert.True(t, f.MatchJSON([]byte(`{"channel":"private\u002dchat","event":"MessageSent","data":{"message":{"user_id":8}}}`)))
	// Only the top-level channel counts.
	assert.False(t, f.MatchJSON([]byte(`{"data":{"channel":"private-a","message":{"user_id":8}},"channel":"x","event":"MessageSent"}`)))

	members, err := CompileWithChannels([]string{"presence-*"}, []string{"member_*"}, []string{"user_id=9"})
	require.NoError(t, err)
	joined := record.Record{TS: ts, Type: record.TypeMemberAdded, Channel: "presence-x", Data: []byte(`{"name":"a"}`), UserID: "9"}
	assert.True(t, members.MatchJSON(joined.AppendJSON(nil)))
	assert.True(t, members.Match(&joined))
	joined.Channel = "private-x"
	assert.False(t, members.MatchJSON(joined.AppendJSON(nil)), "channel")
	assert.False(t, members.Match(&joined), "channel")
}

func TestChannelGlobErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ pattern, want string }{
		{``, `--channel "": empty pattern; give a channel name or a glob such as "private-chat.42" or "presence-*"`},
		{`private-[0-9`, `--channel "private-[0-9": unterminated [`},
		{`[9-0]`, `--channel "[9-0]": bad range 9-0`},
	} {
		_, err := CompileWithChannels([]string{tt.pattern}, nil, nil)
		var ue *UsageError
		require.ErrorAs(t, err, &ue, tt.pattern)
		assert.Contains(t, ue.Msg, tt.want)
	}
	_, err := CompileWithChannels([]string{"ok"}, []string{"[x"}, nil)
	assert.ErrorContains(t, err, `--event "[x"`)
}

func TestRecordType(t *testing.T) {
	t.Parallel()
	for line, want := range map[string]string{
		`{"ts":"x","type":"event","channel":"c"}`:         record.TypeEvent,
		`{"channel":"c"}`:                                 record.TypeEvent,
		`{"type":""}`:                                     record.TypeEvent,
		`{"type":"member_added"}`:                         record.TypeMemberAdded,
		`{"type":"member_removed"}`:                       record.TypeMemberRemoved,
		`{"type":"connected"}`:                            record.TypeConnected,
		`{"type":"protocol","data":{"type":"event"}}`:     record.TypeProtocol,
		`{"data":{"type":"connected"},"type":"event"}`:    record.TypeEvent,
		`{"type":"m\u0065mber_added"}`:                    record.TypeMemberAdded,
		`{"type":"something_new"}`:                        "something_new",
		`{"type":7}`:                                      "7",
		`{"data":{"type":"connected"},"channel":"event"}`: record.TypeEvent,
	} {
		assert.Equal(t, want, RecordType([]byte(line)), line)
	}
	line := []byte(`{"type":"custom"}`)
	typ := RecordType(line)
	copy(line, `{"type":"xxxxxx"}`)
	assert.Equal(t, "custom", typ, "an unknown type does not alias the line")
}

func TestMatchWithChannelsDoesNotAllocate(t *testing.T) {
	f, err := CompileWithChannels([]string{"private-*", "presence-chat.[0-9]*"}, []string{"MessageSent"}, []string{"data.message.user_id=8"})
	require.NoError(t, err)
	r := records["msg"]
	line := r.AppendJSON(nil)
	require.True(t, f.Match(r))
	require.True(t, f.MatchJSON(line))
	assert.Zero(t, testing.AllocsPerRun(100, func() { f.Match(r) }), "Match")
	assert.Zero(t, testing.AllocsPerRun(100, func() { f.MatchJSONType(line, RecordType(line)) }), "MatchJSONType")
}
