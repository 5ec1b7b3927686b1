package server

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: every
// connection's reader and writer, playback and timer must end with the
// server that started it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
