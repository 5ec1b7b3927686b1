package auth

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fuzz targets for what a Laravel app (or anything at its URL) answers:
// /broadcasting/auth for Authorize, the login route for Login. A loopback
// httptest server serves the fuzzed status, Content-Type, Location and
// body. Run them with scripts/fuzz, or one of them with
//
//	go test ./internal/auth -run '^$' -fuzz '^FuzzAuthAnswer$' -fuzztime 30s

const (
	fuzzToken    = "7|fuzzS3cr3tT0kenValue" // a Sanctum token
	fuzzJWT      = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI4In0.fuzzSig"
	fuzzPassword = "fuzz-correct-horse-battery"
)

// fuzzAnswer is what the fuzz server answers next.
type fuzzAnswer struct {
	status      int
	contentType string
	location    string
	body        []byte
}

// fuzzServer is a loopback server answering every request with the answer
// last set, and a client of its own whose connections are closed when the
// fuzz target ends.
type fuzzServer struct {
	mu  sync.Mutex
	ans fuzzAnswer

	url    string
	client *http.Client
}

func newFuzzServer(f *testing.F) *fuzzServer {
	fs := &fuzzServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		a := fs.ans
		fs.mu.Unlock()
		if a.contentType != "" {
			w.Header().Set("Content-Type", a.contentType)
		}
		if a.location != "" {
			w.Header().Set("Location", a.location)
		}
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	}))
	tr := &http.Transport{}
	f.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	fs.url = srv.URL
	fs.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	return fs
}

// set makes the server answer with status (brought into 200–599),
// contentType, location and body.
func (fs *fuzzServer) set(status uint16, contentType, location string, body []byte) {
	fs.mu.Lock()
	fs.ans = fuzzAnswer{status: 200 + int(status)%400, contentType: contentType, location: location, body: body}
	fs.mu.Unlock()
}

// fuzzBodies are seed answers: Laravel's own, and hostile ones.
func fuzzBodies() []string {
	const deepGrowsStack = 10_000_000 // overflows a recursive parser's stack
	return []string{
		"",
		"{}",
		`{"auth":"app-key:2f1c4a"}`,
		`{"auth":"app-key:2f1c4a","channel_data":"{\"user_id\":8,\"user_info\":{\"name\":\"Ann\"}}"}`,
		`{"auth":"app-key:2f1c4a","channel_data":{"user_id":8}}`,
		`{"auth":"app-key:2f1c4a","shared_secret":"q2PprNR3iGKB1a0FwPaB4Ab8q7hCfXvc7m2ys5wbyZE="}`,
		`{"token":"1|abc","user":{"id":1}}`,
		`{"data":{"access_token":"3|ghi"},"message":"ok"}`,
		`{"message":"Unauthenticated."}`,
		`{"message":"These credentials do not match our records.","errors":{"email":["These credentials do not match our records."]}}`,
		`{"message":"The given data was invalid.","errors":{"password":["The password for ` + fuzzPassword + ` is wrong."]}}`,
		`{"message":"token ` + fuzzToken + ` expired"}`,
		"{\"message\":\"token \xe2\x80\xae" + fuzzToken + "\xe2\x80\x8b expired\"}",
		"{\"message\":\"" + fuzzPassword + " \u200b\"}",
		`{"message":"\u001b]0;x\u0007\u001b[2J\u009b31m\u202e"}`,
		"{\"message\":\"\x1b]0;x\x07\xc2\x9b\xff\xfe\"}",
		"<!DOCTYPE html><html><body>Login</body></html>",
		`{"auth":1e30,"channel_data":18446744074,"shared_secret":1e400}`,
		`{"auth":"\ud800","channel_data":"\ud800"}`,
		`[1,2]`,
		`{"auth":`,
		`{"auth":"k:s","channel_data":"` + strings.Repeat("[", 10_001) + `"}`,
		`{"auth":"k:s","x":` + strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001) + `}`,
		`{"message":` + strings.Repeat("[", deepGrowsStack) + `}`,
		`{"auth":"k:s","channel_data":"` + strings.Repeat("{", deepGrowsStack) + `"}`,
		`{"auth":"k:s","token":"` + strings.Repeat("x", 3<<20) + `"}`,
	}
}

