package app

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"golang.org/x/crypto/nacl/secretbox"

	"github.com/amusoft/tmsws/internal/laraveltest"
	"github.com/amusoft/tmsws/internal/server"
	"github.com/amusoft/tmsws/internal/soketitest"
)

func masterKey(t *testing.T) ([]byte, string) {
	t.Helper()
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k, base64.StdEncoding.EncodeToString(k)
}

// open decrypts an encrypted channel's data string as a listener does,
// with the shared secret the Laravel fake's auth endpoint hands out.
func open(t *testing.T, channel string, master []byte, data string) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(laraveltest.SharedSecret(channel, master))
	require.NoError(t, err)
	nonce, err := base64.StdEncoding.DecodeString(gjson.Get(data, "nonce").String())
	require.NoError(t, err)
	require.Len(t, nonce, 24)
	box, err := base64.StdEncoding.DecodeString(gjson.Get(data, "ciphertext").String())
	require.NoError(t, err)
	var k [32]byte
	var n [24]byte
	copy(k[:], key)
	copy(n[:], nonce)
	plain, ok := secretbox.Open(nil, box, &n, &k)
	require.True(t, ok, "the channel's shared secret opens %s", data)
	return string(plain)
}

// TestTriggerEncryptsForEncryptedChannels: what trigger sends to a
// private-encrypted- channel is ciphertext on the wire, and listen, given
// the shared secret by the auth endpoint, shows the plaintext.
func TestTriggerEncryptsForEncryptedChannels(t *testing.T) {
	t.Parallel()
	master, masterB64 := masterKey(t)
	lara := laraveltest.New(t, laraveltest.Config{
		AppKey: "app-key", AppSecret: "app-secret", EncryptionMasterKey: master,
		Users: map[string]laraveltest.User{"alice@example.com": alice},
	})
	srv := startServer(t)
	ctx := ctxT(t)
	ch := "private-encrypted-chat.42"
	raw := rawSubscriber(t, ctx, "ws://"+srv.Addr(), "app-key", "app-secret", ch)

	l := newCLI(t).pointAt(srv.Addr())
	l.env["TMSWS_AUTH_URL"] = lara.AuthURL()
	l.env["TMSWS_TOKEN"] = lara.TokenFor(t, "alice@example.com")
	listening := l.start("listen", "-c", ch, "--count", "1", "--json")
	require.NoError(t, srv.WaitSubscribed(ctx, ch, 2))

	c := apiCLI(t, srv.Addr())
	c.env["TMSWS_ENCRYPTION_MASTER_KEY"] = masterB64
	plain := `{"message":{"id":7,"content":"top secret ✓"}}`
	res := c.run("trigger", "-c", ch, "-e", `App\Events\MessageSent`, "-d", plain)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "end-to-end encrypted")
	assert.NotContains(t, res.stderr, masterB64)

	f := nextEvent(t, ctx, raw)
	data := f.DataString()
	assert.NotContains(t, data, "top secret", "no plaintext on the wire")
	assert.Equal(t, []string{"ciphertext", "nonce"}, keys(gjson.Parse(data)), data)
	assert.JSONEq(t, plain, open(t, ch, master, data))

	got := listening.wait(t)
	require.Equal(t, 0, got.code, got.stderr)
	recs := jsonLines(t, got.stdout)
	require.Len(t, recs, 1)
	assert.Equal(t, "top secret ✓", recs[0].Get("data.message.content").String())
}

