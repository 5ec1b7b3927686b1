package app

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/server"
)

// pingReport is the --json object of tmsws ping, parsed.
func pingReport(t *testing.T, res result) gjson.Result {
	t.Helper()
	out := strings.TrimSpace(res.stdout)
	require.True(t, gjson.Valid(out), "not one JSON object: %q\nstderr:\n%s", res.stdout, res.stderr)
	require.Equal(t, 1, strings.Count(out, "\n")+1, "one line: %q", res.stdout)
	return gjson.Parse(out)
}

// assertPlausible checks the latencies of a clean run: 0 < min ≤ p50 ≤
// p90 ≤ p99 ≤ max, under a few seconds, and a WebSocket round trip.
func assertPlausible(t *testing.T, r gjson.Result) {
	t.Helper()
	l := r.Get("latency_ms")
	minMS, p50, p90, p99, maxMS := l.Get("min").Float(), l.Get("p50").Float(), l.Get("p90").Float(), l.Get("p99").Float(), l.Get("max").Float()
	assert.Greater(t, minMS, 0.0, r.Raw)
	assert.LessOrEqual(t, minMS, p50, r.Raw)
	assert.LessOrEqual(t, p50, p90, r.Raw)
	assert.LessOrEqual(t, p90, p99, r.Raw)
	assert.LessOrEqual(t, p99, maxMS, r.Raw)
	assert.Less(t, maxMS, 3000.0, r.Raw)
	rtt := r.Get("ws_ping_rtt_ms")
	assert.Greater(t, rtt.Get("min").Float(), 0.0, r.Raw)
	assert.LessOrEqual(t, rtt.Get("min").Float(), rtt.Get("median").Float(), r.Raw)
	assert.LessOrEqual(t, rtt.Get("median").Float(), rtt.Get("max").Float(), r.Raw)
	assert.Less(t, rtt.Get("max").Float(), 3000.0, r.Raw)
}

func TestPingEmbeddedServerCleanRun(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	res := apiCLI(t, srv.Addr()).run("ping", "--count", "10", "--rate", "100", "--json", "--max-loss", "0", "--max-p99", "10s")
	require.Equal(t, 0, res.code, res.stderr)
	r := pingReport(t, res)
	assert.True(t, strings.HasPrefix(r.Get("channel").String(), "private-tmsws-ping-"), r.Raw)
	assert.Regexp(t, `^private-tmsws-ping-[0-9a-f]{8}$`, r.Get("channel").String())
	assert.Equal(t, int64(10), r.Get("sent").Int(), r.Raw)
	assert.Equal(t, int64(10), r.Get("received").Int(), r.Raw)
	assert.Equal(t, int64(0), r.Get("lost").Int(), r.Raw)
	assert.Equal(t, int64(0), r.Get("duplicated").Int(), r.Raw)
	assert.Equal(t, int64(0), r.Get("out_of_order").Int(), r.Raw)
	assert.True(t, r.Get("ok").Bool(), r.Raw)
	assert.Equal(t, "[]", r.Get("failures").Raw)
	assertPlausible(t, r)
	assert.Contains(t, res.stderr, "publishing 10 probes at 100 per second")
	assert.NotContains(t, res.stderr, "app-secret", "the secret never shows")
}

func TestPingMaxP99ZeroFailsAfterTheReport(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	res := apiCLI(t, srv.Addr()).run("ping", "--count", "5", "--rate", "100", "--json", "--max-p99", "0s")
	require.Equal(t, ExitTimeout, res.code, res.stderr)
	r := pingReport(t, res)
	assert.False(t, r.Get("ok").Bool(), r.Raw)
	assert.Equal(t, int64(0), r.Get("lost").Int(), r.Raw)
	require.Len(t, r.Get("failures").Array(), 1, r.Raw)
	assert.Regexp(t, `^p99 latency \S+ is over --max-p99 0s$`, r.Get("failures.0").String())
	assert.Regexp(t, `error: ping gate exceeded: p99 latency \S+ is over --max-p99 0s`, res.stderr)
}

func TestPingTableAndHistogram(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	res := apiCLI(t, srv.Addr()).run("ping", "--count", "5", "--rate", "100")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Regexp(t, `(?m)^channel +private-tmsws-ping-[0-9a-f]{8}$`, res.stdout)
	assert.Regexp(t, `(?m)^sent +5$`, res.stdout)
	assert.Regexp(t, `(?m)^received +5$`, res.stdout)
	assert.Regexp(t, `(?m)^lost +0$`, res.stdout)
	assert.Regexp(t, `(?m)^ +min +p50 +p90 +p99 +max$`, res.stdout)
	assert.Regexp(t, `(?m)^latency +\d\S*s +\S+s +\S+s +\S+s +\S+s$`, res.stdout)
	assert.Regexp(t, `(?m)^ws ping rtt +\d\S*s +\S+s +\S+s$`, res.stdout)
	assert.Regexp(t, `(?m)^result +ok$`, res.stdout)
	assert.NotContains(t, res.stdout, "histogram", "no histogram in a pipe")

	c := apiCLI(t, srv.Addr())
	c.outTTY = true
	res = c.run("ping", "--count", "5", "--rate", "100")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "latency histogram\n")
	assert.Contains(t, res.stdout, "█")
}

