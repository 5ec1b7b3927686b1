package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
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

// The soak test: Soketi restarted 20 times during a stream of 1,000
// events/s. Every event sent while the listener was subscribed is received
// once and in order; every gap is marked by disconnected, reconnecting,
// connected and subscribed records; every reconnect authorizes the channel
// again with the new socket id.
const (
	soakRestarts = 20
	soakRate     = 1000 // events per second the publisher aims for
	// soakBatch is Soketi's limit of events per batch_events call
	// (SOKETI_EVENT_MAX_BATCH_SIZE, 10). One call at a time, every 10ms,
	// keeps the events strictly ordered, which concurrent calls would not.
	soakBatch = 10
	// soakFlow is how many events the listener must receive on each
	// connection before the next restart: about a second of the stream.
	soakFlow = 1000
	// soakMargin is the safety margin for events in flight when a
	// connection ends. Soketi answers the HTTP call in the same event-loop
	// turn in which it hands the event to the sockets (adapter.send resolves
	// in a microtask), but not strictly before: an event answered just as
	// the test signals Soketi may still sit in uWebSockets' cork buffer.
	// So an event is owed to the listener when its call started after the
	// listener's subscribed record and returned more than soakMargin before
	// that connection ended, the end being the earlier of its disconnected
	// record and the moment the test began to stop Soketi. (A missing event
	// inside the margin still fails the gap check unless a reconnect
	// separates its neighbours.)
	soakMargin = 20 * time.Millisecond
	soakEvent  = "soak"
)

