// Package laraveltest is a faithful fake of the Laravel side of a Pusher
// app, for tests, in the way net/http/httptest fakes a server: a Sanctum
// style login (POST /api/login), the current user (GET /api/user) and
// channel authorization (GET|POST /broadcasting/auth), answering with the
// status codes, headers and bodies Laravel produces, including the
// redirects a client gets when it forgets Accept: application/json.
//
// It records every auth and login request so tests can check, say, that a
// client authorized its channels again with the new socket id after a
// reconnect.
package laraveltest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/amusoft/tmsws/internal/auth"
)

// User is a user of the fake app.
type User struct {
	ID       string // the auth identifier: "8" is sent as "user_id":"8" in channel_data
	Name     string
	Email    string // filled from the key of Config.Users
	Password string
	// Token, when set, is a valid bearer token for this user and what login
	// returns. Otherwise each login issues a new Sanctum style token
	// ("<n>|<40 letters and digits>").
	Token string
	// Info is the user_info of presence channels (what the channel callback
	// in routes/channels.php returns); by default {"name": Name}.
	Info any
}

// Config describes the fake app.
type Config struct {
	AppKey    string // the Pusher app key, the part before ":" in auth
	AppSecret string // signs channel authorizations
	Users     map[string]User
	// Allow is the channel callback of routes/channels.php: may user join
	// channel? channel is the name as Laravel's callback sees it, without the
	// private-, presence- or private-encrypted- prefix ("chat.42"). nil
	// allows everything.
	Allow func(user User, channel string) bool
	// DenyMessage is the "message" of a JSON 403. Laravel's broadcaster throws
	// a bare AccessDeniedHttpException, which renders as {"message":""} (the
	// default); a Gate or policy refusal renders "This action is unauthorized.".
	DenyMessage string
	// WebMiddleware puts the routes behind Laravel's web middleware group:
	// POST requests without the right X-CSRF-TOKEN get 419.
	WebMiddleware bool
	// EncryptionMasterKey (32 bytes) lets private-encrypted- channels be
	// authorized with a shared_secret. Without it they fail with 500, as
	// Laravel does.
	EncryptionMasterKey []byte
	// UserField is the login field that names the user; default "email".
	UserField string
	// LoginPath is the login route; default /api/login.
	LoginPath string
	// AuthPath is the channel authorization route; default /broadcasting/auth.
	AuthPath string
	// LoginResponse builds the body of a successful login; by default
	// {"token":token,"user":{"id":8,"name":...,"email":...}}.
	LoginResponse func(user User, token string) any
}

// CSRFToken is the X-CSRF-TOKEN that passes the WebMiddleware check.
const CSRFToken = "laraveltest-csrf-token"

// AuthRequest is one request to the channel authorization route.
type AuthRequest struct {
	SocketID    string
	Channel     string
	Status      int    // the status the fake answered
	User        string // email of the authenticated user, if any
	Accept      string
	ContentType string
	Method      string
}

// LoginRequest is one request to the login route.
type LoginRequest struct {
	Login       string // the value of the user field
	Status      int
	Accept      string
	ContentType string
}

// App is a running fake Laravel app on a loopback httptest.Server.
type App struct {
	URL string // base URL, http://127.0.0.1:PORT

	cfg    Config
	server *httptest.Server

	mu      sync.Mutex
	tokens  map[string]string // token → email
	issued  int
	auths   []AuthRequest
	logins  []LoginRequest
	revoked map[string]bool // emails whose tokens were revoked
}

