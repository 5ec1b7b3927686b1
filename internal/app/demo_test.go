package app

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemoPlaysTheBundledSession(t *testing.T) {
	t.Parallel()
	res := newCLI(t).run("demo", "--speed", "20")
	require.Equal(t, 0, res.code, res.stderr)
	recs := jsonLines(t, res.stdout)
	require.Len(t, recs, 19, "every record of the bundled session arrives")

	var kinds []string
	var typingOn, typingOff, tempIDs, reads int
	for _, r := range recs {
		kind := r.Get("type").String()
		if kind == "event" {
			kind = r.Get("event").String()
		}
		kinds = append(kinds, kind)
		switch r.Get("event").String() {
		case `App\Events\UserIsTyping`:
			if r.Get("data.typing").Bool() {
				typingOn++
			} else {
				typingOff++
			}
		case `App\Events\MessageSent`:
			if strings.HasPrefix(r.Get("data.message.temp_id").String(), "tmp-") {
				tempIDs++
			}
		case `App\Events\MessagesRead`:
			reads++
		}
		assert.Contains(t, []string{"private-chat.42", "presence-chat.42"}, r.Get("channel").String())
	}
	assert.Equal(t, "member_added", kinds[0])
	assert.Equal(t, "member_removed", kinds[len(kinds)-1])
	assert.Equal(t, 4, tempIDs)
	assert.Equal(t, 3, typingOn)
	assert.Equal(t, 3, typingOff)
	assert.Equal(t, 6, reads)
	// Real authorization through the embedded endpoint, for both channels.
	assert.Contains(t, res.stderr, "[auth] authorized private-chat.42")
	assert.Contains(t, res.stderr, "[auth] authorized presence-chat.42")
	assert.NotContains(t, res.stderr, "no token")
}

func TestDemoLoopsUntilInterrupted(t *testing.T) {
	t.Parallel()
	r := newCLI(t).start("demo", "--speed", "50", "--loop")
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(r.stdout.String(), "\n") < 25 {
		require.True(t, time.Now().Before(deadline), "the session did not loop: %s", r.stderr.String())
		time.Sleep(10 * time.Millisecond)
	}
	r.cancel()
	res := r.wait(t)
	assert.Equal(t, ExitInterrupted, res.code)
	assert.GreaterOrEqual(t, len(jsonLines(t, res.stdout)), 25)
}

func TestDemoUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"demo", "--speed", "0"}, {"demo", "extra"}, {"demo", "--json", "--pretty"}} {
		res := newCLI(t).run(args...)
		assert.Equal(t, ExitUsage, res.code, "%v: %s", args, res.stderr)
	}
}
