package soketitest

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The worked example of Pusher's HTTP API reference (pusher-protocol.md §9,
// "Exact signing string for a trigger").
const (
	vectorKey    = "278d425bdf160c739803"
	vectorSecret = "7ad3773142a6692b25b8"
	vectorBody   = `{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`
	vectorString = "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f"
	vectorSig    = "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
)

func TestSignedQueryMatchesPusherTriggerExample(t *testing.T) {
	t.Parallel()
	q := SignedQuery("POST", "/apps/3/events", nil, []byte(vectorBody), vectorKey, vectorSecret, time.Unix(1353088179, 0))

	assert.Equal(t, "ec365a775a4cd0599faeb73354201b6f", q.Get("body_md5"))
	assert.Equal(t, vectorString, StringToSign("POST", "/apps/3/events", q))
	assert.Equal(t, vectorSig, q.Get("auth_signature"))
	assert.Equal(t, vectorSig, Sign(vectorSecret, vectorString))
}

func TestStringToSign(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		path   string
		params url.Values
		want   string
	}{
		{
			name:   "keys sorted, method uppercased, signature left out",
			method: "get",
			path:   "/apps/1/channels",
			params: url.Values{"b": {"2"}, "a": {"1"}, "auth_signature": {"x"}},
			want:   "GET\n/apps/1/channels\na=1&b=2",
		},
		{
			name:   "keys lowercased before sorting",
			method: "GET",
			path:   "/p",
			params: url.Values{"Zeta": {"z"}, "alpha": {"a"}},
			want:   "GET\n/p\nalpha=a&zeta=z",
		},
		{
			name:   "values not escaped",
			method: "GET",
			path:   "/p",
			params: url.Values{"filter_by_prefix": {"presence-"}, "info": {"user_count,subscription_count"}},
			want:   "GET\n/p\nfilter_by_prefix=presence-&info=user_count,subscription_count",
		},
		{
			name:   "no params",
			method: "GET",
			path:   "/p",
			want:   "GET\n/p\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, StringToSign(tt.method, tt.path, tt.params))
		})
	}
}

func TestSignedQueryWithoutBodyHasNoBodyMD5(t *testing.T) {
	t.Parallel()
	q := SignedQuery("GET", "/apps/app-id/channels", url.Values{"info": {"user_count"}}, nil, "k", "s", time.Unix(100, 0))

	assert.False(t, q.Has("body_md5"))
	assert.Equal(t, "k", q.Get("auth_key"))
	assert.Equal(t, "100", q.Get("auth_timestamp"))
	assert.Equal(t, "1.0", q.Get("auth_version"))
	assert.Equal(t, "user_count", q.Get("info"))
	assert.Equal(t, Sign("s", "GET\n/apps/app-id/channels\nauth_key=k&auth_timestamp=100&auth_version=1.0&info=user_count"), q.Get("auth_signature"))
}

func TestSignMatchesPrivateChannelVector(t *testing.T) {
	t.Parallel()
	// pusher-protocol.md §7.1.
	assert.Equal(t, "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
		Sign(vectorSecret, "1234.1234:private-foobar"))
}
