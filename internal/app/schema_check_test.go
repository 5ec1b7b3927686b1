package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/soketitest"
)

// renamed is the demo recording with the backend's change the app would
// not survive: MessageSent's message.content renamed to message.body.
func renamed(t *testing.T) (demo, changed string) {
	t.Helper()
	b, err := os.ReadFile("../../testdata/demo/chat-session.jsonl")
	require.NoError(t, err)
	demo = string(b)
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(demo, "\n"), "\n") {
		if strings.Contains(line, `MessageSent`) {
			line = strings.Replace(line, `"content":`, `"body":`, 1)
		}
		out = append(out, line)
	}
	return demo, strings.Join(out, "\n") + "\n"
}

// The CI recipe of the README: infer the schema from a recording, then a
// recording of the changed backend is caught by replay --schema.
func TestReplaySchemaCatchesARenamedField(t *testing.T) {
	t.Parallel()
	demo, changed := renamed(t)
	dir := t.TempDir()
	schemaFile := filepath.Join(dir, "chat.schema.json")
	res := newCLI(t).run("schema", "infer", writeRecording(t, "demo.jsonl", demo), "-o", schemaFile)
	require.Equal(t, 0, res.code, res.stderr)

	// The recording it came from keeps its contract: every line byte for byte, exit 0.
	res = newCLI(t).run("replay", writeRecording(t, "same.jsonl", demo), "--schema", schemaFile)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, demo, res.stdout)
	assert.Contains(t, res.stderr, "[schema] 16 events checked against "+schemaFile+", all kept their contract")

	path := writeRecording(t, "changed.jsonl", changed)
	res = newCLI(t).run("replay", path, "--schema", schemaFile, "-e", "MessageSent")
	require.Equal(t, ExitContract, res.code, res.stderr)
	recs := jsonLines(t, res.stdout)
	require.Len(t, recs, 4)
	for _, r := range recs {
		assert.Equal(t, `["/message: missing required property content"]`, r.Get("violations").Raw)
		assert.Equal(t, "MessageSent", strings.TrimPrefix(r.Get("event").String(), `App\Events\`))
	}
	assert.Contains(t, res.stderr, "[schema] 4 events checked against "+schemaFile+", 4 broke their contract")
	assert.Contains(t, res.stderr, "error: 4 events broke their contract ("+schemaFile+")")

	// Pretty: the red line under the event.
	c := newCLI(t)
	c.outTTY = true
	res = c.run("replay", path, "--schema", schemaFile, "-e", "MessageSent", "--color", "never")
	require.Equal(t, ExitContract, res.code, res.stderr)
	assert.Equal(t, 4, strings.Count(res.stdout, "✗ schema: /message: missing required property content"), res.stdout)

	// --speed takes the decoded path; --jq sees the violations too.
	res = newCLI(t).run("replay", path, "--schema", schemaFile, "-e", "MessageSent", "--speed", "1000", "--jq", ".violations[0]")
	require.Equal(t, ExitContract, res.code, res.stderr)
	assert.Equal(t, strings.Repeat("/message: missing required property content\n", 4), res.stdout)

	// A recording already checked has its violations replaced, not doubled.
	res = newCLI(t).run("replay", path, "--schema", schemaFile, "-e", "MessageSent", "--count", "1")
	checked := writeRecording(t, "checked.jsonl", res.stdout)
	res = newCLI(t).run("replay", checked, "--schema", schemaFile)
	require.Equal(t, ExitContract, res.code, res.stderr)
	assert.Equal(t, 1, strings.Count(res.stdout, `"violations"`), res.stdout)
	res = newCLI(t).run("replay", checked, "--schema", writeRecording(t, "open.schema.json", `{"$defs":{"MessageSent":{}}}`))
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotContains(t, res.stdout, `"violations"`, "a schema it keeps removes old violations")
}

func TestSchemaFlagErrorsAndNotes(t *testing.T) {
	t.Parallel()
	path := writeRecording(t, "session.jsonl", session())
	for _, tc := range []struct {
		name, schema, want string
	}{
		{"missing", filepath.Join(t.TempDir(), "nope.json"), "--schema: schema "},
		{"not JSON", writeRecording(t, "bad.json", "{"), "--schema: schema "},
		{"empty", "", "--schema needs a file"},
	} {
		res := newCLI(t).run("replay", path, "--schema", tc.schema)
		assert.Equal(t, ExitUsage, res.code, tc.name+": "+res.stderr)
		assert.Contains(t, res.stderr, tc.want, tc.name)
		assert.Empty(t, res.stdout, tc.name)
	}
	res := newCLI(t).run("replay", path, "--schema", "x.json", "--serve", "127.0.0.1:0")
	assert.Equal(t, ExitUsage, res.code, res.stderr)

	// Events without a schema pass, with one note per name.
	only := writeRecording(t, "typing.schema.json", `{"$defs":{"UserIsTyping":{"type":"object","required":["typing"]}}}`)
	res = newCLI(t).run("replay", path, "--schema", only)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, 1, strings.Count(res.stderr, `no schema for App\Events\MessageSent in `+only), res.stderr)
	assert.Equal(t, 1, strings.Count(res.stderr, `no schema for MessageSent in `+only), res.stderr)
	assert.Contains(t, res.stderr, "1 event checked against "+only+", all kept their contract")
}

func TestSubscribeSchemaExits6(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	schemaFile := writeRecording(t, "chat.schema.json", `{"$defs":{"App\\Events\\MessageSent":{"type":"object","required":["message"],
		"properties":{"message":{"type":"object","required":["content","user_id"],"properties":{"user_id":{"type":"integer"}}}}}}}`)

	// A payload that keeps the contract: exit 0.
	r := newCLI(t).pointAt(srv.Addr()).start("subscribe", "-c", "chat-schema-ok", "--expect", "MessageSent", "--schema", schemaFile, "--json")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat-schema-ok", 1))
	srv.Publish("chat-schema-ok", `App\Events\MessageSent`, `{"message":{"content":"hi","user_id":8}}`, "")
	res := r.wait(t)
	require.Equal(t, 0, res.code, res.stderr)
	sum := gjson.Parse(res.stdout)
	assert.True(t, sum.Get("ok").Bool())
	assert.JSONEq(t, `{"file":"`+schemaFile+`","checked":1,"broken":0}`, sum.Get("schema").Raw)

	// One that breaks it, before the expected one arrives: exit 6 at once.
	r = newCLI(t).pointAt(srv.Addr()).start("subscribe", "-c", "chat-schema-bad", "--expect", "MessageSent", "--count", "5", "--schema", schemaFile, "--json")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat-schema-bad", 1))
	srv.Publish("chat-schema-bad", `App\Events\MessageSent`, `{"message":{"content":"hi","user_id":"8"}}`, "")
	res = r.wait(t)
	require.Equal(t, ExitContract, res.code, res.stderr)
	assert.Contains(t, res.stderr, `[schema] App\Events\MessageSent on chat-schema-bad broke its contract: /message/user_id: expected integer, got string`)
	sum = gjson.Parse(res.stdout)
	assert.False(t, sum.Get("ok").Bool())
	assert.Equal(t, "1 event broke their contract ("+schemaFile+")", sum.Get("error").String())
	assert.Equal(t, `["/message/user_id: expected integer, got string"]`, sum.Get("events.0.violations").Raw)
	assert.Equal(t, int64(1), sum.Get("schema.broken").Int())

	// Without --json the records come out with their violations.
	r = newCLI(t).pointAt(srv.Addr()).start("subscribe", "-c", "chat-schema-lines", "--expect", "MessageSent", "--schema", schemaFile)
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat-schema-lines", 1))
	srv.Publish("chat-schema-lines", `App\Events\MessageSent`, `{"message":{"user_id":8}}`, "")
	res = r.wait(t)
	require.Equal(t, ExitContract, res.code, res.stderr)
	assert.Equal(t, `["/message: missing required property content"]`, gjson.Get(res.stdout, "violations").Raw)
}

func TestListenSchemaMarksRecords(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	schemaFile := writeRecording(t, "chat.schema.json", `{"$defs":{"MessageSent":{"type":"object","required":["message"]}}}`)
	r := newCLI(t).pointAt(srv.Addr()).start("listen", "-c", "chat-listen-schema", "--count", "2", "--schema", schemaFile)
	require.NoError(t, srv.WaitSubscribed(ctxT(t), "chat-listen-schema", 1))
	srv.Publish("chat-listen-schema", `App\Events\MessageSent`, `{"message":{}}`, "")
	srv.Publish("chat-listen-schema", `App\Events\MessageSent`, `{"msg":{}}`, "")
	res := r.wait(t)
	require.Equal(t, ExitContract, res.code, res.stderr)
	recs := jsonLines(t, res.stdout)
	require.Len(t, recs, 2)
	assert.False(t, recs[0].Get("violations").Exists())
	assert.Equal(t, `["/: missing required property message"]`, recs[1].Get("violations").Raw)
	assert.Contains(t, res.stderr, "[schema] 2 events checked against "+schemaFile+", 1 broke their contract")
}

// The CI recipe against a real Pusher server: the payload Soketi delivers
// is checked, and a renamed field exits 6; one that keeps the contract 0.
func TestSoketiSubscribeSchema(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	schemaFile := writeRecording(t, "chat.schema.json", `{"$defs":{"MessageSent":{"type":"object","required":["message"],
		"properties":{"message":{"type":"object","required":["content"]}}}}}`)
	for _, tc := range []struct {
		data string
		code int
	}{
		{`{"message":{"id":1,"content":"kept"}}`, 0},
		{`{"message":{"id":1,"body":"renamed"}}`, ExitContract},
	} {
		ch := soketitest.UniqueChannel(t, "private-chat")
		c := newCLI(t).pointAt(sk.Addr)
		c.env["TMSWS_KEY"] = sk.Key
		c.env["TMSWS_APP_ID"] = sk.AppID
		c.env["TMSWS_APP_SECRET"] = sk.Secret
		r := c.start("subscribe", "-c", ch, "--expect", "MessageSent", "--schema", schemaFile, "--timeout", "20s")
		require.NoError(t, sk.WaitSubscribed(ctxT(t), ch))
		res := c.run("trigger", "-c", ch, "-e", `App\Events\MessageSent`, "-d", tc.data)
		require.Equal(t, 0, res.code, res.stderr)
		got := r.wait(t)
		require.Equal(t, tc.code, got.code, got.stderr)
		if tc.code == ExitContract {
			assert.Equal(t, `["/message: missing required property content"]`, gjson.Get(got.stdout, "violations").Raw)
		}
	}
}
