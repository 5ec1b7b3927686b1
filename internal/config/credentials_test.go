package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Mode().Perm()
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want, shown string }{
		{"https://tms.example.com", "https://tms.example.com:443", "https://tms.example.com"},
		{"https://TMS.Example.com:443/api/x?y=1", "https://tms.example.com:443", "https://tms.example.com"},
		{"HTTP://127.0.0.1:18000/broadcasting/auth", "http://127.0.0.1:18000", "http://127.0.0.1:18000"},
		{"http://127.0.0.1", "http://127.0.0.1:80", "http://127.0.0.1"},
		{"http://127.0.0.1:443", "http://127.0.0.1:443", "http://127.0.0.1:443"},
		{"https://h:80", "https://h:80", "https://h:80"},
		{"https://[::1]:8443/x", "https://[::1]:8443", "https://[::1]:8443"},
		{"https://[::1]", "https://[::1]:443", "https://[::1]"},
		{"https://user:pw@h:0443", "https://h:443", "https://h"},
		{"https://h:1", "https://h:1", "https://h:1"},
		{"https://h:65535", "https://h:65535", "https://h:65535"},
	}
	for _, tt := range tests {
		got, err := Origin(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		assert.Equal(t, tt.shown, ShowOrigin(got), tt.in)
	}
	for _, bad := range []string{"", "tms.example.com", "ftp://h", "https://", "https://h:", "https://h:0", "https://h:65536", "https://h:70000", "wss://h"} {
		_, err := Origin(bad)
		assert.Error(t, err, bad)
	}
	_, err := Origin("https://u:s3cr3t@h:99999")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cr3t", "the URL is never repeated")
}

func loadAll(t *testing.T, dir string) []StoredToken {
	t.Helper()
	all, err := LoadTokens(dir)
	require.NoError(t, err)
	return all
}

func TestTokensRoundTrip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "tmsws")
	saved := time.Date(2026, 11, 26, 9, 16, 54, 0, time.UTC)
	prod, local := "https://tms.example.com:443", "http://127.0.0.1:18000"

	assert.Empty(t, loadAll(t, dir), "a missing file holds nothing")
	_, found, err := LoadToken(dir, "https://tms.example.com")
	require.NoError(t, err)
	assert.False(t, found)

	require.NoError(t, SaveToken(dir, prod, "default", Credential{Token: "1|prod-token", User: "ann@example.com", SavedAt: saved}))
	require.NoError(t, SaveToken(dir, local, "default", Credential{Token: "2|a=b c#d;e", User: "bob"}))

	assert.Equal(t, os.FileMode(0o700), perm(t, dir))
	assert.Equal(t, os.FileMode(0o600), perm(t, filepath.Join(dir, "credentials")))
	assert.Equal(t, []string{"credentials"}, dirEntries(t, dir), "no temp file is left")

	st, found, err := LoadToken(dir, "https://TMS.example.com:443/broadcasting/auth")
	require.NoError(t, err)
	require.True(t, found, "any URL of the origin finds it")
	assert.Equal(t, StoredToken{Credential: Credential{Token: "1|prod-token", User: "ann@example.com", SavedAt: saved}, Origin: prod}, st)

	st, found, err = LoadToken(dir, "http://127.0.0.1:18000")
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, Credential{Token: "2|a=b c#d;e", User: "bob"}, st.Credential, "any character survives")

	for _, other := range []string{"http://127.0.0.1", "https://127.0.0.1:18000", "http://127.0.0.1:18001", "http://tms.example.com"} {
		_, found, err = LoadToken(dir, other)
		require.NoError(t, err)
		assert.False(t, found, "%s is another origin", other)
	}

	// Replacing one origin keeps the others.
	require.NoError(t, SaveToken(dir, prod, "default", Credential{Token: "3|new-prod"}))
	data, err := os.ReadFile(filepath.Join(dir, "credentials"))
	require.NoError(t, err)
	assert.Equal(t, credentialsHeader+"\n[https://tms.example.com:443]\ntoken = 3|new-prod\n\n"+
		"[http://127.0.0.1:18000]\ntoken = 2|a=b c#d;e\nuser = bob\n", string(data))

	// Delete one, then the rest.
	removed, err := DeleteTokens(dir, local)
	require.NoError(t, err)
	require.Len(t, removed, 1)
	assert.Equal(t, local, removed[0].Origin)
	_, found, err = LoadToken(dir, local)
	require.NoError(t, err)
	assert.False(t, found)
	_, found, err = LoadToken(dir, prod)
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, os.FileMode(0o600), perm(t, filepath.Join(dir, "credentials")))

	removed, err = DeleteTokens(dir, local)
	require.NoError(t, err)
	assert.Empty(t, removed, "deleting twice finds nothing")

	removed, err = DeleteTokens(dir, prod)
	require.NoError(t, err)
	assert.Len(t, removed, 1)
	assert.Empty(t, dirEntries(t, dir), "the empty credentials file is removed")

	removed, err = DeleteTokens(filepath.Join(t.TempDir(), "none"), "")
	require.NoError(t, err)
	assert.Empty(t, removed)
}

