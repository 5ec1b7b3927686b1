//go:debug netdns=go

// netdns=go: the unresolvable name in TestFirstConnectionFailuresDoNotRetry
// (noSuchHost) is refused by Go's own resolver without a query leaving the
// machine; the cgo resolver could ask the system's name servers.

package pusher

// The reconnect policy, as README "Reconnection" and cli-contract.md
// "Reconnection" state it:
//
//   - The first connection is made once. Whatever stops it (a TLS
//     certificate the client does not trust, a host name that does not
//     resolve, an HTTP 4xx answer to the upgrade, nothing listening) ends
//     Run at once with a ConnError (exit 4) and the cause's hint: no sleep,
//     no second attempt, no record.
//   - Once a connection has succeeded, every failure is retried (a server
//     being redeployed can show any of them), TLS and HTTP refusals of the
//     upgrade included, with the growing delay; ReconnectAttempts counts
//     failures in a row and the count starts again once a connection is
//     back with every channel subscribed.
//   - 4200–4299 reconnect at once, but a second one in a row on a
//     connection that lasted less than ReconnectDelay backs off, growing.
//
// Close codes (4000–4099 and 4300 up stop, 4100–4199 back off) are in
// client_test.go (TestCloseCodeClassesOnALiveConnection,
// TestHandshakeCodesOnAReconnect) and frame_test.go (TestClassify).

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/hostiletest"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/server"
)

// noSuchHost does not resolve, and is known not to without a query: its
// first label is longer than DNS allows (63 bytes), and Go's resolver
// (netdns=go above) answers "no such host" for it at once.
var noSuchHost = strings.Repeat("x", 64) + ".test"

// Attempt 2's delay: ReconnectDelay (3 s) × 1.5 ± 20%.
const (
	minSecondDelay = 3600 * time.Millisecond
	maxSecondDelay = 5400 * time.Millisecond
)

// tlsServer serves the embedded Pusher server over loopback TLS with
// httptest's self-signed certificate. untrusted, when set, is asked about
// each TLS handshake (1 for the first): true presents another self-signed
// certificate instead, one no client trusts. It returns the server, its
// wss:// URL, and a client TLS config that trusts httptest's certificate.
func tlsServer(t *testing.T, untrusted func(n int) bool) (*server.Server, string, *tls.Config) {
	t.Helper()
	srv := server.New(server.Config{})
	ts := httptest.NewUnstartedServer(srv.Handler())
	// A failed handshake is logged by net/http; the client's view is what
	// is tested.
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	if untrusted != nil {
		other := selfSigned(t)
		var handshakes atomic.Int32
		ts.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			if untrusted(int(handshakes.Add(1))) {
				return &tls.Config{Certificates: []tls.Certificate{other}}, nil
			}
			return nil, nil // the server's own config, httptest's certificate
		}}
	}
	ts.StartTLS()
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return srv, "wss://" + ts.Listener.Addr().String() + "/app/app-key?protocol=7&client=tmsws&version=test", &tls.Config{RootCAs: pool}
}

// selfSigned is a fresh self-signed certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "untrusted"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// statusServer answers every request with status.
func statusServer(t *testing.T, status int) string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, http.StatusText(status), status)
	}))
	t.Cleanup(ts.Close)
	return "ws" + strings.TrimPrefix(ts.URL, "http") + "/app/app-key?protocol=7"
}

