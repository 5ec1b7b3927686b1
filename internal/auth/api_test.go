package auth

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The worked example of the Pusher HTTP API reference (pusher-protocol.md §9).
func TestSignAPIQueryMatchesTheHTTPAPIExample(t *testing.T) {
	t.Parallel()
	body := []byte(`{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`)
	q := SignAPIQuery("POST", "/apps/3/events", nil, body, "278d425bdf160c739803", "7ad3773142a6692b25b8", time.Unix(1353088179, 0))
	assert.Equal(t, "ec365a775a4cd0599faeb73354201b6f", q.Get("body_md5"))
	assert.Equal(t, "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f",
		APIStringToSign("POST", "/apps/3/events", q))
	assert.Equal(t, "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c", q.Get("auth_signature"))
}

func TestAPIStringToSignRules(t *testing.T) {
	t.Parallel()
	q := url.Values{"B": {"2"}, "a": {"1"}, "auth_signature": {"x"}, "list": {"x", "y"}}
	assert.Equal(t, "GET\n/apps/1/channels\na=1&b=2&list=x,y", APIStringToSign("get", "/apps/1/channels", q))
}
