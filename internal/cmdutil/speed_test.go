package cmdutil

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckSpeed(t *testing.T) {
	t.Parallel()
	for _, ok := range []float64{0, 0.5, 1, 4, 1e6} {
		assert.NoError(t, CheckSpeed(ok), "%g", ok)
	}
	for v, msg := range map[float64]string{
		-1:           "--speed must be 0 or more, got -1",
		-0.001:       "--speed must be 0 or more, got -0.001",
		math.Inf(1):  "--speed must be a finite number, 0 or more, got +Inf",
		math.Inf(-1): "--speed must be a finite number, 0 or more, got -Inf",
	} {
		err := CheckSpeed(v)
		var ue *UsageError
		if assert.ErrorAs(t, err, &ue, "%g", v) {
			assert.Equal(t, msg, ue.Msg)
			assert.Equal(t, speedHint, ue.Hint)
		}
	}
	assert.EqualError(t, CheckSpeed(math.NaN()), "--speed must be a finite number, 0 or more, got NaN")
}
