package config

import (
	"sort"
	"strconv"
	"strings"

	"github.com/amusoft/tmsws/internal/bytesize"
)

// secretKeys are listed masked by tmsws config list and get.
var secretKeys = map[string]bool{"app-secret": true, "encryption-master-key": true}

// IsSecret reports whether key's value is a secret (shown masked).
func IsSecret(key string) bool { return secretKeys[key] }

// Value is the effective value of a setting (a config key) as tmsws uses
// it, secrets and header values masked; ok is false for an unknown key.
func (s *Settings) Value(key string) (string, bool) {
	switch key {
	case "host":
		return s.Host, true
	case "port":
		return strconv.Itoa(s.Port), true
	case "scheme":
		return s.Scheme, true
	case "key":
		return s.Key, true
	case "ws-path":
		return s.WSPath, true
	case "cluster":
		return s.Cluster, true
	case "api-url":
		return s.APIURL, true
	case "auth-url":
		return s.AuthURL, true
	case "app-id":
		return s.AppID, true
	case "app-secret":
		return maskSecret(s.AppSecret), true
	case "header":
		// Header values are often tokens: only the names are shown.
		names := make([]string, 0, len(s.Header))
		for k := range s.Header {
			names = append(names, k+": …")
		}
		sort.Strings(names)
		return strings.Join(names, ", "), true
	case "insecure":
		return strconv.FormatBool(s.Insecure), true
	case "cacert":
		return s.CACert, true
	case "http-timeout":
		return s.HTTPTimeout.String(), true
	case "color":
		return s.Color, true
	case "max-frame":
		return bytesize.FormatFlag(s.MaxFrame), true
	case "encryption-master-key":
		if len(s.EncryptionMasterKey) == 0 {
			return "", true
		}
		return "****", true
	}
	return "", false
}

// maskSecret shows at most the last 4 characters of a secret, and nothing
// of a short one.
func maskSecret(v string) string {
	if v == "" {
		return ""
	}
	return Mask(v)
}

// Origin says where a setting's value came from: "flag --host", "env
// TMSWS_HOST", "profile NAME (PATH:LINE)", ".env PATH:LINE (REVERB_HOST)",
// "default".
func (s *Settings) Origin(key string) string {
	if key == "header" {
		return s.headerOrigin
	}
	if v, ok := s.origins[key]; ok && v.origin != "" {
		return v.origin
	}
	return "default"
}
