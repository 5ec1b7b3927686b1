package english

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCount(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0 events", 1: "1 event", 2: "2 events", 1000: "1000 events"} {
		assert.Equal(t, want, Count(n, "event"))
	}
	assert.Equal(t, "byte", Noun(1, "byte"))
	assert.Equal(t, "bytes", Noun(3, "byte"))
}