func keys(r gjson.Result) []string {
	var out []string
	r.ForEach(func(k, _ gjson.Result) bool { out = append(out, k.String()); return true })
	if len(out) == 2 && out[0] > out[1] {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

// TestTriggerEncryptedRefusals: no plaintext ever leaves for an encrypted
// channel; what is wrong is a usage error that says why.
func TestTriggerEncryptedRefusals(t *testing.T) {
	t.Parallel()
	_, masterB64 := masterKey(t)
	ch := "private-encrypted-chat.42"
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		stderr []string
	}{
		{name: "no master key", args: []string{"-c", ch},
			stderr: []string{"error: private-encrypted-chat.42 is end-to-end encrypted: pass --encryption-master-key (the app's PUSHER_ENCRYPTION_MASTER_KEY_BASE64) so listeners can decrypt it",
				"hint: or set TMSWS_ENCRYPTION_MASTER_KEY"}},
		{name: "with other channels", env: map[string]string{"TMSWS_ENCRYPTION_MASTER_KEY": masterB64}, args: []string{"-c", "private-chat.1", "-c", ch},
			stderr: []string{"private-encrypted-chat.42 is end-to-end encrypted: an event for an encrypted channel goes to that channel alone, not with 1 others",
				"hint: trigger it once per channel"}},
		{name: "a malformed key", env: map[string]string{"TMSWS_ENCRYPTION_MASTER_KEY": "c2hvcnQ="}, args: []string{"-c", ch},
			stderr: []string{"TMSWS_ENCRYPTION_MASTER_KEY: the key is 5 bytes, want 32"}},
		{name: "a client event", env: map[string]string{"TMSWS_ENCRYPTION_MASTER_KEY": masterB64}, args: []string{"--client", "-c", ch, "-e", "client-typing"},
			stderr: []string{"client events cannot be sent on the encrypted channel", "Pusher does not support client events"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t)
			ctx := ctxT(t)
			raw := rawSubscriber(t, ctx, "ws://"+srv.Addr(), "app-key", "app-secret", ch)
			c := apiCLI(t, srv.Addr())
			for k, v := range tt.env {
				c.env[k] = v
			}
			args := append([]string{"trigger"}, tt.args...)
			if !strings.Contains(strings.Join(tt.args, " "), "-e ") {
				args = append(args, "-e", "MessageSent")
			}
			res := c.run(append(args, "-d", `{"secret":"plain"}`)...)
			assert.Equal(t, ExitUsage, res.code, res.stderr)
			for _, s := range tt.stderr {
				assert.Contains(t, res.stderr, s)
			}
			assert.NotContains(t, res.stderr, masterB64)
			// Nothing reached the channel: a marker published after the
			// refusal is the first event the subscriber sees.
			srv.Publish(ch, "marker", `{}`, "")
			assert.Equal(t, "marker", nextEvent(t, ctx, raw).Event)
		})
	}
}

// TestTriggerRefusalExitCodes: an unknown app id is exit 4, a payload over
// the server's limit exit 2, each saying what was wrong.
func TestTriggerRefusalExitCodes(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{MaxEventData: 1000})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })

	res := apiCLI(t, srv.Addr()).run("trigger", "--app-id", "999", "-c", "chat", "-e", "x", "-d", "{}")
	assert.Equal(t, ExitConnection, res.code, res.stderr)
	assert.Contains(t, res.stderr, `error: trigger x: no app with id "999" on this server: 404 Not Found from http://`+srv.Addr()+"/apps/999/events")
	assert.Contains(t, res.stderr, "hint: unknown app id")
	assert.Contains(t, res.stderr, "check --app-id (REVERB_APP_ID")
	assert.Empty(t, res.stdout)

	res = apiCLI(t, srv.Addr()).run("trigger", "--app-id", "999", "-c", "chat", "-e", "x", "-d", "{}", "--json")
	assert.Equal(t, ExitConnection, res.code, res.stderr)
	assert.Equal(t, int64(404), gjson.Get(res.stdout, "status").Int())
	assert.Contains(t, gjson.Get(res.stdout, "error").String(), `no app with id "999" on this server`)

	big := `{"b":"` + strings.Repeat("x", 2000) + `"}`
	res = apiCLI(t, srv.Addr()).run("trigger", "-c", "chat", "-e", "x", "-d", big)
	assert.Equal(t, ExitUsage, res.code, res.stderr)
	assert.Contains(t, res.stderr, "413 Request Entity Too Large")
	assert.Contains(t, res.stderr, "the limit is 1000", "the server's own limit, quoted")
	assert.Contains(t, res.stderr, "the data is 2008 bytes, the request")
	assert.Contains(t, res.stderr, "hint: the payload is too large for the server: Pusher accepts 10 KB of data, Reverb 10,000 bytes")
	assert.Empty(t, res.stdout)
}