// probeProxy serves srv's WebSocket and HTTP API on a port of its own, but
// forwards each probe event times(seq) times: 0 drops it (answered 200 as
// if published), 2 publishes it twice.
func probeProxy(t *testing.T, srv *server.Server, times func(seq int64) int) string {
	t.Helper()
	h := srv.Handler()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/events") {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		seq := gjson.Get(gjson.GetBytes(body, "data").String(), "seq").Int()
		n := times(seq)
		if n == 0 {
			_, _ = w.Write([]byte("{}"))
			return
		}
		var last *httptest.ResponseRecorder
		for range n {
			last = httptest.NewRecorder()
			req := r.Clone(r.Context())
			req.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(last, req)
		}
		w.WriteHeader(last.Code)
		_, _ = w.Write(last.Body.Bytes())
	}))
	t.Cleanup(proxy.Close)
	return strings.TrimPrefix(proxy.URL, "http://")
}

func TestPingCountsLostProbes(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	addr := probeProxy(t, srv, func(seq int64) int { return int(seq % 2) }) // every even probe dropped
	res := apiCLI(t, addr).run("ping", "--count", "10", "--rate", "200", "--timeout", "1s", "--json", "--max-loss", "0")
	require.Equal(t, ExitTimeout, res.code, res.stderr)
	r := pingReport(t, res)
	assert.Equal(t, int64(10), r.Get("sent").Int(), r.Raw)
	assert.Equal(t, int64(5), r.Get("received").Int(), r.Raw)
	assert.Equal(t, int64(5), r.Get("lost").Int(), r.Raw)
	assert.Equal(t, int64(0), r.Get("duplicated").Int(), r.Raw)
	assert.Equal(t, `["5 of 10 probes lost, over --max-loss 0"]`, r.Get("failures").Raw)
	assert.Contains(t, res.stderr, "5 of 10 probes not received within --timeout 1s of the last send")
	assert.Contains(t, res.stderr, "error: ping gate exceeded: 5 of 10 probes lost, over --max-loss 0")

	// A looser gate passes the same loss.
	res = apiCLI(t, addr).run("ping", "--count", "10", "--rate", "200", "--timeout", "1s", "--json", "--max-loss", "5")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, int64(5), pingReport(t, res).Get("lost").Int())
}

func TestPingNothingReceivedFailsMaxP99(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	addr := probeProxy(t, srv, func(int64) int { return 0 })
	res := apiCLI(t, addr).run("ping", "--count", "3", "--rate", "200", "--timeout", "200ms", "--json", "--max-p99", "1h")
	require.Equal(t, ExitTimeout, res.code, res.stderr)
	r := pingReport(t, res)
	assert.Equal(t, int64(3), r.Get("lost").Int(), r.Raw)
	assert.Equal(t, "null", r.Get("latency_ms").Raw, r.Raw)
	assert.Equal(t, `["p99 latency unknown: no probe was received (--max-p99 1h0m0s)"]`, r.Get("failures").Raw)
}

func TestPingCountsDuplicates(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	addr := probeProxy(t, srv, func(seq int64) int {
		if seq == 3 {
			return 2
		}
		return 1
	})
	res := apiCLI(t, addr).run("ping", "--count", "6", "--rate", "200", "--json", "--max-loss", "0")
	require.Equal(t, 0, res.code, res.stderr)
	r := pingReport(t, res)
	assert.Equal(t, int64(6), r.Get("received").Int(), r.Raw)
	assert.Equal(t, int64(1), r.Get("duplicated").Int(), r.Raw)
	assert.Equal(t, int64(0), r.Get("lost").Int(), r.Raw)
}

