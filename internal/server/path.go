package server

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// A path prefix (Config.Path), as Reverb's REVERB_SERVER_PATH: Reverb adds
// it in front of every route of its own (Servers/Reverb/Factory.php) and
// verifies HTTP API signatures on the path with it removed
// (Http/Controllers/Controller.php). /broadcasting/auth belongs to the
// Laravel app, not to Reverb, so it stays at the root.

// pathRE is what --ws-path accepts: segments of RFC 3986 unreserved
// characters, sub-delims, ':', '@' and %XX escapes.
var pathRE = regexp.MustCompile(`^(/([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)+$`)

// CheckPath reports whether p can be a Config.Path: "" (none), or an
// escaped URL path that starts with "/" and has no query or fragment.
func CheckPath(p string) error {
	if p == "" || p == "/" {
		return nil
	}
	if !pathRE.MatchString(p) {
		return fmt.Errorf("path prefix %q is not a URL path: give one that starts with / such as /ws (Reverb's REVERB_SERVER_PATH), with letters, digits, - . _ ~ ! $ & ' ( ) * + , ; = : @ and %%XX escapes, and no ? or #",
			clip(p))
	}
	return nil
}

// unescapedPath is a checked Config.Path as it appears in a request's
// URL.Path.
func unescapedPath(p string) string {
	u, err := url.PathUnescape(p)
	if err != nil {
		return p // CheckPath has refused it already
	}
	return u
}

// prefixed serves the routes under a prefix and the auth endpoint at the
// root; every other path is not found.
type prefixed struct {
	prefix string // unescaped
	routes http.Handler
	auth   http.HandlerFunc
}

func (h *prefixed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == AuthPath {
		h.auth(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, h.prefix)
	if !ok || !strings.HasPrefix(rest, "/") {
		http.NotFound(w, r)
		return
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = rest, ""
	r2.URL = &u
	h.routes.ServeHTTP(w, r2)
}
