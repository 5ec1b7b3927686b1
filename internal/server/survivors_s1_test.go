package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests for survivors of the server mutation run, part S1 (issue 10).

// TestEventNameAtItsLimitIsPublished: Pusher's event name limit is 200
// characters; a name of exactly 200 is published, 201 is refused and the
// answer says by how much.
func TestEventNameAtItsLimitIsPublished(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := connect(t, s)
	c.subscribe("names", "", "")
	c.expect("pusher_internal:subscription_succeeded")
	path := "/apps/" + s.cfg.AppID + "/events"
	name := strings.Repeat("n", 200)

	status, body := signedPost(t, s, path, `{"name":"`+name+`","channel":"names","data":"{}"}`)
	require.Equal(t, http.StatusOK, status, body.Raw)
	c.expect(name)

	status, body = signedPost(t, s, path, `{"name":"`+name+`n","channel":"names","data":"{}"}`)
	assert.Equal(t, http.StatusBadRequest, status, body.Raw)
	assert.Equal(t, "Event name too long: 201 characters, the limit is 200", body.Get("error").String())
	c.expectNoReply()
}

// TestEventToExactlyAHundredChannelsIsPublished: Pusher's limit is 100
// channels per event; an event to exactly 100 reaches them, 101 is refused.
func TestEventToExactlyAHundredChannelsIsPublished(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := connect(t, s)
	for _, ch := range []string{"c0", "c99"} {
		c.subscribe(ch, "", "")
		c.expect("pusher_internal:subscription_succeeded")
	}
	channels := func(n int) string {
		var names []string
		for i := range n {
			names = append(names, fmt.Sprintf(`"c%d"`, i))
		}
		return "[" + strings.Join(names, ",") + "]"
	}
	path := "/apps/" + s.cfg.AppID + "/events"

	status, body := signedPost(t, s, path, `{"name":"wide","channels":`+channels(100)+`,"data":"{}"}`)
	require.Equal(t, http.StatusOK, status, body.Raw)
	got := []string{c.expect("wide").Get("channel").String(), c.expect("wide").Get("channel").String()}
	assert.ElementsMatch(t, []string{"c0", "c99"}, got)

	status, body = signedPost(t, s, path, `{"name":"wider","channels":`+channels(101)+`,"data":"{}"}`)
	assert.Equal(t, http.StatusBadRequest, status, body.Raw)
	assert.Equal(t, "Too many channels: 101, the limit is 100", body.Get("error").String())
	c.expectNoReply()
}

// TestPingIsDueAnIntervalAfterTheLastFrame: a client that sent a frame a
// quarter of an interval after connecting is pinged an interval after that
// frame: the check that finds it active waits only for the rest of the
// interval, not for an interval and more.
func TestPingIsDueAnIntervalAfterTheLastFrame(t *testing.T) {
	t.Parallel()
	// The server alone keeps time here; the upper bound leaves a loaded
	// machine a whole interval of lateness. Waiting interval+idle instead
	// of interval-idle at the first check pings some 2.5 intervals after
	// the frame.
	const interval = time.Second
	s := start(t, Config{Like: LikeReverb, PingInterval: interval})
	c, _ := connect(t, s)
	time.Sleep(interval / 4) // the silence under test: the frame comes well inside the first interval
	sent := time.Now()
	c.send(`{"event":"pusher:ping","data":{}}`)
	assert.Equal(t, `{"event":"pusher:pong"}`, string(c.readRaw()))
	assert.Equal(t, `{"event":"pusher:ping"}`, string(c.readRaw()))
	waited := time.Since(sent)
	assert.GreaterOrEqual(t, waited, interval, "a whole interval of silence after the frame first")
	assert.Less(t, waited, 2*interval, "the ping is due an interval after the client's last frame")
}

// TestPlaybackLogNamesOnlyPlayedChannels: subscribing to a channel the
// recording has no items for logs no "playing" line; the played channel's
// line counts its events.
func TestPlaybackLogNamesOnlyPlayedChannels(t *testing.T) {
	t.Parallel()
	var log logLines
	s := start(t, Config{Recording: &Recording{Items: []Item{ev(0, "chat", "a", `{}`)}}, Logf: log.logf})
	c, id := connect(t, s)
	subscribeSigned(t, s, c, id, "quiet")
	subscribeSigned(t, s, c, id, "chat")
	c.expect("a") // the line is written before subscription_succeeded is queued
	var playing []string
	for _, l := range log.all() {
		if strings.HasPrefix(l, "playing ") {
			playing = append(playing, l)
		}
	}
	assert.Equal(t, []string{"playing 1 event on chat to socket " + id}, playing)
}

// TestPlaybackLoopOfARecordingThatStartsLate: a round lasts from the
// recording's first item to its last, plus the gap, however late in the
// recording the first item is (offsets count from the recording's start,
// here an hour before its first item).
func TestPlaybackLoopOfARecordingThatStartsLate(t *testing.T) {
	t.Parallel()
	rec := &Recording{Items: []Item{
		ev(time.Hour, "chat", "a", `{}`),
		ev(time.Hour+20*time.Millisecond, "chat", "b", `{}`),
	}}
	s := start(t, Config{Recording: rec, Speed: 1, Loop: true, LoopGap: 30 * time.Millisecond})
	c, _ := connect(t, s)
	t0 := time.Now()
	c.subscribe("chat", "", "")
	c.expect("pusher_internal:subscription_succeeded")
	// A round is 20 ms plus the 30 ms gap; the bound only ends a test
	// whose second round is an hour or more away.
	require.NoError(t, c.ws.SetReadDeadline(time.Now().Add(waitLimit/6)))
	var got []string
	for i, due := range []time.Duration{0, 20, 50, 70} {
		_, data, err := c.ws.ReadMessage()
		require.NoError(t, err, "event %d: the next round did not start after the gap", i)
		assert.GreaterOrEqual(t, time.Since(t0), due*time.Millisecond, "event %d", i)
		got = append(got, string(data))
	}
	assert.Equal(t, []string{
		`{"event":"a","channel":"chat","data":"{}"}`, `{"event":"b","channel":"chat","data":"{}"}`,
		`{"event":"a","channel":"chat","data":"{}"}`, `{"event":"b","channel":"chat","data":"{}"}`,
	}, got)
}