// New starts the fake app; it is closed when the test ends.
func New(t testing.TB, cfg Config) *App {
	t.Helper()
	if cfg.LoginPath == "" {
		cfg.LoginPath = "/api/login"
	}
	if cfg.AuthPath == "" {
		cfg.AuthPath = "/broadcasting/auth"
	}
	if cfg.UserField == "" {
		cfg.UserField = "email"
	}
	if n := len(cfg.EncryptionMasterKey); n != 0 && n != 32 {
		t.Fatalf("laraveltest: EncryptionMasterKey must be 32 bytes, not %d", n)
	}
	users := make(map[string]User, len(cfg.Users))
	for email, u := range cfg.Users {
		u.Email = email
		users[email] = u
	}
	cfg.Users = users

	a := &App{cfg: cfg, tokens: map[string]string{}, revoked: map[string]bool{}}
	for email, u := range cfg.Users {
		if u.Token != "" {
			a.tokens[u.Token] = email
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc(cfg.LoginPath, a.login)
	mux.HandleFunc(cfg.AuthPath, a.authorize)
	mux.HandleFunc("/api/user", a.user)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.abort(w, r, http.StatusNotFound, "", "Not Found")
	})
	a.server = httptest.NewServer(mux)
	a.URL = a.server.URL
	t.Cleanup(a.server.Close)
	return a
}

// LoginURL is the URL of the login route.
func (a *App) LoginURL() string { return a.URL + a.cfg.LoginPath }

// AuthURL is the URL of the channel authorization route.
func (a *App) AuthURL() string { return a.URL + a.cfg.AuthPath }

// Client is an HTTP client for the app that does not follow redirects.
func (a *App) Client() *http.Client {
	c := *a.server.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// TokenFor returns a valid bearer token for the user with this email, as a
// login would, without recording a login.
func (a *App) TokenFor(t testing.TB, email string) string {
	t.Helper()
	u, ok := a.cfg.Users[email]
	if !ok {
		t.Fatalf("laraveltest: no user %q", email)
	}
	return a.issue(u)
}

// RevokeTokens makes every token of the user invalid, as deleting the
// user's Sanctum tokens does; later logins issue working tokens again.
func (a *App) RevokeTokens(email string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for tok, e := range a.tokens {
		if e == email {
			delete(a.tokens, tok)
		}
	}
	a.revoked[email] = true
}

// AuthRequests returns every channel authorization request so far.
func (a *App) AuthRequests() []AuthRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.auths)
}

// LoginRequests returns every login request so far.
func (a *App) LoginRequests() []LoginRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.logins)
}

func (a *App) issue(u User) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if u.Token != "" && !a.revoked[u.Email] {
		a.tokens[u.Token] = u.Email
		return u.Token
	}
	a.issued++
	tok := strconv.Itoa(a.issued) + "|" + randomAlnum(40)
	a.tokens[tok] = u.Email
	return tok
}

// userFromBearer finds the user of the request's bearer token the way
// Sanctum does: "<id>|<secret>", or the secret alone.
func (a *App) userFromBearer(r *http.Request) (User, bool) {
	tok := bearerToken(r)
	if tok == "" {
		return User{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	email, ok := a.tokens[tok]
	if !ok && !strings.Contains(tok, "|") {
		for full, e := range a.tokens {
			if _, secret, found := strings.Cut(full, "|"); found && secret == tok {
				email, ok = e, true
				break
			}
		}
	}
	if !ok {
		return User{}, false
	}
	return a.cfg.Users[email], true
}

// bearerToken is Laravel's Request::bearerToken.
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	i := strings.LastIndex(strings.ToLower(h), "bearer ")
	if i < 0 {
		return ""
	}
	tok := h[i+len("bearer "):]
	if before, _, found := strings.Cut(tok, ","); found {
		tok = before
	}
	return tok
}

// expectsJSON is Laravel's Request::expectsJson: an Accept header asking
// for JSON, or an XMLHttpRequest that accepts anything.
func expectsJSON(r *http.Request) bool {
	first := ""
	if types := acceptable(r.Header.Get("Accept")); len(types) > 0 {
		first = types[0]
	}
	if strings.Contains(first, "/json") || strings.Contains(first, "+json") {
		return true
	}
	ajax := r.Header.Get("X-Requested-With") == "XMLHttpRequest"
	pjax := r.Header.Get("X-PJAX") != ""
	return ajax && !pjax && (first == "" || first == "*/*" || first == "*")
}

// acceptable lists the media types of an Accept header, best first.
func acceptable(accept string) []string {
	type mt struct {
		name string
		q    float64
		i    int
	}
	var list []mt
	for i, part := range strings.Split(accept, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, params, _ := strings.Cut(part, ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if k == "q" {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		list = append(list, mt{strings.ToLower(strings.TrimSpace(name)), q, i})
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].q > list[j].q })
	out := make([]string, len(list))
	for i, m := range list {
		out[i] = m.name
	}
	return out
}

// input merges query and body parameters, as Laravel's $request->input():
// a JSON body when the Content-Type says JSON, else a form body.
func input(r *http.Request) (map[string]string, error) {
	in := map[string]string{}
	for k, v := range r.URL.Query() {
		in[k] = v[0]
	}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return in, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if strings.Contains(ct, "/json") || strings.Contains(ct, "+json") {
		var body map[string]any
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			return in, nil // Laravel treats an unreadable JSON body as empty input
		}
		for k, v := range body {
			switch v := v.(type) {
			case string:
				in[k] = v
			case json.Number:
				in[k] = v.String()
			case bool:
				if v {
					in[k] = "1"
				}
			}
		}
		return in, nil
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
		return in, fmt.Errorf("parse form: %w", err)
	}
	for k, v := range r.PostForm {
		in[k] = v[0]
	}
	return in, nil
}

