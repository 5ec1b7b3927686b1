package app

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/nacl/secretbox"

	"github.com/amusoft/tmsws/internal/laraveltest"
)

// seal encrypts data the way pusher-http-php does for private-encrypted-
// channels: key = sha256(channel || master key), NaCl secretbox.
func seal(t *testing.T, channel string, master []byte, plain string) string {
	t.Helper()
	key := sha256.Sum256(append([]byte(channel), master...))
	var nonce [24]byte
	_, err := rand.Read(nonce[:])
	require.NoError(t, err)
	ct := secretbox.Seal(nil, []byte(plain), &nonce, &key)
	return `{"nonce":"` + base64.StdEncoding.EncodeToString(nonce[:]) + `","ciphertext":"` + base64.StdEncoding.EncodeToString(ct) + `"}`
}

func TestListenDecryptsEncryptedChannels(t *testing.T) {
	t.Parallel()
	master := make([]byte, 32)
	_, err := rand.Read(master)
	require.NoError(t, err)
	app := laraveltest.New(t, laraveltest.Config{
		AppKey: "app-key", AppSecret: "app-secret", EncryptionMasterKey: master,
		Users: map[string]laraveltest.User{"alice@example.com": alice},
	})
	srv := startServer(t)
	c := newCLI(t).pointAt(srv.Addr())
	c.env["TMSWS_AUTH_URL"] = app.AuthURL()
	c.env["TMSWS_TOKEN"] = app.TokenFor(t, "alice@example.com")
	ch := "private-encrypted-chat.42"
	r := c.start("listen", "-c", ch, "--count", "1", "--show-protocol")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), ch, 1))

	other := make([]byte, 32)
	srv.Publish(ch, "Wrong", seal(t, ch, other, `{"x":1}`), "")
	srv.Publish(ch, `App\Events\MessageSent`, seal(t, ch, master, `{"message":{"content":"top secret"}}`), "")
	res := r.wait(t)
	require.Equal(t, 0, res.code, res.stderr)

	var events, errs int
	for _, rec := range jsonLines(t, res.stdout) {
		switch rec.Get("type").String() {
		case "event":
			events++
			assert.Equal(t, "top secret", rec.Get("data.message.content").String())
		case "error":
			errs++
			assert.Contains(t, rec.Get("message").String(), "cannot decrypt Wrong")
		}
	}
	assert.Equal(t, 1, events)
	assert.Equal(t, 1, errs)
	assert.Contains(t, res.stderr, "cannot decrypt Wrong on "+ch)
	assert.Contains(t, res.stderr, "shared_secret")
}

func TestEncryptedChannelWithoutMasterKeyIsExplained(t *testing.T) {
	t.Parallel()
	app := laraveltest.New(t, laraveltest.Config{AppKey: "app-key", AppSecret: "app-secret", Users: map[string]laraveltest.User{"alice@example.com": alice}})
	srv := startServer(t)
	c := newCLI(t).pointAt(srv.Addr())
	c.env["TMSWS_AUTH_URL"] = app.AuthURL()
	c.env["TMSWS_TOKEN"] = app.TokenFor(t, "alice@example.com")
	res := c.run("listen", "-c", "private-encrypted-chat.42")
	assert.NotEqual(t, 0, res.code)
	assert.Contains(t, res.stderr, "encryption_master_key_base64")
	assert.Empty(t, res.stdout)
}