func TestSoakSoketiRestartsDuringStream(t *testing.T) {
	t.Parallel()
	began := time.Now()
	sk := soketitest.Start(t)
	app := newLaravel(t, nil)
	c := soketiCLI(t, sk, app)
	c.env["TMSWS_TOKEN"] = app.TokenFor(t, "alice@example.com")
	channel := soketitest.UniqueChannel(t, "private-soak")

	// tmsws listen, in-process, its stdout parsed line by line as written.
	stream := newSoakStream()
	stderr := &syncBuffer{}
	l := startSoakListener(t, stream, stderr, c.env, "listen", "-c", channel, "--json", "--show-protocol",
		"--reconnect-delay", "100ms", "--reconnect-attempts", "0")
	failNow := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\nstderr of tmsws listen:\n%s", append(args, soakTail(stderr.String(), 4000))...)
	}
	flowed := func(conns int) func(soakState) bool {
		return func(s soakState) bool { return s.subscribed >= conns && s.sinceSubscribed >= soakFlow }
	}

	if err := stream.wait(30*time.Second, l, func(s soakState) bool { return s.subscribed >= 1 }); err != nil {
		failNow("first subscription: %v", err)
	}
	pub := startSoakPublisher(t, sk, channel)
	if err := stream.wait(20*time.Second, l, flowed(1)); err != nil {
		failNow("events on the first connection: %v", err)
	}

	// Restart Soketi on the same port, alternating a graceful stop
	// (SIGTERM: pusher:error and close code 4200) and a kill (SIGKILL: the
	// TCP connection drops, 1006), each time once the listener has
	// subscribed again and received soakFlow events.
	halts := make([]time.Time, 0, soakRestarts)
	graceful := 0
	var slowestDown time.Duration
	for i := 1; i <= soakRestarts; i++ {
		start := time.Now()
		halts = append(halts, start)
		if i%2 == 1 {
			sk.Stop(t)
			graceful++
		} else {
			sk.Kill(t)
		}
		sk.StartAgain(t)
		slowestDown = max(slowestDown, time.Since(start))
		if err := stream.wait(20*time.Second, l, flowed(i+1)); err != nil {
			failNow("after restart %d: %v", i, err)
		}
	}

	pub.halt()
	lastOK := pub.lastOK()
	require.NotZero(t, lastOK, "no event was published")
	assert.NoError(t, stream.wait(10*time.Second, l, func(s soakState) bool { return s.lastSeq >= lastOK }),
		"the last published event (%d) did not arrive", lastOK)
	if err := l.stop(20 * time.Second); err != nil {
		failNow("%v", err)
	}
	assert.Equal(t, ExitInterrupted, l.code, "exit code of tmsws listen after its context ended")
	wall := time.Since(began)

	recs, err := stream.snapshot()
	require.NoError(t, err)
	a := analyzeSoak(recs, channel)
	assert.Empty(t, a.problems, "the record stream breaks connected → subscribed → events → disconnected → reconnecting (first problems shown)")

	// (4) One disconnect per restart and one new connection for each, none
	// on its own: each connection ended after the test began to stop Soketi.
	// Exactly, not at least: a reconnect that reaches Soketi while it shuts
	// down gets pusher:error 4200 as its first frame (Soketi checks its
	// closing flag on open and on subscribe), so it never becomes a
	// connected record.
	assert.Len(t, a.conns, soakRestarts+1, "connections: one, then one per restart")
	assert.Equal(t, soakRestarts, a.disconnects, "disconnected records: one per restart")
	assert.GreaterOrEqual(t, a.reconnecting, soakRestarts, "reconnecting records: at least one per restart")
	assert.Equal(t, graceful, a.closed4200, "disconnects with Soketi's close code 4200: one per graceful stop")
	assert.Equal(t, graceful, a.errors4200, "pusher:error 4200 records: one per graceful stop")
	for k, cn := range a.conns {
		if cn.discIdx >= 0 && k < len(halts) {
			assert.False(t, cn.discTS.Before(halts[k]), "connection %d (socket %s) dropped at %s, before restart %d began at %s",
				k, cn.socketID, cn.discTS.Format(time.StampMicro), k+1, halts[k].Format(time.StampMicro))
		}
	}

	// (1) No event twice, and strictly increasing.
	assert.Zero(t, a.dups, "events received more than once")
	assert.Zero(t, a.disorder, "events out of order: %s", strings.Join(a.disorderAt, "; "))

	// (2) Every event published while the listener was subscribed arrived.
	// (3) Every other missing event lies in a disconnected → reconnecting →
	// connected → subscribed window of the record stream.
	pubs := pub.publications()
	n := a.account(pubs, halts)
	assert.Zero(t, n.lostConnected, "events lost while connected: %s", strings.Join(n.lostConnectedAt, "; "))
	assert.Zero(t, n.notInGap, "missing events outside a disconnected → reconnecting → connected → subscribed window: %s", strings.Join(n.notInGapAt, "; "))
	assert.Zero(t, n.neverPublished, "received events that were never published")

	// (5) Every connection authorized the channel at /broadcasting/auth
	// with its own socket id, once, in the order of the connections.
	var authorized, connected []string
	for _, r := range app.AuthRequests() {
		assert.Equal(t, channel, r.Channel)
		assert.Equal(t, http.StatusOK, r.Status, "auth of socket %s", r.SocketID)
		authorized = append(authorized, r.SocketID)
	}
	for _, cn := range a.conns {
		connected = append(connected, cn.socketID)
	}
	assert.Equal(t, connected, authorized, "socket ids authorized at /broadcasting/auth, against those of the connected records")

	pubFor := pub.duration()
	subscribedFor := a.subscribedFor(halts)
	slowest, slowestAt := a.slowestReconnect()
	t.Logf("restarts: %d (%d graceful, %d killed); connections: %d; reconnecting records: %d",
		len(halts), graceful, len(halts)-graceful, len(a.conns), a.reconnecting)
	t.Logf("events published (HTTP 200): %d of %d attempted in %s: %.0f/s confirmed, %.0f/s attempted (target %d/s, %d per batch_events call)",
		n.published, len(pubs), pubFor.Round(time.Millisecond), float64(n.published)/pubFor.Seconds(), float64(len(pubs))/pubFor.Seconds(), soakRate, soakBatch)
	t.Logf("events owed (published while subscribed): %d in %s subscribed: %.0f/s",
		n.owed, subscribedFor.Round(time.Millisecond), float64(n.owed)/subscribedFor.Seconds())
	t.Logf("events received: %d (%d from calls that failed); lost while connected: %d; lost in gaps: %d; answered within %s of a connection's end: %d, received: %d",
		len(a.received), n.unconfirmed, n.lostConnected, n.lostInGaps, soakMargin, n.inMargin, n.inMarginReceived)
	t.Logf("wall time: %s; slowest reconnect (disconnected → subscribed): %s, after restart %d; slowest Soketi stop and start: %s",
		wall.Round(time.Millisecond), slowest.Round(time.Millisecond), slowestAt, slowestDown.Round(time.Millisecond))
	if t.Failed() {
		t.Logf("stderr of tmsws listen:\n%s", soakTail(stderr.String(), 8000))
	}
}