func TestPingIgnoresOtherEventsOnTheChannel(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	// A foreign probe (another run's) and an unrelated event ride along
	// with every probe.
	h := srv.Handler()
	var n atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events") {
			body, _ := io.ReadAll(r.Body)
			ch := gjson.GetBytes(body, "channels.0").String()
			n.Add(1)
			srv.Publish(ch, "tmsws-ping", `{"seq":0,"run":"someone-else","sent_ns":1}`, "")
			srv.Publish(ch, "MessageSent", `{"seq":1}`, "")
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	res := apiCLI(t, strings.TrimPrefix(proxy.URL, "http://")).run("ping", "--count", "4", "--rate", "200", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	r := pingReport(t, res)
	assert.Equal(t, int64(4), n.Load())
	assert.Equal(t, int64(4), r.Get("received").Int(), r.Raw)
	assert.Equal(t, int64(0), r.Get("duplicated").Int(), r.Raw)
	assert.Equal(t, int64(0), r.Get("out_of_order").Int(), r.Raw)
}

func TestPingOutOfOrder(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	// Probe 0 is held back and published only after probe 1.
	h := srv.Handler()
	held := make(chan []byte, 1)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events") {
			body, _ := io.ReadAll(r.Body)
			data := gjson.GetBytes(body, "data").String()
			switch gjson.Get(data, "seq").Int() {
			case 0:
				held <- []byte(data)
				_, _ = w.Write([]byte("{}"))
				return
			case 1:
				r.Body = io.NopCloser(bytes.NewReader(body))
				h.ServeHTTP(w, r)
				srv.Publish(gjson.GetBytes(body, "channels.0").String(), "tmsws-ping", string(<-held), "")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	res := apiCLI(t, strings.TrimPrefix(proxy.URL, "http://")).run("ping", "--count", "3", "--rate", "200", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	r := pingReport(t, res)
	assert.Equal(t, int64(3), r.Get("received").Int(), r.Raw)
	assert.Equal(t, int64(1), r.Get("out_of_order").Int(), r.Raw)
}

func TestPingErrors(t *testing.T) {
	t.Parallel()
	srv := startServer(t)

	t.Run("no app secret", func(t *testing.T) {
		t.Parallel()
		c := newCLI(t).pointAt(srv.Addr())
		c.env["TMSWS_APP_ID"] = "app-id"
		res := c.run("ping")
		assert.Equal(t, ExitUsage, res.code, res.stderr)
		assert.Contains(t, res.stderr, "no app secret given")
		assert.Contains(t, res.stderr, "hint: pass --app-secret")
		assert.Empty(t, res.stdout)
	})
	t.Run("no app id", func(t *testing.T) {
		t.Parallel()
		c := newCLI(t).pointAt(srv.Addr())
		c.env["TMSWS_APP_SECRET"] = "app-secret"
		res := c.run("ping")
		assert.Equal(t, ExitUsage, res.code, res.stderr)
		assert.Contains(t, res.stderr, "no app id given")
	})
	t.Run("HTTP API refuses the signature", func(t *testing.T) {
		t.Parallel()
		// The socket takes the locally signed channel (a server that
		// checks no channel auth), the HTTP API refuses the wrong secret.
		other := startServer(t)
		h := other.Handler()
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				http.Error(w, `{"error":"Invalid signature"}`, http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(proxy.Close)
		res := apiCLI(t, strings.TrimPrefix(proxy.URL, "http://")).run("ping", "--count", "2")
		assert.Equal(t, ExitAuth, res.code, res.stderr)
		assert.Contains(t, res.stderr, "publish probe 0")
		assert.Empty(t, res.stdout)
	})
	t.Run("HTTP API unreachable", func(t *testing.T) {
		t.Parallel()
		other := startServer(t)
		h := other.Handler()
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(proxy.Close)
		res := apiCLI(t, strings.TrimPrefix(proxy.URL, "http://")).run("ping", "--count", "2")
		assert.Equal(t, ExitConnection, res.code, res.stderr)
		assert.Contains(t, res.stderr, "publish probe 0")
	})
	t.Run("nothing listening", func(t *testing.T) {
		t.Parallel()
		res := apiCLI(t, "127.0.0.1:1").run("ping", "--count", "2")
		assert.Equal(t, ExitConnection, res.code, res.stderr)
	})
	t.Run("subscription refused", func(t *testing.T) {
		t.Parallel()
		refusing := startServer(t, func(s *server.Server) {
			s.SetSubscribeFault(func(int, string) *server.SubscribeRefusal { return &server.SubscribeRefusal{} })
		})
		res := apiCLI(t, refusing.Addr()).run("ping", "--count", "2")
		assert.Equal(t, ExitAuth, res.code, res.stderr)
		assert.Empty(t, res.stdout)
	})
	t.Run("bad flags", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{
			{"--count", "0"}, {"--rate", "0"}, {"--rate", "NaN"}, {"--timeout", "0s"}, {"--max-loss", "-1"},
			{"--max-p99", "-1s"}, {"-c", "private-encrypted-x"}, {"extra"},
		} {
			res := apiCLI(t, srv.Addr()).run(append([]string{"ping"}, args...)...)
			assert.Equal(t, ExitUsage, res.code, "%v: %s", args, res.stderr)
		}
	})
}

func TestPingOnAGivenPublicChannel(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	start := time.Now()
	res := apiCLI(t, srv.Addr()).run("ping", "-c", "ping-here", "--count", "3", "--rate", "50", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	r := pingReport(t, res)
	assert.Equal(t, "ping-here", r.Get("channel").String())
	assert.Equal(t, int64(3), r.Get("received").Int(), r.Raw)
	assert.GreaterOrEqual(t, time.Since(start), 40*time.Millisecond, "3 probes at 50/s take at least 40ms")
}
