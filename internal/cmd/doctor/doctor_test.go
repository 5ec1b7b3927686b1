package doctor

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/cmdutil/cmdtest"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/server"
)

// fakeResolver answers from a map and records what it was asked; it never
// asks a DNS server.
type fakeResolver struct {
	mu    sync.Mutex
	hosts map[string][]string
	asked []string
}

func (r *fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, host)
	if a, ok := r.hosts[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func settings(host string, port int, scheme string) *config.Settings {
	return &config.Settings{Profile: "default", Host: host, Port: port, Scheme: scheme, Key: "app-key",
		Header: http.Header{}, HTTPTimeout: 5 * time.Second, Color: "never"}
}

// diagnose runs doctor twice, for the JSON report and for the text one.
func diagnose(t *testing.T, s *config.Settings, r Resolver, channel string) (*Report, error, string) {
	t.Helper()
	io, _, out, _ := iostreams.Test()
	opts := &Options{IO: io, Settings: s, Version: "test", SelectFlags: cmdutil.SelectFlags{Channel: channel, JSON: true}, Timeout: 5 * time.Second, Resolver: r}
	err := Run(context.Background(), opts)
	var rep Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())
	out.Reset()
	opts.JSON = false
	err2 := Run(context.Background(), opts)
	assert.Equal(t, err == nil, err2 == nil)
	return &rep, err, out.String()
}

func states(rep *Report) []string {
	var out []string
	for _, s := range rep.Steps {
		st := "ok"
		switch {
		case s.Skipped && s.OK:
			st = "n/a"
		case s.Skipped:
			st = "skip"
		case !s.OK:
			st = "FAIL"
		}
		out = append(out, s.Name+":"+st)
	}
	return out
}

func TestDNSFailureNeverLeavesTheMachine(t *testing.T) {
	t.Parallel()
	r := &fakeResolver{}
	rep, err, text := diagnose(t, settings("tms.invalid", 443, "https"), r, "private-chat.42")
	var ce *pusher.ConnError
	require.ErrorAs(t, err, &ce, "a DNS failure is a connection failure: exit 4")
	assert.Equal(t, []string{"tms.invalid", "tms.invalid"}, r.asked, "each run asked the injected resolver once")
	assert.Equal(t, "dns", rep.Failed)
	assert.Equal(t, []string{"dns:FAIL", "tcp:skip", "tls:skip", "upgrade:skip", "handshake:skip", "token:skip", "authorization:skip", "subscription:skip"}, states(rep))
	assert.Contains(t, rep.Steps[0].Detail, "cannot resolve tms.invalid")
	assert.Contains(t, rep.Steps[0].Hint, "does not exist in DNS: check --host")
	assert.Nil(t, rep.Server, "no server was reached")
	assert.Contains(t, text, "FAIL  dns")
	assert.Contains(t, text, "skip  tcp")
	assert.Contains(t, text, "not run: the dns step failed")
}

// tlsServer is the in-process Pusher server behind httptest's TLS, with its
// CA written to a file.
func tlsServer(t *testing.T) (port int, caFile string) {
	t.Helper()
	srv := server.New(server.Config{})
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644))
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "https://"))
	port, _ = strconv.Atoi(p)
	return port, caFile
}

func TestResolvedHostThroughTLS(t *testing.T) {
	t.Parallel()
	port, ca := tlsServer(t)
	r := &fakeResolver{hosts: map[string][]string{"example.com": {"127.0.0.1"}, "tms.test": {"127.0.0.1"}}}

	s := settings("example.com", port, "https")
	s.CACert = ca
	s.AppSecret, s.SignLocally = "app-secret", true
	rep, err, _ := diagnose(t, s, r, "private-chat.42")
	require.NoError(t, err)
	assert.Equal(t, []string{"dns:ok", "tcp:ok", "tls:ok", "upgrade:ok", "handshake:ok", "token:n/a", "authorization:ok", "subscription:ok"}, states(rep))
	assert.Equal(t, "example.com → 127.0.0.1", rep.Steps[0].Detail)
	assert.Equal(t, "connected to 127.0.0.1:"+strconv.Itoa(port), rep.Steps[1].Detail)

	// The certificate names example.com, not tms.test.
	s = settings("tms.test", port, "https")
	s.CACert = ca
	rep, err, _ = diagnose(t, s, r, "")
	var ce *pusher.ConnError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "tls", rep.Failed)
	assert.Contains(t, rep.Steps[2].Hint, "the certificate is for example.com, *.example.com, not tms.test")
}