func (a *App) csrfFails(r *http.Request) bool {
	if !a.cfg.WebMiddleware || r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
		return false
	}
	tok := r.Header.Get("X-CSRF-TOKEN")
	if tok == "" {
		tok = r.Header.Get("X-XSRF-TOKEN")
	}
	return tok != CSRFToken
}

// login is a Sanctum style token login: validate, check the credentials,
// issue a token.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	rec := LoginRequest{Accept: r.Header.Get("Accept"), ContentType: r.Header.Get("Content-Type")}
	status := a.serveLogin(w, r, &rec)
	rec.Status = status
	a.mu.Lock()
	a.logins = append(a.logins, rec)
	a.mu.Unlock()
}

func (a *App) serveLogin(w http.ResponseWriter, r *http.Request, rec *LoginRequest) int {
	if r.Method != http.MethodPost {
		return a.methodNotAllowed(w, r, "POST")
	}
	if a.csrfFails(r) {
		return a.abort(w, r, 419, "CSRF token mismatch.", "Page Expired")
	}
	in, err := input(r)
	if err != nil {
		return a.abort(w, r, http.StatusBadRequest, "", "Bad Request")
	}
	field := a.cfg.UserField
	rec.Login = in[field]

	errs := map[string][]string{}
	var order []string
	if in[field] == "" {
		errs[field] = []string{fmt.Sprintf("The %s field is required.", strings.ReplaceAll(field, "_", " "))}
		order = append(order, field)
	}
	if in["password"] == "" {
		errs["password"] = []string{"The password field is required."}
		order = append(order, "password")
	}
	if len(errs) == 0 {
		u, ok := a.cfg.Users[in[field]]
		if !ok || u.Password != in["password"] {
			errs[field] = []string{"These credentials do not match our records."}
			order = append(order, field)
		}
	}
	if len(errs) > 0 {
		return a.validationFailed(w, r, order, errs)
	}

	u := a.cfg.Users[in[field]]
	tok := a.issue(u)
	var body any
	if a.cfg.LoginResponse != nil {
		body = a.cfg.LoginResponse(u, tok)
	} else {
		body = struct {
			Token string `json:"token"`
			User  any    `json:"user"`
		}{tok, userJSON(u)}
	}
	return a.json(w, http.StatusOK, body)
}

// user is Sanctum's GET /api/user: the authenticated user.
func (a *App) user(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		a.methodNotAllowed(w, r, "GET, HEAD")
		return
	}
	u, ok := a.userFromBearer(r)
	if !ok {
		a.unauthenticated(w, r)
		return
	}
	a.json(w, http.StatusOK, userJSON(u))
}

func userJSON(u User) any {
	var id any = u.ID
	if n, err := strconv.ParseInt(u.ID, 10, 64); err == nil {
		id = n // Eloquent ids are integers
	}
	return struct {
		ID    any    `json:"id"`
		Name  string `json:"name"`
		Email string `json:"email"`
	}{id, u.Name, u.Email}
}

