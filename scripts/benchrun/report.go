package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// A Subject is one thing measured in a section: a listener, a filter, a
// start-up command.
type Subject struct {
	Key     string   `json:"key"`
	Name    string   `json:"name"`
	Command string   `json:"command"`
	Skipped string   `json:"skipped,omitempty"`
	Runs    []Run    `json:"runs"`
	Summary *Summary `json:"summary,omitempty"`
}

// Summary is a subject's figures over its successful runs.
type Summary struct {
	OK               int      `json:"ok"`
	Failed           int      `json:"failed"`
	MedianWall       float64  `json:"median_wall_seconds"`
	MinWall          float64  `json:"min_wall_seconds"`
	MaxWall          float64  `json:"max_wall_seconds"`
	MedianCPU        float64  `json:"median_cpu_seconds"`
	MaxRSSKB         int64    `json:"max_rss_kb"`
	Ratio            *float64 `json:"ratio_to_reference,omitempty"`
	SourceMedianCPU  *float64 `json:"source_median_cpu_seconds,omitempty"`
	SourceMedianRate *float64 `json:"source_median_rate,omitempty"`
}

// A Section is a group of subjects compared with one reference.
type Section struct {
	Key       string     `json:"key"`
	Title     string     `json:"title"`
	Reference string     `json:"reference,omitempty"`
	Subjects  []*Subject `json:"subjects"`
}

