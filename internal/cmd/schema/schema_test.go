package schema

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tmsws "github.com/amusoft/tmsws"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/cmdutil/cmdtest"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/schemas/demo.schema.json")

const demoSchema = "../../../testdata/schemas/demo.schema.json"

func TestInferFlags(t *testing.T) {
	t.Parallel()
	opts, err := cmdtest.Parse(t, NewCmdInfer, nil, "a.jsonl", "-", "-o", "chat.schema.json")
	require.NoError(t, err)
	assert.Equal(t, []string{"a.jsonl", "-"}, opts.Files)
	assert.Equal(t, "chat.schema.json", opts.Output)

	_, err = cmdtest.Parse(t, NewCmdInfer, nil)
	var ue *cmdutil.UsageError
	require.True(t, errors.As(err, &ue), "%v", err)
	assert.Equal(t, "no recording given", ue.Msg)
}

func run(t *testing.T, stdin string, files ...string) (stdout, stderr string, err error) {
	t.Helper()
	io, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	err = runInfer(context.Background(), &InferOptions{IO: io, Files: files})
	return out.String(), errOut.String(), err
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

const rec = `{"ts":"2026-11-26T09:16:52Z","type":"event","channel":"private-chat.42","event":"App\\Events\\MessageSent","data":{"message":{"id":1,"user_id":8}}}
{"ts":"2026-11-26T09:16:53Z","type":"member_added","channel":"presence-chat.42","user_id":"9","data":{"name":"Bob"}}
{"ts":"2026-11-26T09:16:54Z","type":"connected","socket_id":"1.2"}
{"event":"client-typing","data":{"typing":true}}
`

func TestInferTakesEventRecordsOnly(t *testing.T) {
	t.Parallel()
	stdout, stderr, err := run(t, "", writeFile(t, "s.jsonl", []byte(rec)))
	require.NoError(t, err)
	assert.Equal(t, "schema: 2 events of 2 names → stdout\n", stderr)
	var want = schema.NewInferrer()
	want.Add(`App\Events\MessageSent`, []byte(`{"message":{"id":1,"user_id":8}}`))
	want.Add("client-typing", []byte(`{"typing":true}`))
	assert.Equal(t, string(want.Document()), stdout)
	assert.NotContains(t, stdout, "Bob", "member records are no events")
}

func TestInferReadsStdinAndGzipInOrder(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"event":"B","data":1}` + "\n"))
	require.NoError(t, zw.Close())
	gzPath := writeFile(t, "b.jsonl.log", gz.Bytes())
	stdout, stderr, err := run(t, `{"event":"A","data":"x"}`+"\n", "-", gzPath)
	require.NoError(t, err)
	assert.Equal(t, "schema: 2 events of 2 names → stdout\n", stderr)
	assert.Contains(t, stdout, `"A": {`)
	assert.Contains(t, stdout, `"B": {`)
}

func TestInferMalformedLines(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "s.jsonl", []byte(rec+"not json\n"+`{"event":"E","ts":"yesterday"}`+"\n"))
	stdout, stderr, err := run(t, "", path)
	var me *MalformedError
	require.True(t, errors.As(err, &me), "%v", err)
	assert.Equal(t, 2, me.Lines)
	assert.Equal(t, "schema infer: 2 malformed lines skipped (reported above); the schema comes from the valid ones", err.Error())
	assert.Contains(t, stderr, path+":5: invalid JSON")
	assert.Contains(t, stderr, path+":6: ts")
	assert.Contains(t, stderr, "schema: 2 events of 2 names → stdout")
	assert.Contains(t, stdout, "client-typing", "the valid lines still make the schema")

	var many strings.Builder
	for range 150 {
		many.WriteString("x\n")
	}
	many.WriteString(`{"event":"E","data":1}` + "\n")
	_, _, err = run(t, "", writeFile(t, "m.jsonl", []byte(many.String())))
	require.True(t, errors.As(err, &me), "%v", err)
	assert.Equal(t, 150, me.Lines, "the total, past the reports' cap")
	assert.Equal(t, "schema infer: 1 malformed line skipped (reported above); the schema comes from the valid ones", (&MalformedError{Lines: 1}).Error())
}

func TestInferWithoutEvents(t *testing.T) {
	t.Parallel()
	_, _, err := run(t, "", writeFile(t, "s.jsonl", []byte(`{"type":"connected"}`+"\n")))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no event records")
	_, _, err = run(t, "", filepath.Join(t.TempDir(), "missing.jsonl"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "open recording")
}

func TestInferWritesOutputAtomically(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "chat.schema.json")
	require.NoError(t, os.WriteFile(out, []byte("old"), 0o600))
	io, _, stdout, stderr := iostreams.Test()
	err := runInfer(context.Background(), &InferOptions{IO: io, Files: []string{writeFile(t, "s.jsonl", []byte(rec))}, Output: out})
	require.NoError(t, err)
	assert.Empty(t, stdout.String())
	assert.Equal(t, "schema: 2 events of 2 names → "+out+"\n", stderr.String())
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	_, err = schema.Load(out)
	require.NoError(t, err, "what infer writes loads")
	assert.Contains(t, string(got), `"client-typing"`)
	st, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temp file left")

	err = runInfer(context.Background(), &InferOptions{IO: io, Files: []string{writeFile(t, "s.jsonl", []byte(rec))}, Output: dir})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is a directory")
	err = runInfer(context.Background(), &InferOptions{IO: io, Files: []string{writeFile(t, "s.jsonl", []byte(rec))}, Output: filepath.Join(dir, "no", "such", "dir.json")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "write schema")
}

// TestDemoSchemaIsTheInferredOne keeps testdata/schemas/demo.schema.json the
// schema of the bundled demo recording: infer it again, compare byte for
// byte (go test -run TestDemoSchema -update rewrites it).
func TestDemoSchemaIsTheInferredOne(t *testing.T) {
	t.Parallel()
	stdout, stderr, err := run(t, string(tmsws.DemoRecording), "-")
	require.NoError(t, err, stderr)
	if *update {
		require.NoError(t, os.WriteFile(demoSchema, []byte(stdout), 0o644))
	}
	want, err := os.ReadFile(demoSchema)
	require.NoError(t, err)
	assert.Equal(t, string(want), stdout, "run go test ./internal/cmd/schema -run TestDemoSchema -update after changing the demo recording")

	set, err := schema.Load(demoSchema)
	require.NoError(t, err)
	assert.Equal(t, []string{`App\Events\MessageSent`, `App\Events\MessagesRead`, `App\Events\UserIsTyping`}, set.Events())
	v, known := set.Check(`App\Events\MessageSent`, []byte(`{"message":{"id":1,"chat_id":42,"user_id":"8","content":"hi","temp_id":"t","created_at":"2026-11-26T09:16:52Z","user":{"id":8,"name":"A"}}}`))
	assert.True(t, known)
	assert.Equal(t, []string{"/message/user_id: expected integer, got string"}, v)
}

// A recording of more event names than a schema holds: the first 1000 are
// kept, one line says so, and the rest are left out.
func TestInferBoundsTheEventNames(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range maxEventNames + 5 {
		fmt.Fprintf(&b, `{"type":"event","event":"E%04d","data":{"n":%d}}`+"\n", i, i)
	}
	stdout, stderr, err := run(t, "", writeFile(t, "many.jsonl", []byte(b.String())))
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(stderr, "more than 1000 event names"), stderr)
	assert.Contains(t, stderr, "many.jsonl:1001 has E1000")
	assert.Contains(t, stdout, `"E0999"`)
	assert.NotContains(t, stdout, `"E1000"`)
	assert.Contains(t, stderr, "schema: 1000 events of 1000 names")
}
