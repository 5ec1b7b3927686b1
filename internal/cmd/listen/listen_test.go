package listen

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/cmdutil/cmdtest"
	"github.com/amusoft/tmsws/internal/filter"
	"github.com/amusoft/tmsws/internal/record"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	return cmdtest.Parse(t, NewCmdListen, nil, args...)
}

func TestListenFlags(t *testing.T) {
	t.Parallel()
	o, err := parse(t, "-c", "private-chat.42", "--channel", "presence-chat.42", "-e", "MessageSent", "--where", "data.x=1",
		"--json", "-o", "out.jsonl", "--count", "3", "--duration", "1m", "--show-protocol", "--reconnect-attempts", "0", "--reconnect-delay", "1s",
		"--host", "example.test", "--token", "secret-token")
	require.NoError(t, err)
	assert.Equal(t, []string{"private-chat.42", "presence-chat.42"}, o.Channels)
	assert.Equal(t, []string{"MessageSent"}, o.Events)
	assert.Equal(t, []string{"data.x=1"}, o.Wheres)
	assert.True(t, o.JSON)
	assert.Equal(t, "out.jsonl", o.Output)
	assert.Equal(t, 3, o.Count)
	assert.Equal(t, time.Minute, o.Duration)
	assert.True(t, o.ShowProtocol)
	assert.Equal(t, 0, o.ReconnectAttempts)
	assert.Equal(t, time.Second, o.ReconnectDelay)
	assert.Equal(t, "example.test", o.Settings.Host)
	assert.Equal(t, "secret-token", o.Settings.Token)
}

func TestListenDefaults(t *testing.T) {
	t.Parallel()
	o, err := parse(t, "-c", "chat")
	require.NoError(t, err)
	assert.Equal(t, 0, o.ReconnectAttempts, "once connected, reconnect forever")
	assert.Equal(t, 3*time.Second, o.ReconnectDelay)
	assert.Equal(t, "tms.amusoft.uz", o.Settings.Host)
	assert.Equal(t, 443, o.Settings.Port)
	assert.Equal(t, "wss://tms.amusoft.uz:443/app/1puo7oyhapqfczgdmt1d?protocol=7&client=tmsws&version=test", o.Settings.WebSocketURL("test"))
	assert.Equal(t, "https://tms.amusoft.uz/broadcasting/auth", o.Settings.AuthURL)
}

func TestListenUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args      []string
		msg, hint string
	}{
		{nil, "no channel given", "pass -c/--channel NAME, e.g. tmsws listen -c private-chat.42"},
		{[]string{"-c", "a", "-c", "a"}, `channel "a" given twice`, ""},
		{[]string{"-c", "bad name"}, `invalid channel name "bad name": a space at byte 3`,
			"channel names hold no whitespace or control characters; Pusher's set is letters, digits and _ - = @ , . ;"},
		{[]string{"-c", "a", "--json", "--pretty"}, "--json and --pretty exclude each other", ""},
		{[]string{"-c", "a", "--count", "-1"}, "--count must be 0 or more, got -1", ""},
		{[]string{"-c", "a", "--reconnect-attempts", "-2"}, "--reconnect-attempts must be 0 (forever) or more, got -2", ""},
		{[]string{"private-chat.42"}, `unexpected argument "private-chat.42"`, "channels go with -c: tmsws listen -c private-chat.42"},
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

func TestListenTakesEchoNamesAndTypes(t *testing.T) {
	t.Parallel()
	o, err := parse(t, "-c", "presence-chat.42", "-e", `.App\Events\MessageSent`, "-e", ".message.sent", "-e", "member_*", "--where", "type!=member_removed")
	require.NoError(t, err)
	assert.Equal(t, []string{`.App\Events\MessageSent`, ".message.sent", "member_*"}, o.Events)
	assert.Equal(t, []string{"type!=member_removed"}, o.Wheres)
}

// collect is an output that keeps the records shown.
type collect struct{ recs []*record.Record }

func (c *collect) Write(r *record.Record) error { c.recs = append(c.recs, r); return nil }
func (c *collect) Flush() error                 { return nil }

func TestSinkCountsTheRecordsTheFiltersKeep(t *testing.T) {
	t.Parallel()
	session := []*record.Record{
		{Type: record.TypeSubscribed, Channel: "presence-chat.42"},
		{Type: record.TypeMemberAdded, Channel: "presence-chat.42", UserID: "9"},
		{Type: record.TypeEvent, Channel: "presence-chat.42", Event: `App\Events\MessageSent`, Data: []byte(`{"message":{"user_id":8}}`)},
		{Type: record.TypeMemberRemoved, Channel: "presence-chat.42", UserID: "9"},
		{Type: record.TypeEvent, Channel: "presence-chat.42", Event: `App\Events\MessageSent`, Data: []byte(`{"message":{"user_id":9}}`)},
		{Type: record.TypeMemberAdded, Channel: "presence-chat.42", UserID: "7"},
	}
	for _, tt := range []struct {
		name   string
		events []string
		wheres []string
		count  int
		want   int // records shown before the count stopped it (or the end)
		stops  bool
	}{
		{"without filters members are shown and events counted", nil, nil, 2, 4, true},
		{"-e member_* counts members", []string{"member_*"}, nil, 2, 2, true},
		{"-e MessageSent shows no member", []string{"MessageSent"}, nil, 0, 2, false},
		{"--where drops members", nil, []string{"data.message.user_id=8"}, 2, 1, false},
		{"a mistyped --where shows nothing", nil, []string{"message.user_id=8"}, 0, 0, false},
	} {
		flt, err := filter.Compile(tt.events, tt.wheres)
		require.NoError(t, err)
		out := &collect{}
		s := &sink{filter: flt, out: out, max: tt.count}
		var stopped bool
		for _, r := range session {
			if err := s.Write(r); err != nil {
				require.ErrorIs(t, err, errCountReached)
				stopped = true
				break
			}
		}
		assert.Len(t, out.recs, tt.want, tt.name)
		assert.Equal(t, tt.stops, stopped, tt.name)
	}
}
