package login

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/iostreams"
)

func promptOpts(answers ...string) (*Options, *iostreams.FakeTerminal) {
	io, _, _, _ := iostreams.Test()
	f := io.FakeTerminal(answers...)
	return &Options{IO: io, UserField: "email"}, f
}

func TestReadCredentialsAsksOnTheTerminal(t *testing.T) {
	t.Parallel()
	opts, f := promptOpts(" alice@example.com ", "correct horse")
	user, password, err := readCredentials(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, "alice@example.com", user)
	assert.Equal(t, "correct horse", password)
	assert.Equal(t, []string{"email: ", "Password for alice@example.com: "}, f.Labels())
}

// The first Ctrl-C (ctx cancelled) ends either prompt with ctx's error,
// which app.Run turns into a silent 130: not "no email entered".
func TestReadCredentialsEndsOnCancel(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, waits string
		user        string
		stdin       bool
		answers     []string
	}{
		{name: "email", waits: "email: "},
		{name: "password", waits: "Password for alice: ", user: "alice"},
		{name: "password after email", waits: "Password for bob: ", answers: []string{"bob"}},
		{name: "password-stdin on a terminal", waits: "", user: "alice", stdin: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts, f := promptOpts(tt.answers...)
			opts.User, opts.PasswordStdin = tt.user, tt.stdin
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, _, err := readCredentials(ctx, opts)
				done <- err
			}()
			assert.Equal(t, tt.waits, <-f.Waiting())
			cancel()
			err := <-done
			assert.ErrorIs(t, err, context.Canceled)
			var ue *cmdutil.UsageError
			assert.NotErrorAs(t, err, &ue)
		})
	}
}

func TestReadCredentialsWithoutATerminal(t *testing.T) {
	t.Parallel()
	io, in, _, _ := iostreams.Test()
	_, _, err := readCredentials(context.Background(), &Options{IO: io, UserField: "email"})
	var ue *cmdutil.UsageError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "no --user given", ue.Msg)

	_, _, err = readCredentials(context.Background(), &Options{IO: io, User: "alice"})
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, ue.Msg, "stdin is not a terminal")

	in.WriteString("  s3cret \n")
	user, password, err := readCredentials(context.Background(), &Options{IO: io, User: "alice", PasswordStdin: true})
	require.NoError(t, err)
	assert.Equal(t, "alice", user)
	assert.Equal(t, "s3cret", password)
}

func TestReadCredentialsEmptyEmail(t *testing.T) {
	t.Parallel()
	opts, _ := promptOpts("  ")
	_, _, err := readCredentials(context.Background(), opts)
	var ue *cmdutil.UsageError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "no email entered", ue.Msg)
}
