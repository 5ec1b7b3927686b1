package format

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const rec = `{"ts":"2026-11-26T09:16:54.123456789Z","type":"event","channel":"private-chat.42","event":"App\\Events\\MessageSent","data":{"message":{"id":7,"user_id":8,"content":"hi\nthere","big":12345678901234567890,"ratio":0.5,"tags":["a","b"],"read":null}},"socket_id":"123.456"}`

func format(t *testing.T, f *Formatter, doc string) string {
	t.Helper()
	out, err := f.Append(nil, []byte(doc))
	require.NoError(t, err)
	return string(out)
}

func TestJQOutputsLikeGhJQ(t *testing.T) {
	t.Parallel()
	cases := []struct{ expr, want string }{
		{".event", "App\\Events\\MessageSent\n"},        // strings raw
		{".data.message.id", "7\n"},                     // numbers as JSON
		{".data.message.big", "12345678901234567890\n"}, // large integers keep their digits
		{".data.message.ratio", "0.5\n"},                //
		{".data.message.tags", `["a","b"]` + "\n"},      // compact JSON
		{".data.message.tags[]", "a\nb\n"},              // several results, one line each
		{".data.message.read", "null\n"},                //
		{".data.message.content", "hi\nthere\n"},        // a string's newline is kept off a terminal
		{`select(.event | endswith("Typing"))`, ""},     // nothing
		{`{c: .channel, n: .data.message.id}`, `{"c":"private-chat.42","n":7}` + "\n"},
		{`.data.message | keys`, `["big","content","id","ratio","read","tags","user_id"]` + "\n"},
		{`$ENV | length`, "0\n"}, // no environment: no token can leak through $ENV
		{`env | length`, "0\n"},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			t.Parallel()
			f, err := Compile(c.expr, "", Options{})
			require.NoError(t, err)
			assert.Equal(t, c.want, format(t, f, rec))
		})
	}
}

func TestJQOnATerminalEscapesDocumentText(t *testing.T) {
	t.Parallel()
	f, err := Compile(".data.x", "", Options{Terminal: true})
	require.NoError(t, err)
	assert.Equal(t, "red\\x1b[31m\nline2\\u202e\n", format(t, f, `{"data":{"x":"red\u001b[31m\nline2\u202e"}}`))
	// Off a terminal the bytes are the document's, as jq -r prints them.
	f, err = Compile(".data.x", "", Options{})
	require.NoError(t, err)
	assert.Equal(t, "red\x1b[31m\nline2\u202e\n", format(t, f, `{"data":{"x":"red\u001b[31m\nline2\u202e"}}`))
}

func TestJQErrors(t *testing.T) {
	t.Parallel()
	_, err := Compile(".data | )", "", Options{})
	var fe *Error
	require.True(t, errors.As(err, &fe), "%v", err)
	assert.Equal(t, "--jq", fe.Flag)
	assert.Equal(t, `unexpected token ")" at column 9 of ".data | )"`, fe.Msg)
	assert.Contains(t, fe.Hint, "https://jqlang.org/manual/")

	_, err = Compile("nosuchfunction(1)", "", Options{})
	require.True(t, errors.As(err, &fe), "%v", err)
	assert.Contains(t, fe.Error(), "nosuchfunction")

	// A runtime error is the record's, returned by Append.
	f, err := Compile(".event.x", "", Options{})
	require.NoError(t, err)
	_, err = f.Append(nil, []byte(rec))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--jq: ")
	// halt stops without an error; halt_error is one.
	f, err = Compile(`.event, halt`, "", Options{})
	require.NoError(t, err)
	assert.Equal(t, "App\\Events\\MessageSent\n", format(t, f, rec))
}

func TestCompileOneOrNone(t *testing.T) {
	t.Parallel()
	f, err := Compile("", "", Options{})
	assert.Nil(t, f)
	assert.NoError(t, err)
	_, err = Compile(".", "{{.}}", Options{})
	assert.Error(t, err)
}

func TestTemplate(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Date(2026, 11, 26, 9, 19, 55, 0, time.UTC) }
	cases := []struct{ tpl, want string }{
		{`{{.event}}`, "App\\Events\\MessageSent\n"}, // a newline is added
		{`{{short .event}} {{.data.message.id}}{{"\n"}}`, "MessageSent 7\n"},
		{`{{.data.message.big}}`, "12345678901234567890\n"},
		{`{{timeago .ts}}`, "3 minutes ago\n"},
		{`{{truncate 4 .channel}}`, "pri…\n"},
		{`{{json .data.message.tags}}`, `["a","b"]` + "\n"},
		{`{{join "," .data.message.tags}}`, "a,b\n"},
		{`{{color "red+bold" .event}}`, "App\\Events\\MessageSent\n"}, // colour off
		{`{{if .cached}}cached{{end}}`, ""},                           // nothing printed, no blank line
		{`{{.nosuchfield}}`, "<no value>\n"},
	}
	for _, c := range cases {
		t.Run(c.tpl, func(t *testing.T) {
			t.Parallel()
			f, err := Compile("", c.tpl, Options{Now: now})
			require.NoError(t, err)
			assert.Equal(t, c.want, format(t, f, rec))
		})
	}
}