// Target is one target of issue 13 and what was measured for it.
type Target struct {
	What     string   `json:"what"`
	Target   string   `json:"target"`
	Measured string   `json:"measured"`
	Value    *float64 `json:"value,omitempty"`
	Met      *bool    `json:"met"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	CPU      string            `json:"cpu"`
	Cores    int               `json:"cores"`
	Kernel   string            `json:"kernel"`
	Versions map[string]string `json:"versions"`
}

// Report is the whole result; --json prints it as one object.
type Report struct {
	LiveEvents    int        `json:"live_events"`
	ReplayRecords int        `json:"replay_records"`
	ReplayBytes   int64      `json:"replay_bytes"`
	BigBytes      int64      `json:"big_recording_bytes,omitempty"`
	Rounds        int        `json:"rounds"`
	Quick         bool       `json:"quick"`
	Sections      []*Section `json:"sections"`
	Targets       []Target   `json:"targets"`
	Machine       Machine    `json:"machine"`
	RSSFloorKB    int64      `json:"rss_floor_kb"`
	Failures      []string   `json:"failures"`
	TotalSeconds  float64    `json:"total_seconds"`
}

// median of xs (the mean of the middle two for an even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// summarize computes a subject's summary over its runs without an error;
// nil when none succeeded.
func summarize(s *Subject) *Summary {
	var walls, cpus, srcCPU, srcRate []float64
	sum := &Summary{}
	for _, r := range s.Runs {
		if r.Error != "" {
			sum.Failed++
			continue
		}
		sum.OK++
		walls = append(walls, r.WallSeconds)
		cpus = append(cpus, r.CPUSeconds)
		sum.MaxRSSKB = max(sum.MaxRSSKB, r.MaxRSSKB)
		if r.Source != nil {
			srcCPU = append(srcCPU, r.Source.streamCPU())
			srcRate = append(srcRate, r.Source.Rate)
		}
	}
	if sum.OK == 0 {
		return nil
	}
	sum.MedianWall = median(walls)
	sum.MinWall = slices.Min(walls)
	sum.MaxWall = slices.Max(walls)
	sum.MedianCPU = median(cpus)
	if len(srcCPU) > 0 {
		c, r := median(srcCPU), median(srcRate)
		sum.SourceMedianCPU, sum.SourceMedianRate = &c, &r
	}
	return sum
}

// finish summarizes every subject and sets the ratio of each to the
// section's reference: the reference's median wall over the subject's (how
// many times faster than the reference it is).
func (sec *Section) finish() {
	for _, s := range sec.Subjects {
		s.Summary = summarize(s)
	}
	ref := sec.subject(sec.Reference)
	if ref == nil || ref.Summary == nil {
		return
	}
	for _, s := range sec.Subjects {
		if s.Summary != nil && s.Summary.MedianWall > 0 {
			r := ref.Summary.MedianWall / s.Summary.MedianWall
			s.Summary.Ratio = &r
		}
	}
}

func (sec *Section) subject(key string) *Subject {
	for _, s := range sec.Subjects {
		if s.Key == key {
			return s
		}
	}
	return nil
}

func (r *Report) section(key string) *Section {
	for _, s := range r.Sections {
		if s.Key == key {
			return s
		}
	}
	return nil
}

// summaryOf is the summary of section/subject, nil when it did not run.
func (r *Report) summaryOf(section, subject string) *Summary {
	sec := r.section(section)
	if sec == nil {
		return nil
	}
	s := sec.subject(subject)
	if s == nil {
		return nil
	}
	return s.Summary
}

// targets checks the figures against issue 13's targets. A target whose
// figures are missing (a subject skipped or failed in every round) is "not
// measured", with Met nil.
func (r *Report) targets() []Target {
	var ts []Target
	// ratio: a target on a / b, at least (atLeast) or at most limit.
	ratio := func(what, target string, a, b *Summary, get func(*Summary) float64, limit float64, atLeast bool, unit string) {
		t := Target{What: what, Target: target, Measured: "not measured"}
		if a != nil && b != nil && get(b) > 0 {
			v := get(a) / get(b)
			met := v <= limit
			if atLeast {
				met = v >= limit
			}
			t.Value, t.Met = &v, &met
			t.Measured = fmt.Sprintf("%.2f%s", v, unit)
		}
		ts = append(ts, t)
	}
	wall := func(s *Summary) float64 { return s.MedianWall }
	cpu := func(s *Summary) float64 { return s.MedianCPU }
	json := r.summaryOf("live", "json")
	pretty := r.summaryOf("live", "pretty")
	pj := r.summaryOf("live", "pusherjs")
	gr := r.summaryOf("live", "goreader")
	ratio("listen --json vs pusher-js, wall", "≥ 6×", pj, json, wall, 6, true, "×")
	ratio("listen --json vs pusher-js, CPU", "≤ 1/6 (pusher-js CPU / ours ≥ 6)", pj, json, cpu, 6, true, "×")
	ratio("listen --json vs minimal Go reader, wall", "≤ 1.2×", json, gr, wall, 1.2, false, "×")
	ratio("listen --pretty --color always vs --json, wall", "≤ 1.4×", pretty, json, wall, 1.4, false, "×")
	rp := r.summaryOf("replay", "tmsws")
	jq := r.summaryOf("replay", "jq")
	grep := r.summaryOf("replay", "grep")
	ratio("replay filtered vs jq, wall", "≥ 20×", jq, rp, wall, 20, true, "×")
	ratio("replay filtered vs grep -F, wall", "≤ 1.2×", rp, grep, wall, 1.2, false, "×")
	limit := func(what, target string, s *Summary, get func(*Summary) float64, lim float64, format func(float64) string) {
		t := Target{What: what, Target: target, Measured: "not measured"}
		if s != nil {
			v := get(s)
			met := v <= lim
			t.Value, t.Met = &v, &met
			t.Measured = format(v)
		}
		ts = append(ts, t)
	}
	rssMB := func(s *Summary) float64 { return float64(s.MaxRSSKB) / 1024 }
	mb := func(v float64) string { return fmt.Sprintf("%.1f MB", v) }
	ms := func(v float64) string { return fmt.Sprintf("%.1f ms", v*1000) }
	limit(fmt.Sprintf("peak RSS, listen --json over %s events", count(r.LiveEvents)), "≤ 20 MB", json, rssMB, 20, mb)
	limit(fmt.Sprintf("peak RSS, listen --pretty over %s events", count(r.LiveEvents)), "≤ 20 MB", pretty, rssMB, 20, mb)
	bigWhat := "peak RSS, replay on a 1 GB recording"
	if r.BigBytes > 0 {
		bigWhat = fmt.Sprintf("peak RSS, replay on a %s recording", bytesText(r.BigBytes))
	}
	limit(bigWhat, "≤ 25 MB", r.summaryOf("big", "tmsws"), rssMB, 25, mb)
	limit("start-up, tmsws --version", "≤ 5 ms", r.summaryOf("startup", "version"), wall, 0.005, ms)
	limit("start-up, subscribe confirmed by a local server", "≤ 20 ms", r.summaryOf("startup", "subscribe"), wall, 0.020, ms)
	return ts
}

// seconds formats a duration given in seconds for the table.
func seconds(s float64) string {
	switch {
	case s < 0.1:
		return fmt.Sprintf("%.1f ms", s*1000)
	case s < 1:
		return fmt.Sprintf("%.0f ms", s*1000)
	default:
		return fmt.Sprintf("%.2f s", s)
	}
}

// span formats min–max in one unit, the one the larger value takes.
func span(lo, hi float64) string {
	switch {
	case hi < 0.1:
		return fmt.Sprintf("%.1f–%.1f ms", lo*1000, hi*1000)
	case hi < 1:
		return fmt.Sprintf("%.0f–%.0f ms", lo*1000, hi*1000)
	default:
		return fmt.Sprintf("%.2f–%.2f s", lo, hi)
	}
}

func rss(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

// count formats n with thousands separators: 100,000.
func count(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func bytesText(n int64) string {
	if n >= 1e9 {
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	}
	return fmt.Sprintf("%.0f MB", float64(n)/1e6)
}

func rate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM ev/s", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.0fk ev/s", r/1e3)
	default:
		return fmt.Sprintf("%.0f ev/s", r)
	}
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

// writeTable writes the report as Markdown.
func (r *Report) writeTable(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	mode := ""
	if r.Quick {
		mode = " (--quick)"
	}
	p("# scripts/bench%s: %d rounds, medians\n", mode, r.Rounds)
	for _, sec := range r.Sections {
		p("\n## %s\n\n", sec.Title)
		live := sec.Key == "live"
		refName := ""
		if ref := sec.subject(sec.Reference); ref != nil {
			refName = ref.Name
		}
		head := "| what | runs ok | median wall | min–max | CPU | peak RSS |"
		rule := "| --- | --- | --- | --- | --- | --- |"
		if refName != "" {
			head += " vs " + cell(refName) + " (wall) |"
			rule += " --- |"
		}
		if live {
			head += " source CPU | source rate |"
			rule += " --- | --- |"
		}
		p("%s\n%s\n", head, rule)
		for _, s := range sec.Subjects {
			name := "`" + cell(s.Name) + "`"
			if s.Skipped != "" {
				p("| %s | skipped: %s |\n", name, cell(s.Skipped))
				continue
			}
			sum := s.Summary
			if sum == nil {
				p("| %s | 0/%d | failed in every round |\n", name, len(s.Runs))
				continue
			}
			p("| %s | %d/%d | %s | %s | %s | %s |", name, sum.OK, sum.OK+sum.Failed,
				seconds(sum.MedianWall), span(sum.MinWall, sum.MaxWall), seconds(sum.MedianCPU), rss(sum.MaxRSSKB))
			if refName != "" {
				switch {
				case s.Key == sec.Reference:
					p(" 1.0× (reference) |")
				case sum.Ratio != nil:
					p(" %.1f× |", *sum.Ratio)
				default:
					p(" n/a |")
				}
			}
			if live {
				if sum.SourceMedianCPU != nil {
					p(" %s | %s |", seconds(*sum.SourceMedianCPU), rate(*sum.SourceMedianRate))
				} else {
					p(" n/a | n/a |")
				}
			}
			p("\n")
		}
		if live {
			p("\nsource CPU and rate: benchsource's own user+sys time while it served the listener (without encoding the events beforehand) and events per second from its first event frame to its last, medians; a source using far less CPU than the run's wall time is not the bottleneck.\n")
		}
	}
	p("\n## Commands\n\n")
	for _, sec := range r.Sections {
		for _, s := range sec.Subjects {
			p("- %s: `%s`\n", s.Name, s.Command)
		}
	}
	p("\n## Targets (issue 13)\n\n| what | target | measured | |\n| --- | --- | --- | --- |\n")
	for _, t := range r.Targets {
		verdict := "not measured"
		if t.Met != nil {
			verdict = "missed"
			if *t.Met {
				verdict = "met"
			}
		}
		p("| %s | %s | %s | %s |\n", cell(t.What), cell(t.Target), cell(t.Measured), verdict)
	}
	p("\n## Machine\n\n- CPU: %s, %d cores\n- kernel: %s\n", r.Machine.CPU, r.Machine.Cores, r.Machine.Kernel)
	names := make([]string, 0, len(r.Machine.Versions))
	for k := range r.Machine.Versions {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		p("- %s: %s\n", k, r.Machine.Versions[k])
	}
	if r.RSSFloorKB > 0 {
		p("- peak RSS floor: %s (what `true` shows: the measuring shim's own size, which Linux counts in a child's peak)\n", rss(r.RSSFloorKB))
	}
	p("\nRecordings: %s records (%s) for the replay rows", count(r.ReplayRecords), bytesText(r.ReplayBytes))
	if r.BigBytes > 0 {
		p(", %s for the memory rows", bytesText(r.BigBytes))
	}
	p("; %s events per live run. Whole run: %.0f s.\n", count(r.LiveEvents), math.Round(r.TotalSeconds))
	if len(r.Failures) > 0 {
		p("\n## Failed runs\n\n")
		for _, f := range r.Failures {
			p("- %s\n", cell(f))
		}
	}
}