func FuzzAuthAnswer(f *testing.F) {
	for i, body := range fuzzBodies() {
		if !seedWanted(body) {
			continue
		}
		statuses := []uint16{0, 201, 203, 219, 222, 300} // 200, 401, 403, 419, 422, 500
		if len(body) > 64<<10 {
			statuses = statuses[:2]
		}
		for _, st := range statuses {
			f.Add(st, "application/json", "", []byte(body), uint8(i))
		}
	}
	f.Add(uint16(102), "text/html; charset=UTF-8", "/login", []byte("<html>"), uint8(0))
	f.Add(uint16(102), "", "https://evil.example/login?token="+fuzzToken, []byte(""), uint8(0))
	f.Add(uint16(101), "", "/"+fuzzToken, []byte(""), uint8(0))
	f.Add(uint16(101), "", "/"+fuzzJWT, []byte(""), uint8(4))
	f.Add(uint16(201), "application/json", "", []byte(`{"message":"bad token `+fuzzJWT+`"}`), uint8(4))
	f.Add(uint16(102), "", "%"+fuzzToken, []byte(""), uint8(3))    // a Location the client cannot parse
	f.Add(uint16(177), "", "\x00"+fuzzToken, []byte(""), uint8(0)) // a header line it refuses
	f.Add(uint16(0), "application/json; charset=\x00", "\x1b]0;x\x07", []byte(`{"auth":"k:s"}`), uint8(1))
	fs := newFuzzServer(f)
	channels := []string{"private-chat.42", "presence-chat.42", "private-encrypted-chat.42", "chat"}
	f.Fuzz(func(t *testing.T, status uint16, contentType, location string, body []byte, kind uint8) {
		fs.set(status, contentType, location, body)
		// kind picks the channel (bits 0-1) and the token (bit 2).
		token := []string{fuzzToken, fuzzJWT}[kind>>2&1]
		ep := &Endpoint{HTTP: fs.client, URL: fs.url + "/broadcasting/auth", Token: token}
		channel := channels[int(kind)%len(channels)]
		res, err := ep.Authorize(context.Background(), "123.456", channel)
		if err != nil {
			checkError(t, err, token, true)
			return
		}
		if res.Auth == "" {
			t.Fatal("Authorize succeeded without an auth string")
		}
		if !bytes.Contains(body, []byte(token)) {
			for _, s := range []string{res.Auth, res.ChannelData, res.SharedSecret} {
				if strings.Contains(s, token) {
					t.Fatalf("the bearer token is in the result %+v", res)
				}
			}
		}
		if strings.HasPrefix(channel, PresencePrefix) && res.ChannelData == "" {
			t.Fatalf("a presence channel authorized without channel_data: %+v", res)
		}
		if strings.HasPrefix(channel, EncryptedPrefix) && res.SharedSecret == "" {
			t.Fatalf("an encrypted channel authorized without shared_secret: %+v", res)
		}
	})
}

func FuzzLoginAnswer(f *testing.F) {
	for _, body := range fuzzBodies() {
		if !seedWanted(body) {
			continue
		}
		statuses := []uint16{0, 201, 222, 219, 300} // 200, 401, 422, 419, 500
		if len(body) > 64<<10 {
			statuses = statuses[:2]
		}
		for _, st := range statuses {
			f.Add(st, "application/json", "", []byte(body), "")
		}
	}
	f.Add(uint16(0), "application/json", "", []byte(`{"meta":{"auth":{"bearer":"8|stu"}}}`), "meta.auth.bearer")
	f.Add(uint16(0), "application/json", "", []byte(`{"meta":{"auth":{"bearer":{"v":1}}}}`), "meta.auth.bearer")
	f.Add(uint16(0), "application/json", "", []byte(`{"tokens":[{"value":" 9|vwx "}]}`), "tokens.#.value")
	f.Add(uint16(0), "application/json", "", []byte(`{"a":{"b":1}}`), "a|@reverse|"+strings.Repeat("(", 1000))
	f.Add(uint16(102), "text/html", "/"+fuzzPassword, []byte(""), "")
	f.Add(uint16(0), "application/json", "", []byte(`{"`+fuzzPassword+`":{"x":1}}`), "")
	f.Add(uint16(102), "", "/welcome?%zz", []byte(""), "")
	fs := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, status uint16, contentType, location string, body []byte, tokenPath string) {
		if strings.Contains(tokenPath, fuzzPassword) {
			return // the user typed the password into --token-path
		}
		fs.set(status, contentType, location, body)
		token, err := Login(context.Background(), fs.client, fs.url+"/api/login", nil, "email", "ann@example.com", fuzzPassword, tokenPath)
		if err != nil {
			// A --token-path with a newline is the user's own; stderr
			// escapes it.
			checkError(t, err, fuzzPassword, !strings.ContainsAny(tokenPath, "\r\n"))
			return
		}
		if token == "" || token != strings.TrimSpace(token) {
			t.Fatalf("Login returned the token %q", token)
		}
		if !bytes.Contains(body, []byte(fuzzPassword)) && strings.Contains(token, fuzzPassword) {
			t.Fatalf("the password is in the token %q", token)
		}
	})
}

// checkError fails when err is not an *Error, holds secret anywhere a user
// may see it, or, when oneLine, spans lines.
func checkError(t *testing.T, err error, secret string, oneLine bool) {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("%v (%T): not an *auth.Error", err, err)
	}
	for _, field := range []struct{ name, s string }{
		{"Error()", err.Error()}, {"Hint", ae.Hint}, {"Message", ae.Message}, {"Detail", ae.Detail}, {"URL", ae.URL},
	} {
		if strings.Contains(field.s, secret) {
			t.Fatalf("the secret is in the error's %s: %q", field.name, field.s)
		}
		if oneLine && strings.ContainsAny(field.s, "\r\n") {
			t.Fatalf("the error's %s spans lines: %q", field.name, field.s)
		}
	}
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
