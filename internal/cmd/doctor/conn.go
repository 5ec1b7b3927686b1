package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/pusher"
)

// The connection steps. Each failure is a *pusher.ConnError: exit code 4.

func (d *doctor) connErr(reason string, err error, hint string) *pusher.ConnError {
	return &pusher.ConnError{URL: d.wsURL, Reason: reason, Err: err, Hint: hint}
}

func fail(err *pusher.ConnError) outcome {
	return outcome{detail: err.Error(), hint: err.Hint, err: err}
}

func (d *doctor) dns(ctx context.Context) outcome {
	host := d.s.Host
	if net.ParseIP(host) != nil {
		d.addrs = []string{host}
		return passed(host + " is an IP address: nothing to resolve")
	}
	addrs, err := d.resolver.LookupHost(ctx, host)
	if err != nil {
		hint := "the host name could not be resolved: check --host (or --cluster) and this machine's DNS settings"
		var de *net.DNSError
		switch {
		case errors.As(err, &de) && de.IsNotFound:
			hint = "the host name does not exist in DNS: check --host (or --cluster) for a typo"
		case (errors.As(err, &de) && de.IsTimeout) || errors.Is(err, context.DeadlineExceeded):
			hint = "the DNS server did not answer in time: check the network and the DNS settings (/etc/resolv.conf), or raise --timeout"
		}
		return fail(d.connErr("cannot resolve "+host, err, hint))
	}
	if len(addrs) == 0 {
		return fail(d.connErr("cannot resolve "+host, errors.New("no addresses"), "the host name has no address records: check --host"))
	}
	d.addrs = addrs
	shown := addrs
	more := ""
	if len(shown) > 4 {
		shown, more = shown[:4], fmt.Sprintf(" and %d more", len(addrs)-4)
	}
	return passed(host + " → " + strings.Join(shown, ", ") + more)
}

func (d *doctor) tcp(ctx context.Context) outcome {
	port := strconv.Itoa(d.s.Port)
	var failures []string
	var last error
	for _, a := range d.addrs {
		var dialer net.Dialer
		c, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(a, port))
		if err == nil {
			d.setConn(c)
			detail := "connected to " + c.RemoteAddr().String()
			if len(failures) > 0 {
				detail += " (after " + strings.Join(failures, "; ") + ")"
			}
			if p := d.proxyNote(); p != "" {
				detail += "; " + p
			}
			return passed(detail)
		}
		last = err
		failures = append(failures, net.JoinHostPort(a, port)+": "+shortNetError(err))
		if ctx.Err() != nil {
			break
		}
	}
	hint := "the server cannot be reached: check --host and --port, and the network"
	var ne net.Error
	switch {
	case errors.Is(last, syscall.ECONNREFUSED):
		hint = "nothing accepts connections on port " + port + ": is the server running? check --port (Reverb listens on 8080 and Soketi on 6001 by default, behind a proxy usually 443) and --scheme"
	case errors.Is(last, context.DeadlineExceeded) || (errors.As(last, &ne) && ne.Timeout()):
		hint = "no answer within --timeout: a firewall may drop the packets, or the host is down; check --host and --port"
	case errors.Is(last, syscall.EHOSTUNREACH), errors.Is(last, syscall.ENETUNREACH):
		hint = "no route to the host: check the network (a VPN?) and --host"
	}
	return fail(d.connErr("cannot connect: "+strings.Join(failures, "; "), nil, hint))
}

// proxyNote warns that listen would go through a proxy this check does not.
func (d *doctor) proxyNote() string {
	env := d.opts.IO.Env
	if env == nil {
		return ""
	}
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"} {
		if env(k) != "" {
			return "note: " + k + " is set; listen connects through that proxy, doctor directly"
		}
	}
	return ""
}

