package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/schema"
)

func TestSchemaInfer(t *testing.T) {
	t.Parallel()
	path := writeRecording(t, "session.jsonl", session())

	res := newCLI(t).run("schema", "infer", path)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "schema: 4 events of 3 names → stdout\n", res.stderr)
	assert.Contains(t, res.stdout, `"$schema": "https://json-schema.org/draft/2020-12/schema"`)
	assert.Contains(t, res.stdout, `"App\\Events\\MessageSent": {`)
	assert.Contains(t, res.stdout, `"MessageSent": {`, "a hand-written line's event, as recorded")

	out := filepath.Join(t.TempDir(), "chat.schema.json")
	res = newCLI(t).run("schema", "infer", path, "-o", out)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Empty(t, res.stdout)
	assert.Equal(t, "schema: 4 events of 3 names → "+out+"\n", res.stderr)
	set, err := schema.Load(out)
	require.NoError(t, err)
	v, known := set.Check(`App\Events\MessageSent`, []byte(`{"message":{"id":1,"user_id":"8","content":"hi"}}`))
	assert.True(t, known)
	assert.Equal(t, []string{"/message/user_id: expected integer, got string"}, v, "a retyped field breaks the contract")

	c := newCLI(t)
	c.stdin = session()
	res = c.run("schema", "infer", "-")
	require.Equal(t, 0, res.code, res.stderr)
	first := newCLI(t).run("schema", "infer", path)
	assert.Equal(t, first.stdout, res.stdout, "stdin gives the same document")
}

func TestSchemaInferErrors(t *testing.T) {
	t.Parallel()
	bad := writeRecording(t, "bad.jsonl", session()+"not json\n")
	res := newCLI(t).run("schema", "infer", bad)
	assert.Equal(t, ExitError, res.code)
	assert.Contains(t, res.stderr, bad+":8: invalid JSON")
	assert.Contains(t, res.stderr, "schema infer: 1 malformed line skipped")
	assert.Contains(t, res.stdout, `"$defs"`, "the schema of the valid lines is still written")

	res = newCLI(t).run("schema", "infer")
	assert.Equal(t, ExitUsage, res.code)
	assert.Contains(t, res.stderr, "no recording given")
	assert.Empty(t, res.stdout)

	res = newCLI(t).run("schema", "infre", "x.jsonl")
	assert.Equal(t, ExitUsage, res.code)
	assert.Contains(t, res.stderr, `unknown command "infre" for "tmsws schema"`)
	assert.Contains(t, res.stderr, "did you mean this? tmsws schema infer")

	res = newCLI(t).run("schema")
	assert.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "tmsws schema infer session.jsonl -o chat.schema.json")

	res = newCLI(t).run("schema", "infer", filepath.Join(t.TempDir(), "missing.jsonl"))
	assert.Equal(t, ExitError, res.code)
	assert.Contains(t, res.stderr, "open recording")

	dir := t.TempDir()
	res = newCLI(t).run("schema", "infer", writeRecording(t, "s.jsonl", session()), "-o", filepath.Join(dir, "none", "s.json"))
	assert.Equal(t, ExitError, res.code)
	assert.Contains(t, res.stderr, "write schema")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}
