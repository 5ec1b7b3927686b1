package pusher

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/server"
)

// The keepalive and close tests run their own small harness (ka*), so that
// they depend on nothing but the Client, the embedded server and the
// configured timeouts.

// kaSink collects records; lost is closed on the first disconnected record,
// so a test waiting for something else fails at once when the connection
// drops instead of waiting out its deadline.
type kaSink struct {
	ch       chan record.Record
	stopAt   string // event name that makes Write return ErrStop
	lostOnce sync.Once
	lost     chan struct{}
}

func newKASink() *kaSink {
	return &kaSink{ch: make(chan record.Record, 4096), lost: make(chan struct{})}
}

func (s *kaSink) Write(r *record.Record) error {
	c := *r
	c.Data = append([]byte(nil), r.Data...)
	s.ch <- c
	if r.Type == record.TypeDisconnected {
		s.lostOnce.Do(func() { close(s.lost) })
	}
	if s.stopAt != "" && r.Event == s.stopAt {
		return ErrStop
	}
	return nil
}

func (s *kaSink) Flush() error { return nil }

// next waits for the next record of type ty, skipping others.
func (s *kaSink) next(t *testing.T, ty string) record.Record {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case r := <-s.ch:
			if r.Type == ty {
				return r
			}
		case <-deadline:
			t.Fatalf("no %s record within 10s", ty)
		}
	}
}

// drain returns every record written so far.
func (s *kaSink) drain() []record.Record {
	var out []record.Record
	for {
		select {
		case r := <-s.ch:
			out = append(out, r)
		default:
			return out
		}
	}
}

// kaLog keeps the time of every ping the client announced: the run loop
// logs "sending pusher:ping" just before it writes the ping, so a time
// measured from it to the disconnect is at least the wait the client
// really did.
type kaLog struct {
	mu    sync.Mutex
	pings []time.Time
	warns []string
}

func (l *kaLog) Info(tag, msg string) {}

func (l *kaLog) Warn(tag, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.warns = append(l.warns, msg)
}

func (l *kaLog) Debug(tag, msg string) {
	if !strings.Contains(msg, "sending pusher:ping") {
		return
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pings = append(l.pings, now)
}

func (l *kaLog) pingTimes() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.pings...)
}

type kaRun struct {
	srv    *server.Server
	sink   *kaSink
	log    *kaLog
	cancel context.CancelFunc
	done   chan error
}

// kaStart runs a Client with opts against a fresh embedded server.
func kaStart(t *testing.T, cfg server.Config, opts Options) *kaRun {
	t.Helper()
	return kaStartStop(t, cfg, opts, "")
}

// kaStartStop is kaStart with a Sink that stops Run at the event stopAt.
func kaStartStop(t *testing.T, cfg server.Config, opts Options, stopAt string) *kaRun {
	t.Helper()
	srv, err := server.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	r := &kaRun{srv: srv, sink: newKASink(), log: &kaLog{}, done: make(chan error, 1)}
	r.sink.stopAt = stopAt
	opts.URL = srv.URL() + "/app/app-key?protocol=7&client=tmsws&version=test"
	opts.Sink, opts.Log = r.sink, r.log
	c := New(opts)
	// A reconnect waits for nothing: these tests end at the first one.
	c.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	t.Cleanup(func() {
		cancel()
		r.wait(t)
	})
	go func() { r.done <- c.Run(ctx) }()
	return r
}

// wait returns what Run returned; it is called once per run.
func (r *kaRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
		}
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s")
		return nil
	}
}

func kaCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// firstConn waits for the client's first connection to subscribe to channel.
func (r *kaRun) firstConn(t *testing.T, channel string) *server.Conn {
	t.Helper()
	ctx := kaCtx(t)
	c, err := r.srv.WaitConn(ctx, 1)
	require.NoError(t, err)
	require.NoError(t, c.WaitSubscribed(ctx, channel))
	return c
}

