package connections

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine started by them is
// still running once they are done.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
