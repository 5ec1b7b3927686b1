package format

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A record the expression fails on is reported and skipped; the others
// come out, and Err says how many failed at the end.
func TestWriterReportsFailuresAndGoesOn(t *testing.T) {
	t.Parallel()
	f, err := Compile(".data.n + 1", "", Options{})
	require.NoError(t, err)
	var out, errOut bytes.Buffer
	w := NewWriter(f, &out, &errOut)
	for i := range 15 {
		doc := fmt.Sprintf(`{"data":{"n":%d}}`, i)
		if i%3 == 1 {
			doc = `{"data":{"n":"x\u001b[2J"}}` + "\n"
		}
		require.NoError(t, w.Write([]byte(doc)))
	}
	assert.Equal(t, "1\n3\n4\n6\n7\n9\n10\n12\n13\n15\n", out.String())
	reports := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	require.Len(t, reports, 5)
	assert.Contains(t, reports[0], "(record 2, skipped)")
	assert.NotContains(t, errOut.String(), "\x1b", "the record's text is escaped")
	var fe *FailedError
	require.True(t, errors.As(w.Err(), &fe))
	assert.Equal(t, "--jq failed on 5 of 15 records (reported above)", fe.Error())

	// After ten reports the rest are counted.
	out.Reset()
	errOut.Reset()
	w = NewWriter(f, &out, &errOut)
	w.Noun = "channel"
	for range 25 {
		require.NoError(t, w.Write([]byte(`{"data":{"n":"x"}}`)))
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	require.Len(t, lines, 11)
	assert.Equal(t, "tmsws: --jq fails on more channels; only the first 10 are shown", lines[10])
	assert.EqualError(t, w.Err(), "--jq failed on 25 of 25 channels (reported above)")

	w = NewWriter(f, &out, &errOut)
	require.NoError(t, w.Write([]byte(`{"data":{"n":1}}`)))
	assert.NoError(t, w.Err())
}