func TestAllAddressesAreTried(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	_, p, _ := net.SplitHostPort(srv.Addr())
	port, _ := strconv.Atoi(p)
	// 127.0.0.2 is loopback too, but nothing listens there on this port.
	r := &fakeResolver{hosts: map[string][]string{"tms.test": {"127.0.0.2", "127.0.0.1"}}}
	rep, err, _ := diagnose(t, settings("tms.test", port, "http"), r, "")
	require.NoError(t, err)
	assert.Contains(t, rep.Steps[1].Detail, "connected to 127.0.0.1:"+p+" (after 127.0.0.2:"+p+": connect: connection refused)")
}

func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

func TestTokenStep(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, token, source, channel, secret string
		ok, na                               bool
		detail, hint                         string
	}{
		{name: "public channel", channel: "chat", ok: true, na: true, detail: "a public channel needs no token"},
		{name: "local signing", channel: "private-x", secret: "s", ok: true, na: true, detail: "signed locally with the app secret"},
		{name: "missing", channel: "private-x", detail: "none given with --token or TMSWS_TOKEN, and none stored for profile default", hint: "run tmsws login"},
		{name: "sanctum", token: "12|abcdefghijklmnopqrstuvwxyz", source: "flag", channel: "private-x", ok: true,
			detail: "a Sanctum token …wxyz from flag (not a JWT"},
		{name: "opaque", token: "opaque-token-wxyz", source: "flag", channel: "presence-x", ok: true, detail: "an opaque token …wxyz from flag"},
		{name: "valid JWT", token: jwt(`{"exp":` + strconv.FormatInt(now.Add(90*time.Minute).Unix(), 10) + `}`), source: "env TMSWS_TOKEN", channel: "private-x", ok: true,
			detail: "a JWT …", hint: ""},
		{name: "JWT about to expire", token: jwt(`{"exp":` + strconv.FormatInt(now.Add(time.Minute).Unix(), 10) + `}`), source: "flag", channel: "private-x", ok: true,
			detail: "expires at 2026-11-26T12:01:00Z (in 1m0s)", hint: "expires in less than five minutes"},
		{name: "JWT without exp", token: jwt(`{"sub":"8"}`), source: "flag", channel: "private-x", ok: true, detail: "without an expiry"},
		{name: "expired JWT", token: jwt(`{"exp":` + strconv.FormatInt(now.Add(-2*time.Hour).Unix(), 10) + `}`), source: "credentials file (profile default)", channel: "private-x",
			detail: "expired at 2026-11-26T10:00:00Z (2h0m0s ago)", hint: "the token has expired"},
		{name: "three dots but not a JWT", token: "a.b.c", source: "flag", channel: "private-x", ok: true, detail: "an opaque token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := settings("h", 1, "http")
			s.Token, s.TokenSource, s.AppSecret, s.SignLocally = tt.token, tt.source, tt.secret, tt.secret != ""
			io, _, _, _ := iostreams.Test()
			d := newDoctor(&Options{IO: io, Settings: s, SelectFlags: cmdutil.SelectFlags{Channel: tt.channel}, Timeout: time.Second, Now: func() time.Time { return now }})
			out := d.token(context.Background())
			assert.Equal(t, tt.ok, out.err == nil, "err: %v", out.err)
			assert.Equal(t, tt.na, out.na)
			assert.Contains(t, out.detail, tt.detail)
			assert.Contains(t, out.hint, tt.hint)
			if tt.token != "" {
				assert.NotContains(t, out.detail, tt.token)
			}
			if out.err != nil {
				var ae *auth.Error
				require.ErrorAs(t, out.err, &ae)
				assert.True(t, ae.Refused(), "a missing or expired token exits 3")
			}
		})
	}
}

