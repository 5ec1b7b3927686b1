package laraveltest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/soketitest"
)

// authorize asks the fake for a channel authorization the way tmsws does.
func authorize(t *testing.T, ctx context.Context, a *App, token, socketID, channel string) (auth, channelData, sharedSecret string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.AuthURL(), strings.NewReader(FormBody(socketID, channel)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := a.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body struct {
		Auth         string `json:"auth"`
		ChannelData  string `json:"channel_data"`
		SharedSecret string `json:"shared_secret"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return body.Auth, body.ChannelData, body.SharedSecret
}

func TestSoketiAcceptsTheFakesAuthorizations(t *testing.T) {
	t.Parallel()
	s := soketitest.FromEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := New(t, Config{
		AppKey:    s.Key,
		AppSecret: s.Secret,
		Users: map[string]User{
			"alice@example.com": {ID: "8", Name: "Alice", Password: "secret"},
			"zoe@example.com":   {ID: "12", Name: "Zoë / Admin", Password: "secret"},
		},
		EncryptionMasterKey: masterKey,
	})
	alice, zoe := a.TokenFor(t, "alice@example.com"), a.TokenFor(t, "zoe@example.com")

	c1, err := soketitest.Dial(ctx, s.WSURL())
	require.NoError(t, err)
	defer c1.Close()

	// Private channel.
	private := soketitest.UniqueChannel(t, "private-chat")
	auth, _, _ := authorize(t, ctx, a, alice, c1.SocketID, private)
	require.NoError(t, c1.Subscribe(ctx, private, auth, ""))
	_, err = c1.WaitFor(ctx, "pusher_internal:subscription_succeeded", private)
	require.NoError(t, err)

	// Encrypted channel: Soketi checks the auth as for a private channel.
	encrypted := soketitest.UniqueChannel(t, "private-encrypted-chat")
	auth, _, secret := authorize(t, ctx, a, alice, c1.SocketID, encrypted)
	assert.NotEmpty(t, secret)
	require.NoError(t, c1.Subscribe(ctx, encrypted, auth, ""))
	_, err = c1.WaitFor(ctx, "pusher_internal:subscription_succeeded", encrypted)
	require.NoError(t, err)

	// Presence channel: channel_data forwarded byte for byte.
	presence := soketitest.UniqueChannel(t, "presence-room")
	auth, channelData, _ := authorize(t, ctx, a, alice, c1.SocketID, presence)
	require.NoError(t, c1.Subscribe(ctx, presence, auth, channelData))
	f, err := c1.WaitFor(ctx, "pusher_internal:subscription_succeeded", presence)
	require.NoError(t, err)
	assert.JSONEq(t, `{"presence":{"ids":["8"],"hash":{"8":{"name":"Alice"}},"count":1}}`, f.DataString())

	// A second member whose name PHP escapes ("\/", "\u00eb").
	c2, err := soketitest.Dial(ctx, s.WSURL())
	require.NoError(t, err)
	defer c2.Close()
	auth, channelData, _ = authorize(t, ctx, a, zoe, c2.SocketID, presence)
	assert.Contains(t, channelData, `Zo\u00eb \/ Admin`)
	require.NoError(t, c2.Subscribe(ctx, presence, auth, channelData))
	_, err = c2.WaitFor(ctx, "pusher_internal:subscription_succeeded", presence)
	require.NoError(t, err)

	f, err = c1.WaitFor(ctx, "pusher_internal:member_added", presence)
	require.NoError(t, err)
	assert.JSONEq(t, `{"user_id":"12","user_info":{"name":"Zoë / Admin"}}`, f.DataString())

	users, err := s.Users(ctx, presence)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"8", "12"}, users)
}

func TestSoketiRejectsAuthorizationForAnotherSocket(t *testing.T) {
	t.Parallel()
	s := soketitest.FromEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := New(t, Config{
		AppKey: s.Key, AppSecret: s.Secret,
		Users: map[string]User{"alice@example.com": {ID: "8", Name: "Alice", Password: "secret"}},
	})
	tok := a.TokenFor(t, "alice@example.com")

	old, err := soketitest.Dial(ctx, s.WSURL())
	require.NoError(t, err)
	defer old.Close()
	fresh, err := soketitest.Dial(ctx, s.WSURL())
	require.NoError(t, err)
	defer fresh.Close()

	channel := soketitest.UniqueChannel(t, "private-chat")
	staleAuth, _, _ := authorize(t, ctx, a, tok, old.SocketID, channel)
	require.NoError(t, fresh.Subscribe(ctx, channel, staleAuth, ""))
	_, err = fresh.WaitFor(ctx, "pusher_internal:subscription_succeeded", channel)
	require.ErrorIs(t, err, soketitest.ErrRejected, "an authorization is bound to its socket id")

	auth, _, _ := authorize(t, ctx, a, tok, fresh.SocketID, channel)
	require.NoError(t, fresh.Subscribe(ctx, channel, auth, ""))
	_, err = fresh.WaitFor(ctx, "pusher_internal:subscription_succeeded", channel)
	require.NoError(t, err)

	reqs := a.AuthRequests()
	require.Len(t, reqs, 2)
	assert.Equal(t, old.SocketID, reqs[0].SocketID)
	assert.Equal(t, fresh.SocketID, reqs[1].SocketID)
}
