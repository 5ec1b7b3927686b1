// Command benchsource is the event source of scripts/bench's live
// benchmark: a loopback Pusher protocol 7 server for one client, which
// streams N Laravel-shaped events on one private channel as fast as the
// socket takes them, then writes its own figures.
//
//	benchsource -n 100000 -stats /tmp/source.json
//	listening 127.0.0.1:41234
//
// It serves the WebSocket at /app/KEY (connection_established, ping/pong,
// subscribe with the channel's signature checked) and POST
// /broadcasting/auth for clients that ask for the signature over HTTP
// (pusher-js). Every frame is encoded before the client connects, so the
// source costs little: the client is what is measured. When that one
// client's connection ends it writes -stats FILE
// ({"sent","send_seconds","rate","cpu_seconds"}) and exits 0; a bad flag
// exits 2, a failure to listen or to write the stats 1.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

type options struct {
	n       int
	addr    string
	key     string
	secret  string
	channel string
	stats   string
}

// usageError is a bad flag: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program: its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "benchsource:", err)
		return 2
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		fmt.Fprintf(stderr, "benchsource: listen on %s: %v\n", opts.addr, err)
		return 1
	}
	src := newSource(opts)
	if _, err := fmt.Fprintf(stdout, "listening %s\n", ln.Addr()); err != nil {
		ln.Close()
		fmt.Fprintln(stderr, "benchsource:", err)
		return 1
	}
	if f, ok := stdout.(interface{ Sync() error }); ok {
		_ = f.Sync() // a pipe cannot sync; the line is written unbuffered anyway
	}
	st, err := src.serve(ctx, ln)
	if err != nil {
		fmt.Fprintln(stderr, "benchsource:", err)
		return 1
	}
	if opts.stats != "" {
		if err := writeStats(opts.stats, st); err != nil {
			fmt.Fprintln(stderr, "benchsource:", err)
			return 1
		}
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("benchsource", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.n, "n", -1, "number of events to stream after the subscription (required; 0: confirm and send nothing)")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "loopback address to listen on")
	fs.StringVar(&o.key, "key", "bench-key", "app key: the WebSocket path is /app/KEY")
	fs.StringVar(&o.secret, "secret", "bench-secret", "app secret the channel signature is made with")
	fs.StringVar(&o.channel, "channel", "private-bench", "the channel events are sent on")
	fs.StringVar(&o.stats, "stats", "", "write the send figures as JSON to this file when the client is gone")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, &usageError{err.Error()} // the flag package printed the usage already
	}
	switch {
	case fs.NArg() > 0:
		return o, &usageError{fmt.Sprintf("unexpected argument %q: every setting is a flag", fs.Arg(0))}
	case o.n < 0:
		return o, &usageError{"-n N is required: the number of events to stream (0 or more)"}
	case o.key == "" || strings.ContainsAny(o.key, "/?#"):
		return o, &usageError{"-key must be a non-empty app key without / ? or #"}
	case o.channel == "":
		return o, &usageError{"-channel must not be empty"}
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return o, &usageError{fmt.Sprintf("-addr %q: %v (want HOST:PORT, e.g. 127.0.0.1:0)", o.addr, err)}
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return o, &usageError{fmt.Sprintf("-addr %q is not a loopback address: use 127.0.0.1 or [::1]", o.addr)}
	}
	return o, nil
}

// stats are the source's own figures, for checking it is not the
// bottleneck.
type stats struct {
	Sent        int     `json:"sent"`
	SendSeconds float64 `json:"send_seconds"` // from the first event frame written to the last
	Rate        float64 `json:"rate"`         // events per second over SendSeconds
	CPUSeconds  float64 `json:"cpu_seconds"`  // user+sys of this process, encoding the events included
	// StreamCPUSeconds is user+sys from the client's connection to its
	// end: what serving it cost, without encoding the events before.
	StreamCPUSeconds float64 `json:"stream_cpu_seconds"`
}

func writeStats(path string, st stats) error {
	if st.SendSeconds > 0 {
		st.Rate = float64(st.Sent) / st.SendSeconds
	}
	st.CPUSeconds = cpuSeconds()
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the stats: %w", err)
	}
	return nil
}

// cpuSeconds is this process's user+sys time so far (0 if unknown: Linux
// always knows).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// source serves one client.
type source struct {
	opts     options
	private  bool
	socketID string // the one client's
	events   stream

	established []byte // pusher:connection_established, framed
	succeeded   []byte // pusher_internal:subscription_succeeded, framed
	pong        []byte // pusher:pong, framed

	claimed atomic.Bool // a WebSocket client has connected
	done    chan stats  // that client's connection ended
}

func newSource(opts options) *source {
	s := &source{
		opts:    opts,
		private: strings.HasPrefix(opts.channel, "private-"),
		events:  encodeStream(opts.n, opts.channel),
		done:    make(chan stats, 1),
	}
	s.socketID = fmt.Sprintf("%d.%d", 100000+os.Getpid(), time.Now().UnixNano()%1_000_000_000)
	est, _ := json.Marshal(map[string]any{"socket_id": s.socketID, "activity_timeout": 120})
	s.established = appendFrame(nil, opText, serverMessage("pusher:connection_established", "", string(est)))
	s.succeeded = appendFrame(nil, opText, serverMessage("pusher_internal:subscription_succeeded", opts.channel, "{}"))
	s.pong = appendFrame(nil, opText, []byte(`{"event":"pusher:pong","data":{}}`))
	return s
}

// serverMessage is a Pusher message with data as a JSON string.
func serverMessage(event, channel, data string) []byte {
	m := map[string]string{"event": event, "data": data}
	if channel != "" {
		m["channel"] = channel
	}
	b, _ := json.Marshal(m)
	return b
}

