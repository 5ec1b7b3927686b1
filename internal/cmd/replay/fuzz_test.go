package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// Modes of FuzzRecordingLines, bits of its mode argument.
const (
	fuzzOutput    = 3      // 0: JSON, raw path; 1: JSON with --speed; 2: pretty; 3: JSON, raw, --show-protocol
	fuzzFromFile  = 1 << 2 // read a file instead of stdin
	fuzzGzip      = 1 << 3 // gzip the content first
	fuzzShortLine = 1 << 4 // a line limit of 100 bytes (--max-frame 100)
	fuzzFilter    = 1 << 5 // -e '*Sent' --where data
)

// FuzzRecordingLines replays arbitrary recording content, from stdin or a
// file, gzipped or not, through every output path, and checks that nothing
// panics; that every line written is one valid UTF-8 JSON object (pretty
// lines: free of terminal controls), read from the recording in its order;
// that every malformed line is reported as NAME:LINE: reason, escaped, in
// order, and counted in the MalformedError; and that no line encoding/json
// refuses is ever passed over in silence. Run it with scripts/fuzz, or with
//
//	go test ./internal/cmd/replay -run '^$' -fuzz '^FuzzRecordingLines$' -fuzztime 30s
func FuzzRecordingLines(f *testing.F) {
	const deepGrowsStack = 10_000_000 // overflows a recursive parser's stack
	good := `{"ts":"2026-11-26T09:16:54.123Z","type":"event","channel":"private-chat.42","event":"App\\Events\\MessageSent","data":{"message":{"id":7,"content":"hi","user_id":8}},"socket_id":"123.456"}`
	member := `{"ts":"2026-11-26T09:16:55Z","type":"member_added","channel":"presence-chat.42","user_id":9,"data":{"name":"Bob"}}`
	conn := `{"ts":"2026-11-26T09:16:53Z","type":"connected","socket_id":"123.456","message":"wss://ws.example.com/app/key"}`
	seeds := []string{
		"",
		"\n",
		good + "\n" + member + "\n" + conn + "\n",
		good + "\r\n\r\n" + member + "\r\n",
		"\n \n\t\n" + good, // blank lines, no final newline
		good + "\n{\"event\":\"truncated\"\n[1,2]\n\nnot json\n" + `{"ts":"yesterday","event":"C"}` + "\n" + good,
		`{"ts":"2026-11-26T09:16:54Z","event":"a"}` + "\n" + `{"ts":"2026-11-26T09:16:53Z","event":"back in time"}` + "\n" + `{"ts":"9999-12-31T23:59:59Z","event":"far"}` + "\n",
		`{"event":"e","code":1e30}` + "\n" + `{"event":"e","attempt":18446744074}` + "\n" + `{"event":"e","delay":"9999999999h"}` + "\n",
		strings.Repeat("garbage\n", 150) + good + "\n",
		// Nesting in a line and inside data strings.
		`{"event":"e","data":` + strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001) + "}\n" + good + "\n",
		strings.Repeat("[", deepGrowsStack) + "\n" + good + "\n",
		`{"event":"e","data":` + strings.Repeat("[", deepGrowsStack) + "}\n",
		`{"event":"e","data":"` + strings.Repeat("[", deepGrowsStack) + "\"}\n",
		`{"event":"e","data":"` + strings.Repeat("{", 100_000) + "\"}\n",
		// Huge lines, one past the line reader's 1 MiB buffer.
		`{"event":"e","data":{"text":"` + strings.Repeat("x", 3<<20) + "\"}}\n" + good + "\n",
		strings.Repeat("x", 1<<20) + "\r\n" + good,
		// Invalid UTF-8 and terminal controls, escaped and raw.
		"{\"event\":\"e\",\"data\":\"\xff\xfe\"}\n{\"event\":\"\xc3\x28\",\"channel\":\"\xed\xa0\x80\"}\n",
		"{\"ts\":\"\xff\",\"event\":\"e\"}\n\xff\xfe\x00\x01\n",
		`{"event":"\u001b]0;x\u0007\u001b[2J","channel":"\u009b31m","data":{"m":"\u202egnp.exe"}}` + "\n",
		"{\"event\":\"\xc2\x9b31m\",\"data\":\"\xe2\x80\xae\",\"message\":\"\x1b]0;x\x07\"}\n{\"ts\":\"\xc2\x9b31m\",\"event\":\"x\"}\n",
		"\x1b]0;owned\x07\n\x1b[2J\n",
	}
	for _, s := range seeds {
		if seedWanted(s) {
			f.Add([]byte(s), uint8(0))
		}
	}
	for _, mode := range []uint8{1, 2, 3, fuzzFromFile, fuzzGzip, fuzzGzip | fuzzFromFile | 2, fuzzShortLine, fuzzShortLine | 2, fuzzFilter, fuzzFilter | 2} {
		f.Add([]byte(seeds[5]), mode)
		f.Add([]byte(seeds[19]), mode)
	}
	f.Add(append([]byte{0x1f, 0x8b}, "not gzip after all\n"...), uint8(0))
	f.Add(gzipBytes(good + "\n" + good + "\n")[:20], uint8(fuzzFromFile))

	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte, mode uint8) {
		if mode&fuzzGzip != 0 {
			content = gzipBytes(string(content))
		}
		ios, stdin, stdout, stderr := iostreams.Test()
		opts := &Options{SelectFlags: cmdutil.SelectFlags{JSON: true}, IO: ios, Files: []string{"-"}, Location: time.UTC}
		name := "stdin"
		if mode&fuzzFromFile != 0 {
			name = filepath.Join(dir, "rec.jsonl")
			if err := os.WriteFile(name, content, 0o600); err != nil {
				t.Fatal(err)
			}
			opts.Files = []string{name}
		} else {
			stdin.Write(content)
		}
		switch mode & fuzzOutput {
		case 1:
			clock := &fakeClock{now: time.Unix(1_000_000, 0)}
			opts.Speed, opts.Now, opts.Sleep = 1e-9, clock.Now, clock.Sleep
		case 2:
			opts.JSON, opts.Pretty = false, true
		case 3:
			opts.ShowProtocol = true
		}
		maxLine := int64(DefaultMaxLine)
		if mode&fuzzShortLine != 0 {
			maxLine = 100
			opts.MaxLine = maxLine
		}
		if mode&fuzzFilter != 0 {
			opts.Events, opts.Wheres = []string{"*Sent", "e"}, []string{"data"}
		}

		err := runReplay(context.Background(), opts)

		var me *MalformedError
		plain, gzipErr := recordingText(content)
		switch {
		case err == nil, errors.As(err, &me):
		case gzipErr != nil && strings.HasPrefix(err.Error(), "read "+name+": "):
			// A broken gzip stream ends the replay with a read error.
		default:
			t.Fatalf("runReplay: %v (%T)", err, err)
		}
		lines := splitLines(plain)

		// stderr: one report per malformed line, in order, then at most
		// the line saying the rest are not shown.
		report := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `:([0-9]+): (.+)$`)
		reported := map[int]bool{}
		last, reports, capped := 0, 0, false
		for _, l := range splitLines(stderr.Bytes()) {
			if !termsafe.IsSafe(string(l)) {
				t.Fatalf("stderr line not escaped for the terminal: %.300q", l)
			}
			if capped {
				t.Fatalf("stderr goes on after the cap line: %.300q", l)
			}
			if string(l) == "replay: more malformed lines follow; only the first 100 are shown" {
				capped = true
				continue
			}
			m := report.FindSubmatch(l)
			if m == nil {
				t.Fatalf("stderr line is not NAME:LINE: reason: %.300q", l)
			}
			n, _ := strconv.Atoi(string(m[1]))
			if n <= last || n > len(lines) || isBlank(lines[n-1]) {
				t.Fatalf("report of line %d (after line %d, of %d lines; blank: %v): %.300q", n, last, len(lines), n <= len(lines) && isBlank(lines[n-1]), l)
			}
			last, reported[n] = n, true
			reports++
		}
		if capped != (reports == maxReports && me != nil && me.Lines > maxReports) {
			t.Fatalf("%d reports, capped: %v, MalformedError: %v", reports, capped, me)
		}
		if (me == nil) != (reports == 0) || (me != nil && !capped && me.Lines != reports) {
			t.Fatalf("%d malformed lines reported, but the error is %v", reports, err)
		}

		// stdout: the recording's lines, in order, UTF-8 fixed.
		// tmsws ends each line with "\n" alone, so a "\r" before it is the
		// recording line's own (a line ending "\r\r\n" keeps one).
		outLines := splitOutput(stdout.Bytes())
		if len(stdout.Bytes()) > 0 && stdout.Bytes()[stdout.Len()-1] != '\n' {
			t.Fatalf("stdout does not end with a newline: %.300q", stdout.Bytes())
		}
		if opts.Pretty {
			for _, l := range outLines {
				if !termsafe.IsSafe(string(l)) {
					t.Fatalf("pretty line not escaped for the terminal: %.300q", l)
				}
			}
		} else {
			next := 0 // the next recording line an output line may be
			for _, l := range outLines {
				if !utf8.Valid(l) || !json.Valid(l) || !bytes.HasPrefix(bytes.TrimLeft(l, " \t\r"), []byte("{")) {
					t.Fatalf("stdout line is not one valid UTF-8 JSON object: %.300q", l)
				}
				for next < len(lines) && !bytes.Equal(jsonsafe.FixUTF8(lines[next]), l) {
					next++
				}
				if next == len(lines) {
					t.Fatalf("stdout line is not a recording line, or out of order: %.300q", l)
				}
				if int64(len(lines[next])) > maxLine {
					t.Fatalf("line %d of %d bytes came out, over the limit of %d", next+1, len(lines[next]), maxLine)
				}
				if reported[next+1] {
					t.Fatalf("line %d came out and was reported malformed", next+1)
				}
				next++
			}
		}

		// No line encoding/json refuses passes in silence: up to the last
		// report shown (and to the end when none was capped), each is
		// reported. Gzip errors end the replay early: nothing to check.
		if gzipErr != nil {
			return
		}
		end := len(lines)
		if capped {
			end = last
		}
		for i, l := range lines[:end] {
			if isBlank(l) {
				continue
			}
			if v := bytes.Trim(l, " \t\r"); (!json.Valid(v) || v[0] != '{') && !reported[i+1] {
				t.Fatalf("line %d is not a JSON object and was not reported: %.300q", i+1, l)
			}
		}
	})
}