// TestFirstConnectionFailuresDoNotRetry: the first connection is made
// once, whatever the cause. Run is given a reconnect budget, so that a
// retry would show as a sleep here instead of as a hang.
func TestFirstConnectionFailuresDoNotRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		url    func(t *testing.T) (string, *tls.Config)
		errHas string // in the error
		hint   string // the hint starts with it
	}{
		{"TLS: a self-signed certificate the client does not trust", func(t *testing.T) (string, *tls.Config) {
			_, url, _ := tlsServer(t, nil)
			return url, nil // the system roots: httptest's certificate is unknown to them
		}, "x509: certificate signed by unknown authority", "TLS failed: trust the server's CA with --cacert FILE"},
		{"TLS: a certificate for another name", func(t *testing.T) (string, *tls.Config) {
			_, url, cfg := tlsServer(t, nil)
			cfg.ServerName = "reverb.example" // httptest's certificate names example.com and loopback
			return url, cfg
		}, "x509: certificate is valid for", "TLS failed: trust the server's CA with --cacert FILE"},
		{"DNS: a host name that does not resolve", func(t *testing.T) (string, *tls.Config) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+noSuchHost+":6001/", nil)
			if p, _ := http.ProxyFromEnvironment(req); p != nil {
				t.Skip("a proxy is configured: the name would be sent to it")
			}
			return "ws://" + noSuchHost + ":6001/app/app-key?protocol=7", nil
		}, "no such host", "the host name " + noSuchHost + " does not resolve: check --host (or --cluster)"},
		{"HTTP 401 on the upgrade", func(t *testing.T) (string, *tls.Config) {
			return statusServer(t, http.StatusUnauthorized), nil
		}, "HTTP 401 Unauthorized on the WebSocket upgrade", "the server or a proxy in front of it refused the upgrade"},
		{"HTTP 403 on the upgrade", func(t *testing.T) (string, *tls.Config) {
			return statusServer(t, http.StatusForbidden), nil
		}, "HTTP 403 Forbidden on the WebSocket upgrade", "the server or a proxy in front of it refused the upgrade"},
		{"HTTP 404 on the upgrade", func(t *testing.T) (string, *tls.Config) {
			return statusServer(t, http.StatusNotFound), nil
		}, "HTTP 404 Not Found on the WebSocket upgrade", "no WebSocket endpoint at this path"},
		{"nothing listening", func(t *testing.T) (string, *tls.Config) {
			return "ws://" + hostiletest.ClosedAddr(t) + "/app/app-key?protocol=7", nil
		}, "connection refused", "nothing accepts connections at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, cfg := tt.url(t)
			sleeps, sink := &sleepLog{}, newSink()
			c := New(Options{URL: url, TLSConfig: cfg, Channels: []string{"chat"}, Sink: sink, ReconnectAttempts: 3})
			c.sleep = sleeps.sleep
			start := time.Now()
			err := c.Run(ctx10(t))
			var ce *ConnError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, ce.Error(), tt.errHas)
			assert.True(t, strings.HasPrefix(ce.Hint, tt.hint), "hint %q", ce.Hint)
			assert.Zero(t, ce.Attempts)
			assert.Empty(t, sleeps.all(), "no second attempt")
			assert.Empty(t, sink.ch, "no record: there was no connection")
			assert.Less(t, time.Since(start), 5*time.Second, "at once, not after a handshake timeout")
		})
	}
}

// TestTrustedTLSConnects is the control of the TLS rows above: the same
// server, its certificate trusted, is connected to and subscribed.
func TestTrustedTLSConnects(t *testing.T) {
	t.Parallel()
	srv, url, cfg := tlsServer(t, nil)
	c := New(Options{URL: url, TLSConfig: cfg, Channels: []string{"chat"}, Sink: newSink()})
	ctx, cancel := context.WithCancel(ctx10(t))
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	require.NoError(t, srv.WaitSubscribed(ctx, "chat", 1))
	cancel()
	assert.ErrorIs(t, receive(t, done, "Run returning after cancel"), context.Canceled)
}

// TestReconnectFailuresAreRetried: once connected, a reconnect refused for
// a reason that would have ended the first connection at once (an
// untrusted certificate, an HTTP 403 from a proxy) is retried after the
// growing delay, and the channels are subscribed again once the server
// is back.
func TestReconnectFailuresAreRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		start  func(t *testing.T) (*server.Server, string, *tls.Config)
		errHas string
	}{
		{"TLS: the second handshake presents an untrusted certificate", func(t *testing.T) (*server.Server, string, *tls.Config) {
			return tlsServer(t, func(n int) bool { return n == 2 })
		}, "x509: certificate signed by unknown authority"},
		{"HTTP 403 on the second upgrade", func(t *testing.T) (*server.Server, string, *tls.Config) {
			srv := server.New(server.Config{})
			var upgrades atomic.Int32
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if upgrades.Add(1) == 2 {
					http.Error(w, "Forbidden", http.StatusForbidden)
					return
				}
				srv.Handler().ServeHTTP(w, r)
			}))
			t.Cleanup(func() {
				srv.Close()
				ts.Close()
			})
			return srv, "ws" + strings.TrimPrefix(ts.URL, "http") + "/app/app-key?protocol=7", nil
		}, "HTTP 403 Forbidden on the WebSocket upgrade"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, url, cfg := tt.start(t)
			sleeps, sink := &sleepLog{}, newSink()
			c := New(Options{URL: url, TLSConfig: cfg, Channels: []string{"chat"}, Sink: sink, ReconnectAttempts: 3})
			c.sleep = sleeps.sleep
			ctx, cancel := context.WithCancel(ctx10(t))
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			c1, err := srv.WaitConn(ctx, 1)
			require.NoError(t, err)
			require.NoError(t, c1.WaitSubscribed(ctx, "chat"))
			c1.Drop()
			rec := sink.next(t, record.TypeReconnecting)
			assert.Equal(t, 1, rec.Attempt, "the drop")
			assert.Equal(t, 3*time.Second, rec.Delay)
			rec = sink.next(t, record.TypeReconnecting)
			assert.Equal(t, 2, rec.Attempt, "the refused reconnect")
			assert.Contains(t, rec.Message, tt.errHas)
			assert.GreaterOrEqual(t, rec.Delay, minSecondDelay)
			assert.LessOrEqual(t, rec.Delay, maxSecondDelay)
			c2, err := srv.WaitConn(ctx, 2) // the server's second WebSocket: the third attempt
			require.NoError(t, err)
			require.NoError(t, c2.WaitSubscribed(ctx, "chat"))
			assert.Equal(t, []time.Duration{3 * time.Second, rec.Delay}, sleeps.all())
			cancel()
			assert.ErrorIs(t, receive(t, done, "Run returning after cancel"), context.Canceled)
		})
	}
}

