package subscribe

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/cmdutil/cmdtest"
	"github.com/amusoft/tmsws/internal/filter"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/record"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	return cmdtest.Parse(t, NewCmdSubscribe, nil, args...)
}

func TestSubscribeFlags(t *testing.T) {
	t.Parallel()
	o, err := parse(t, "-c", "private-chat.42", "--channel", "presence-chat.42", "--expect", "MessageSent", "--where", "data.x=1",
		"--count", "3", "--timeout", "1m", "--json", "--stats", "--reconnect-attempts", "0", "--reconnect-delay", "250ms", "--host", "example.test")
	require.NoError(t, err)
	assert.Equal(t, []string{"private-chat.42", "presence-chat.42"}, o.Channels)
	assert.Equal(t, "MessageSent", o.Expect)
	assert.Equal(t, []string{"data.x=1"}, o.Wheres)
	assert.Equal(t, 3, o.Count)
	assert.Equal(t, time.Minute, o.Timeout)
	assert.True(t, o.JSON)
	assert.True(t, o.Stats)
	assert.Equal(t, 0, o.ReconnectAttempts)
	assert.Equal(t, 250*time.Millisecond, o.ReconnectDelay)
	assert.Equal(t, "example.test", o.Settings.Host)
}

func TestSubscribeDefaults(t *testing.T) {
	t.Parallel()
	o, err := parse(t, "-c", "chat")
	require.NoError(t, err)
	assert.Equal(t, "", o.Expect)
	assert.Equal(t, 1, o.Count)
	assert.Equal(t, 30*time.Second, o.Timeout)
	assert.Equal(t, 2, o.ReconnectAttempts, "fewer retries than listen")
	assert.Equal(t, time.Second, o.ReconnectDelay, "faster retries than listen")
	assert.False(t, o.JSON)
}

func TestSubscribeTakesEchoNames(t *testing.T) {
	t.Parallel()
	o, err := parse(t, "-c", "chat", "--expect", ".message.sent")
	require.NoError(t, err)
	assert.Equal(t, ".message.sent", o.Expect)
}

func TestSubscribeUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args      []string
		msg, hint string
	}{
		{nil, "no channel given", "pass -c/--channel NAME, e.g. tmsws subscribe -c private-chat.42 --expect MessageSent"},
		{[]string{"chat"}, `unexpected argument "chat"`, "channels go with -c: tmsws subscribe -c chat"},
		{[]string{"-c", "a", "-c", "a"}, `channel "a" given twice`, ""},
		{[]string{"-c", "bad name"}, `invalid channel name "bad name": a space at byte 3`,
			"channel names hold no whitespace or control characters; Pusher's set is letters, digits and _ - = @ , . ;"},
		{[]string{"-c", "a", "--where", "data.x=1"}, "--where needs --expect",
			"say which records to wait for, e.g. --expect MessageSent (or --expect '*' for any record)"},
		{[]string{"-c", "a", "--count", "2"}, "--count needs --expect", "say which records to wait for, e.g. --expect MessageSent --count 2"},
		{[]string{"-c", "a", "--expect", ""}, "--expect needs a pattern", "e.g. --expect MessageSent, or --expect '*' for any record"},
		{[]string{"-c", "a", "--expect", "E", "--count", "0"}, "--count must be 1 or more, got 0", ""},
		{[]string{"-c", "a", "--timeout", "0"}, "--timeout must be positive, got 0s", "e.g. --timeout 30s"},
		{[]string{"-c", "a", "--timeout", "-1s"}, "--timeout must be positive, got -1s", "e.g. --timeout 30s"},
		{[]string{"-c", "a", "--reconnect-attempts", "-1"}, "--reconnect-attempts must be 0 (until --timeout) or more, got -1", ""},
		{[]string{"-c", "a", "--reconnect-delay", "-1s"}, "--reconnect-delay must be positive, got -1s", ""},
	}
	for _, tt := range tests {
		_, err := parse(t, tt.args...)
		var ue *cmdutil.UsageError
		if assert.ErrorAs(t, err, &ue, "%q", tt.args) {
			assert.Equal(t, tt.msg, ue.Msg, "%q", tt.args)
			assert.Equal(t, tt.hint, ue.Hint, "%q", tt.args)
		}
	}
}

