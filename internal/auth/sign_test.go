package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"golang.org/x/crypto/nacl/secretbox"
)

// The vectors of pusher-protocol.md §7.
const (
	vecKey    = "278d425bdf160c739803"
	vecSecret = "7ad3773142a6692b25b8"
	vecSocket = "1234.1234"
)

// The encryption vector: a 32-byte master key and the shared secret of
// private-encrypted-chat.1 under it, computed with Python's hashlib
// (base64(sha256(channel || key))), not with this package.
var (
	vecMasterKey    = []byte("This is a string that is 32 char")
	vecSharedSecret = "QvmWbbMEHyyfPxo/8XYJCNlgGSFILbBW/di3bE6vD8Q="
)

func TestEncryptData(t *testing.T) {
	t.Parallel()
	const ch = "private-encrypted-chat.1"
	plain := []byte(`{"message":{"content":"top secret ✓"}}`)
	got, err := EncryptData(ch, vecMasterKey, plain, nil)
	require.NoError(t, err)
	doc := gjson.Parse(got)
	require.True(t, gjson.Valid(got), got)
	assert.Len(t, doc.Map(), 2, "only nonce and ciphertext: %s", got)
	nonce, err := base64.StdEncoding.DecodeString(doc.Get("nonce").String())
	require.NoError(t, err)
	require.Len(t, nonce, 24)
	box, err := base64.StdEncoding.DecodeString(doc.Get("ciphertext").String())
	require.NoError(t, err)

	keyRaw, err := base64.StdEncoding.DecodeString(vecSharedSecret)
	require.NoError(t, err)
	var key [32]byte
	copy(key[:], keyRaw)
	var n [24]byte
	copy(n[:], nonce)
	opened, ok := secretbox.Open(nil, box, &n, &key)
	require.True(t, ok, "the shared secret of the vector opens it")
	assert.Equal(t, plain, opened)

	other, err := EncryptData(ch, vecMasterKey, plain, nil)
	require.NoError(t, err)
	assert.NotEqual(t, doc.Get("nonce").String(), gjson.Get(other, "nonce").String(), "a fresh nonce each time")

	fixed, err := EncryptData(ch, vecMasterKey, plain, bytes.NewReader(make([]byte, 24)))
	require.NoError(t, err)
	assert.Equal(t, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", gjson.Get(fixed, "nonce").String(), "the nonce comes from random")

	_, err = EncryptData(ch, vecMasterKey[:16], plain, nil)
	require.ErrorContains(t, err, "16 bytes, want 32")
	_, err = EncryptData(ch, vecMasterKey, plain, bytes.NewReader(nil))
	require.ErrorContains(t, err, "read a nonce")

	assert.Equal(t, vecSharedSecret, SharedSecretBase64(ch, vecMasterKey))
	assert.NotEqual(t, vecSharedSecret, SharedSecretBase64(ch+"x", vecMasterKey), "the channel is part of the key")
}

func TestSignVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  string
		want string
	}{
		{
			name: "private channel (§7.1)",
			got:  ChannelAuth(vecKey, vecSecret, vecSocket, "private-foobar", ""),
			want: "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
		},
		{
			name: "private channel via Sign",
			got:  Sign(vecSecret, "1234.1234:private-foobar"),
			want: "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
		},
		{
			name: "presence channel (§7.2)",
			got:  ChannelAuth(vecKey, vecSecret, vecSocket, "presence-foobar", `{"user_id":10,"user_info":{"name":"Mr. Pusher"}}`),
			want: "278d425bdf160c739803:afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c",
		},
		{
			name: "presence channel via Sign",
			got:  Sign(vecSecret, `1234.1234:presence-foobar:{"user_id":10,"user_info":{"name":"Mr. Pusher"}}`),
			want: "afaed3695da2ffd16931f457e338e6c9f2921fa133ce7dac49f529792be6304c",
		},
		{
			name: "user sign-in (§7.4)",
			got:  UserAuth(vecKey, vecSecret, vecSocket, `{"id":"42"}`),
			want: "278d425bdf160c739803:23467c4156bacf702560be3fdf30b8bf0b44ca003cfca6223784b7bb763bd209",
		},
		// Computed with Python's hmac, not with this package:
		// hmac.new(secret, msg.encode(), hashlib.sha256).hexdigest().
		{
			name: "encrypted channel: signed like a private one",
			got:  ChannelAuth(vecKey, vecSecret, vecSocket, "private-encrypted-chat.1", ""),
			want: "278d425bdf160c739803:c93bffc9714c63c0c6395ae6922faa8ef78aaa4a3df002ac10f12c4bfce6fa8c",
		},
		{
			name: "presence channel with UTF-8 in the name and channel data",
			got:  ChannelAuth(vecKey, vecSecret, vecSocket, "presence-чат", `{"user_id":"ü","user_info":{"name":"✓"}}`),
			want: "278d425bdf160c739803:2e9abf754d6d961ec68d95f19b9ad585e4741c02ff56161d6a88e7593862940f",
		},
		{
			name: "an empty secret is still HMAC-SHA256",
			got:  Sign("", "1234.1234:private-foobar"),
			want: "50ee1a722beea9426de5f8f9ccf3aea15a35e1230bd1ec2fd5b2859ff2c93ef0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, tt.got)
		})
	}
}