// recordingText is content as replay reads it: gunzipped when it starts
// with gzip's magic bytes. err is the gzip error, if any; the text read
// before it still comes back.
func recordingText(content []byte) ([]byte, error) {
	if !bytes.HasPrefix(content, gzipMagic) {
		return content, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(content))
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(zr, 256<<20))
	return b, err // what came before a gzip error, with it
}

// splitLines splits at "\n" and drops a "\r" before it, as replay does; a
// last line without "\n" is a line.
func splitLines(b []byte) [][]byte {
	if len(b) == 0 {
		return nil
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	lines := bytes.Split(b, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	return lines
}

// splitOutput splits what tmsws wrote into its lines, on "\n" only.
func splitOutput(b []byte) [][]byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

func gzipBytes(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return b.Bytes()
}

// seedWanted reports whether a seed joins the corpus. The seeds over
// 128 KiB (the multi-megabyte ones, 10,000,000 levels of nesting) run in
// go test, once each, but stay out while fuzzing: copying, mutating and
// minimizing them would take most of the engine's time, a few hundred
// executions per second instead of thousands.
func seedWanted(s string) bool {
	if len(s) <= 128<<10 {
		return true
	}
	fl := flag.Lookup("test.fuzz")
	return fl == nil || fl.Value.String() == ""
}