// shortNetError drops the "dial tcp 1.2.3.4:443: " prefix a net.OpError
// repeats.
func shortNetError(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

func (d *doctor) tls(ctx context.Context) outcome {
	if d.s.Scheme != "https" {
		return notApplicable("plain ws:// (--scheme http): no TLS")
	}
	cfg, err := d.s.TLSConfig()
	if err != nil {
		return outcome{detail: err.Error(), hint: "check --cacert", err: err}
	}
	cfg = cfg.Clone()
	cfg.ServerName = d.s.Host
	cfg.NextProtos = []string{"http/1.1"}
	tc := tls.Client(d.conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return d.tlsFailure(err)
	}
	d.setConn(tc)
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		return passed(tls.VersionName(st.Version) + ", no certificate")
	}
	leaf := st.PeerCertificates[0]
	detail := fmt.Sprintf("%s, certificate %s issued by %s, %s", tls.VersionName(st.Version), certSubject(leaf), leaf.Issuer.String(), d.expiry(leaf.NotAfter))
	out := passed(detail)
	switch left := leaf.NotAfter.Sub(d.now()); {
	case d.s.Insecure:
		out.detail += "; NOT verified (--insecure)"
		out.hint = "--insecure skips certificate checks: pass --cacert FILE with the server's CA instead"
	case left < 14*24*time.Hour:
		out.hint = "the certificate expires in less than two weeks: renew it on the server"
	}
	return out
}

// certSubject names a certificate by its subject and, when the subject has
// no common name, its first names.
func certSubject(c *x509.Certificate) string {
	s := c.Subject.String()
	if c.Subject.CommonName == "" {
		names := append([]string(nil), c.DNSNames...)
		for _, ip := range c.IPAddresses {
			names = append(names, ip.String())
		}
		if len(names) > 3 {
			names = append(names[:3], "…")
		}
		if len(names) > 0 {
			s += " for " + strings.Join(names, ", ")
		}
	}
	if s == "" {
		s = "(no subject)"
	}
	return strconv.Quote(s)
}

func (d *doctor) expiry(t time.Time) string {
	left := t.Sub(d.now())
	when := t.UTC().Format("2006-01-02")
	if left < 0 {
		return "expired " + when + " (" + days(-left) + " ago)"
	}
	return "valid until " + when + " (" + days(left) + " left)"
}

func days(d time.Duration) string {
	n := int(d.Hours() / 24)
	if n == 1 {
		return "1 day"
	}
	if n == 0 {
		return d.Round(time.Minute).String()
	}
	return strconv.Itoa(n) + " days"
}

func (d *doctor) tlsFailure(err error) outcome {
	host := d.s.Host
	hint := "the TLS handshake failed: check --scheme and --port (the server may not speak TLS there)"
	detail := ""
	var cve *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	var ne net.Error
	if errors.As(err, &cve) && len(cve.UnverifiedCertificates) > 0 {
		leaf := cve.UnverifiedCertificates[0]
		detail = fmt.Sprintf("the server presented %s issued by %s, %s", certSubject(leaf), leaf.Issuer.String(), d.expiry(leaf.NotAfter))
	}
	switch {
	case errors.As(err, &unknownCA):
		hint = "the certificate is signed by a CA this machine does not trust (self-signed, or a company CA): pass --cacert FILE with that CA in PEM (--insecure skips verification, not for production)"
	case errors.As(err, &hostErr):
		names := strings.Join(hostErr.Certificate.DNSNames, ", ")
		if names == "" {
			names = hostErr.Certificate.Subject.CommonName
		}
		hint = "the certificate is for " + names + ", not " + host + ": use --host with a name the certificate covers"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		hint = "the certificate has expired (or this machine's clock is wrong): renew it on the server"
	case errors.As(err, &recordErr):
		hint = "the server does not speak TLS on port " + strconv.Itoa(d.s.Port) + ": use --scheme http (ws://), or the TLS port"
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		hint = "the TLS handshake did not finish within --timeout: the port may not be a TLS port; check --port and --scheme"
	}
	ce := d.connErr("TLS handshake with "+host+" failed", err, hint)
	out := fail(ce)
	if detail != "" {
		out.detail += "; " + detail
	}
	return out
}