func TestVerifyChannelAuth(t *testing.T) {
	t.Parallel()
	good := "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
	assert.True(t, VerifyChannelAuth(vecSecret, vecSocket, "private-foobar", "", good))
	// Like Reverb, the key part is not checked.
	assert.True(t, VerifyChannelAuth(vecSecret, vecSocket, "private-foobar", "",
		"otherkey:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"))
	assert.False(t, VerifyChannelAuth(vecSecret, vecSocket, "private-foobaz", "", good))
	assert.False(t, VerifyChannelAuth(vecSecret, "1234.1235", "private-foobar", "", good))
	assert.False(t, VerifyChannelAuth("wrong", vecSocket, "private-foobar", "", good))
	assert.False(t, VerifyChannelAuth(vecSecret, vecSocket, "private-foobar", "", "no-colon"))
}

func TestSignerAuthorize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("private matches the vector", func(t *testing.T) {
		t.Parallel()
		s := &Signer{Key: vecKey, Secret: vecSecret}
		r, err := s.Authorize(ctx, vecSocket, "private-foobar")
		require.NoError(t, err)
		assert.Equal(t, Result{Auth: "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"}, r)
	})

	t.Run("presence with a given user id", func(t *testing.T) {
		t.Parallel()
		s := &Signer{Key: vecKey, Secret: vecSecret, UserID: "10"}
		r, err := s.Authorize(ctx, vecSocket, "presence-foobar")
		require.NoError(t, err)
		assert.Equal(t, `{"user_id":"10","user_info":{"name":"tmsws"}}`, r.ChannelData)
		// hmac-sha256(secret, `1234.1234:presence-foobar:{"user_id":"10","user_info":{"name":"tmsws"}}`), from Python.
		assert.Equal(t, "278d425bdf160c739803:558325d49790c5527b1c574080603a10f1f5c2b5355d767b18b298454b17f350", r.Auth)
		assert.True(t, VerifyChannelAuth(vecSecret, vecSocket, "presence-foobar", r.ChannelData, r.Auth))
		assert.Empty(t, r.SharedSecret)
	})

	t.Run("presence with a generated user id that stays the same", func(t *testing.T) {
		t.Parallel()
		s := &Signer{Key: vecKey, Secret: vecSecret}
		r1, err := s.Authorize(ctx, "1.1", "presence-room")
		require.NoError(t, err)
		r2, err := s.Authorize(ctx, "2.2", "presence-room")
		require.NoError(t, err)
		id := gjson.Get(r1.ChannelData, "user_id").String()
		assert.Regexp(t, regexp.MustCompile(`^tmsws-[0-9a-f]{8}$`), id)
		assert.Equal(t, r1.ChannelData, r2.ChannelData, "reconnects keep the same member")
		assert.Equal(t, "tmsws", gjson.Get(r1.ChannelData, "user_info.name").String())
		assert.True(t, VerifyChannelAuth(vecSecret, "2.2", "presence-room", r2.ChannelData, r2.Auth))
		other := &Signer{Key: vecKey, Secret: vecSecret}
		assert.NotEqual(t, id, other.PresenceUserID(), "each signer draws its own id")
	})

	t.Run("encrypted channels get the derived shared secret", func(t *testing.T) {
		t.Parallel()
		s := &Signer{Key: vecKey, Secret: vecSecret, MasterKey: vecMasterKey}
		r, err := s.Authorize(ctx, vecSocket, "private-encrypted-chat.1")
		require.NoError(t, err)
		assert.Equal(t, vecSharedSecret, r.SharedSecret)
		assert.Equal(t, "278d425bdf160c739803:c93bffc9714c63c0c6395ae6922faa8ef78aaa4a3df002ac10f12c4bfce6fa8c", r.Auth)
		assert.True(t, VerifyChannelAuth(vecSecret, vecSocket, "private-encrypted-chat.1", "", r.Auth))
		assert.Empty(t, r.ChannelData)
		r, err = s.Authorize(ctx, vecSocket, "private-chat.1")
		require.NoError(t, err)
		assert.Empty(t, r.SharedSecret, "only encrypted channels carry one")
	})

	t.Run("encrypted channels without a master key name the flag", func(t *testing.T) {
		t.Parallel()
		for _, key := range [][]byte{nil, vecMasterKey[:31]} {
			s := &Signer{Key: vecKey, Secret: vecSecret, MasterKey: key}
			_, err := s.Authorize(ctx, vecSocket, "private-encrypted-chat.1")
			var ae *Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, Config, ae.Kind)
			assert.Contains(t, err.Error(), "authorize private-encrypted-chat.1: signing an end-to-end encrypted channel locally needs the encryption master key")
			assert.Contains(t, ae.Hint, "--encryption-master-key")
			assert.Contains(t, ae.Hint, "PUSHER_ENCRYPTION_MASTER_KEY_BASE64")
			assert.False(t, ae.Refused())
			assert.False(t, ae.Temporary())
			assert.NotContains(t, err.Error(), vecSecret)
		}
	})

	t.Run("no secret", func(t *testing.T) {
		t.Parallel()
		s := &Signer{Key: vecKey}
		_, err := s.Authorize(ctx, vecSocket, "private-foobar")
		var ae *Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, Config, ae.Kind)
		assert.Contains(t, ae.Hint, "--app-secret")
	})

	t.Run("canceled context", func(t *testing.T) {
		t.Parallel()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := (&Signer{Key: vecKey, Secret: vecSecret}).Authorize(cctx, vecSocket, "private-foobar")
		require.Error(t, err)
		assert.True(t, errors.Is(err, context.Canceled))
	})
}

// TestAuthorizersSignTheVector runs both Authorizers through the interface
// listen and subscribe use: signing locally and asking a Laravel-like
// endpoint give the same §7.1 vector for private-foobar on socket 1234.1234.
func TestAuthorizersSignTheVector(t *testing.T) {
	t.Parallel()
	const want = "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ParseForm() != nil || r.PostForm.Get("socket_id") != vecSocket || r.PostForm.Get("channel_name") != "private-foobar" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"auth":"`+want+`"}`)
	}))
	t.Cleanup(srv.Close)

	for name, a := range map[string]Authorizer{
		"signer":   &Signer{Key: vecKey, Secret: vecSecret},
		"endpoint": &Endpoint{URL: srv.URL + "/broadcasting/auth", HTTP: srv.Client()},
	} {
		r, err := a.Authorize(context.Background(), vecSocket, "private-foobar")
		require.NoError(t, err, name)
		assert.Equal(t, Result{Auth: want}, r, name)
		assert.True(t, VerifyChannelAuth(vecSecret, vecSocket, "private-foobar", "", r.Auth), name)
	}
}
