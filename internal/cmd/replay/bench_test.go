package replay

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/record"
)

// benchRecording is n records shaped like a TMS chat session.
func benchRecording(n int) []byte {
	var buf []byte
	ts := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		ts = ts.Add(700 * time.Millisecond)
		r := record.Record{TS: ts, Type: record.TypeEvent, Channel: "private-chat." + strconv.Itoa(42+i%4), SocketID: "48213.9930271"}
		uid := strconv.Itoa(1 + i%20)
		switch i % 10 {
		case 0, 1, 2, 3:
			r.Event = `App\Events\MessageSent`
			r.Data = []byte(`{"message":{"id":` + strconv.Itoa(1200+i) + `,"chat_id":42,"user_id":` + uid + `,"content":"Morning! Is the release still on for today?","temp_id":"tmp-1795683600-` + uid + `","created_at":"2026-11-26T09:00:00.701000Z","user":{"id":` + uid + `,"name":"Alice"}}}`)
		case 4, 5, 6:
			r.Event = `App\Events\UserIsTyping`
			r.Data = []byte(`{"chat_id":42,"user":{"id":` + uid + `,"name":"Alice"},"typing":true}`)
		case 7, 8:
			r.Event = `App\Events\MessagesRead`
			r.Data = []byte(`{"chat_id":42,"user":{"id":` + uid + `,"name":"Alice"},"message_ids":[1201,1202]}`)
		default:
			r.Type, r.Channel, r.UserID = record.TypeMemberAdded, "presence-chat.42", uid
			r.Data = []byte(`{"name":"Alice"}`)
		}
		buf = r.AppendJSON(buf)
	}
	return buf
}

// BenchmarkReplayJSON is the hot path of the replay-vs-jq benchmark:
// JSON out, an event glob and a --where condition, over 100,000 records.
func BenchmarkReplayJSON(b *testing.B) {
	data := benchRecording(100000)
	path := filepath.Join(b.TempDir(), "rec.jsonl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		io := &iostreams.IO{In: bytes.NewReader(nil), Out: io.Discard, ErrOut: io.Discard}
		opts := &Options{SelectFlags: cmdutil.SelectFlags{JSON: true, Events: []string{"MessageSent"}, Wheres: []string{"data.message.user_id=8"}}, IO: io, Files: []string{path}}
		if err := runReplay(context.Background(), opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplayJQ is replay --jq over 100,000 records: the flags parsed
// as the command parses them, then the replay run again and again.
func BenchmarkReplayJQ(b *testing.B) {
	data := benchRecording(100000)
	path := filepath.Join(b.TempDir(), "rec.jsonl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	for _, expr := range []string{`.data.message.content // empty`, `{event, id: .data.message.id}`,
		`select((if (.type // "") == "" then "event" else .type end) as $t | $t == "event" and .event != null and ((.event | tostring | split("\\") | last) == "MessageSent") and ((.data.message.user_id | tostring) == "8"))`} {
		b.Run(expr, func(b *testing.B) {
			streams := &iostreams.IO{In: bytes.NewReader(nil), Out: io.Discard, ErrOut: io.Discard, WorkDir: b.TempDir()}
			var opts *Options
			cmd := NewCmdReplay(&cmdutil.Factory{IO: streams, Flags: &config.Flags{}}, func(_ context.Context, o *Options) error {
				opts = o
				return nil
			})
			cmd.SetArgs([]string{path, "--jq", expr})
			b.Setenv("XDG_CONFIG_HOME", b.TempDir())
			if err := cmd.Execute(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := runReplay(context.Background(), opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