// TestTheBudgetCountsFailuresInARow: ReconnectAttempts bounds failures in
// a row, not reconnects. More routine restarts than the budget, each
// followed by a connection with every channel subscribed, keep the client
// running; reconnects that connect but never get every channel
// subscribed are failures, and use the budget up.
func TestTheBudgetCountsFailuresInARow(t *testing.T) {
	t.Parallel()
	t.Run("successful reconnects beyond the budget", func(t *testing.T) {
		t.Parallel()
		const budget, restarts = 2, 6
		h := start(t, server.Config{}, Options{Channels: []string{"chat", "private-chat.1"}, ReconnectAttempts: budget})
		ctx := ctx10(t)
		for n := 1; n <= restarts; n++ {
			c, err := h.srv.WaitConn(ctx, n)
			require.NoError(t, err)
			require.NoError(t, c.WaitSubscribed(ctx, "chat"))
			require.NoError(t, c.WaitSubscribed(ctx, "private-chat.1"))
			// The client has every channel once it has read both
			// confirmations, which come before the event.
			h.srv.Publish("chat", "up", `{}`, "")
			require.Equal(t, c.SocketID(), h.sink.next(t, record.TypeEvent).SocketID)
			c.Drop()
			rec := h.sink.next(t, record.TypeReconnecting)
			require.Equal(t, 1, rec.Attempt, "restart %d: the count started again", n)
			require.Equal(t, 3*time.Second, rec.Delay)
		}
		c, err := h.srv.WaitConn(ctx, restarts+1)
		require.NoError(t, err)
		require.NoError(t, c.WaitSubscribed(ctx, "private-chat.1"))
		select {
		case err := <-h.done:
			t.Fatalf("Run ended after %d restarts with a budget of %d: %v", restarts, budget, err)
		default:
		}
		h.cancel()
		assert.ErrorIs(t, h.wait(t), context.Canceled)
	})
	t.Run("reconnects that never get every channel subscribed", func(t *testing.T) {
		t.Parallel()
		const budget = 3
		// Connection 1 confirms both channels and goes away when told;
		// every later one confirms the public channel ("chat", subscribed
		// first, without authorization) and goes away at the private
		// one's subscribe.
		drop := make(chan struct{})
		h := hostiletest.Start(t, func(c *hostiletest.Conn) {
			_ = c.Established(`"activity_timeout":30`)
			c.ConfirmSubscribe()
			if c.N == 1 {
				c.ConfirmSubscribe()
				<-drop
				return
			}
			_, _, _ = c.ReadMessage()
		})
		sleeps, sink := &sleepLog{}, newSink()
		c := New(Options{URL: h.URL(), Channels: []string{"chat", "private-chat.1"}, Sink: sink,
			Authorizer: &auth.Signer{Key: "app-key", Secret: "app-secret"}, ReconnectAttempts: budget})
		c.sleep = sleeps.sleep
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx10(t)) }()
		sink.next(t, record.TypeSubscribed)
		sink.next(t, record.TypeSubscribed)
		close(drop)
		var ce *ConnError
		select {
		case err := <-done:
			require.ErrorAs(t, err, &ce)
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not give up")
		}
		assert.Equal(t, budget, ce.Attempts)
		assert.Len(t, sleeps.all(), budget)
		assert.Equal(t, budget+1, h.Conns(), "the first connection and one per attempt")
	})
}

