// Command goreader is the floor of scripts/bench's live benchmark: the
// least a Go Pusher client can do. It dials, reads connection_established,
// sends a locally signed subscribe to one private channel, then reads
// frames into one reused buffer and counts the events after
// subscription_succeeded, printing nothing. It exits 0 after N events, 1 on
// a failure, 2 after 120 s.
//
//	goreader -host 127.0.0.1 -port 41234 -key bench-key -secret bench-secret -channel private-bench -n 100000
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"
)

// timeout is the whole run's limit: it only ends a run that went wrong
// (a variable for the tests).
var timeout = 120 * time.Second

type options struct {
	host, port, key, secret, channel string
	n                                int
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("goreader", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.host, "host", "127.0.0.1", "WebSocket host")
	fs.StringVar(&o.port, "port", "", "WebSocket port (required)")
	fs.StringVar(&o.key, "key", "bench-key", "app key")
	fs.StringVar(&o.secret, "secret", "bench-secret", "app secret, to sign the subscription")
	fs.StringVar(&o.channel, "channel", "private-bench", "channel to subscribe to")
	fs.IntVar(&o.n, "n", 0, "exit 0 after this many events (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.port == "" || o.n <= 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "goreader: -port and -n (above 0) are required, and nothing else")
		return 2
	}
	if err := read(o); err != nil {
		fmt.Fprintln(stderr, "goreader:", err)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return 2
		}
		return 1
	}
	return 0
}

// read subscribes and counts o.n events.
func read(o options) error {
	deadline := time.Now().Add(timeout)
	u := url.URL{Scheme: "ws", Host: net.JoinHostPort(o.host, o.port), Path: "/app/" + o.key,
		RawQuery: "protocol=7&client=goreader&version=1"}
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, _, err := dialer.Dial(u.String(), nil)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(deadline); err != nil {
		return err
	}

	_, first, err := conn.ReadMessage()
	if err != nil {
		return fmt.Errorf("read connection_established: %w", err)
	}
	if ev := gjson.GetBytes(first, "event").String(); ev != "pusher:connection_established" {
		return fmt.Errorf("the first frame is %q, not pusher:connection_established", ev)
	}
	socketID := gjson.Get(gjson.GetBytes(first, "data").String(), "socket_id").String()
	mac := hmac.New(sha256.New, []byte(o.secret))
	mac.Write([]byte(socketID + ":" + o.channel))
	sub := `{"event":"pusher:subscribe","data":{"auth":` + strconv.Quote(o.key+":"+hex.EncodeToString(mac.Sum(nil))) +
		`,"channel":` + strconv.Quote(o.channel) + `}}`
	if err := conn.WriteMessage(websocket.TextMessage, []byte(sub)); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}

	buf := make([]byte, 0, 4096)
	subscribed := false
	for count := 0; count < o.n; {
		_, r, err := conn.NextReader()
		if err != nil {
			return fmt.Errorf("read after %d events: %w", count, err)
		}
		if buf, err = readAll(r, buf[:0]); err != nil {
			return fmt.Errorf("read after %d events: %w", count, err)
		}
		switch ev := event(buf); {
		case !bytes.HasPrefix(ev, []byte("pusher")):
			if subscribed {
				count++
			}
		case string(ev) == "pusher_internal:subscription_succeeded":
			subscribed = true
		case string(ev) == "pusher:subscription_error", string(ev) == "pusher:error":
			return fmt.Errorf("the server answered %s", buf)
		}
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	return nil
}

// readAll reads r into buf, growing it only when a frame is bigger than
// any before.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

var eventKey = []byte(`"event":"`)

// event is a frame's event name, found by its key: no JSON decoding.
func event(frame []byte) []byte {
	i := bytes.Index(frame, eventKey)
	if i < 0 {
		return nil
	}
	rest := frame[i+len(eventKey):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return nil
}
