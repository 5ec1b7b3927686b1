package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/crypto/nacl/secretbox"
)

// Sign returns the lowercase hex HMAC-SHA256 of stringToSign keyed with the
// app secret, as Pusher, Reverb and Soketi compute it.
func Sign(secret, stringToSign string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return hex.EncodeToString(m.Sum(nil))
}

// ChannelAuth returns the "key:signature" auth string for a channel:
// the signed string is "socket_id:channel", plus ":channel_data" when
// channelData is not empty (presence channels).
func ChannelAuth(key, secret, socketID, channel, channelData string) string {
	s := socketID + ":" + channel
	if channelData != "" {
		s += ":" + channelData
	}
	return key + ":" + Sign(secret, s)
}

// UserAuth returns the "key:signature" auth string of a pusher:signin for
// userData (a JSON string with an "id"): the signed string is
// "socket_id::user::user_data".
func UserAuth(key, secret, socketID, userData string) string {
	return key + ":" + Sign(secret, socketID+"::user::"+userData)
}

// VerifyChannelAuth reports whether auth ("key:signature") is a valid
// signature of the channel subscription. Like Reverb, it checks only the part
// after the first colon, in constant time.
func VerifyChannelAuth(secret, socketID, channel, channelData, auth string) bool {
	_, sig, ok := strings.Cut(auth, ":")
	if !ok {
		return false
	}
	want := ChannelAuth("", secret, socketID, channel, channelData)[1:]
	return hmac.Equal([]byte(sig), []byte(want))
}

// Signer signs channel subscriptions locally with the app secret
// (--app-secret) instead of calling the auth endpoint. A Signer must not be
// copied after first use.
type Signer struct {
	Key, Secret string
	// UserID is the presence user id; when empty a random "tmsws-xxxxxxxx"
	// is chosen once per Signer, so reconnects keep the same member.
	UserID string
	// MasterKey is the 32-byte encryption master key; with it, a
	// private-encrypted- channel gets its shared secret derived as the
	// Pusher server SDKs derive it. Without it such channels are refused.
	MasterKey []byte

	once   sync.Once
	userID string
}

// Authorize signs the subscription of channel for socketID. Presence
// channels get a generated channel_data
// {"user_id":"...","user_info":{"name":"tmsws"}}. Encrypted channels get
// the shared secret derived from MasterKey, as the Pusher server SDKs'
// authorizeChannel answers; without MasterKey they are refused with a
// Config error that names --encryption-master-key.
func (s *Signer) Authorize(ctx context.Context, socketID, channel string) (Result, error) {
	op := "authorize " + channel
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	if s.Secret == "" {
		return Result{}, &Error{Kind: Config, Op: op, Detail: "local signing needs the app secret",
			Hint: "pass --app-secret (or TMSWS_APP_SECRET), or leave it out (or pass --no-sign-locally) to use the auth endpoint"}
	}
	var r Result
	if strings.HasPrefix(channel, EncryptedPrefix) {
		if len(s.MasterKey) != MasterKeySize {
			return Result{}, &Error{Kind: Config, Op: op,
				Detail: "signing an end-to-end encrypted channel locally needs the encryption master key, to derive its shared secret",
				Hint: "pass --encryption-master-key (or TMSWS_ENCRYPTION_MASTER_KEY) with the app's PUSHER_ENCRYPTION_MASTER_KEY_BASE64, " +
					"or --no-sign-locally so the auth endpoint (--auth-url) returns the shared secret"}
		}
		r.SharedSecret = SharedSecretBase64(channel, s.MasterKey)
	}
	if strings.HasPrefix(channel, PresencePrefix) {
		r.ChannelData = s.channelData()
	}
	r.Auth = ChannelAuth(s.Key, s.Secret, socketID, channel, r.ChannelData)
	return r, nil
}

// PresenceUserID is the user id the Signer puts in presence channel_data.
func (s *Signer) PresenceUserID() string {
	s.once.Do(func() {
		s.userID = s.UserID
		if s.userID == "" {
			var b [4]byte
			_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
			s.userID = "tmsws-" + hex.EncodeToString(b[:])
		}
	})
	return s.userID
}

func (s *Signer) channelData() string {
	type userInfo struct {
		Name string `json:"name"`
	}
	v := struct {
		UserID   string   `json:"user_id"`
		UserInfo userInfo `json:"user_info"`
	}{s.PresenceUserID(), userInfo{"tmsws"}}
	b, _ := json.Marshal(v) // a struct of strings always marshals
	return string(b)
}

// MasterKeySize is the length of an encryption master key in bytes.
const MasterKeySize = 32

// SharedSecret is the key of the private-encrypted- channel: SHA-256 of the
// channel name followed by the master key, as pusher-http-php
// (generate_shared_secret), pusher-http-go (generateSharedSecret) and
// Laravel's PusherBroadcaster derive it.
func SharedSecret(channel string, masterKey []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(channel))
	h.Write(masterKey)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// SharedSecretBase64 is SharedSecret as an auth answer's shared_secret.
func SharedSecretBase64(channel string, masterKey []byte) string {
	k := SharedSecret(channel, masterKey)
	return base64.StdEncoding.EncodeToString(k[:])
}

// EncryptData seals the event data (the JSON text the HTTP API would send
// as "data") for the encrypted channel: NaCl secretbox under the channel's
// shared secret with a random 24-byte nonce, returned as the data string
// {"nonce":"<base64>","ciphertext":"<base64>"} that pusher-js decrypts.
// random is the nonce source (crypto/rand.Reader when nil).
func EncryptData(channel string, masterKey, data []byte, random io.Reader) (string, error) {
	if len(masterKey) != MasterKeySize {
		return "", fmt.Errorf("the encryption master key is %d bytes, want %d", len(masterKey), MasterKeySize)
	}
	if random == nil {
		random = rand.Reader
	}
	var nonce [24]byte
	if _, err := io.ReadFull(random, nonce[:]); err != nil {
		return "", fmt.Errorf("encrypt for %s: read a nonce: %w", channel, err)
	}
	key := SharedSecret(channel, masterKey)
	box := secretbox.Seal(nil, data, &nonce, &key)
	b, err := json.Marshal(struct {
		Nonce      string `json:"nonce"`
		Ciphertext string `json:"ciphertext"`
	}{base64.StdEncoding.EncodeToString(nonce[:]), base64.StdEncoding.EncodeToString(box)})
	if err != nil {
		return "", fmt.Errorf("encrypt for %s: %w", channel, err)
	}
	return string(b), nil
}