func testSink(t *testing.T, opts *Options, expect []string) (*sink, *bytes.Buffer) {
	t.Helper()
	var flt *filter.Filter
	if len(expect) > 0 {
		var err error
		flt, err = filter.Compile(expect, opts.Wheres)
		require.NoError(t, err)
		opts.Expect = expect[0]
	}
	var out, errOut bytes.Buffer
	k := newSink(opts, time.Unix(100, 0), flt, cmdutil.NewStatusLog(&errOut, false, false), nil, bufio.NewWriter(&out))
	return k, &out
}

func TestSinkStopsOnceEverythingArrived(t *testing.T) {
	t.Parallel()
	at := func(ms int) time.Time { return time.Unix(100, 0).Add(time.Duration(ms) * time.Millisecond) }
	k, out := testSink(t, &Options{SelectFlags: cmdutil.SelectFlags{Channels: []string{"a", "presence-b"}, Count: 2}}, []string{"MessageSent"})

	require.NoError(t, k.Write(&record.Record{TS: at(5), Type: record.TypeConnected, SocketID: "1.2"}))
	require.NoError(t, k.Write(&record.Record{TS: at(7), Type: record.TypeSubscribed, Channel: "a"}))
	// An event before every channel is confirmed counts.
	require.NoError(t, k.Write(&record.Record{TS: at(8), Type: record.TypeEvent, Channel: "a", Event: `App\Events\MessageSent`, Data: []byte(`{"n":1}`)}))
	require.NoError(t, k.Write(&record.Record{TS: at(9), Type: record.TypeEvent, Channel: "a", Event: "Other"}))
	require.NoError(t, k.Write(&record.Record{TS: at(12), Type: record.TypeSubscribed, Channel: "presence-b", Data: []byte(`{"presence":{"count":3,"ids":["1","2","3"]}}`)}))
	// A channel confirmed again after a reconnect keeps its first time.
	require.NoError(t, k.Write(&record.Record{TS: at(50), Type: record.TypeSubscribed, Channel: "a"}))
	err := k.Write(&record.Record{TS: at(60), Type: record.TypeEvent, Channel: "presence-b", Event: "MessageSent", Data: []byte(`{"n":2}`)})
	assert.ErrorIs(t, err, pusher.ErrStop)
	require.NoError(t, k.Flush())
	assert.Equal(t, 2, bytes.Count(out.Bytes(), []byte("\n")))

	sum := k.summarize(at(61), nil)
	assert.True(t, sum.OK)
	assert.Equal(t, "1.2", sum.SocketID)
	assert.Equal(t, int64(5), *sum.ConnectMS)
	assert.Equal(t, int64(61), sum.ElapsedMS)
	require.Len(t, sum.Channels, 2)
	assert.Equal(t, int64(7), *sum.Channels[0].MS)
	assert.Nil(t, sum.Channels[0].Members)
	assert.Equal(t, int64(12), *sum.Channels[1].MS)
	assert.Equal(t, 3, *sum.Channels[1].Members)
	assert.Equal(t, &ExpectedResult{Pattern: "MessageSent", Count: 2, Matched: 2}, sum.Expected)
	assert.Empty(t, sum.Events, "without --json the events went to stdout")
}

func TestSinkExpectsMemberRecordsAndEchoNames(t *testing.T) {
	t.Parallel()
	joined := record.Record{Type: record.TypeMemberAdded, Channel: "presence-b", UserID: "9", Data: []byte(`{"name":"Bob"}`)}
	sentAs := record.Record{Type: record.TypeEvent, Channel: "presence-b", Event: "message.sent", Data: []byte(`{"message":{"user_id":8}}`)}
	full := record.Record{Type: record.TypeEvent, Channel: "presence-b", Event: `App\Events\MessageSent`, Data: []byte(`{"message":{"user_id":8}}`)}
	for _, tt := range []struct {
		expect  string
		wheres  []string
		records []record.Record
		matched int
	}{
		{"member_added", nil, []record.Record{full, joined}, 1},
		{"member_*", []string{"user_id=9"}, []record.Record{joined, full}, 1},
		{"MessageSent", nil, []record.Record{joined, sentAs, full}, 1},
		{"MessageSent", []string{"data.message.user_id=8"}, []record.Record{joined, full}, 1},
		{".message.sent", nil, []record.Record{full, joined, sentAs}, 1},
		{`.App\Events\MessageSent`, nil, []record.Record{sentAs, full}, 1},
		{".MessageSent", nil, []record.Record{full, sentAs, joined}, 0},
		{"*", []string{"data.message.user_id=8"}, []record.Record{joined, sentAs}, 1},
	} {
		k, out := testSink(t, &Options{SelectFlags: cmdutil.SelectFlags{Channels: []string{"presence-b"}, Count: 1}}, []string{tt.expect})
		if tt.wheres != nil {
			flt, err := filter.Compile([]string{tt.expect}, tt.wheres)
			require.NoError(t, err)
			k.expect, k.wheres = flt, tt.wheres
		}
		require.NoError(t, k.Write(&record.Record{Type: record.TypeConnected, SocketID: "1.2"}))
		require.NoError(t, k.Write(&record.Record{Type: record.TypeSubscribed, Channel: "presence-b"}))
		var last error
		for i := range tt.records {
			if last = k.Write(&tt.records[i]); last != nil {
				break
			}
		}
		require.NoError(t, k.Flush())
		assert.Equal(t, tt.matched, k.matched, "%s %v", tt.expect, tt.wheres)
		assert.Equal(t, tt.matched, bytes.Count(out.Bytes(), []byte("\n")), "%s: the matched records on stdout", tt.expect)
		if tt.matched == 1 {
			assert.ErrorIs(t, last, pusher.ErrStop, tt.expect)
		}
	}
}

