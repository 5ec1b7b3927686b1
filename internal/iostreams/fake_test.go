package iostreams

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTestIOCannotPrompt(t *testing.T) {
	io, _, _, _ := Test()
	assert.False(t, io.CanPrompt())
	_, err := io.ReadPassword(context.Background(), "Password: ")
	assert.ErrorIs(t, err, ErrNoTerminal)
	_, err = io.Prompt(context.Background(), "email: ")
	assert.ErrorIs(t, err, ErrNoTerminal)
	io.RestoreTerminal() // nothing to restore
}

func TestReadLineFromAPipe(t *testing.T) {
	io, in, _, _ := Test()
	in.WriteString("s3cret\r\nmore\n")
	line, err := io.ReadLine(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "s3cret", line)

	io, _, _, _ = Test()
	line, err = io.ReadLine(context.Background())
	require.NoError(t, err, "an empty stdin is an empty line")
	assert.Empty(t, line)
}

func TestFakeTerminal(t *testing.T) {
	io, _, _, errOut := Test()
	f := io.FakeTerminal("alice")
	assert.True(t, io.CanPrompt())
	assert.True(t, io.InTTY)
	line, err := io.Prompt(context.Background(), "email: ")
	require.NoError(t, err)
	assert.Equal(t, "alice", line)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadPassword(ctx, "Password for alice: ")
		done <- err
	}()
	assert.Equal(t, "Password for alice: ", <-f.Waiting())
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, []string{"email: ", "Password for alice: "}, f.Labels())
	assert.True(t, strings.HasSuffix(errOut.String(), "Password for alice: \n"), "%q", errOut.String())
}
