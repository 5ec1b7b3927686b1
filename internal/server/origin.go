package server

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Origins: a web page can open a WebSocket to any host, and the browser
// only tells the server where the page came from (the Origin header). The
// server lets in requests without one (tmsws, pusher-js on Node, any
// non-browser client), pages served from this machine (http or https on
// localhost, 127.0.0.0/8 or [::1], any port) and the origins of
// Config.AllowOrigins; any other page, whose visitor did not choose to
// connect, is refused with 403, WebSocket upgrades and /broadcasting/auth
// alike (the opaque origin "null" included). CORS answers name the allowed
// origin, never "*".

// CheckAllowOrigin reports whether origin can be an entry of
// Config.AllowOrigins: "*", or "scheme://host[:port]" with nothing after
// it, as browsers send it.
func CheckAllowOrigin(origin string) error {
	if origin == "*" {
		return nil
	}
	if _, ok := parseOrigin(origin); !ok {
		return fmt.Errorf("allowed origin %q is not an origin: give scheme://host[:port] as a browser sends it, e.g. https://app.example.com or http://192.168.1.20:5173 (no path, no trailing slash), or * for any",
			clip(origin))
	}
	return nil
}

// parseOrigin parses "scheme://host[:port]" and nothing else.
func parseOrigin(origin string) (*url.URL, bool) {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || u.Opaque != "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(origin, "?") || strings.HasSuffix(origin, "#") {
		return nil, false
	}
	return u, true
}

// isLoopbackOrigin reports whether origin is a page of this machine:
// http or https on localhost, 127.0.0.0/8 or [::1].
func isLoopbackOrigin(origin string) bool {
	u, ok := parseOrigin(origin)
	if !ok {
		return false
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// allowOrigin reports whether a request with this Origin header may be
// served; "" is a request without one.
func (s *Server) allowOrigin(origin string) bool {
	if origin == "" || isLoopbackOrigin(origin) {
		return true
	}
	for _, allowed := range s.cfg.AllowOrigins {
		if allowed == "*" || strings.EqualFold(allowed, origin) {
			return true
		}
	}
	return false
}

// checkOrigin answers 403 and returns false when r's origin is not
// allowed.
func (s *Server) checkOrigin(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if s.allowOrigin(origin) {
		return true
	}
	shown := clip(origin)
	s.logf("refused %s %s from origin %s: not allowed", r.Method, clip(r.URL.Path), shown)
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "origin %s is not allowed: start the server with --allow-origin ORIGIN to let a page from it connect\n", shown)
	return false
}