func (d *doctor) upgrade(ctx context.Context) outcome {
	conn := d.conn
	used := false
	take := func(context.Context, string, string) (net.Conn, error) {
		if used {
			return nil, errors.New("doctor dials once")
		}
		used = true
		return conn, nil
	}
	dialer := websocket.Dialer{
		NetDialContext:    take,
		NetDialTLSContext: take, // the TLS step has done the handshake
		HandshakeTimeout:  d.opts.Timeout,
		ReadBufferSize:    16 << 10,
	}
	header := cmdutil.UpgradeHeader(d.s, d.opts.Version)
	ws, resp, err := dialer.DialContext(ctx, d.wsURL, header)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return fail(d.connErr(fmt.Sprintf("HTTP %d %s on the WebSocket upgrade of %s", resp.StatusCode, http.StatusText(resp.StatusCode), d.pathNote()), nil, upgradeHint(resp.StatusCode, d.s.WSPath)))
		}
		hint := "the server closed the connection during the upgrade: is this a WebSocket server? check --port and --scheme"
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			hint = "no answer to the upgrade request within --timeout: is this an HTTP server? check --port and --scheme"
		}
		return fail(d.connErr("WebSocket upgrade failed", err, hint))
	}
	ws.SetReadLimit(d.s.MaxFrame)
	d.setWS(ws)
	d.upgraded = true
	detail := fmt.Sprintf("HTTP %d %s on %s", resp.StatusCode, http.StatusText(resp.StatusCode), d.pathNote())
	if v := resp.Header.Get("Server"); v != "" {
		detail += ", server " + strconv.Quote(v)
	}
	if resp.Header.Get("uWebSockets") != "" {
		d.guess.add(kindSoketi, 2, "the upgrade answer has a uWebSockets header (Soketi runs on uWebSockets.js)")
	}
	if strings.HasSuffix(strings.ToLower(d.s.Host), ".pusher.com") {
		d.guess.add(kindPusher, 3, "the host is Pusher Channels' (*.pusher.com)")
	}
	return passed(detail)
}

// pathNote is the upgrade's path and, under --ws-path, the prefix it
// carries: "/ws/app/KEY (--ws-path /ws)".
func (d *doctor) pathNote() string {
	p := pathOf(d.wsURL)
	if d.s.WSPath != "" {
		p += " (--ws-path " + d.s.WSPath + ")"
	}
	return p
}

func pathOf(u string) string {
	u = stripQuery(u)
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[i+3+j:]
		}
	}
	return u
}

func upgradeHint(status int, wsPath string) string {
	switch {
	case status == http.StatusNotFound && wsPath != "":
		return "no WebSocket endpoint at " + wsPath + "/app/{key} here: check --ws-path (Reverb's REVERB_SERVER_PATH, pusher-js wsPath; none means /app/{key}), --host, --port and --key (a web server in front may not route " + wsPath + " to the WebSocket server)"
	case status == http.StatusNotFound:
		return "no WebSocket endpoint at /app/{key} here: check --host, --port and --key; if the server runs under a path prefix (Reverb's REVERB_SERVER_PATH, pusher-js wsPath), pass it with --ws-path (a web server in front may not route /app to the WebSocket server)"
	case status == http.StatusRequestEntityTooLarge:
		return "the upgrade request is too large for the server (Reverb allows 10,000 bytes): drop large -H headers"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "the server or a proxy in front of it refused the upgrade: if the app restricts origins, send one with -H 'Origin: https://your.app'"
	case status >= 300 && status <= 399:
		return "the server redirects the upgrade: check --scheme (https/wss) and --host"
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		return "a proxy answered but the WebSocket server behind it is down or not reachable from it: check the server and the proxy's upstream"
	case status >= 500:
		return "the server or a proxy in front of it failed: check its logs"
	case status == http.StatusOK || status == http.StatusBadRequest || status == http.StatusUpgradeRequired:
		return "an HTTP server answered without switching to WebSocket: the proxy may not pass the Upgrade header (nginx: proxy_set_header Upgrade $http_upgrade)"
	}
	return "the server did not accept a WebSocket here: check --host, --port and --scheme"
}