// soakListener is tmsws running in-process.
type soakListener struct {
	cancel context.CancelFunc
	exited chan struct{}
	code   int // set before exited is closed
}

func startSoakListener(t *testing.T, stdout *soakStream, stderr *syncBuffer, env map[string]string, args ...string) *soakListener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &soakListener{cancel: cancel, exited: make(chan struct{})}
	ios := &iostreams.IO{In: strings.NewReader(""), Out: stdout, ErrOut: stderr, Env: func(k string) string { return env[k] }}
	go func() {
		defer close(l.exited)
		l.code = Run(ctx, ios, args)
	}()
	t.Cleanup(func() {
		if err := l.stop(20 * time.Second); err != nil {
			t.Errorf("%v; stderr:\n%s", err, soakTail(stderr.String(), 4000))
		}
	})
	return l
}

// stop cancels tmsws's context and waits for Run to return.
func (l *soakListener) stop(within time.Duration) error {
	l.cancel()
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case <-l.exited:
		return nil
	case <-timer.C:
		return fmt.Errorf("tmsws listen did not return within %s of its context ending", within)
	}
}

// soakRecord is what the analysis needs of one JSON record.
type soakRecord struct {
	ts       time.Time
	typ      string
	channel  string
	event    string
	socketID string
	code     int64
	seq      int64 // data.seq of an event; 0 when absent
}

// soakState is a summary kept up to date as records arrive.
type soakState struct {
	subscribed      int   // subscribed records so far
	sinceSubscribed int   // events since the last subscribed record
	lastSeq         int64 // seq of the last event
}

// soakStream is tmsws's stdout: it splits what is written into lines,
// keeps each parsed record, and wakes the waiter.
type soakStream struct {
	mu      sync.Mutex
	partial []byte
	recs    []soakRecord
	state   soakState
	err     error // the first line that is not a record
	changed chan struct{}
}

func newSoakStream() *soakStream {
	return &soakStream{changed: make(chan struct{}, 1)}
}

func (s *soakStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.add(s.partial[:i])
		s.partial = s.partial[i+1:]
	}
	s.partial = append([]byte(nil), s.partial...) // do not pin what was parsed
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *soakStream) add(line []byte) {
	if !gjson.ValidBytes(line) {
		if s.err == nil {
			s.err = fmt.Errorf("stdout line %d is not JSON: %q", len(s.recs)+1, line)
		}
		return
	}
	v := gjson.GetManyBytes(line, "ts", "type", "channel", "event", "socket_id", "code", "data.seq")
	ts, err := time.Parse(time.RFC3339Nano, v[0].String())
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("stdout line %d: ts: %w", len(s.recs)+1, err)
	}
	r := soakRecord{ts: ts, typ: v[1].String(), channel: v[2].String(), event: v[3].String(), socketID: v[4].String(), code: v[5].Int(), seq: v[6].Int()}
	s.recs = append(s.recs, r)
	switch r.typ {
	case "subscribed":
		s.state.subscribed++
		s.state.sinceSubscribed = 0
	case "event":
		s.state.sinceSubscribed++
		s.state.lastSeq = r.seq
	}
}

// wait returns when cond holds, when tmsws exits, or after within.
func (s *soakStream) wait(within time.Duration, l *soakListener, cond func(soakState) bool) error {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		st, err := s.state, s.err
		s.mu.Unlock()
		if err != nil {
			return err
		}
		if cond(st) {
			return nil
		}
		select {
		case <-s.changed:
		case <-l.exited:
			return fmt.Errorf("tmsws listen exited with %d (stream: %+v)", l.code, st)
		case <-deadline.C:
			return fmt.Errorf("not within %s (stream: %+v)", within, st)
		}
	}
}

func (s *soakStream) snapshot() ([]soakRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil && len(s.partial) > 0 {
		return nil, fmt.Errorf("stdout ends in a partial line: %q", s.partial)
	}
	return append([]soakRecord(nil), s.recs...), s.err
}

// soakPublication is one sequence number's HTTP call.
type soakPublication struct {
	start, end time.Time
	ok         bool // Soketi answered {"ok":true}
}

