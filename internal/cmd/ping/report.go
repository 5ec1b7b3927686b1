package ping

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// gates are the CI limits: --max-p99 and --max-loss, each only when given.
type gates struct {
	MaxP99  time.Duration
	HasP99  bool
	MaxLoss int
	HasLoss bool
}

// failures are the gates the summary exceeds, one sentence each: the
// figure and the limit. With no probe received p99 is unknown, which
// fails a --max-p99 too.
func (g gates) failures(s summary) []string {
	var out []string
	if g.HasP99 {
		p99, ok := percentile(s.Latencies, 99)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("p99 latency unknown: no probe was received (--max-p99 %s)", g.MaxP99))
		case p99 > g.MaxP99:
			out = append(out, fmt.Sprintf("p99 latency %s is over --max-p99 %s", human(p99), g.MaxP99))
		}
	}
	if g.HasLoss && s.Lost > g.MaxLoss {
		out = append(out, fmt.Sprintf("%d of %d probes lost, over --max-loss %d", s.Lost, s.Sent, g.MaxLoss))
	}
	return out
}

// gateError is the exit-5 error for failures, nil when there are none.
func gateError(failures []string) error {
	if len(failures) == 0 {
		return nil
	}
	return &cmdutil.GateError{Msg: "ping gate exceeded: " + strings.Join(failures, "; ")}
}

// jsonReport is the --json object.
type jsonReport struct {
	Channel    string     `json:"channel"`
	Sent       int        `json:"sent"`
	Received   int        `json:"received"`
	Lost       int        `json:"lost"`
	Duplicated int        `json:"duplicated"`
	OutOfOrder int        `json:"out_of_order"`
	Latency    *latencyMS `json:"latency_ms"`     // null when no probe came
	RTT        *rttMS     `json:"ws_ping_rtt_ms"` // null when no pong came
	OK         bool       `json:"ok"`
	Failures   []string   `json:"failures"`
}

type latencyMS struct {
	Min float64 `json:"min"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type rttMS struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}

func pct(sorted []time.Duration, p int) time.Duration {
	d, _ := percentile(sorted, p)
	return d
}

func writeJSON(w io.Writer, channel string, s summary, failures []string) error {
	r := jsonReport{Channel: channel, Sent: s.Sent, Received: s.Received, Lost: s.Lost,
		Duplicated: s.Duplicated, OutOfOrder: s.OutOfOrder, OK: len(failures) == 0, Failures: failures}
	if r.Failures == nil {
		r.Failures = []string{}
	}
	if l := s.Latencies; len(l) > 0 {
		r.Latency = &latencyMS{Min: millis(l[0]), P50: millis(pct(l, 50)), P90: millis(pct(l, 90)), P99: millis(pct(l, 99)), Max: millis(l[len(l)-1])}
	}
	if t := s.RTTs; len(t) > 0 {
		r.RTT = &rttMS{Min: millis(t[0]), Median: millis(pct(t, 50)), Max: millis(t[len(t)-1])}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode the report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// human is d rounded for reading: 412µs, 3.21ms, 31.2ms, 312ms, 1.23s.
func human(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < 10*time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d < 100*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// unknown stands for a figure with no samples.
const unknown = "-"

// humanAt is sorted[i], or unknown when there are no values.
func humanAt(sorted []time.Duration, i int) string {
	if len(sorted) == 0 {
		return unknown
	}
	return human(sorted[i])
}

func humanPct(sorted []time.Duration, p int) string {
	d, ok := percentile(sorted, p)
	if !ok {
		return unknown
	}
	return human(d)
}

// writeTable is the report for people: the counts, the latency
// percentiles and the WebSocket round trips in aligned columns, and the
// verdict of the gates.
func writeTable(w io.Writer, channel string, s summary, failures []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	row("channel", termsafe.String(channel))
	row("sent", strconv.Itoa(s.Sent))
	row("received", strconv.Itoa(s.Received))
	row("lost", strconv.Itoa(s.Lost))
	row("duplicated", strconv.Itoa(s.Duplicated))
	row("out of order", strconv.Itoa(s.OutOfOrder))
	l, t := s.Latencies, s.RTTs
	row("", "min", "p50", "p90", "p99", "max")
	row("latency", humanAt(l, 0), humanPct(l, 50), humanPct(l, 90), humanPct(l, 99), humanAt(l, len(l)-1))
	row("", "min", "median", "max")
	row("ws ping rtt", humanAt(t, 0), humanPct(t, 50), humanAt(t, len(t)-1))
	if len(failures) == 0 {
		row("result", "ok")
	} else {
		row("result", "failed: "+strings.Join(failures, "; "))
	}
	return tw.Flush()
}

// Histogram shape: at most histBuckets equal-width buckets from the
// fastest to the slowest probe, bars up to histWidth characters.
const (
	histBuckets = 10
	histWidth   = 30
)

// writeHistogram draws the latencies as text bars, one line per bucket;
// nothing when there are none.
func writeHistogram(w io.Writer, sorted []time.Duration) error {
	if len(sorted) == 0 {
		return nil
	}
	lo, hi := sorted[0], sorted[len(sorted)-1]
	n := min(histBuckets, len(sorted))
	width := (hi - lo) / time.Duration(n)
	if width <= 0 {
		n, width = 1, 0
	}
	counts := make([]int, n)
	for _, d := range sorted {
		i := n - 1
		if width > 0 {
			i = min(int((d-lo)/width), n-1)
		}
		counts[i]++
	}
	most := 0
	for _, c := range counts {
		most = max(most, c)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(w, "latency histogram")
	for i, c := range counts {
		from, to := lo+time.Duration(i)*width, lo+time.Duration(i+1)*width
		if i == n-1 {
			to = hi
		}
		bar := 0
		if c > 0 {
			bar = max(1, (c*histWidth+most/2)/most)
		}
		fmt.Fprintf(tw, "  %s\t– %s\t %s %d\n", human(from), human(to), strings.Repeat("█", bar), c)
	}
	return tw.Flush()
}
