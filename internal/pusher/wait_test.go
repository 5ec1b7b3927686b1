package pusher

import (
	"testing"
	"time"
)

// hangLimit bounds a wait for something that must come soon: Run returning
// after its context is cancelled, a test server's handler reaching a point,
// a record a synchronous handler has already made. When it never comes
// (a bug, or a mutant under scripts/mutation) the test fails instead of
// hanging the package until go test's own timeout.
const hangLimit = 20 * time.Second

// receive returns the next value from ch, or reports an error (not a
// fatal one: it is called from cleanups too) and the zero value after
// hangLimit.
func receive[T any](t testing.TB, ch <-chan T, what string) (v T) {
	t.Helper()
	select {
	case v = <-ch:
	case <-time.After(hangLimit):
		t.Errorf("%s: still waiting after %v", what, hangLimit)
	}
	return v
}