// soakPublisher triggers events with increasing seq through Soketi's signed
// batch_events API, one call at a time so that they stay in order, paced to
// soakRate.
type soakPublisher struct {
	sk      *soketitest.Soketi
	channel string
	client  *http.Client
	stop    chan struct{}
	halt    func() // stops the publisher and waits for it; idempotent

	mu     sync.Mutex
	pubs   []soakPublication // pubs[n-1] is seq n
	begun  time.Time
	ended  time.Time
	lastOk int64
}

func startSoakPublisher(t *testing.T, sk *soketitest.Soketi, channel string) *soakPublisher {
	p := &soakPublisher{
		sk: sk, channel: channel, stop: make(chan struct{}),
		client: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}},
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run()
	}()
	p.halt = sync.OnceFunc(func() {
		close(p.stop)
		<-done
	})
	t.Cleanup(p.halt)
	return p
}

func (p *soakPublisher) run() {
	defer p.client.CloseIdleConnections()
	const tick = 10 * time.Millisecond
	tk := time.NewTicker(tick)
	defer tk.Stop()
	last := time.Now()
	p.mu.Lock()
	p.begun = last
	p.mu.Unlock()
	owed := 0.0
	for {
		select {
		case <-p.stop:
			p.mu.Lock()
			p.ended = time.Now()
			p.mu.Unlock()
			return
		case now := <-tk.C:
			// Catch up after a slow call, but by no more than 50ms of
			// events: a call stalled by a restart is skipped, not made up
			// for with a burst.
			owed = min(owed+now.Sub(last).Seconds()*soakRate, 0.05*soakRate)
			last = now
		}
		for owed >= 1 {
			n := min(int(owed), soakBatch)
			owed -= float64(n)
			p.send(n)
		}
	}
}

// send publishes the next n sequence numbers in one batch_events call.
func (p *soakPublisher) send(n int) {
	p.mu.Lock()
	first := int64(len(p.pubs)) + 1
	p.mu.Unlock()
	type event struct {
		Name    string `json:"name"`
		Channel string `json:"channel"`
		Data    string `json:"data"`
	}
	batch := make([]event, n)
	for i := range batch {
		batch[i] = event{soakEvent, p.channel, `{"seq":` + strconv.FormatInt(first+int64(i), 10) + `}`}
	}
	body, _ := json.Marshal(struct {
		Batch []event `json:"batch"`
	}{batch})
	path := "/apps/" + p.sk.AppID + "/batch_events"
	start := time.Now()
	q := soketitest.SignedQuery(http.MethodPost, path, nil, body, p.sk.Key, p.sk.Secret, start)
	ok := false
	req, err := http.NewRequest(http.MethodPost, p.sk.HTTPURL()+path+"?"+q.Encode(), bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		if resp, err = p.client.Do(req); err == nil {
			raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			// Soketi answers some errors with HTTP 200 and {"error":…}.
			ok = resp.StatusCode == http.StatusOK && gjson.GetBytes(raw, "ok").Bool()
		}
	}
	end := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.pubs = append(p.pubs, soakPublication{start: start, end: end, ok: ok})
	}
	if ok {
		p.lastOk = first + int64(n) - 1
	}
}

func (p *soakPublisher) publications() []soakPublication {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]soakPublication(nil), p.pubs...)
}

func (p *soakPublisher) lastOK() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastOk
}

func (p *soakPublisher) duration() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ended.Sub(p.begun)
}

// soakConn is one connection as the record stream shows it.
type soakConn struct {
	socketID string
	connTS   time.Time
	subIdx   int // stream index of its subscribed record, -1 before
	subTS    time.Time
	discIdx  int // stream index of its disconnected record, -1 before
	discTS   time.Time
}

type soakAnalysis struct {
	recs         []soakRecord
	conns        []*soakConn
	received     []int64 // seq of every event, in stream order
	receivedAt   []int   // stream index of each
	seen         map[int64]bool
	dups         int
	disorder     int
	disorderAt   []string
	disconnects  int
	closed4200   int
	errors4200   int
	reconnecting int
	problems     []string
}

