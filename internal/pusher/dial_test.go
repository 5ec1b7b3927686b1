package pusher

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/hostiletest"
)

// firstRunHandshake is the handshake timeout of firstRun: long, so that on
// a loaded machine what ends a dial is the behaviour under test (a refusal,
// the scheme probe after probeAfter), never the timeout.
const firstRunHandshake = 20 * time.Second

// firstRun runs a Client with one public channel against url and returns
// Run's ConnError and how long it took.
func firstRun(t *testing.T, url string) (*ConnError, time.Duration) {
	t.Helper()
	sleeps := &sleepLog{}
	c := New(Options{URL: url, Channels: []string{"chat"}, Sink: newSink(), HandshakeTimeout: firstRunHandshake, ReconnectAttempts: 3})
	c.sleep = sleeps.sleep
	ctx, cancel := context.WithTimeout(context.Background(), 3*firstRunHandshake)
	t.Cleanup(cancel)
	start := time.Now()
	err := c.Run(ctx)
	took := time.Since(start)
	var ce *ConnError
	require.ErrorAs(t, err, &ce)
	assert.Empty(t, sleeps.all(), "the first connection is not retried")
	return ce, took
}

// plainServer is a plain-HTTP server that, like Reverb and Soketi, waits
// for the end of a request's headers before it answers: a TLS ClientHello
// never ends them, so the TLS handshake gets silence. conns counts the
// connections it accepted.
func plainServer(t *testing.T) (addr string, conns *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	conns = &atomic.Int32{}
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		var open []net.Conn
		defer func() {
			for _, c := range open {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			open = append(open, c)
			go func() {
				var req []byte
				buf := make([]byte, 4096)
				for !bytes.Contains(req, []byte("\r\n\r\n")) {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					req = append(req, buf[:n]...)
				}
				_, _ = c.Write([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
				c.Close()
			}()
		}
	}()
	return ln.Addr().String(), conns
}

// TestTLSToAPlainServerSaysCheckScheme: --scheme https against a plain
// server is reported as that within about a second, whether the server
// answers the ClientHello with an HTTP error (Go) or with silence (Reverb,
// Soketi: the probe finds out).
func TestTLSToAPlainServerSaysCheckScheme(t *testing.T) {
	t.Parallel()
	t.Run("server answers the ClientHello in HTTP", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		addr := srv.Listener.Addr().String()
		ce, took := firstRun(t, "wss://"+addr+"/app/app-key?protocol=7")
		// Go answers 400 as soon as the ClientHello holds a newline; in
		// the rare one without, it waits, and the probe tells.
		assert.Contains(t, []string{
			"the server at " + addr + " answered in plain HTTP, not TLS: check --scheme (--scheme http for a ws:// server)",
			"the server at " + addr + " does not speak TLS: check --scheme (--scheme http for a ws:// server)",
		}, ce.Hint)
		t.Logf("wss:// to a plain Go server: %s, %v", took, ce)
	})
	t.Run("server silent on the ClientHello", func(t *testing.T) {
		t.Parallel()
		addr, conns := plainServer(t)
		ce, took := firstRun(t, "wss://"+addr+"/app/app-key?protocol=7")
		assert.Equal(t, "no TLS handshake, but the server answers plain HTTP", ce.Reason)
		assert.Equal(t, "the server at "+addr+" does not speak TLS: check --scheme (--scheme http for a ws:// server)", ce.Hint)
		assert.Equal(t, int32(2), conns.Load(), "one attempt and one plain-HTTP probe")
		assert.Less(t, took, firstRunHandshake, "the probe ends the dial before the handshake timeout")
		t.Logf("wss:// to a silent plain server: %s (probe after %s), %v", took, probeAfter, ce)
	})
}

// TestPlainToATLSServerSaysUseHTTPS: --scheme http against a TLS port.
func TestPlainToATLSServerSaysUseHTTPS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // "client sent an HTTP request to an HTTPS server"
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	ce, _ := firstRun(t, "ws://"+addr+"/app/app-key?protocol=7")
	assert.Contains(t, ce.Reason, "HTTP 400")
	assert.Equal(t, "the server at "+addr+" expects TLS: use --scheme https", ce.Hint)
}

