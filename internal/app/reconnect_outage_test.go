package app

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/soketitest"
)

// outage is how long Soketi stays down: longer than the 40 s after which
// listen used to give up (5 attempts), as a Reverb restart or deploy can.
const outage = 45 * time.Second

// TestReconnectSurvivesALongOutage: Soketi is killed (TCP drop, as a
// Reverb restart does) and kept down for 45 s while listen waits. listen
// keeps trying, every attempt a reconnecting record and a status line,
// the delay growing from --reconnect-delay under the 30 s cap; once Soketi
// is back it connects, authorizes both channels again with the new socket
// id, subscribes, and receives events.
func TestReconnectSurvivesALongOutage(t *testing.T) {
	t.Parallel()
	sk := soketitest.Start(t)
	app := newLaravel(t, nil)
	c := soketiCLI(t, sk, app)
	c.env["TMSWS_TOKEN"] = app.TokenFor(t, "alice@example.com")
	priv, pres := "private-outage.1", "presence-outage.1"

	// No --reconnect-attempts: the default is to retry forever.
	l := startTapped(t, c, "listen", "-c", priv, "-c", pres, "--json", "--show-protocol", "--count", "3", "--reconnect-delay", "1s")
	ctx, cancel := context.WithTimeout(context.Background(), outage+2*time.Minute)
	defer cancel()
	l.until(t, ctx, func(r gjson.Result) bool {
		return r.Get("type").String() == "subscribed" && r.Get("channel").String() == pres
	})
	require.NoError(t, sk.WaitSubscribed(ctx, priv))
	require.NoError(t, sk.WaitSubscribed(ctx, pres))
	require.NoError(t, sk.Trigger(ctx, []string{priv}, "before", `{"n":0}`, ""))
	l.until(t, ctx, func(r gjson.Result) bool { return r.Get("event").String() == "before" })

	down := time.Now()
	sk.Kill(t)
	var reconnecting []gjson.Result
	collect := func(r gjson.Result) {
		if r.Get("type").String() == "reconnecting" {
			reconnecting = append(reconnecting, r)
		}
	}
	l.during(t, outage-time.Since(down), collect)
	during := len(reconnecting)
	sk.StartAgain(t)
	back := time.Now()

	// The next attempt, at most 30 s away, finds Soketi.
	l.until(t, ctx, func(r gjson.Result) bool {
		collect(r)
		return r.Get("type").String() == "subscribed" && r.Get("channel").String() == pres
	})
	resubscribed := time.Now()
	require.NoError(t, sk.WaitSubscribed(ctx, priv))
	require.NoError(t, sk.WaitSubscribed(ctx, pres))
	require.NoError(t, sk.Trigger(ctx, []string{priv}, "after", `{"n":1}`, ""))
	require.NoError(t, sk.Trigger(ctx, []string{pres}, "after", `{"n":2}`, ""))
	res := l.wait(t, ctx)
	require.Equal(t, 0, res.code, res.stderr)

	// Every attempt was reported, numbered 1, 2, 3… with a growing,
	// capped delay; none was the last.
	require.Greater(t, during, 5, "more attempts during the outage than the old limit of 5")
	var delays []time.Duration
	for i, r := range reconnecting {
		assert.Equal(t, int64(i+1), r.Get("attempt").Int())
		d, err := time.ParseDuration(r.Get("delay").String())
		require.NoError(t, err, r.Raw)
		assert.LessOrEqual(t, d, 30*time.Second)
		delays = append(delays, d)
	}
	assert.Equal(t, time.Second, delays[0], "the first delay is --reconnect-delay")
	assert.Greater(t, delays[len(delays)-1], 5*time.Second, "the delay grows: %v", delays)
	assert.Equal(t, len(reconnecting), strings.Count(res.stderr, "[connection] reconnecting in "), "every attempt on stderr")
	assert.Contains(t, res.stderr, "(attempt "+strconv.Itoa(len(reconnecting))+"/∞)")

	// Events before and after, over two connections; both channels
	// authorized again with the new socket id.
	var sockets []string
	var events []string
	for _, r := range jsonLines(t, res.stdout) {
		switch r.Get("type").String() {
		case "connected":
			sockets = append(sockets, r.Get("socket_id").String())
		case "event":
			events = append(events, r.Get("event").String()+" "+r.Get("socket_id").String())
		}
	}
	require.Len(t, sockets, 2, "one connection before the outage, one after")
	assert.ElementsMatch(t, []string{"before " + sockets[0], "after " + sockets[1], "after " + sockets[1]}, events)
	bySocket := map[string][]string{}
	for _, a := range app.AuthRequests() {
		assert.Equal(t, 200, a.Status)
		bySocket[a.SocketID] = append(bySocket[a.SocketID], a.Channel)
	}
	for _, sid := range sockets {
		assert.ElementsMatch(t, []string{priv, pres}, bySocket[sid], "authorized with socket %s", sid)
	}
	t.Logf("Soketi down %s: %d reconnect attempts during it (delays %v); back, subscribed again %s later",
		back.Sub(down).Round(time.Second), during, delays, resubscribed.Sub(back).Round(time.Millisecond))
}

