package cmdutil

import (
	"fmt"
	"math"
)

// speedHint is what --speed means, for replay and demo alike.
const speedHint = "--speed 1 keeps the recorded timing, 2 is twice as fast, 0 as fast as possible"

// CheckSpeed refuses a --speed that is not a finite number of 0 or more.
func CheckSpeed(v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return &UsageError{Msg: fmt.Sprintf("--speed must be a finite number, 0 or more, got %g", v), Hint: speedHint}
	case v < 0:
		return &UsageError{Msg: fmt.Sprintf("--speed must be 0 or more, got %g", v), Hint: speedHint}
	}
	return nil
}
