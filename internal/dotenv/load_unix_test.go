//go:build unix

package dotenv

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadFIFO: a FIFO is refused without opening it (opening would block
// until a writer comes).
func TestLoadFIFO(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), ".env")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	done := make(chan error, 1)
	go func() {
		_, err := Load(path, nil)
		done <- err
	}()
	select {
	case err := <-done:
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.Contains(t, e.Msg, "not a regular file")
	case <-time.After(10 * time.Second):
		// Unblock Load so that the test ends.
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		<-done
		t.Fatal("Load blocked on a FIFO")
	}
}