// tapped is a listen run in-process whose stdout lines arrive on a
// channel as they are written, so a test can wait for them.
type tapped struct {
	lines  chan string
	stdout *lineTap
	stderr *syncBuffer
	done   chan int
	cancel context.CancelFunc
}

func startTapped(t *testing.T, c *cli, args ...string) *tapped {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &tapped{lines: make(chan string, 100_000), stderr: &syncBuffer{}, done: make(chan int, 1), cancel: cancel}
	l.stdout = &lineTap{lines: l.lines}
	io := &iostreams.IO{In: strings.NewReader(""), Out: l.stdout, ErrOut: l.stderr, Env: func(k string) string { return c.env[k] }}
	go func() { l.done <- Run(ctx, io, args) }()
	t.Cleanup(func() {
		cancel()
		<-l.done
	})
	return l
}

// until hands each new stdout record to match until it returns true.
func (l *tapped) until(t *testing.T, ctx context.Context, match func(gjson.Result) bool) {
	t.Helper()
	for {
		select {
		case line := <-l.lines:
			if match(gjson.Parse(line)) {
				return
			}
		case code := <-l.done:
			l.done <- code
			t.Fatalf("tmsws exited with %d while the test waited\nstderr:\n%s", code, l.stderr.String())
		case <-ctx.Done():
			t.Fatalf("not seen in time: %v\nstderr:\n%s", ctx.Err(), l.stderr.String())
		}
	}
}

// during hands every stdout record to f for d; tmsws must not exit.
func (l *tapped) during(t *testing.T, d time.Duration, f func(gjson.Result)) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case line := <-l.lines:
			f(gjson.Parse(line))
		case code := <-l.done:
			l.done <- code
			t.Fatalf("tmsws exited with %d during the outage\nstderr:\n%s", code, l.stderr.String())
		case <-timer.C:
			return
		}
	}
}

// wait waits for the exit.
func (l *tapped) wait(t *testing.T, ctx context.Context) result {
	t.Helper()
	select {
	case code := <-l.done:
		l.done <- code
		return result{code, l.stdout.String(), l.stderr.String()}
	case <-ctx.Done():
		t.Fatalf("tmsws did not exit: %v\nstderr:\n%s", ctx.Err(), l.stderr.String())
		return result{}
	}
}

// lineTap keeps what is written and sends each whole line on lines.
type lineTap struct {
	mu      sync.Mutex
	all     strings.Builder
	partial string
	lines   chan string
}

func (w *lineTap) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	s := w.partial + string(p)
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		w.lines <- s[:i]
		s = s[i+1:]
	}
	w.partial = s
	return len(p), nil
}

func (w *lineTap) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}