func TestLegacyProfileSectionsBelongToTheProfilesAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config"), []byte(
		"[staging]\napi-url = http://127.0.0.1:18000/\n\n[qa]\nscheme = http\nhost = QA.example\nport = 6001\n\n[broken]\nport = x\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "credentials"), []byte(
		"[default]\ntoken = 1|default\nuser = ann\n\n[staging]\ntoken = 2|staging\n\n[qa]\ntoken = 3|qa\n\n[broken]\ntoken = 4|broken\n\n[ci]\ntoken = 5|ci\n"), 0o600))

	all := loadAll(t, dir)
	require.Len(t, all, 5)
	got := map[string]string{}
	for _, st := range all {
		got[st.Legacy] = st.Origin
	}
	assert.Equal(t, map[string]string{
		"default": "https://tms.amusoft.uz:443", // no section: the defaults
		"staging": "http://127.0.0.1:18000",     // its api-url
		"qa":      "http://qa.example:80",       // {scheme}://{host}; the WebSocket port is not the API's
		"broken":  "",                           // never sent anywhere
		"ci":      "https://tms.amusoft.uz:443",
	}, got)
	require.Error(t, all[3].OriginErr)

	st, found, err := LoadToken(dir, "http://127.0.0.1:18000/broadcasting/auth")
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "2|staging", st.Token)
	assert.Equal(t, "staging", st.Legacy)

	// The profile's own legacy section is preferred among those of one origin.
	c, found, err := LoadCredential(dir, "ci")
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "5|ci", c.Token)
	c, _, err = LoadCredential(dir, "default")
	require.NoError(t, err)
	assert.Equal(t, "1|default", c.Token)

	// An origin section beats every legacy one, and saving for an origin
	// drops the profile's legacy section of that origin only.
	require.NoError(t, SaveToken(dir, "https://tms.amusoft.uz:443", "default", Credential{Token: "6|new"}))
	c, _, err = LoadCredential(dir, "ci")
	require.NoError(t, err)
	assert.Equal(t, "6|new", c.Token)
	var legacy []string
	for _, st := range loadAll(t, dir) {
		legacy = append(legacy, st.Legacy)
	}
	assert.Equal(t, []string{"staging", "qa", "broken", "ci", ""}, legacy, "[default] was migrated, [ci] is another profile's")

	// Logging out of an origin removes its legacy sections too.
	removed, err := DeleteTokens(dir, "https://tms.amusoft.uz:443")
	require.NoError(t, err)
	assert.Len(t, removed, 2)
	_, found, err = LoadToken(dir, "https://tms.amusoft.uz")
	require.NoError(t, err)
	assert.False(t, found)
	assert.Len(t, loadAll(t, dir), 3)

	removed, err = DeleteTokens(dir, "")
	require.NoError(t, err)
	assert.Len(t, removed, 3, "every token, the unplaceable one too")
	assert.Equal(t, []string{"config"}, dirEntries(t, dir))
}

