package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
)

// ProtocolVersion is the Pusher protocol tmsws speaks.
const ProtocolVersion = 7

// WebSocketURL is ws[s]://host:port{WSPath}/app/KEY?protocol=7&client=tmsws&version=V.
func (s *Settings) WebSocketURL(clientVersion string) string {
	scheme := "wss"
	if s.Scheme == "http" {
		scheme = "ws"
	}
	return scheme + "://" + hostPort(s.Host, strconv.Itoa(s.Port)) + s.WSPath + "/app/" + url.PathEscape(s.Key) +
		"?protocol=" + strconv.Itoa(ProtocolVersion) + "&client=tmsws&version=" + url.QueryEscape(clientVersion)
}

// hostPort joins host and port, bracketing IPv6 literals; an empty port
// gives the bracketed host alone.
func hostPort(host, port string) string {
	if port == "" {
		if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}

// TLSConfig honours --insecure and --cacert (which replaces the system
// roots, as curl's does).
func (s *Settings) TLSConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.Insecure {
		cfg.InsecureSkipVerify = true // the user asked with --insecure; the caller prints a warning
	}
	if s.CACert != "" {
		pool, err := loadCertPool(s.CACert)
		if err != nil {
			return nil, fmt.Errorf("--cacert %s: %w", s.CACert, err)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// HTTPClient is the client for login, auth and HTTP API requests: the
// --http-timeout per request, the TLS settings, proxies from the
// environment, and no redirect following (CheckRedirect returns
// http.ErrUseLastResponse) so a redirect to a login page can be reported.
func (s *Settings) HTTPClient() (*http.Client, error) {
	tlsCfg, err := s.TLSConfig()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	timeout := s.HTTPTimeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, nil
}

func loadCertPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no PEM certificate in %s: pass a PEM CA bundle", path)
	}
	return pool, nil
}
