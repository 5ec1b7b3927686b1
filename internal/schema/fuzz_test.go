package schema

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amusoft/tmsws/internal/jsonsafe"
)

// FuzzInfer checks the property that matters most: whatever the samples,
// the inferred document compiles, and every sample it came from passes the
// schema of its event. Samples are the lines of the input; the first byte
// of a line picks one of three event names. Run it with
//
//	go test ./internal/schema -run '^$' -fuzz '^FuzzInfer$' -fuzztime 30s
func FuzzInfer(f *testing.F) {
	for _, seed := range []string{
		"a{\"message\":{\"id\":1,\"content\":\"hi\",\"created_at\":\"2026-11-26T09:16:52.300000Z\"}}\nb{\"typing\":true}\na{\"message\":{\"id\":2.5,\"content\":null}}",
		"a1\na1.0\na1e400\na-0\na\"x\"\nanull\na[]\na{}",
		"a\"sent\"\na\"read\"\na\"sent\"\na\"read\"\na\"sent\"\na\"read\"\na\"sent\"\na\"read\"\na\"sent\"\na\"read\"\nanull",
		"c{\"u\":\"0b9e4b1c-3f5a-4f7e-9a51-6f1d2a3b4c5d\"}\nc{\"u\":\"2026-02-30T09:16:52Z\"}\nc{\"t\":\"2026-12-31T23:59:60Z\"}",
		"a[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		"a{\"a\":1,\"a\":\"x\"}\na{\"\":{\"~/\":[{\"x\":1},2,{\"x\":\"y\"}]}}",
		"a123456789012345678901234567890\na1.5e-3\na15e-1\na100e-2",
		"a\"\\u0000\\u001b[31m\"\na{\"\\ud800\":1}",
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in string) {
		type sample struct {
			event string
			data  []byte
		}
		var samples []sample
		inf := NewInferrer()
		for _, line := range strings.Split(in, "\n") {
			if line == "" {
				continue
			}
			ev := []string{"A", `App\Events\B`, "c/~d"}[line[0]%3]
			data := []byte(line[1:])
			inf.Add(ev, data)
			if jsonsafe.Valid(data) == nil {
				samples = append(samples, sample{ev, data})
			}
		}
		doc := inf.Document()
		if !json.Valid(doc) {
			t.Fatalf("the document is not JSON:\n%s", doc)
		}
		if !bytes.Equal(doc, inferAgain(in)) {
			t.Fatalf("the same samples gave another document")
		}
		path := filepath.Join(dir, "s.json")
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		set, err := Load(path)
		if err != nil {
			t.Fatalf("the inferred document does not load: %v\n%s", err, doc)
		}
		for _, s := range samples {
			v, known := set.Check(s.event, s.data)
			if !known {
				t.Fatalf("no schema for %s", s.event)
			}
			if len(v) > 0 {
				t.Fatalf("sample %s breaks the schema inferred from it: %q\n%s", s.data, v, doc)
			}
		}
	})
}

func inferAgain(in string) []byte {
	inf := NewInferrer()
	for _, line := range strings.Split(in, "\n") {
		if line == "" {
			continue
		}
		inf.Add([]string{"A", `App\Events\B`, "c/~d"}[line[0]%3], []byte(line[1:]))
	}
	return inf.Document()
}