func TestCredentialsOriginHeaders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "credentials"), []byte(
		"[https://TMS.example.com]\ntoken = 1|a\n\n[https://tms.example.com:443]\nuser = ann\n"), 0o600))
	all := loadAll(t, dir)
	require.Len(t, all, 1, "one origin, however it is written")
	assert.Equal(t, StoredToken{Credential: Credential{Token: "1|a", User: "ann"}, Origin: "https://tms.example.com:443"}, all[0])

	f, err := readINI(filepath.Join(dir, "credentials"))
	require.NoError(t, err)
	assert.Empty(t, f.names(), "an origin is not a profile")

	for _, bad := range []string{"[https://h/api]", "[https://u:p@h]", "[ftp://h]", "[https://h?x]", "[https://h:99999]"} {
		_, err := parseCredentialsINI("C", []byte(bad+"\ntoken = x\n"))
		assert.EqualError(t, err, "C:1: not an origin: use [https://host:port] or [https://host]", bad)
	}
	// The config file's parsing is unchanged: profiles only.
	_, err = parseINI("C", []byte("[https://h:443]\nhost = x\n"))
	assert.EqualError(t, err, "C:1: not a valid profile name: use letters, digits, '.', '_' and '-' inside [ ]")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config"), []byte("[https://h:443]\n"), 0o600))
	_, err = readINI(filepath.Join(dir, "config"))
	assert.Error(t, err)
}

func TestSaveTokenTightensModes(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tmsws")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	p := filepath.Join(dir, "credentials")
	require.NoError(t, os.WriteFile(p, []byte("[https://other.example:443]\ntoken = 9|other\n"), 0o644))
	require.NoError(t, os.Chmod(p, 0o644))
	assert.Contains(t, CredentialsWarning(dir), "readable by others (mode 0644)")

	require.NoError(t, SaveToken(dir, "https://tms.example.com:443", "default", Credential{Token: "1|abc"}))
	assert.Equal(t, os.FileMode(0o700), perm(t, dir))
	assert.Equal(t, os.FileMode(0o600), perm(t, p))
	assert.Equal(t, "", CredentialsWarning(dir))
	st, found, err := LoadToken(dir, "https://other.example")
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "9|other", st.Token)
}

// TestCredentialsWarningModes: a credentials file that the group or other
// users can read is warned about, whichever of the two it is; one only its
// owner can read is not. The file is still read either way.
func TestCredentialsWarningModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode os.FileMode
		warn bool
	}{
		{0o600, false},
		{0o400, false},
		{0o700, false},
		{0o640, true}, // the group can read it
		{0o604, true}, // other users can read it
		{0o660, true},
		{0o644, true},
		{0o440, true},
		{0o404, true},
		{0o666, true},
		{0o620, true}, // the group can change it
		{0o602, true},
		{0o610, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%04o", tt.mode), func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "tmsws")
			require.NoError(t, os.Mkdir(dir, 0o700))
			p := filepath.Join(dir, "credentials")
			require.NoError(t, os.WriteFile(p, []byte("[https://tms.example.com:443]\ntoken = 1|abcdefgh\n"), 0o600))
			require.NoError(t, os.Chmod(p, tt.mode))
			want := ""
			if tt.warn {
				what := map[os.FileMode]string{0o620: "writable by others", 0o602: "writable by others", 0o610: "open to others",
					0o660: "readable and writable by others", 0o666: "readable and writable by others"}[tt.mode]
				if what == "" {
					what = "readable by others"
				}
				want = fmt.Sprintf("%s is %s (mode %04o): run chmod 600 %s", p, what, tt.mode, p)
			}
			assert.Equal(t, want, CredentialsWarning(dir))
			st, found, err := LoadToken(dir, "https://tms.example.com")
			require.NoError(t, err)
			assert.True(t, found, "the file is still used")
			assert.Equal(t, "1|abcdefgh", st.Token)
		})
	}
	assert.Equal(t, "", CredentialsWarning(t.TempDir()), "no credentials file, no warning")
}

func TestSaveTokenRejects(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tmsws")
	tests := []struct {
		name    string
		origin  string
		c       Credential
		errText string
	}{
		{"empty token", "https://h:443", Credential{Token: "  "}, "save credentials: the token is empty"},
		{"line break", "https://h:443", Credential{Token: "a\nb"}, "save credentials: the token or the user holds a line break"},
		{"line break in the user", "https://h:443", Credential{Token: "ab", User: "a\rb"}, "save credentials: the token or the user holds a line break"},
		{"not canonical", "https://h", Credential{Token: "x"}, `save credentials: "https://h" is not a canonical origin (use config.Origin)`},
	}
	for _, tt := range tests {
		err := SaveToken(dir, tt.origin, "default", tt.c)
		assert.EqualError(t, err, tt.errText, tt.name)
	}
	_, err := os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "nothing was created")
}

func TestLoadTokensErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, errText string
	}{
		{"bad saved_at", "[https://h]\ntoken = t\nsaved_at = yesterday\n",
			"DIR/credentials:3: saved_at is not an RFC 3339 time: fix or remove the line"},
		{"unknown key", "[default]\ntoken = t\npassword = x\n",
			`DIR/credentials:3: unknown key "password": credentials hold token, user and saved_at`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "credentials"), []byte(tt.file), 0o600))
			_, err := LoadTokens(dir)
			var ue *UsageError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, strings.ReplaceAll(tt.errText, "DIR", dir), err.Error())
		})
	}
}

func TestWriteAtomicLeavesNoTempOnFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "credentials")
	require.NoError(t, os.Mkdir(target, 0o700)) // a folder in the way: rename must fail
	require.NoError(t, os.WriteFile(filepath.Join(target, "x"), nil, 0o600))
	err := writeAtomic(target, []byte("data"), 0o600)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "write "+target+": ")
	assert.Equal(t, []string{"credentials"}, dirEntries(t, dir))
}

func TestMask(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                       "",
		"abc":                    "****",
		"1234567":                "****",
		"12345678":               "…5678",
		"7|s3cr3tT0kenValueWXYZ": "…WXYZ",
		"ééééééééü":              "…éééü",
	}
	for in, want := range tests {
		assert.Equal(t, want, Mask(in), in)
	}
}

// writeCA writes a freshly generated self-signed CA certificate as PEM
// (httptest servers all share one certificate, so it is a different CA).
func writeCA(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tmsws test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
}

func writePEM(t *testing.T, path string, srv *httptest.Server) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

func TestHTTPClient(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/broadcasting/auth", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/login", http.StatusFound)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "login page") })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the expected handshake failures
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, ca, srv)
	otherCA := filepath.Join(t.TempDir(), "other.pem")
	writeCA(t, otherCA)

	get := func(t *testing.T, s *Settings, path string) (*http.Response, error) {
		t.Helper()
		c, err := s.HTTPClient()
		require.NoError(t, err)
		assert.Equal(t, s.HTTPTimeout, c.Timeout)
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		if resp != nil {
			t.Cleanup(func() { _ = resp.Body.Close() })
		}
		return resp, err
	}

	t.Run("cacert is trusted and redirects are not followed", func(t *testing.T) {
		t.Parallel()
		resp, err := get(t, &Settings{CACert: ca, HTTPTimeout: 3 * time.Second}, "/broadcasting/auth")
		require.NoError(t, err)
		assert.Equal(t, http.StatusFound, resp.StatusCode)
		assert.Equal(t, "/login", resp.Header.Get("Location"))
	})
	t.Run("another CA is not trusted", func(t *testing.T) {
		t.Parallel()
		_, err := get(t, &Settings{CACert: otherCA, HTTPTimeout: 3 * time.Second}, "/ok")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "certificate")
	})
	t.Run("system roots do not know the test CA", func(t *testing.T) {
		t.Parallel()
		_, err := get(t, &Settings{HTTPTimeout: 3 * time.Second}, "/ok")
		require.Error(t, err)
	})
	t.Run("insecure skips verification", func(t *testing.T) {
		t.Parallel()
		resp, err := get(t, &Settings{Insecure: true, HTTPTimeout: 3 * time.Second}, "/ok")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
	t.Run("an unreadable cacert fails", func(t *testing.T) {
		t.Parallel()
		_, err := (&Settings{CACert: "/nonexistent.pem"}).HTTPClient()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "--cacert /nonexistent.pem: cannot read the CA bundle")
	})
	t.Run("TLS config", func(t *testing.T) {
		t.Parallel()
		cfg, err := (&Settings{}).TLSConfig()
		require.NoError(t, err)
		assert.False(t, cfg.InsecureSkipVerify)
		assert.Nil(t, cfg.RootCAs)
		cfg, err = (&Settings{Insecure: true, CACert: ca}).TLSConfig()
		require.NoError(t, err)
		assert.True(t, cfg.InsecureSkipVerify)
		assert.NotNil(t, cfg.RootCAs)
	})
	t.Run("zero timeout gets the default", func(t *testing.T) {
		t.Parallel()
		c, err := (&Settings{}).HTTPClient()
		require.NoError(t, err)
		assert.Equal(t, DefaultHTTPTimeout, c.Timeout)
	})
}