func TestClosedPortSaysNothingListens(t *testing.T) {
	t.Parallel()
	addr := hostiletest.ClosedAddr(t)
	ce, took := firstRun(t, "ws://"+addr+"/app/app-key?protocol=7")
	assert.ErrorIs(t, ce, syscall.ECONNREFUSED)
	assert.Equal(t, "nothing accepts connections at "+addr+": is the server running? check --host and --port", ce.Hint)
	t.Logf("closed port: %s, %v", took, ce)
}

// TestDialErrorHints: the causes that need a network to produce.
func TestDialErrorHints(t *testing.T) {
	t.Parallel()
	c := New(Options{URL: "wss://reverb.example:8080/app/k?protocol=7", HandshakeTimeout: 10 * time.Second})
	opErr := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	tests := []struct {
		name string
		err  error
		hint string
	}{
		{"unknown host", opErr(&net.DNSError{Err: "no such host", Name: "reverb.example", IsNotFound: true}),
			"the host name reverb.example does not resolve: check --host (or --cluster)"},
		{"DNS down", opErr(&net.DNSError{Err: "server misbehaving", Name: "reverb.example", IsTemporary: true}),
			"looking up reverb.example failed: check the network and --host"},
		{"silence", context.DeadlineExceeded,
			"no answer from reverb.example:8080 within the handshake timeout (10s): check --host, --port and --scheme, and any firewall on the way"},
		{"not TLS", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake", RecordHeader: [5]byte{0x15, 0, 0, 0, 0}},
			"the server at reverb.example:8080 does not speak TLS: check --scheme and --port"},
		{"certificate", errors.New("tls: failed to verify certificate: x509: certificate signed by unknown authority"),
			"TLS failed: trust the server's CA with --cacert FILE"},
	}
	for _, tt := range tests {
		var ce *ConnError
		require.ErrorAs(t, c.dialError(tt.err, nil), &ce)
		assert.True(t, strings.HasPrefix(ce.Hint, tt.hint), "%s: %q", tt.name, ce.Hint)
	}
	plain := New(Options{URL: "ws://127.0.0.1:6001/app/k"})
	var ce *ConnError
	require.ErrorAs(t, plain.dialError(errors.New(`malformed HTTP response "\x15\x03\x01\x00\x02\x02P"`), nil), &ce)
	assert.Equal(t, "the server at 127.0.0.1:6001 answered in TLS: use --scheme https", ce.Hint)
	require.ErrorAs(t, plain.dialError(opErr(syscall.ECONNRESET), nil), &ce)
	assert.Contains(t, ce.Hint, "if it speaks TLS, use --scheme https")
	assert.Equal(t, "example.test:443", New(Options{URL: "wss://example.test/app/k"}).hostPort())
}

// TestProbeTellsPlainFromTLSPorts: a TLS port answers a plain request too,
// with a 400 that asks for TLS; that is not a plain server.
func TestProbeTellsPlainFromTLSPorts(t *testing.T) {
	t.Parallel()
	answer := func(t *testing.T, reply string) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { ln.Close() })
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf := make([]byte, 1024)
			_, _ = c.Read(buf)
			_, _ = c.Write([]byte(reply))
		}()
		return ln.Addr().String()
	}
	ctx := ctx10(t)
	assert.True(t, speaksPlainHTTP(ctx, answer(t, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")))
	assert.False(t, speaksPlainHTTP(ctx, answer(t, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")))
	assert.False(t, speaksPlainHTTP(ctx, answer(t, "HTTP/1.1 400 Bad Request\r\n\r\n<center>The plain HTTP request was sent to HTTPS port</center>")))
	assert.False(t, speaksPlainHTTP(ctx, answer(t, "\x15\x03\x01\x00\x02\x02\x50")))
}