// The keepalive as a whole: the client pings a quiet connection after the
// activity timeout, takes the server's pong as proof of life and keeps the
// connection for as long as pongs come (five cycles and more, one
// connection, no disconnect); once the server goes silent, the ping goes
// unanswered and the client leaves after the pong timeout, not before and
// not much later. The activity timeout (30 ms) and the pong timeout
// (300 ms) are ten times apart, so waiting for the wrong one shows.
func TestKeepaliveAnswersPingsThenLeavesASilentServer(t *testing.T) {
	t.Parallel()
	const (
		activity = 30 * time.Millisecond
		pong     = 300 * time.Millisecond
		cycles   = 6
		slack    = 3 * time.Second // a loaded machine runs late, never early
	)
	r := kaStart(t, server.Config{}, Options{Channels: []string{"chat"}, MaxActivity: activity, PongTimeout: pong})
	c1 := r.firstConn(t, "chat")

	// Answered pings: the nth ping of connection 1 comes only once the
	// client has taken the pong to the one before as an answer.
	ctx, stop := context.WithCancel(kaCtx(t))
	defer stop()
	go func() {
		select {
		case <-r.sink.lost:
			stop()
		case <-ctx.Done():
		}
	}()
	seen := 0
	_, err := r.srv.WaitFrame(ctx, func(f server.Frame) bool {
		if f.Conn == 1 && f.Event() == "pusher:ping" {
			seen++
		}
		return seen == cycles
	})
	select {
	case <-r.sink.lost:
		r.log.mu.Lock()
		warns := r.log.warns
		r.log.mu.Unlock()
		t.Fatalf("the client disconnected after %d answered pings: %v", seen, warns)
	default:
	}
	require.NoError(t, err, "fewer than %d pings", cycles)
	assert.Equal(t, 1, r.srv.Connections())
	for _, rec := range r.sink.drain() {
		assert.NotEqual(t, record.TypeDisconnected, rec.Type, "%+v", rec)
		assert.NotEqual(t, record.TypeReconnecting, rec.Type, "%+v", rec)
	}

	// Silence: the pong to the last ping seen is queued already; the next
	// ping goes unanswered.
	c1.SetSilent(true)
	rec := r.sink.next(t, record.TypeDisconnected)
	assert.Contains(t, rec.Message, "no pong within "+pong.String())
	pings := r.log.pingTimes()
	require.Greater(t, len(pings), cycles)
	waited := rec.TS.Sub(pings[len(pings)-1])
	assert.GreaterOrEqual(t, waited, pong, "left %v after the unanswered ping, before the pong timeout", waited)
	assert.Less(t, waited, pong+slack, "left %v after the unanswered ping", waited)
	select {
	case <-c1.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the client did not leave the silent connection")
	}
}

// Incoming traffic postpones the ping: a server that sends events more
// often than the activity timeout never sees one; once the events stop,
// the ping comes one activity timeout after the last of them.
func TestIncomingTrafficPostponesThePing(t *testing.T) {
	t.Parallel()
	const (
		activity = 500 * time.Millisecond
		every    = 50 * time.Millisecond
		window   = 3 * activity
	)
	r := kaStart(t, server.Config{}, Options{Channels: []string{"chat"}, MaxActivity: activity, PongTimeout: activity})
	r.firstConn(t, "chat")
	began := time.Now()
	tick := time.NewTicker(every)
	for time.Since(began) < window {
		r.srv.Publish("chat", "tick", `{}`, "")
		<-tick.C
	}
	tick.Stop()
	r.srv.Publish("chat", "last", `{}`, "")
	lastEvent := r.sink.next(t, record.TypeEvent)
	for lastEvent.Event != "last" {
		lastEvent = r.sink.next(t, record.TypeEvent)
	}
	checked := time.Now()

	// What the client read, from the connection on: the ping is due only
	// after a gap of the activity timeout.
	var times []time.Time
	for _, rec := range r.sink.drain() {
		times = append(times, rec.TS)
	}
	gap, prev := time.Duration(0), time.Time{}
	for _, ts := range append(times, lastEvent.TS, checked) {
		if !prev.IsZero() {
			gap = max(gap, ts.Sub(prev))
		}
		prev = ts
	}
	var pings int
	for _, f := range r.srv.Received() {
		if f.Conn == 1 && f.Event() == "pusher:ping" {
			pings++
		}
	}
	if gap >= activity {
		t.Skipf("the machine is too busy: %v without a frame, longer than the activity timeout %v", gap, activity)
	}
	assert.Zero(t, pings, "the client pinged while events came at least every %v (activity timeout %v)", gap, activity)

	// Quiet from here: the ping comes after the activity timeout.
	_, err := r.srv.WaitFrame(kaCtx(t), func(f server.Frame) bool { return f.Conn == 1 && f.Event() == "pusher:ping" })
	require.NoError(t, err)
	pingAt := r.log.pingTimes()
	require.NotEmpty(t, pingAt)
	assert.GreaterOrEqual(t, pingAt[0].Sub(lastEvent.TS), activity)
}