func TestGuess(t *testing.T) {
	t.Parallel()
	var g guess
	assert.Equal(t, "unknown", g.kind())
	g.add(kindReverb, 1, "weak clue")
	assert.Equal(t, "unknown", g.kind(), "one point is not enough")
	g.add(kindReverb, 1, "second clue")
	assert.Equal(t, "Reverb", g.kind())
	g.add(kindSoketi, 2, "contrary clue")
	assert.Equal(t, "unknown", g.kind(), "a tie names nobody")
	g.rule(kindSoketi, "ruled out")
	assert.Equal(t, "Reverb", g.kind())
	assert.Equal(t, []string{"weak clue", "second clue", "contrary clue", "ruled out"}, g.evidence)
}

func TestInterruptEndsABlockedStep(t *testing.T) {
	t.Parallel()
	// A server that accepts TCP and never answers the upgrade.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		var conns []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	port, _ := strconv.Atoi(p)
	io, _, out, _ := iostreams.Test()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err = Run(ctx, &Options{IO: io, Settings: settings("127.0.0.1", port, "http"), Timeout: time.Minute})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Empty(t, out.String(), "an interrupted run prints no report")
}

func TestFlags(t *testing.T) {
	t.Parallel()
	got, err := cmdtest.Parse(t, NewCmdDoctor, nil, "-c", "private-chat.42", "--json", "--timeout", "2s")
	require.NoError(t, err)
	assert.Equal(t, "private-chat.42", got.Channel)
	assert.True(t, got.JSON)
	assert.Equal(t, 2*time.Second, got.Timeout)

	for _, tt := range []struct {
		args      []string
		msg, hint string
	}{
		{[]string{"-c", "bad channel"}, `invalid channel name "bad channel": a space at byte 3`,
			"channel names hold no whitespace or control characters; Pusher's set is letters, digits and _ - = @ , . ;"},
		{[]string{"--timeout", "0s"}, "--timeout must be positive, got 0s", ""},
		{[]string{"extra"}, `unexpected argument "extra"`, "the channel goes with -c: tmsws doctor -c extra"},
	} {
		_, err := cmdtest.Parse(t, NewCmdDoctor, nil, tt.args...)
		var ue *cmdutil.UsageError
		if assert.True(t, errors.As(err, &ue), "%v: %v", tt.args, err) {
			assert.Equal(t, tt.msg, ue.Msg, "%v", tt.args)
			assert.Equal(t, tt.hint, ue.Hint, "%v", tt.args)
		}
	}
}

func TestJSONShape(t *testing.T) {
	t.Parallel()
	rep := &Report{OK: false, URL: "ws://h/app/k", Failed: "tcp", Steps: []Step{
		{Name: "dns", OK: true, MS: 1.2, Detail: "d"},
		{Name: "tcp", MS: 3, Detail: "refused", Hint: "start it"},
		{Name: "tls", Skipped: true, Detail: "not run"},
	}}
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.JSONEq(t, `{"ok":false,"url":"ws://h/app/k","failed":"tcp","steps":[
		{"name":"dns","ok":true,"ms":1.2,"detail":"d"},
		{"name":"tcp","ok":false,"ms":3,"detail":"refused","hint":"start it"},
		{"name":"tls","ok":false,"skipped":true,"ms":0,"detail":"not run"}]}`, string(b))
	var buf bytes.Buffer
	require.NoError(t, printReport(&buf, false, rep))
	assert.Equal(t, `tmsws doctor: ws://h/app/k
  ok    dns               1.2ms  d
  FAIL  tcp               3.0ms  refused
                                 hint: start it
  skip  tls                      not run
  the tcp step failed
`, buf.String())
}
