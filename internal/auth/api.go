package auth

import (
	"crypto/md5"
	"encoding/hex"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// APIStringToSign is what the Pusher HTTP API signs for a request:
// "METHOD\nPATH\nQUERY", where QUERY is every parameter except
// auth_signature, keys lowercased and sorted, as unescaped key=value pairs
// joined with "&" (several values of one key joined with ",").
func APIStringToSign(method, path string, params url.Values) string {
	keys := make([]string, 0, len(params))
	lower := make(map[string][]string, len(params))
	for k, v := range params {
		lk := strings.ToLower(k)
		if lk == "auth_signature" {
			continue
		}
		if _, seen := lower[lk]; !seen {
			keys = append(keys, lk)
		}
		lower[lk] = append(lower[lk], v...)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + strings.Join(lower[k], ",")
	}
	return strings.ToUpper(method) + "\n" + path + "\n" + strings.Join(pairs, "&")
}

// BodyMD5 is the hex MD5 of an HTTP API request body (body_md5).
func BodyMD5(body []byte) string {
	sum := md5.Sum(body)
	return hex.EncodeToString(sum[:])
}

// SignAPIQuery returns params plus the authentication parameters of a
// Pusher HTTP API request: auth_key, auth_timestamp, auth_version=1.0,
// body_md5 when body is not empty, and auth_signature.
func SignAPIQuery(method, path string, params url.Values, body []byte, key, secret string, now time.Time) url.Values {
	q := url.Values{}
	for k, v := range params {
		q[k] = append([]string(nil), v...)
	}
	q.Set("auth_key", key)
	q.Set("auth_timestamp", strconv.FormatInt(now.Unix(), 10))
	q.Set("auth_version", "1.0")
	if len(body) > 0 {
		q.Set("body_md5", BodyMD5(body))
	}
	q.Set("auth_signature", Sign(secret, APIStringToSign(method, path, q)))
	return q
}