// analyzeSoak walks the record stream as a state machine: connected →
// subscribed → events → disconnected → reconnecting… → connected.
func analyzeSoak(recs []soakRecord, channel string) *soakAnalysis {
	a := &soakAnalysis{recs: recs, seen: map[int64]bool{}}
	problem := func(i int, format string, args ...any) {
		if len(a.problems) < 10 {
			a.problems = append(a.problems, fmt.Sprintf("record %d: ", i)+fmt.Sprintf(format, args...))
		}
	}
	var cur *soakConn
	reconnectingSince := 0
	for i, r := range recs {
		switch r.typ {
		case "connected":
			if cur != nil && cur.discIdx < 0 {
				problem(i, "connected (socket %s) while socket %s never disconnected", r.socketID, cur.socketID)
			}
			if cur != nil && reconnectingSince == 0 {
				problem(i, "connected (socket %s) without a reconnecting record since the disconnect", r.socketID)
			}
			cur = &soakConn{socketID: r.socketID, connTS: r.ts, subIdx: -1, discIdx: -1}
			a.conns = append(a.conns, cur)
			reconnectingSince = 0
		case "subscribed":
			switch {
			case cur == nil || cur.discIdx >= 0:
				problem(i, "subscribed with no connection")
			case r.channel != channel:
				problem(i, "subscribed to %q", r.channel)
			case cur.subIdx >= 0:
				problem(i, "subscribed twice on socket %s", cur.socketID)
			default:
				cur.subIdx, cur.subTS = i, r.ts
			}
		case "event":
			if cur == nil || cur.subIdx < 0 || cur.discIdx >= 0 {
				problem(i, "event %d outside a subscribed connection", r.seq)
			} else if r.socketID != cur.socketID {
				problem(i, "event %d has socket %s, the connection is %s", r.seq, r.socketID, cur.socketID)
			}
			if r.channel != channel || r.event != soakEvent || r.seq <= 0 {
				problem(i, "unexpected event %q on %q (seq %d)", r.event, r.channel, r.seq)
				continue
			}
			if a.seen[r.seq] {
				a.dups++
			}
			a.seen[r.seq] = true
			if k := len(a.received); k > 0 && r.seq <= a.received[k-1] {
				a.disorder++
				if len(a.disorderAt) < 5 {
					a.disorderAt = append(a.disorderAt, fmt.Sprintf("%d after %d (record %d)", r.seq, a.received[k-1], i))
				}
			}
			a.received = append(a.received, r.seq)
			a.receivedAt = append(a.receivedAt, i)
		case "disconnected":
			if cur == nil || cur.discIdx >= 0 {
				problem(i, "disconnected with no connection")
				continue
			}
			if r.socketID != cur.socketID {
				problem(i, "disconnected socket %s, the connection is %s", r.socketID, cur.socketID)
			}
			cur.discIdx, cur.discTS = i, r.ts
			a.disconnects++
			if r.code == 4200 {
				a.closed4200++
			}
		case "reconnecting":
			a.reconnecting++
			reconnectingSince++
			if cur != nil && cur.discIdx < 0 {
				problem(i, "reconnecting while socket %s is connected", cur.socketID)
			}
		case "error":
			// Soketi's graceful shutdown sends pusher:error 4200 ("Server
			// closed. Please reconnect shortly.") before its close frame.
			if r.code == 4200 && cur != nil && cur.discIdx < 0 && r.socketID == cur.socketID {
				a.errors4200++
				continue
			}
			problem(i, "unexpected error record (socket %s, code %d)", r.socketID, r.code)
		case "protocol":
			// pusher:pong and the like
		default:
			problem(i, "unexpected %s record (socket %s, code %d)", r.typ, r.socketID, r.code)
		}
	}
	return a
}

// soakCounts is the fate of the published events.
type soakCounts struct {
	published        int // calls answered {"ok":true}
	unconfirmed      int // received although their call failed: Soketi sent them, then died
	owed             int // published while subscribed
	lostConnected    int // owed and not received
	lostInGaps       int // not owed, not received, within a reconnect window
	notInGap         int // not owed, not received, and no reconnect between its neighbours
	neverPublished   int // received with a seq no call carried
	inMargin         int // spared from owed by soakMargin only
	inMarginReceived int
	lostConnectedAt  []string
	notInGapAt       []string
}

