package server

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/jsonsafe"
)

// AuthPath is where the server answers channel authorizations the way a
// Laravel app's Broadcast::routes() does, so that an app under development
// (pusher-js, Echo, tmsws listen --auth-url) can be pointed at it
// unchanged.
const AuthPath = "/broadcasting/auth"

// validSocketID is the rule of Pusher's server libraries
// (pusher-http-php validate_socket_id).
var validSocketID = regexp.MustCompile(`\A\d+\.\d+\z`)

// maxAuthBody caps an auth request's body: a socket id and a channel name.
const maxAuthBody = 64 << 10

// authAnswer is the success body of /broadcasting/auth.
type authAnswer struct {
	Auth         string `json:"auth"`
	ChannelData  string `json:"channel_data,omitempty"`
	SharedSecret string `json:"shared_secret,omitempty"`
}

// serveAuth signs any private, presence or encrypted channel for any socket
// id, like a Laravel app whose every channel callback returns true:
// presence members are generated guests ({"user_id":"<n>","user_info":
// {"name":"Guest <n>"}}, n counting up), encrypted channels get their
// shared secret. socket_id and channel_name come from a form or JSON body,
// or the query string (GET), as Laravel reads them. A browser page may call
// it from an allowed origin only (origin.go); the CORS answer names that
// origin.
func (s *Server) serveAuth(w http.ResponseWriter, r *http.Request) {
	if !s.checkOrigin(w, r) {
		return
	}
	h := w.Header()
	if origin := r.Header.Get("Origin"); origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	switch r.Method {
	case http.MethodOptions:
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		} else {
			h.Set("Access-Control-Allow-Headers", "Accept, Authorization, Content-Type, X-CSRF-TOKEN, X-Requested-With, X-Socket-ID")
		}
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		h.Set("Allow", "GET, HEAD, POST, OPTIONS")
		writeJSON(w, http.StatusMethodNotAllowed, laravelMessage("The "+clip(r.Method)+" method is not supported for route broadcasting/auth. Supported methods: GET, HEAD, POST."))
		return
	}

	socketID, channel, err := authParams(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, laravelMessage(err.Error()))
		return
	}
	if status, body := checkAuthParams(socketID, channel); status != 0 {
		s.logf("auth endpoint: refused socket '%s', channel '%s': %d", clip(socketID), clip(channel), status)
		writeJSON(w, status, body)
		return
	}

	var ans authAnswer
	if isPresence(channel) {
		n := strconv.FormatInt(s.guests.Add(1), 10)
		ans.ChannelData = `{"user_id":"` + n + `","user_info":{"name":"Guest ` + n + `"}}`
	}
	if strings.HasPrefix(channel, prefixEncrypted) {
		ans.SharedSecret = s.SharedSecret(channel)
	}
	ans.Auth = auth.ChannelAuth(s.cfg.AppKey, s.cfg.AppSecret, socketID, channel, ans.ChannelData)
	body, _ := json.Marshal(ans) // a struct of strings always marshals
	if ans.ChannelData != "" {
		s.logf("auth endpoint: signed %s for socket %s as %s", channel, socketID, ans.ChannelData)
	} else {
		s.logf("auth endpoint: signed %s for socket %s", channel, socketID)
	}
	writeJSON(w, http.StatusOK, body)
}

// authParams reads socket_id and channel_name from a JSON body, a form
// body (urlencoded or multipart), or the query string; the body wins, as in
// Laravel's $request->input().
func authParams(r *http.Request) (socketID, channel string, err error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAuthBody+1))
	if err != nil {
		return "", "", errors.New("cannot read the request body: " + err.Error())
	}
	if len(body) > maxAuthBody {
		return "", "", errors.New("the request body is larger than 64 KiB")
	}
	query := r.URL.Query()
	pick := func(from url.Values, key string) string {
		if v, ok := from[key]; ok && len(v) > 0 {
			return v[0]
		}
		return query.Get(key)
	}
	trimmed := strings.TrimSpace(string(body))
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || (mt == "" && strings.HasPrefix(trimmed, "{")):
		if trimmed == "" {
			return query.Get("socket_id"), query.Get("channel_name"), nil
		}
		if jsonsafe.ValidString(trimmed) != nil || !gjson.Parse(trimmed).IsObject() {
			return "", "", errors.New("the JSON body is not a JSON object")
		}
		doc := gjson.Parse(trimmed)
		get := func(key string) string {
			v := doc.Get(gjson.Escape(key))
			switch v.Type {
			case gjson.String:
				return v.Str
			case gjson.Number:
				return v.Raw
			case gjson.Null:
				return ""
			}
			if v.Exists() {
				return v.Raw // an object or array: refused by the checks
			}
			return query.Get(key)
		}
		return get("socket_id"), get("channel_name"), nil
	case mt == "multipart/form-data":
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if err := r.ParseMultipartForm(maxAuthBody); err != nil {
			return "", "", errors.New("cannot read the multipart form: " + err.Error())
		}
		return pick(r.MultipartForm.Value, "socket_id"), pick(r.MultipartForm.Value, "channel_name"), nil
	default:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "", "", errors.New("the form body is not URL-encoded: " + err.Error())
		}
		return pick(form, "socket_id"), pick(form, "channel_name"), nil
	}
}

// checkAuthParams returns the status and body of a refusal, or 0: a
// missing or malformed socket_id or a missing channel_name is a Laravel
// validation error (422), a channel that is public or not a valid name is
// refused (403) like a channel with no callback in routes/channels.php.
func checkAuthParams(socketID, channel string) (int, []byte) {
	switch {
	case socketID == "":
		return http.StatusUnprocessableEntity, validationError("socket_id", "The socket id field is required.")
	case !validSocketID.MatchString(socketID):
		return http.StatusUnprocessableEntity, validationError("socket_id",
			"The socket id field format is invalid: it must be the socket_id of pusher:connection_established, like 123.456.")
	case channel == "":
		return http.StatusUnprocessableEntity, validationError("channel_name", "The channel name field is required.")
	case !isValidChannel(channel):
		return http.StatusForbidden, laravelMessage("Invalid channel name '" + clip(channel) + "'.")
	case !needsAuth(channel):
		return http.StatusForbidden, laravelMessage("Channel " + channel +
			" is public and needs no authorization: only private-, presence- and private-encrypted- channels are signed.")
	}
	return 0, nil
}

// laravelMessage is the JSON body of a Laravel error: {"message":"..."}.
func laravelMessage(msg string) []byte {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	return b
}

// validationError is the body of a Laravel 422:
// {"message":"...","errors":{"field":["..."]}}.
func validationError(field, msg string) []byte {
	b, _ := json.Marshal(struct {
		Message string              `json:"message"`
		Errors  map[string][]string `json:"errors"`
	}{msg, map[string][]string{field: {msg}}})
	return b
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
