package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
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

func TestCredentialsRoundTrip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "tmsws")
	saved := time.Date(2026, 11, 26, 9, 16, 54, 0, time.UTC)

	_, found, err := LoadCredential(dir, "default")
	require.NoError(t, err)
	assert.False(t, found, "a missing file holds nothing")

	require.NoError(t, SaveCredential(dir, "default", Credential{Token: "1|default-token", User: "ann@example.com", SavedAt: saved}))
	require.NoError(t, SaveCredential(dir, "staging", Credential{Token: "2|staging-token"}))
	require.NoError(t, SaveCredential(dir, "prod.eu", Credential{Token: "3|a=b c#d;e", User: "bob"}))

	assert.Equal(t, os.FileMode(0o700), perm(t, dir))
	assert.Equal(t, os.FileMode(0o600), perm(t, filepath.Join(dir, "credentials")))
	assert.Equal(t, []string{"credentials"}, dirEntries(t, dir), "no temp file is left")

	c, found, err := LoadCredential(dir, "default")
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, Credential{Token: "1|default-token", User: "ann@example.com", SavedAt: saved}, c)

	c, found, err = LoadCredential(dir, "prod.eu")
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, Credential{Token: "3|a=b c#d;e", User: "bob"}, c, "any character survives")

	// Replacing one profile keeps the others.
	require.NoError(t, SaveCredential(dir, "default", Credential{Token: "4|new-default"}))
	c, _, err = LoadCredential(dir, "default")
	require.NoError(t, err)
	assert.Equal(t, Credential{Token: "4|new-default"}, c)
	c, _, err = LoadCredential(dir, "staging")
	require.NoError(t, err)
	assert.Equal(t, "2|staging-token", c.Token)

	data, err := os.ReadFile(filepath.Join(dir, "credentials"))
	require.NoError(t, err)
	assert.Equal(t, credentialsHeader+"\n[default]\ntoken = 4|new-default\n\n[staging]\ntoken = 2|staging-token\n\n"+
		"[prod.eu]\ntoken = 3|a=b c#d;e\nuser = bob\n", string(data))

	_, found, err = LoadCredential(dir, "missing")
	require.NoError(t, err)
	assert.False(t, found)

	// Delete one, then the rest.
	ok, err := DeleteCredential(dir, "staging")
	require.NoError(t, err)
	assert.True(t, ok)
	_, found, err = LoadCredential(dir, "staging")
	require.NoError(t, err)
	assert.False(t, found)
	_, found, err = LoadCredential(dir, "default")
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, os.FileMode(0o600), perm(t, filepath.Join(dir, "credentials")))

	ok, err = DeleteCredential(dir, "staging")
	require.NoError(t, err)
	assert.False(t, ok, "deleting twice finds nothing")

	for _, p := range []string{"default", "prod.eu"} {
		ok, err = DeleteCredential(dir, p)
		require.NoError(t, err)
		assert.True(t, ok)
	}
	assert.Empty(t, dirEntries(t, dir), "the empty credentials file is removed")

	ok, err = DeleteCredential(filepath.Join(t.TempDir(), "none"), "default")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestSaveCredentialTightensModes(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tmsws")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	p := filepath.Join(dir, "credentials")
	require.NoError(t, os.WriteFile(p, []byte("[other]\ntoken = 9|other\n"), 0o644))
	require.NoError(t, os.Chmod(p, 0o644))
	assert.Contains(t, CredentialsWarning(dir), "readable by others (mode 0644)")

	require.NoError(t, SaveCredential(dir, "default", Credential{Token: "1|abc"}))
	assert.Equal(t, os.FileMode(0o700), perm(t, dir))
	assert.Equal(t, os.FileMode(0o600), perm(t, p))
	assert.Equal(t, "", CredentialsWarning(dir))
	c, found, err := LoadCredential(dir, "other")
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "9|other", c.Token)
}

func TestSaveCredentialRejects(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tmsws")
	tests := []struct {
		name    string
		profile string
		c       Credential
		errText string
	}{
		{"empty token", "default", Credential{Token: "  "}, "save credentials: the token is empty"},
		{"line break", "default", Credential{Token: "a\nb"}, "save credentials: the token or the user holds a line break"},
		{"bad profile", "a]b", Credential{Token: "x"}, `profile "a]b" is not a valid name: use letters, digits, '.', '_' and '-'`},
	}
	for _, tt := range tests {
		err := SaveCredential(dir, tt.profile, tt.c)
		assert.EqualError(t, err, tt.errText, tt.name)
	}
	_, err := os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "nothing was created")
}

func TestLoadCredentialErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, errText string
	}{
		{"bad saved_at", "[default]\ntoken = t\nsaved_at = yesterday\n",
			"DIR/credentials:3: saved_at is not an RFC 3339 time: fix or remove the line"},
		{"unknown key", "[default]\ntoken = t\npassword = x\n",
			`DIR/credentials:3: unknown key "password": credentials hold token, user and saved_at`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "credentials"), []byte(tt.file), 0o600))
			_, _, err := LoadCredential(dir, "default")
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