func (a *soakAnalysis) account(pubs []soakPublication, halts []time.Time) soakCounts {
	var n soakCounts
	for i, p := range pubs {
		seq := int64(i + 1)
		got := a.seen[seq]
		if !p.ok {
			if got {
				n.unconfirmed++
			}
			continue
		}
		n.published++
		owed, margin := a.owed(p, halts)
		if owed {
			n.owed++
		}
		if margin {
			n.inMargin++
			if got {
				n.inMarginReceived++
			}
		}
		switch {
		case got:
		case owed:
			n.lostConnected++
			if len(n.lostConnectedAt) < 10 {
				n.lostConnectedAt = append(n.lostConnectedAt, fmt.Sprintf("%d (call %s–%s)", seq, p.start.Format(time.StampMicro), p.end.Format(time.StampMicro)))
			}
		case a.disorder > 0:
			n.lostInGaps++ // (1) has failed; the gap check needs order
		default:
			if err := a.inGap(seq); err != nil {
				n.notInGap++
				if len(n.notInGapAt) < 10 {
					n.notInGapAt = append(n.notInGapAt, err.Error())
				}
			} else {
				n.lostInGaps++
			}
		}
	}
	for seq := range a.seen {
		if seq > int64(len(pubs)) {
			n.neverPublished++
		}
	}
	return n
}

// connEnd is when connection k ended as owed counts it: the earlier of its
// disconnected record and the start of the restart after it; bounded is
// false for a connection still open at the end.
func (a *soakAnalysis) connEnd(k int, halts []time.Time) (end time.Time, bounded bool) {
	cn := a.conns[k]
	end, bounded = cn.discTS, cn.discIdx >= 0
	for _, h := range halts {
		if h.After(cn.connTS) {
			if !bounded || h.Before(end) {
				end, bounded = h, true
			}
			break
		}
	}
	return end, bounded
}

// owed tells whether the event of call p had to reach the listener: the
// call started after the subscribed record of the connection then open and
// returned more than soakMargin before that connection ended. margin
// reports an event spared by the margin alone.
func (a *soakAnalysis) owed(p soakPublication, halts []time.Time) (owed, margin bool) {
	for k := len(a.conns) - 1; k >= 0; k-- {
		cn := a.conns[k]
		if cn.subIdx < 0 || p.start.Before(cn.subTS) {
			continue
		}
		end, bounded := a.connEnd(k, halts)
		switch {
		case !bounded:
			return true, false // the last connection, open to the end
		case p.end.Before(end.Add(-soakMargin)):
			return true, false
		case p.end.Before(end):
			return false, true
		}
		return false, false
	}
	return false, false
}

// inGap checks that a missing event lies between two received ones whose
// records enclose disconnected, reconnecting, connected and subscribed, in
// this order. It needs the events in increasing order.
func (a *soakAnalysis) inGap(seq int64) error {
	j := sort.Search(len(a.received), func(i int) bool { return a.received[i] > seq })
	if j == len(a.received) {
		return fmt.Errorf("%d missing after the last received event", seq)
	}
	from, to := -1, a.receivedAt[j]
	if j > 0 {
		from = a.receivedAt[j-1]
	}
	want := []string{"disconnected", "reconnecting", "connected", "subscribed"}
	for i := from + 1; i < to && len(want) > 0; i++ {
		if a.recs[i].typ == want[0] {
			want = want[1:]
		}
	}
	if len(want) > 0 {
		return fmt.Errorf("%d missing between records %d and %d with no %s between them", seq, from, to, want[0])
	}
	return nil
}

// subscribedFor is the time the listener spent subscribed, each connection
// from its subscribed record to its end as owed counts it; the last one to
// its last event.
func (a *soakAnalysis) subscribedFor(halts []time.Time) time.Duration {
	var d time.Duration
	for k, cn := range a.conns {
		if cn.subIdx < 0 {
			continue
		}
		end, bounded := a.connEnd(k, halts)
		if !bounded {
			if len(a.receivedAt) == 0 {
				continue
			}
			end = a.recs[a.receivedAt[len(a.receivedAt)-1]].ts
		}
		d += end.Sub(cn.subTS)
	}
	return d
}

// slowestReconnect is the longest disconnected → subscribed time, and the
// restart (1-based) it followed.
func (a *soakAnalysis) slowestReconnect() (time.Duration, int) {
	var d time.Duration
	at := 0
	for k := 1; k < len(a.conns); k++ {
		prev, cn := a.conns[k-1], a.conns[k]
		if prev.discIdx < 0 || cn.subIdx < 0 {
			continue
		}
		if gap := cn.subTS.Sub(prev.discTS); gap > d {
			d, at = gap, k
		}
	}
	return d, at
}

func soakTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