func TestTemplateColorAndTerminal(t *testing.T) {
	t.Parallel()
	f, err := Compile("", `{{color "red" .data.x}}`, Options{Color: true, Terminal: true})
	require.NoError(t, err)
	// The helper's colour stays; the document's escape sequence does not.
	assert.Equal(t, "\x1b[31mhi\\x1b]0;pwned\\x07\x1b[0m\n", format(t, f, `{"data":{"x":"hi\u001b]0;pwned\u0007"}}`))

	_, err = Compile("", `{{.event`, Options{})
	var fe *Error
	require.True(t, errors.As(err, &fe), "%v", err)
	assert.Equal(t, "--template", fe.Flag)

	f, err = Compile("", `{{color "purple" .event}}`, Options{})
	require.NoError(t, err)
	_, err = f.Append(nil, []byte(rec))
	assert.ErrorContains(t, err, `unknown style "purple"`)
	f, err = Compile("", `{{timeago .event}}`, Options{})
	require.NoError(t, err)
	_, err = f.Append(nil, []byte(rec))
	assert.ErrorContains(t, err, "is not an RFC 3339 time")
}

func TestTimeagoAndTruncate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	for ts, want := range map[string]string{
		"2026-01-02T00:00:00.5Z":    "just now",
		"2026-01-01T23:59:59.5Z":    "just now",
		"2026-01-01T23:59:55Z":      "5 seconds ago",
		"2026-01-01T23:59:00Z":      "1 minute ago",
		"2026-01-01T22:00:00Z":      "2 hours ago",
		"2025-12-29T00:00:00Z":      "4 days ago",
		"2026-01-02T00:00:05Z":      "in 5 seconds",
		"2026-01-02T02:00:00+02:00": "just now",
	} {
		got, err := timeago(now, ts)
		require.NoError(t, err)
		assert.Equal(t, want, got, ts)
	}
	assert.Equal(t, "héllo", truncate(5, "héllo"))
	assert.Equal(t, "hé…", truncate(3, "héllo"))
	assert.Equal(t, "", truncate(0, "héllo"))
}

// The formatter is used from several goroutines by replay.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	f, err := Compile(`.data.message.id`, "", Options{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				out, err := f.Append(nil, []byte(rec))
				if err != nil || string(out) != "7\n" {
					t.Errorf("got %q, %v", out, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// --jq prints what jq -c (and -r for strings) prints, on the same records:
// the same lines, each the same string or the same JSON value (objects
// come out with their keys sorted, as gojq and gh --jq print them; jq keeps
// the input's order), and a runtime error on the same records, where jq
// also reports it and goes on with the next record.
func TestJQMatchesJQ(t *testing.T) {
	t.Parallel()
	jq, err := exec.LookPath("jq")
	if err != nil {
		if os.Getenv("TMSWS_REQUIRE_SOKETI") == "1" {
			t.Fatal("jq is not installed although TMSWS_REQUIRE_SOKETI=1: scripts/test installs it")
		}
		t.Skip("jq is not installed: run scripts/test (it installs it)")
	}
	records, err := os.ReadFile("testdata/records.jsonl")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(records)), "\n")
	for _, expr := range []string{
		`.event`,
		`.data.message.content`,
		`select(.event == "App\\Events\\MessageSent") | .data.message.user_id`,
		`{event, id: .data.message.id}`,
		`.data | keys`,
		`.data.message.tags[]?`,
		`[.channel, .type] | join("/")`,
		`.data.message.id * 2`,
		`.data`,
		`if .type == "member_added" then .user_id else empty end`,
		`.data.user.name // "nobody"`,
		`select(.data.message.user_id? == 8) | .data.message.content`,
	} {
		t.Run(expr, func(t *testing.T) {
			cmd := exec.Command(jq, "-r", "-c", expr)
			cmd.Stdin = bytes.NewReader(records)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			want, _ := cmd.Output() // exit 5 when a record failed
			wantErrors := strings.Count(stderr.String(), "jq: error")

			f, err := Compile(expr, "", Options{})
			require.NoError(t, err)
			var got []byte
			errs := 0
			for _, line := range lines {
				if got, err = f.Append(got, []byte(line)); err != nil {
					errs++
				}
			}
			assert.Equal(t, wantErrors, errs, "records the expression fails on; jq said:\n%s", stderr.String())
			wantLines := strings.Split(string(want), "\n")
			gotLines := strings.Split(string(got), "\n")
			require.Equal(t, len(wantLines), len(gotLines), "jq printed:\n%s\ntmsws printed:\n%s", want, got)
			for i := range wantLines {
				w, g := wantLines[i], gotLines[i]
				if w == g {
					continue
				}
				assert.JSONEq(t, w, g, "line %d", i+1)
			}
		})
	}
}
