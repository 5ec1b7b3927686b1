package replay

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/filter"
	"github.com/amusoft/tmsws/internal/record"
)

// jqMessageSentBy8 is what
//
//	jq -c 'select(.event|endswith("MessageSent")) | select(.data.message.user_id==8)'
//
// keeps of a recording: jq skips the records without an event name (member
// records), since endswith fails on null.
func jqMessageSentBy8(t *testing.T, recording []byte) string {
	t.Helper()
	var out strings.Builder
	for _, line := range bytes.Split(bytes.TrimSuffix(recording, []byte("\n")), []byte("\n")) {
		var r struct {
			Event *string `json:"event"`
			Data  struct {
				Message struct {
					UserID json.Number `json:"user_id"`
				} `json:"message"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(line, &r))
		if r.Event != nil && strings.HasSuffix(*r.Event, "MessageSent") && r.Data.Message.UserID == "8" {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.String()
}

// chatRecording is n records of a chat session: messages from users 1 to
// 9, typing, and presence members (user 8 among them) joining and leaving.
func chatRecording(n int) []byte {
	var buf []byte
	ts := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for i := range n {
		ts = ts.Add(700 * time.Millisecond)
		uid := strconv.Itoa(1 + i%9)
		r := record.Record{TS: ts, Type: record.TypeEvent, Channel: "private-chat." + strconv.Itoa(42+i%3), SocketID: "48213.9930271"}
		switch i % 6 {
		case 0, 1, 2:
			r.Event = `App\Events\MessageSent`
			r.Data = []byte(`{"message":{"id":` + strconv.Itoa(1200+i) + `,"user_id":` + uid + `,"content":"hi"}}`)
		case 3:
			r.Event = `App\Events\UserIsTyping`
			r.Data = []byte(`{"user":{"id":` + uid + `},"typing":true}`)
		case 4:
			r.Type, r.Channel, r.UserID, r.Data = record.TypeMemberAdded, "presence-chat.42", uid, []byte(`{"name":"User `+uid+`"}`)
		default: // the user who joined just before leaves
			r.Type, r.Channel, r.UserID = record.TypeMemberRemoved, "presence-chat.42", strconv.Itoa(1+(i-1)%9)
		}
		buf = r.AppendJSON(buf)
	}
	return buf
}

// TestFiltersKeepWhatJqKeeps is the 92,941-against-85,008 report in
// miniature: on a recording with member records, -e MessageSent --where
// data.message.user_id=8 keeps exactly what the jq selection keeps, the
// member records included in neither.
func TestFiltersKeepWhatJqKeeps(t *testing.T) {
	t.Parallel()
	recording := chatRecording(5000)
	want := jqMessageSentBy8(t, recording)
	require.Greater(t, strings.Count(want, "\n"), 100)
	require.Contains(t, string(recording), `"type":"member_added","channel":"presence-chat.42","data":{"name":"User 8"},"user_id":"8"`)
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	require.NoError(t, os.WriteFile(path, recording, 0o600))

	if jq, err := exec.LookPath("jq"); err == nil {
		// The Go selection is jq's; where jq is installed, jq says so too.
		got, _ := exec.Command(jq, "-c", `select(.event|endswith("MessageSent")) | select(.data.message.user_id==8)`, path).Output()
		require.Equal(t, want, string(got), "jq itself")
	}

	for _, path := range []struct {
		name  string
		speed float64
	}{{"raw", 0}, {"decoded", 1e9}} {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			sel := cmdutil.SelectFlags{JSON: true, Events: []string{"MessageSent"}, Wheres: []string{"data.message.user_id=8"}}
			res := replay(t, &Options{SelectFlags: sel, Speed: path.speed}, bytes.NewReader(recording))
			require.NoError(t, res.err, res.stderr)
			assert.Equal(t, strings.Count(want, "\n"), strings.Count(res.stdout, "\n"))
			assert.Equal(t, want, res.stdout)

			// --count 2 with -e prints exactly 2 lines: the first two jq keeps.
			sel.Count = 2
			res = replay(t, &Options{SelectFlags: sel, Speed: path.speed}, bytes.NewReader(recording))
			require.NoError(t, res.err, res.stderr)
			first2 := strings.SplitAfterN(want, "\n", 3)
			assert.Equal(t, first2[0]+first2[1], res.stdout)

			// A mistyped path (no data.) matches no record at all, member
			// records included.
			sel = cmdutil.SelectFlags{JSON: true, Wheres: []string{"message.user_id=8"}}
			res = replay(t, &Options{SelectFlags: sel, Speed: path.speed}, bytes.NewReader(recording))
			require.NoError(t, res.err, res.stderr)
			assert.Empty(t, res.stdout)
		})
	}
}

// TestServePlaysWhatTheFiltersKeep: replay --serve (LoadRecording) selects
// by the same rule, so a filtered recording plays no member record that
// fails the filters.
func TestServePlaysWhatTheFiltersKeep(t *testing.T) {
	t.Parallel()
	recording := chatRecording(600)
	for _, tt := range []struct {
		events, wheres []string
		types          []string // the types played
		n              int
	}{
		{[]string{"MessageSent"}, []string{"data.message.user_id=8"}, []string{record.TypeEvent}, strings.Count(jqMessageSentBy8(t, recording), "\n")},
		{[]string{"member_*"}, []string{"user_id=8"}, []string{record.TypeMemberAdded, record.TypeMemberRemoved},
			strings.Count(string(recording), `"user_id":"8"`)},
		{nil, []string{"message.user_id=8"}, nil, 0},
	} {
		flt, err := filter.Compile(tt.events, tt.wheres)
		require.NoError(t, err)
		rec, bad, err := LoadRecording(t.Context(), []string{"-"}, bytes.NewReader(recording), flt, 0)
		require.NoError(t, err)
		require.Empty(t, bad)
		var types []string
		for _, it := range rec.Items {
			if !slices.Contains(types, it.Type) {
				types = append(types, it.Type)
			}
		}
		assert.Equal(t, tt.types, types, "%v %v", tt.events, tt.wheres)
		assert.Len(t, rec.Items, tt.n, "%v %v", tt.events, tt.wheres)
	}
}
