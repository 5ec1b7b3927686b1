package doctor

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/amusoft/tmsws/internal/config"
)

// Laravel is what doctor read in the Laravel project's .env, and the
// classic causes of "events never arrive" it found there.
type Laravel struct {
	EnvFile string `json:"env_file"`
	// Broadcaster is BROADCAST_CONNECTION (or BROADCAST_DRIVER); "" when unset.
	Broadcaster string `json:"broadcaster"`
	// Queue is QUEUE_CONNECTION; "" when unset.
	Queue    string    `json:"queue,omitempty"`
	Findings []Finding `json:"findings"`
}

// Finding is one observation about the .env: a warning (a likely cause
// of missing events) or a note.
type Finding struct {
	Warning bool   `json:"warning"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// reachTimeout bounds the TCP check of the backend's address.
const reachTimeout = 2 * time.Second

// checkLaravel reads the .env the settings used; nil when there was none.
func checkLaravel(ctx context.Context, s *config.Settings) *Laravel {
	d := s.DotEnv
	if d == nil {
		return nil
	}
	l := &Laravel{EnvFile: d.Path, Broadcaster: d.Driver}
	get := func(name string) string {
		if v, ok := d.File.Get(name); ok {
			return strings.TrimSpace(v.Value)
		}
		return ""
	}
	warn := func(msg, hint string) {
		l.Findings = append(l.Findings, Finding{Warning: true, Message: msg, Hint: hint})
	}
	note := func(msg string) { l.Findings = append(l.Findings, Finding{Message: msg}) }

	switch d.Driver {
	case "reverb", "pusher":
		note("BROADCAST_CONNECTION=" + d.Driver + ": the app broadcasts to the server")
	case "":
		warn("neither BROADCAST_CONNECTION nor BROADCAST_DRIVER is set: Laravel then uses its default broadcaster (null or log), which sends nothing to the server",
			"set BROADCAST_CONNECTION=reverb (or pusher) in "+d.Path+", then php artisan config:clear")
	default:
		warn("BROADCAST_CONNECTION="+clip(d.Driver)+": the app does not broadcast to a Pusher-protocol server ("+clip(d.Driver)+" sends events elsewhere or nowhere), so they never arrive",
			"set BROADCAST_CONNECTION=reverb (or pusher) in "+d.Path+", then php artisan config:clear")
	}

	l.Queue = strings.ToLower(get("QUEUE_CONNECTION"))
	switch l.Queue {
	case "sync":
		note("QUEUE_CONNECTION=sync: broadcasts are sent during the request, no queue worker needed")
	case "":
	default:
		warn("QUEUE_CONNECTION="+clip(l.Queue)+": a ShouldBroadcast event waits in the queue until a worker runs it; with no worker it never arrives",
			"keep php artisan queue:work running, or use ShouldBroadcastNow for events that must not wait")
	}

	// The backend's address (REVERB_HOST) against the browser's (VITE_).
	prefix := "REVERB_"
	if d.Driver == "pusher" {
		prefix = "PUSHER_"
	}
	bHost, bPort := get(prefix+"HOST"), get(prefix+"PORT")
	vHost, vPort := get("VITE_"+prefix+"HOST"), get("VITE_"+prefix+"PORT")
	if bHost != "" && bPort != "" && (vHost != "" || vPort != "") && (bHost != firstOf(vHost, bHost) || bPort != firstOf(vPort, bPort)) {
		backend := net.JoinHostPort(bHost, bPort)
		browser := net.JoinHostPort(firstOf(vHost, bHost), firstOf(vPort, bPort))
		bOK, vOK := reachable(ctx, backend), reachable(ctx, browser)
		switch {
		case !bOK && vOK:
			note(fmt.Sprintf("%sHOST:%sPORT (%s) does not answer from here while VITE_%sHOST:VITE_%sPORT (%s) does: the first is the backend's address (often a Docker service or an internal name); tmsws connects as the browser does",
				prefix, prefix, clip(backend), prefix, prefix, clip(browser)))
		case !bOK && !vOK:
			warn(fmt.Sprintf("neither %sHOST:%sPORT (%s) nor VITE_%sHOST:VITE_%sPORT (%s) answers from here", prefix, prefix, clip(backend), prefix, prefix, clip(browser)),
				"start the server (php artisan reverb:start), or check the host and port in "+d.Path)
		}
	}
	return l
}

// connectionHint adds to a failed connection step's hint when the
// address came from the .env: which variables to look at.
func connectionHint(s *config.Settings, step, hint string) string {
	if s.DotEnv == nil {
		return hint
	}
	var from []string
	for _, k := range []string{"host", "port", "scheme"} {
		if o := s.Origin(k); strings.HasPrefix(o, ".env ") {
			if i := strings.LastIndexByte(o, '('); i >= 0 {
				from = append(from, strings.TrimSuffix(o[i+1:], ")"))
			}
		}
	}
	if len(from) == 0 {
		return hint
	}
	add := "the " + step + " address comes from " + strings.Join(from, ", ") + " in " + s.DotEnv.Path +
		": check that scheme and port are the ones the server listens with (php artisan reverb:start serves plain ws on 8080 unless TLS is set up)"
	if hint == "" {
		return add
	}
	return hint + "; " + add
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// reachable reports whether a TCP connection to addr opens.
func reachable(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