// TestRepeated4200sBackOff: a 4200–4299 close reconnects at once, but a
// second one in a row on a connection that lasted less than
// ReconnectDelay waits, growing as failures do, though each connection
// came back with every channel subscribed. A connection that outlived
// ReconnectDelay ends the run: its 4200 reconnects at once again.
func TestRepeated4200sBackOff(t *testing.T) {
	t.Parallel()
	var age atomic.Int64 // nanoseconds on the client's clock
	h := startTweaked(t, server.Config{}, Options{Channels: []string{"chat"}, ReconnectAttempts: 2}, func(c *Client) {
		c.rand = func() float64 { return 0.5 } // no jitter
		// A clock that only the test moves: every connection lasts 0 s
		// until it says otherwise.
		c.now = func() time.Time { return time.Unix(1_700_000_000, age.Load()) }
	})
	ctx := ctx10(t)
	// Each closed right after its subscription, with the code of a server
	// shutting down (Soketi) and the one of a missed pong (Reverb).
	codes := []int{4200, 4201, 4200, 4200, 4201}
	for i, code := range codes {
		c, err := h.srv.WaitConn(ctx, i+1)
		require.NoError(t, err)
		require.NoError(t, c.WaitSubscribed(ctx, "chat"))
		h.sink.next(t, record.TypeSubscribed)
		c.Close(code, "Server is closing")
		rec := h.sink.next(t, record.TypeReconnecting)
		require.Equal(t, code, rec.Code)
		require.Equal(t, 1, rec.Attempt, "each connection was subscribed: no failure in a row")
	}
	// The sixth lives longer than ReconnectDelay, then gets a 4200.
	c, err := h.srv.WaitConn(ctx, len(codes)+1)
	require.NoError(t, err)
	require.NoError(t, c.WaitSubscribed(ctx, "chat"))
	h.sink.next(t, record.TypeSubscribed)
	age.Add(int64(3 * time.Second))
	c.Close(4200, "Server is closing")
	rec := h.sink.next(t, record.TypeReconnecting)
	assert.Zero(t, rec.Delay)
	_, err = h.srv.WaitConn(ctx, len(codes)+2)
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{0, 3 * time.Second, 4500 * time.Millisecond, 6750 * time.Millisecond, 10125 * time.Millisecond, 0},
		h.sleeps.all())
	h.cancel()
	assert.ErrorIs(t, h.wait(t), context.Canceled)
}

// TestReconnectDelayRuns: the delays that follow each ending, from the
// policy's state: whether the code asks for a reconnect at once, the
// failures in a row, the quick endings before and how long the connection
// lasted.
func TestReconnectDelayRuns(t *testing.T) {
	t.Parallel()
	c := New(Options{})
	c.rand = func() float64 { return 0.5 }
	tests := []struct {
		name      string
		retryNow  bool
		failures  int
		quick     int
		lived     time.Duration
		delay     time.Duration
		wantQuick int
	}{
		{"a drop", false, 1, 0, time.Minute, 3 * time.Second, 0},
		{"a drop ends a run of 4200s", false, 1, 4, time.Millisecond, 3 * time.Second, 0},
		{"a second drop in a row", false, 2, 0, 0, 4500 * time.Millisecond, 0},
		{"a first 4200", true, 1, 0, time.Millisecond, 0, 1},
		{"a 4200 after a connection that lasted", true, 1, 3, 3 * time.Second, 0, 1},
		{"a second 4200 on a short connection", true, 1, 1, 2999 * time.Millisecond, 3 * time.Second, 2},
		{"a third", true, 1, 2, time.Millisecond, 4500 * time.Millisecond, 3},
		{"a 4200 refusing a reconnect", true, 2, 0, 0, 4500 * time.Millisecond, 0},
		{"a 4200 refusing a reconnect in a run", true, 3, 2, 0, 6750 * time.Millisecond, 2},
	}
	for _, tt := range tests {
		delay, quick := c.reconnectDelay(tt.retryNow, tt.failures, tt.quick, tt.lived)
		assert.Equal(t, tt.delay, delay, tt.name)
		assert.Equal(t, tt.wantQuick, quick, tt.name)
	}
}
