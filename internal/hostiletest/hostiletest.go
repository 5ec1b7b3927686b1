// Package hostiletest is a hostile Pusher server for tests: a WebSocket
// server on loopback that sends whatever a test's script wants, the way an
// attacker's (or a broken) server would: a 600 MB greeting, 10,000,000
// levels of nesting, escape sequences in every field, absurd
// activity_timeouts, frames faster than the client reads. The well-behaved
// in-process server is internal/server; this one follows no rules.
package hostiletest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/record"
)

// Server runs Script once per connection, each in its own goroutine.
type Server struct {
	srv   *httptest.Server
	conns atomic.Int32
}

// Conn is one client connection; N is 1 for the first.
type Conn struct {
	*websocket.Conn
	N int
}

// Start starts a server on a loopback port; it stops when the test ends.
func Start(t testing.TB, script func(c *Conn)) *Server {
	t.Helper()
	s := &Server{}
	up := websocket.Upgrader{}
	// httptest's Close does not wait for hijacked (WebSocket) connections,
	// so the handlers are counted here. A handler counts itself in only
	// while the server is open, under mu: Add never races the cleanup's
	// Wait (a WaitGroup's Add from zero must happen before its Wait).
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		closed bool
	)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if closed {
			mu.Unlock()
			return
		}
		wg.Add(1)
		mu.Unlock()
		defer wg.Done()
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		script(&Conn{Conn: ws, N: int(s.conns.Add(1))})
	}))
	t.Cleanup(func() {
		mu.Lock()
		closed = true
		mu.Unlock()
		s.srv.CloseClientConnections()
		s.srv.Close()
		wg.Wait()
	})
	return s
}

// URL is the WebSocket URL a client connects to.
func (s *Server) URL() string {
	return "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/app/app-key?protocol=7"
}

// Host and Port are the listening address, for --host and --port.
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
	return h
}

// Port is the listening port.
func (s *Server) Port() string {
	_, p, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
	return p
}

// Conns is the number of connections so far.
func (s *Server) Conns() int { return int(s.conns.Load()) }

// Send writes one text frame.
func (c *Conn) Send(frame []byte) error { return c.WriteMessage(websocket.TextMessage, frame) }

// Established greets with socket id "N.1"; extra is raw JSON fields of the
// handshake data, e.g. `"activity_timeout":30`.
func (c *Conn) Established(extra string) error {
	data := `{"socket_id":"` + strconv.Itoa(c.N) + `.1"`
	if extra != "" {
		data += "," + extra
	}
	return c.Send([]byte(`{"event":"pusher:connection_established","data":` + quote(data+"}") + `}`))
}

// ConfirmSubscribe reads until the client subscribes, confirms it and
// returns the channel; "" when the client went away first.
func (c *Conn) ConfirmSubscribe() string {
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return ""
		}
		if ch, ok := c.answer(msg); ok {
			return ch
		}
	}
}

// Serve confirms every subscription and answers pings until the client
// goes away.
func (c *Conn) Serve() {
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		c.answer(msg)
	}
}

func (c *Conn) answer(msg []byte) (channel string, subscribed bool) {
	switch gjson.GetBytes(msg, "event").String() {
	case "pusher:subscribe":
		ch := gjson.GetBytes(msg, "data.channel").String()
		_ = c.Send([]byte(`{"event":"pusher_internal:subscription_succeeded","channel":` + quote(ch) + `,"data":"{}"}`))
		return ch, true
	case "pusher:ping":
		_ = c.Send([]byte(`{"event":"pusher:pong","data":{}}`))
	}
	return "", false
}

// quote is s as a JSON string literal.
func quote(s string) string { return string(record.AppendString(nil, s)) }

// Event is a channel event frame with data sent as a JSON string, as
// servers send them.
func Event(channel, name, data string) []byte {
	return []byte(`{"event":` + quote(name) + `,"channel":` + quote(channel) + `,"data":` + quote(data) + `}`)
}

// ClosedAddr is a loopback address that refuses connections for the whole
// test: its port is bound, so no other test's server can take it, but
// nothing listens on it. (Closing a listener instead frees its port for the
// next server a parallel test starts.)
func ClosedAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}
