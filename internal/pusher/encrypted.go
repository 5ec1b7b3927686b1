package pusher

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/tidwall/gjson"
	"golang.org/x/crypto/nacl/secretbox"
)

// decodeSharedSecret reads the base64 shared_secret an auth endpoint returns
// for a private-encrypted- channel.
func decodeSharedSecret(s string) (*[32]byte, error) {
	if s == "" {
		return nil, errors.New("the auth endpoint returned no shared_secret for an encrypted channel (set encryption_master_key_base64 in config/broadcasting.php)")
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the shared_secret is not base64: %w", err)
	}
	if len(raw) != 32 {
		return nil, fmt.Errorf("the shared_secret is %d bytes, want 32", len(raw))
	}
	var key [32]byte
	copy(key[:], raw)
	return &key, nil
}

// decrypt opens an encrypted channel event: data is
// {"nonce":"<b64 24 bytes>","ciphertext":"<b64 secretbox>"}. The plaintext
// is returned as raw JSON (or a JSON string when it is not JSON).
func decrypt(key *[32]byte, data []byte) ([]byte, error) {
	nonceB64 := gjson.GetBytes(data, "nonce").String()
	ctB64 := gjson.GetBytes(data, "ciphertext").String()
	if nonceB64 == "" || ctB64 == "" {
		return nil, errors.New("the data has no nonce and ciphertext")
	}
	nonce, err := base64.StdEncoding.DecodeString(nonceB64)
	if err != nil || len(nonce) != 24 {
		return nil, errors.New("the nonce is not 24 bytes of base64")
	}
	ct, err := base64.StdEncoding.DecodeString(ctB64)
	if err != nil {
		return nil, errors.New("the ciphertext is not base64")
	}
	if len(ct) < secretbox.Overhead {
		return nil, errors.New("the ciphertext is too short")
	}
	var n [24]byte
	copy(n[:], nonce)
	plain, ok := secretbox.Open(nil, ct, &n, key)
	if !ok {
		return nil, errors.New("authentication failed (wrong key or corrupted message)")
	}
	return decodeData(gjson.Result{Type: gjson.String, Str: string(plain)})
}
