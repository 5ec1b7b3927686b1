package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReportCountsAndThreshold(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	// filter: 9 killed, 1 lived (90%); record: 3 killed, 1 lived, 1 timed out, 1 not covered (75%).
	write("filter.json", `{"files":[{"file_name":"where.go","mutations":[`+
		`{"type":"A","status":"KILLED","line":1,"column":1},{"type":"A","status":"KILLED","line":2,"column":1},`+
		`{"type":"A","status":"KILLED","line":3,"column":1},{"type":"A","status":"KILLED","line":4,"column":1},`+
		`{"type":"A","status":"KILLED","line":5,"column":1},{"type":"A","status":"KILLED","line":6,"column":1},`+
		`{"type":"A","status":"KILLED","line":7,"column":1},{"type":"A","status":"KILLED","line":8,"column":1},`+
		`{"type":"A","status":"KILLED","line":9,"column":1},{"type":"CONDITIONALS_BOUNDARY","status":"LIVED","line":42,"column":7}]}]}`)
	write("record.json", `{"files":[{"file_name":"record.go","mutations":[`+
		`{"type":"A","status":"KILLED","line":1,"column":1},{"type":"A","status":"KILLED","line":2,"column":1},`+
		`{"type":"A","status":"KILLED","line":3,"column":1},{"type":"B","status":"LIVED","line":4,"column":2},`+
		`{"type":"C","status":"TIMED OUT","line":5,"column":3},{"type":"D","status":"NOT COVERED","line":6,"column":4}]}]}`)
	rows, err := load(dir)
	require.NoError(t, err)
	require.Len(t, rows, 2)

	var out bytes.Buffer
	assert.False(t, report(&out, rows, 85, true), "record is under 85%")
	assert.Contains(t, out.String(), "filter           9      1         0           0     90.0%\n")
	assert.Contains(t, out.String(), "record           3      1         1           1   75.0% <\n")
	assert.Contains(t, out.String(), "lived      filter/where.go:42:7 CONDITIONALS_BOUNDARY\n")
	assert.Contains(t, out.String(), "timed out  record/record.go:5:3 C\n")
	assert.NotContains(t, out.String(), "record.go:6:4", "not-covered mutants are counted, not listed")

	out.Reset()
	assert.True(t, report(&out, rows, 75, false))
	assert.NotContains(t, out.String(), "where.go", "-list=false lists no mutant")
}

func TestLoadRefusesWhatIsNotAResult(t *testing.T) {
	t.Parallel()
	_, err := load(t.TempDir())
	assert.ErrorContains(t, err, "no gremlins results")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.json"), []byte("not json"), 0o600))
	_, err = load(dir)
	assert.ErrorContains(t, err, "not a gremlins result")
}