// serve answers HTTP on ln until the first WebSocket client's connection
// ends (or ctx is done), and returns that client's figures.
func (s *source) serve(ctx context.Context, ln net.Listener) (stats, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /app/{key}", s.handleWebSocket)
	mux.HandleFunc("POST /broadcasting/auth", s.handleAuth)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var st stats
	var err error
	select {
	case st = <-s.done:
	case <-ctx.Done():
		err = fmt.Errorf("stopped before the client was done: %w", ctx.Err())
	}
	srv.Close()
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serve: %w", serr)
	}
	return st, err
}

func (s *source) sign(socketID string) string {
	mac := hmac.New(sha256.New, []byte(s.opts.secret))
	mac.Write([]byte(socketID + ":" + s.opts.channel))
	return s.opts.key + ":" + hex.EncodeToString(mac.Sum(nil))
}

var socketIDPattern = regexp.MustCompile(`\A\d+\.\d+\z`)

// handleAuth is the Laravel /broadcasting/auth endpoint pusher-js calls.
func (s *source) handleAuth(w http.ResponseWriter, r *http.Request) {
	socketID, channel := r.PostFormValue("socket_id"), r.PostFormValue("channel_name")
	if !socketIDPattern.MatchString(socketID) || channel != s.opts.channel || !s.private {
		http.Error(w, `{"message":"this source signs only `+s.opts.channel+`"}`, http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(map[string]string{"auth": s.sign(socketID)})
	_, _ = w.Write(b)
}

var upgrader = websocket.Upgrader{
	CheckOrigin: func(*http.Request) bool { return true }, // loopback only; Node clients send no Origin
}

func (s *source) handleWebSocket(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("key") != s.opts.key {
		http.Error(w, "no app with this key here", http.StatusNotFound)
		return
	}
	if !s.claimed.CompareAndSwap(false, true) {
		http.Error(w, "this source serves one client per run", http.StatusConflict)
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.claimed.Store(false) // the upgrade answered the error; the next client may try
		return
	}
	s.done <- s.session(r.Context(), conn)
}

// frameWriter is the one place frames are written: straight to the TCP
// connection, whole frames at a time, so the pre-encoded stream needs no
// copy and control replies never land inside an event frame.
type frameWriter struct {
	mu   sync.Mutex
	conn net.Conn
}

func (w *frameWriter) write(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.conn.Write(b)
	return err
}

// subscribeMessage is the part of a client's pusher:subscribe the source
// reads.
type subscribeMessage struct {
	Event string `json:"event"`
	Data  struct {
		Channel string `json:"channel"`
		Auth    string `json:"auth"`
	} `json:"data"`
}

// session speaks Pusher with one client until its connection ends.
func (s *source) session(ctx context.Context, conn *websocket.Conn) stats {
	cpuBefore := cpuSeconds()
	nc := conn.NetConn()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	w := &frameWriter{conn: nc}
	conn.SetReadLimit(64 << 10)
	conn.SetPingHandler(func(data string) error {
		return w.write(appendFrame(nil, opPong, []byte(data)))
	})
	conn.SetCloseHandler(func(code int, _ string) error {
		if code == websocket.CloseNoStatusReceived {
			return w.write(appendFrame(nil, opClose, nil))
		}
		return w.write(appendFrame(nil, opClose, websocket.FormatCloseMessage(code, "")))
	})

	var (
		st        stats
		streaming chan struct{} // closed when the stream is written
	)
	if err := w.write(s.established); err == nil {
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				break
			}
			var m subscribeMessage
			if json.Unmarshal(msg, &m) != nil {
				continue // not a Pusher message: Pusher servers ignore it too
			}
			switch m.Event {
			case "pusher:ping":
				err = w.write(s.pong)
			case "pusher:subscribe":
				if why := s.refuse(m.Data.Channel, m.Data.Auth); why != "" {
					err = w.write(subscriptionError(m.Data.Channel, why))
					break
				}
				err = w.write(s.succeeded)
				if err == nil && streaming == nil {
					streaming = make(chan struct{})
					go func() {
						defer close(streaming)
						st = s.stream(w)
					}()
				}
			}
			if err != nil {
				break
			}
		}
	}
	nc.Close()
	if streaming != nil {
		<-streaming
	}
	st.StreamCPUSeconds = cpuSeconds() - cpuBefore
	return st
}

// refuse says why a subscription is refused, or "".
func (s *source) refuse(channel, auth string) string {
	switch {
	case channel != s.opts.channel:
		return "this source serves only " + s.opts.channel
	case s.private && !hmac.Equal([]byte(auth), []byte(s.sign(s.socketID))):
		return "The connection is unauthorized."
	}
	return ""
}

// subscriptionError is Soketi's wire-level pusher:subscription_error.
func subscriptionError(channel, why string) []byte {
	b, _ := json.Marshal(map[string]any{
		"event":   "pusher:subscription_error",
		"channel": channel,
		"data":    map[string]any{"type": "AuthError", "error": why, "status": 401},
	})
	return appendFrame(nil, opText, b)
}

// stream writes every event frame, a chunk at a time, until all are
// written or the connection fails.
func (s *source) stream(w *frameWriter) stats {
	var st stats
	if len(s.events.chunks) == 0 {
		return st
	}
	start, last := time.Now(), time.Now()
	from := 0
	for c, end := range s.events.chunks {
		if w.write(s.events.wire[from:end]) != nil {
			break
		}
		last = time.Now()
		st.Sent += s.events.frames(c, s.opts.n)
		from = end
	}
	st.SendSeconds = last.Sub(start).Seconds()
	return st
}
