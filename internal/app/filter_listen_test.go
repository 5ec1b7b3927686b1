package app

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/laraveltest"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/server"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// filterSession is what the embedded server plays, in this order, to every
// subscriber of presence-chat.42: members (user 8 among them) and events,
// full Laravel names and a broadcastAs name, so that each filter below has
// records to drop before the ones it keeps.
var filterSession = []server.Item{
	{Type: record.TypeMemberAdded, UserID: "8", Data: []byte(`{"name":"Alice"}`)},                               // 1
	{Type: record.TypeEvent, Event: `App\Events\MessageSent`, Data: []byte(`{"message":{"id":1,"user_id":9}}`)}, // 2
	{Type: record.TypeEvent, Event: "message.sent", Data: []byte(`{"message":{"id":2,"user_id":8}}`)},           // 3
	{Type: record.TypeMemberRemoved, UserID: "8"},                                                               // 4
	{Type: record.TypeEvent, Event: `App\Events\UserIsTyping`, Data: []byte(`{"user_id":8,"typing":true}`)},     // 5
	{Type: record.TypeEvent, Event: `App\Events\MessageSent`, Data: []byte(`{"message":{"id":3,"user_id":8}}`)}, // 6
	{Type: record.TypeMemberAdded, UserID: "10", Data: []byte(`{"name":"Carol"}`)},                              // 7
}

// sessionServer plays filterSession on presence-chat.42, all at once.
func sessionServer(t *testing.T) *server.Server {
	t.Helper()
	rec := &server.Recording{}
	for _, it := range filterSession {
		it.Channel = "presence-chat.42"
		rec.Items = append(rec.Items, it)
	}
	srv, err := server.Start(server.Config{Recording: rec})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	return srv
}

// kinds names each record line as the session's numbering does: the type of
// a member record, or the event's name and message id.
func kinds(t *testing.T, stdout string) []string {
	t.Helper()
	var got []string
	for _, r := range jsonLines(t, stdout) {
		switch typ := r.Get("type").String(); typ {
		case "event":
			s := r.Get("event").String()
			if id := r.Get("data.message.id"); id.Exists() {
				s += "#" + id.String()
			}
			got = append(got, s)
		default:
			got = append(got, typ+" "+r.Get("user_id").String())
		}
	}
	return got
}

func TestListenFiltersApplyToEveryRecord(t *testing.T) {
	t.Parallel()
	const (
		joined8  = "member_added 8"
		left8    = "member_removed 8"
		joined10 = "member_added 10"
		msg9     = `App\Events\MessageSent#1`
		sentAs   = "message.sent#2"
		typing   = `App\Events\UserIsTyping`
		msg8     = `App\Events\MessageSent#3`
	)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no filter", []string{"--count", "4"}, []string{joined8, msg9, sentAs, left8, typing, msg8}},
		{"members by type", []string{"-e", "member_*", "--count", "3"}, []string{joined8, left8, joined10}},
		{"where drops members", []string{"--where", "data.message.user_id=8", "--count", "2"}, []string{sentAs, msg8}},
		{"where on the type", []string{"--where", "type=member_added", "--count", "2"}, []string{joined8, joined10}},
		{"members and where", []string{"-e", "member_*", "--where", "user_id=8", "--count", "2"}, []string{joined8, left8}},
		{"short name", []string{"-e", "MessageSent", "--count", "2"}, []string{msg9, msg8}},
		{"Echo's full name", []string{"-e", `.App\Events\MessageSent`, "--count", "2"}, []string{msg9, msg8}},
		{"Echo's broadcastAs name", []string{"-e", ".message.sent", "--count", "1"}, []string{sentAs}},
		{"event and where", []string{"-e", "MessageSent", "--where", "data.message.user_id=8", "--count", "1"}, []string{msg8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := sessionServer(t)
			c := newCLI(t).pointAt(srv.Addr())
			res := c.run(append([]string{"listen", "-c", "presence-chat.42", "--app-secret", "app-secret", "--json"}, tt.args...)...)
			require.Equal(t, ExitOK, res.code, res.stderr)
			assert.Equal(t, tt.want, kinds(t, res.stdout))
		})
	}
}

func TestListenMistypedWhereShowsNothing(t *testing.T) {
	t.Parallel()
	srv := sessionServer(t)
	c := newCLI(t).pointAt(srv.Addr())
	// -o sees the same records as stdout: none of the session's.
	res := c.run("listen", "-c", "presence-chat.42", "--app-secret", "app-secret", "--json", "--where", "message.user_id=8", "--duration", "1s")
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Empty(t, res.stdout)
	assert.Contains(t, res.stderr, "[channel] subscribed presence-chat.42")
}

// A live join and leave through a second connection: the member records
// that Pusher servers send pass -e 'member_*', and an event does not.
func TestListenMemberGlobKeepsLiveJoinsAndLeaves(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t).pointAt(srv.Addr())
	r := c.start("listen", "-c", "presence-chat.42", "-c", "private-chat.42", "--app-secret", "app-secret", "-e", "member_*", "--count", "2")
	ctx := ctxT(t)
	require.NoError(t, srv.WaitSubscribed(ctx, "presence-chat.42", 1))
	require.NoError(t, srv.WaitSubscribed(ctx, "private-chat.42", 1))
	srv.Publish("private-chat.42", `App\Events\MessageSent`, `{"message":{"id":1,"user_id":8}}`, "")
	srv.Publish("presence-chat.42", `App\Events\UserIsTyping`, `{"user_id":9}`, "")

	bob, err := soketitest.Dial(ctx, srv.URL()+"/app/"+srv.AppKey()+"?protocol=7&client=test&version=0")
	require.NoError(t, err)
	cd := `{"user_id":"9","user_info":{"name":"Bob"}}`
	require.NoError(t, bob.Subscribe(ctx, "presence-chat.42", laraveltest.SignChannel(srv.AppKey(), srv.AppSecret(), bob.SocketID, "presence-chat.42", cd), cd))
	_, err = bob.WaitFor(ctx, "pusher_internal:subscription_succeeded", "presence-chat.42")
	require.NoError(t, err)
	require.NoError(t, bob.Close())

	res := r.wait(t)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Equal(t, []string{"member_added 9", "member_removed 9"}, kinds(t, res.stdout))
	assert.Equal(t, "Bob", gjson.Get(strings.SplitN(res.stdout, "\n", 2)[0], "data.name").String())
}

func TestSubscribeExpectsByTheSameRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"Echo's broadcastAs name", []string{"--expect", ".message.sent"}, ExitOK, []string{"message.sent#2"}},
		{"Echo's full name", []string{"--expect", `.App\Events\MessageSent`, "--count", "2"}, ExitOK, []string{`App\Events\MessageSent#1`, `App\Events\MessageSent#3`}},
		{"where skips members", []string{"--expect", "*", "--where", "data.message.user_id=8"}, ExitOK, []string{"message.sent#2"}},
		{"a member by type", []string{"--expect", "member_added", "--where", "user_id=10"}, ExitOK, []string{"member_added 10"}},
		{"the dot means exactly that name", []string{"--expect", ".MessageSent", "--timeout", "1s"}, ExitTimeout, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := sessionServer(t)
			c := newCLI(t).pointAt(srv.Addr())
			res := c.run(append([]string{"subscribe", "-c", "presence-chat.42", "--app-secret", "app-secret"}, tt.args...)...)
			require.Equal(t, tt.code, res.code, res.stderr)
			assert.Equal(t, tt.want, kinds(t, res.stdout))
		})
	}
}