func TestSinkWithoutExpectStopsAtTheLastConfirmation(t *testing.T) {
	t.Parallel()
	k, _ := testSink(t, &Options{SelectFlags: cmdutil.SelectFlags{Channels: []string{"a", "b"}, Count: 1}}, nil)
	require.NoError(t, k.Write(&record.Record{Type: record.TypeConnected, SocketID: "1.2"}))
	require.NoError(t, k.Write(&record.Record{Type: record.TypeSubscribed, Channel: "a"}))
	require.NoError(t, k.Write(&record.Record{Type: record.TypeEvent, Channel: "a", Event: "E"}), "events are ignored without --expect")
	assert.ErrorIs(t, k.Write(&record.Record{Type: record.TypeSubscribed, Channel: "b"}), pusher.ErrStop)
}

func TestTimeoutErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		expect  []string
		wheres  []string
		count   int
		records []record.Record
		conn    bool
		want    string
	}{
		{name: "never connected", records: []record.Record{{Type: record.TypeReconnecting, Message: "dial tcp: connection refused"}},
			conn: true, want: "connect ws://x: no connection within 30s: dial tcp: connection refused"},
		{name: "never connected, no attempt finished", conn: true, want: "connect ws://x: no connection within 30s"},
		{name: "channels unconfirmed", records: []record.Record{
			{Type: record.TypeConnected, SocketID: "1.2"},
			{Type: record.TypeSubscribed, Channel: "b"},
		}, want: "timed out: no subscription confirmation within 30s for a, c"},
		{name: "lost and not back", records: []record.Record{
			{Type: record.TypeConnected, SocketID: "1.2"},
			{Type: record.TypeSubscribed, Channel: "a"},
			{Type: record.TypeSubscribed, Channel: "b"},
			{Type: record.TypeDisconnected, Message: "closed with 4200 Server is closing"},
		}, want: "timed out: no subscription confirmation within 30s for c (the connection was lost: closed with 4200 Server is closing)"},
		{name: "events short", expect: []string{"MessageSent"}, wheres: []string{"data.ok=true"}, count: 3, records: []record.Record{
			{Type: record.TypeConnected, SocketID: "1.2"},
			{Type: record.TypeSubscribed, Channel: "a"},
			{Type: record.TypeSubscribed, Channel: "b"},
			{Type: record.TypeSubscribed, Channel: "c"},
			{Type: record.TypeEvent, Channel: "a", Event: "MessageSent", Data: []byte(`{"ok":true}`)},
			{Type: record.TypeEvent, Channel: "a", Event: "MessageSent", Data: []byte(`{"ok":false}`)},
			{Type: record.TypeEvent, Channel: "b", Event: "MessageSent", Data: []byte(`{"ok":true}`)},
		}, want: "timed out: 2 of 3 MessageSent events where data.ok=true within 30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, _ := testSink(t, &Options{SelectFlags: cmdutil.SelectFlags{Channels: []string{"a", "b", "c"}, Count: max(tt.count, 1), Wheres: tt.wheres}}, tt.expect)
			for i := range tt.records {
				require.NoError(t, k.Write(&tt.records[i]))
			}
			err := k.timeoutError("ws://x", 30*time.Second)
			assert.EqualError(t, err, tt.want)
			var ce *pusher.ConnError
			var te *cmdutil.TimeoutError
			if tt.conn {
				assert.ErrorAs(t, err, &ce)
			} else {
				assert.ErrorAs(t, err, &te)
			}
		})
	}
}