func (d *doctor) handshake(ctx context.Context) outcome {
	ws := d.ws
	deadline, _ := ctx.Deadline()
	_ = ws.SetReadDeadline(deadline)
	_, msg, err := ws.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		var ne net.Error
		switch {
		case errors.As(err, &ce):
			ce2 := &pusher.ConnError{URL: d.wsURL, Code: ce.Code, Reason: ce.Text, Hint: pusher.CodeHint(ce.Code)}
			if ce2.Hint == "" {
				ce2.Hint = "the server closed the connection instead of greeting"
			}
			return fail(ce2)
		case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
			return fail(d.connErr("no pusher:connection_established within "+d.opts.Timeout.String(), nil,
				"the server accepted the WebSocket but did not greet: is this a Pusher-protocol server? check --port"))
		}
		return fail(d.connErr("connection lost during the handshake", err, "the server dropped the connection: check --key and the server's logs"))
	}
	f, perr := pusher.ParseFrame(msg)
	if perr != nil {
		return fail(d.connErr("the first frame is not a Pusher message: "+perr.Error(), nil, "is this a Pusher-protocol server? check --host, --port and the path"))
	}
	switch f.Event {
	case "pusher:connection_established":
	case "pusher:error":
		code, message := pusher.ErrorData(f.Data)
		ce := &pusher.ConnError{URL: d.wsURL, Code: code, Reason: message, Hint: pusher.CodeHint(code)}
		if ce.Hint == "" {
			ce.Hint = "the server refused the connection: see its message"
		}
		return fail(ce)
	default:
		return fail(d.connErr("expected pusher:connection_established, got "+f.Event, nil, "is this a Pusher-protocol server?"))
	}
	d.socketID = gjson.GetBytes(f.Data, "socket_id").String()
	if d.socketID == "" {
		return fail(d.connErr("pusher:connection_established without a socket_id", nil, "the server does not follow the Pusher protocol"))
	}
	activity := gjson.GetBytes(f.Data, "activity_timeout")
	detail := "socket " + d.socketID
	if activity.Exists() {
		detail += ", activity_timeout " + activity.String() + "s"
		switch at := activity.Int(); {
		case at != 30:
			d.guess.rule(kindSoketi, "activity_timeout "+activity.String()+" (Soketi always sends 30)")
			if at == 120 {
				d.guess.add(kindPusher, 1, "activity_timeout 120, the value Pusher reportedly sends (unverified)")
			}
		}
	} else {
		detail += ", no activity_timeout (pusher-js would refuse this handshake)"
	}

	// Probe the server with a ping: the pong's shape tells the servers
	// apart (Reverb sends no data key, Soketi data {} as an object).
	rtt, pong, err := d.ping(ctx)
	if err != nil {
		return fail(d.connErr("no pusher:pong to a pusher:ping", err,
			"the server does not answer pings: clients (pusher-js included) will drop this connection after activity_timeout"))
	}
	detail += fmt.Sprintf(", pusher:ping → pusher:pong in %.1fms", millis(rtt))
	switch data := gjson.GetBytes(pong, "data"); {
	case !data.Exists():
		d.guess.add(kindReverb, 2, "pusher:pong without data, as Reverb answers")
	case data.IsObject():
		d.guess.add(kindSoketi, 2, "pusher:pong with data {} as an object, as Soketi answers")
		d.guess.rule(kindReverb, "")
	default:
		d.guess.note("pusher:pong with data " + data.Raw + " (neither Reverb's nor Soketi's shape)")
		d.guess.rule(kindReverb, "")
		d.guess.rule(kindSoketi, "")
	}
	if k := d.guess.kind(); k != kindUnknown {
		detail += "; looks like " + k
	}
	return passed(detail)
}

// ping sends pusher:ping and reads until pusher:pong, answering the
// server's own pings meanwhile; it returns the pong frame.
func (d *doctor) ping(ctx context.Context) (time.Duration, []byte, error) {
	start := time.Now()
	if err := d.write(ctx, []byte(`{"event":"pusher:ping","data":{}}`)); err != nil {
		return 0, nil, err
	}
	for {
		msg, f, err := d.read(ctx)
		if err != nil {
			return 0, nil, err
		}
		switch f.Event {
		case "pusher:pong":
			return time.Since(start), msg, nil
		case "pusher:ping":
			if err := d.write(ctx, []byte(`{"event":"pusher:pong","data":{}}`)); err != nil {
				return 0, nil, err
			}
		}
	}
}

// read returns the next text frame that parses, until ctx's deadline.
func (d *doctor) read(ctx context.Context) ([]byte, pusher.Frame, error) {
	deadline, _ := ctx.Deadline()
	_ = d.ws.SetReadDeadline(deadline)
	for {
		mt, msg, err := d.ws.ReadMessage()
		if err != nil {
			return nil, pusher.Frame{}, err
		}
		if mt != websocket.TextMessage {
			continue
		}
		f, err := pusher.ParseFrame(msg)
		if err != nil {
			continue
		}
		return msg, f, nil
	}
}

func (d *doctor) write(ctx context.Context, msg []byte) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(d.opts.Timeout)
	}
	_ = d.ws.SetWriteDeadline(deadline)
	return d.ws.WriteMessage(websocket.TextMessage, msg)
}