func TestSoketiTriggerRefusalExitCodes(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	run := func(appID, data string) result {
		c := newCLI(t).pointAt(sk.Addr)
		c.env["TMSWS_APP_ID"] = appID
		c.env["TMSWS_APP_SECRET"] = sk.Secret
		return c.run("trigger", "-c", soketitest.UniqueChannel(t, "chat"), "-e", "x", "-d", data)
	}
	res := run("nope", "{}")
	assert.Equal(t, ExitConnection, res.code, res.stderr)
	assert.Contains(t, res.stderr, `no app with id "nope" on this server: 404 Not Found`)
	assert.Contains(t, res.stderr, "hint: unknown app id")

	res = run(sk.AppID, `{"b":"`+strings.Repeat("z", 101<<10)+`"}`)
	assert.Equal(t, ExitUsage, res.code, res.stderr)
	assert.Contains(t, res.stderr, "413")
	assert.Contains(t, res.stderr, "the data is 103432 bytes")
	assert.Contains(t, res.stderr, "hint: the payload is too large")
}

// TestSoketiRelaysTheEncryptedTrigger: Soketi relays what trigger sealed
// as it is; the channel's shared secret opens it.
func TestSoketiRelaysTheEncryptedTrigger(t *testing.T) {
	t.Parallel()
	sk := soketitest.FromEnv(t)
	ctx := ctxT(t)
	master, masterB64 := masterKey(t)
	ch := soketitest.UniqueChannel(t, "private-encrypted-chat")
	raw := rawSubscriber(t, ctx, "ws://"+sk.Addr, sk.Key, sk.Secret, ch)
	c := newCLI(t).pointAt(sk.Addr)
	c.env["TMSWS_APP_ID"] = sk.AppID
	c.env["TMSWS_APP_SECRET"] = sk.Secret
	c.env["TMSWS_KEY"] = sk.Key
	res := c.run("trigger", "-c", ch, "-e", "MessageSent", "-d", `{"n":1}`, "--encryption-master-key", masterB64)
	require.Equal(t, 0, res.code, res.stderr)
	f := nextEvent(t, ctx, raw)
	assert.Equal(t, `{"n":1}`, open(t, ch, master, f.DataString()))
}

// TestListenSignsEncryptedChannelsLocally: with the app secret and the
// master key, listen derives the shared secret itself and decrypts what
// trigger sealed.
func TestListenSignsEncryptedChannelsLocally(t *testing.T) {
	t.Parallel()
	_, masterB64 := masterKey(t)
	srv := startServer(t)
	ch := "private-encrypted-chat.7"
	c := apiCLI(t, srv.Addr())
	c.env["TMSWS_ENCRYPTION_MASTER_KEY"] = masterB64
	l := c.start("listen", "-c", ch, "--count", "1", "--json")
	require.NoError(t, srv.WaitSubscribed(ctxT(t), ch, 1))
	res := c.run("trigger", "-c", ch, "-e", "MessageSent", "-d", `{"message":{"content":"signed here"}}`)
	require.Equal(t, 0, res.code, res.stderr)
	got := l.wait(t)
	require.Equal(t, 0, got.code, got.stderr)
	recs := jsonLines(t, got.stdout)
	require.Len(t, recs, 1)
	assert.Equal(t, "signed here", recs[0].Get("data.message.content").String())
}

// TestListenSigningAnEncryptedChannelWithoutTheKey is bad usage (exit 2)
// that names the flag. It needs the lead's mapping of auth.Config errors
// to exit 2 (or the check in cmdutil.Authorizer): see the H4 report.
func TestListenSigningAnEncryptedChannelWithoutTheKey(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	res := apiCLI(t, srv.Addr()).run("listen", "-c", "private-encrypted-chat.7", "--count", "1")
	assert.Equal(t, ExitUsage, res.code, res.stderr)
	assert.Contains(t, res.stderr, "needs the encryption master key")
	assert.Contains(t, res.stderr, "hint: pass --encryption-master-key")
	assert.Empty(t, res.stdout)
}