var (
	socketIDPattern    = regexp.MustCompile(`\A\d+\.\d+\z`)
	channelNamePattern = regexp.MustCompile(`\A#?[-a-zA-Z0-9_=@,.;]+\z`)
)

// authorize is Broadcast::routes(): BroadcastController@authenticate behind
// auth:sanctum, with the Pusher broadcaster.
func (a *App) authorize(w http.ResponseWriter, r *http.Request) {
	rec := AuthRequest{
		Accept:      r.Header.Get("Accept"),
		ContentType: r.Header.Get("Content-Type"),
		Method:      r.Method,
	}
	status := a.serveAuth(w, r, &rec)
	rec.Status = status
	a.mu.Lock()
	a.auths = append(a.auths, rec)
	a.mu.Unlock()
}

func (a *App) serveAuth(w http.ResponseWriter, r *http.Request, rec *AuthRequest) int {
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		return a.methodNotAllowed(w, r, "GET, HEAD, POST")
	}
	in, err := input(r)
	if err != nil {
		return a.abort(w, r, http.StatusBadRequest, "", "Bad Request")
	}
	rec.SocketID, rec.Channel = in["socket_id"], in["channel_name"]

	if a.csrfFails(r) {
		return a.abort(w, r, 419, "CSRF token mismatch.", "Page Expired")
	}
	u, ok := a.userFromBearer(r)
	if !ok {
		return a.unauthenticated(w, r)
	}
	rec.User = u.Email

	channel := rec.Channel
	if channel == "" {
		return a.abort(w, r, http.StatusForbidden, a.cfg.DenyMessage, "Forbidden")
	}
	if a.cfg.Allow != nil && !a.cfg.Allow(u, normalizeChannel(channel)) {
		return a.abort(w, r, http.StatusForbidden, a.cfg.DenyMessage, "Forbidden")
	}
	// pusher-http-php validates both and throws, which Laravel renders as 500.
	if !socketIDPattern.MatchString(rec.SocketID) || !channelNamePattern.MatchString(channel) {
		return a.abort(w, r, http.StatusInternalServerError, "Server Error", "Server Error")
	}

	switch {
	case strings.HasPrefix(channel, "presence-"):
		info := u.Info
		if info == nil {
			info = map[string]string{"name": u.Name}
		}
		channelData, err := PHPJSON(struct {
			UserID   string `json:"user_id"`
			UserInfo any    `json:"user_info"`
		}{u.ID, info})
		if err != nil {
			return a.abort(w, r, http.StatusInternalServerError, "Server Error", "Server Error")
		}
		return a.json(w, http.StatusOK, struct {
			Auth        string `json:"auth"`
			ChannelData string `json:"channel_data"`
		}{SignChannel(a.cfg.AppKey, a.cfg.AppSecret, rec.SocketID, channel, string(channelData)), string(channelData)})
	case strings.HasPrefix(channel, "private-encrypted-"):
		if len(a.cfg.EncryptionMasterKey) == 0 {
			// pusher-http-php: "Cannot generate shared_secret because encryption master key is not set".
			return a.abort(w, r, http.StatusInternalServerError, "Server Error", "Server Error")
		}
		return a.json(w, http.StatusOK, struct {
			Auth         string `json:"auth"`
			SharedSecret string `json:"shared_secret"`
		}{SignChannel(a.cfg.AppKey, a.cfg.AppSecret, rec.SocketID, channel, ""), SharedSecret(channel, a.cfg.EncryptionMasterKey)})
	default:
		return a.json(w, http.StatusOK, struct {
			Auth string `json:"auth"`
		}{SignChannel(a.cfg.AppKey, a.cfg.AppSecret, rec.SocketID, channel, "")})
	}
}

// normalizeChannel strips the prefix the way Laravel's
// UsePusherChannelConventions does before matching routes/channels.php.
func normalizeChannel(channel string) string {
	for _, prefix := range []string{"private-encrypted-", "private-", "presence-"} {
		if strings.HasPrefix(channel, prefix) {
			return strings.TrimPrefix(channel, prefix)
		}
	}
	return channel
}

