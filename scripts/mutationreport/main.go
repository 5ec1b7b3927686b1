// Command mutationreport turns the JSON results of gremlins (one file per
// package, as scripts/mutation writes them) into the efficacy table and the
// list of mutants that lived or timed out.
//
//	go run ./scripts/mutationreport [-threshold 85] [-list] DIR
//
// DIR holds PKG.json files. Efficacy is killed / (killed + lived), as
// gremlins computes it; timed-out mutants are counted apart (a test run that
// had to be stopped: usually a mutant that loops, which the suite did
// notice) and not-covered ones are mutants no test reaches. The exit status
// is 1 when a package's efficacy is under -threshold, 2 on bad usage.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type result struct {
	Files []struct {
		Name      string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

// row is one package's counts.
type row struct {
	pkg                                      string
	killed, lived, timedOut, notCovered, etc int
	survivors                                []string
}

func (r row) efficacy() (float64, bool) {
	if r.killed+r.lived == 0 {
		return 0, false
	}
	return 100 * float64(r.killed) / float64(r.killed+r.lived), true
}

func main() {
	threshold := flag.Float64("threshold", 85, "lowest efficacy (percent) a package may have")
	list := flag.Bool("list", true, "list the mutants that lived or timed out")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/mutationreport [-threshold 85] [-list=false] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	rows, err := load(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutationreport:", err)
		os.Exit(1)
	}
	if !report(os.Stdout, rows, *threshold, *list) {
		os.Exit(1)
	}
}

func load(dir string) ([]row, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no gremlins results (*.json) in %s", dir)
	}
	sort.Strings(paths)
	var rows []row
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var res result
		if err := json.Unmarshal(b, &res); err != nil {
			return nil, fmt.Errorf("%s: not a gremlins result: %w", p, err)
		}
		r := row{pkg: strings.TrimSuffix(filepath.Base(p), ".json")}
		for _, f := range res.Files {
			for _, m := range f.Mutations {
				where := fmt.Sprintf("%s/%s:%d:%d %s", r.pkg, f.Name, m.Line, m.Column, m.Type)
				switch m.Status {
				case "KILLED":
					r.killed++
				case "LIVED":
					r.lived++
					r.survivors = append(r.survivors, "lived      "+where)
				case "TIMED OUT":
					r.timedOut++
					r.survivors = append(r.survivors, "timed out  "+where)
				case "NOT COVERED":
					r.notCovered++
				default:
					r.etc++
				}
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// report prints the table (and the survivors) and says whether every
// package met the threshold.
func report(w io.Writer, rows []row, threshold float64, list bool) bool {
	ok := true
	fmt.Fprintf(w, "%-10s %7s %6s %9s %11s %9s\n", "package", "killed", "lived", "timed out", "not covered", "efficacy")
	for _, r := range rows {
		e, has := r.efficacy()
		shown := "-"
		if has {
			shown = fmt.Sprintf("%.1f%%", e)
			if e < threshold {
				shown += " <"
				ok = false
			}
		}
		fmt.Fprintf(w, "%-10s %7d %6d %9d %11d %9s\n", r.pkg, r.killed, r.lived, r.timedOut, r.notCovered, shown)
	}
	if list {
		for _, r := range rows {
			for _, s := range r.survivors {
				fmt.Fprintln(w, s)
			}
		}
	}
	if !ok {
		fmt.Fprintf(w, "efficacy under %.0f%% in the packages marked <\n", threshold)
	}
	return ok
}