// SignChannel is the auth string for a private (channelData empty) or
// presence channel: key + ":" + hex HMAC-SHA256 of
// "socket_id:channel[:channel_data]".
func SignChannel(key, secret, socketID, channel, channelData string) string {
	return auth.ChannelAuth(key, secret, socketID, channel, channelData)
}

// SharedSecret is the key of a private-encrypted- channel:
// base64(sha256(channel || master key)).
func SharedSecret(channel string, masterKey []byte) string {
	sum := sha256.Sum256(append([]byte(channel), masterKey...))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// unauthenticated is Laravel's answer to a guest on an auth:sanctum route:
// 401 JSON for clients that expect JSON, else a redirect to the login page.
func (a *App) unauthenticated(w http.ResponseWriter, r *http.Request) int {
	if expectsJSON(r) {
		return a.json(w, http.StatusUnauthorized, map[string]string{"message": "Unauthenticated."})
	}
	return a.redirect(w, a.URL+"/login")
}

// validationFailed is a ValidationException: 422 with the errors for JSON
// clients, else a redirect back.
func (a *App) validationFailed(w http.ResponseWriter, r *http.Request, order []string, errs map[string][]string) int {
	if !expectsJSON(r) {
		back := r.Header.Get("Referer")
		if back == "" {
			back = a.URL
		}
		return a.redirect(w, back)
	}
	n := 0
	for _, msgs := range errs {
		n += len(msgs)
	}
	msg := errs[order[0]][0]
	switch n - 1 {
	case 0:
	case 1:
		msg += " (and 1 more error)"
	default:
		msg += fmt.Sprintf(" (and %d more errors)", n-1)
	}
	// Field order as Laravel reports it: the order of the rules.
	var fields []string
	for _, f := range order {
		if !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	var b strings.Builder
	b.WriteString(`{"message":`)
	m, _ := PHPJSON(msg)
	b.Write(m)
	b.WriteString(`,"errors":{`)
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := PHPJSON(f)
		v, _ := PHPJSON(errs[f])
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteString(`}}`)
	return a.json(w, http.StatusUnprocessableEntity, json.RawMessage(b.String()))
}

// abort renders an HTTP exception: {"message":jsonMsg} for JSON clients,
// else Laravel's HTML error page.
func (a *App) abort(w http.ResponseWriter, r *http.Request, status int, jsonMsg, title string) int {
	if expectsJSON(r) {
		return a.json(w, status, map[string]string{"message": jsonMsg})
	}
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n</head>\n<body>\n<div>%d | %s</div>\n</body>\n</html>\n", title, status, title)
	return status
}

func (a *App) methodNotAllowed(w http.ResponseWriter, r *http.Request, allowed string) int {
	w.Header().Set("Allow", allowed)
	route := strings.TrimPrefix(r.URL.Path, "/")
	msg := fmt.Sprintf("The %s method is not supported for route %s. Supported methods: %s.", r.Method, route, allowed)
	return a.abort(w, r, http.StatusMethodNotAllowed, msg, "Method Not Allowed")
}

func (a *App) redirect(w http.ResponseWriter, to string) int {
	w.Header().Set("Location", to)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusFound)
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#039;").Replace(to)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html>\n    <head>\n        <meta charset=\"UTF-8\" />\n        <meta http-equiv=\"refresh\" content=\"0;url='%s'\" />\n\n        <title>Redirecting to %s</title>\n    </head>\n    <body>\n        Redirecting to <a href=\"%s\">%s</a>.\n    </body>\n</html>", esc, esc, esc, esc)
	return http.StatusFound
}

// json writes v encoded as Laravel's JsonResponse does (PHP json_encode).
func (a *App) json(w http.ResponseWriter, status int, v any) int {
	body, err := PHPJSON(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomAlnum(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// FormBody is the form-encoded body pusher-js sends to the auth endpoint.
func FormBody(socketID, channel string) string {
	return url.Values{"socket_id": {socketID}, "channel_name": {channel}}.Encode()
}
