package config

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// encryptionMasterKeySize is the length of a Pusher encryption master key.
const encryptionMasterKeySize = 32

// resolveEncryption sets s.EncryptionMasterKey from --encryption-master-key,
// then TMSWS_ENCRYPTION_MASTER_KEY, then the profile. The value is standard
// base64 (the app's PUSHER_ENCRYPTION_MASTER_KEY_BASE64) of exactly 32
// bytes; anything else is a usage error that says where the value came
// from and what is wrong with it, never the value itself.
func resolveEncryption(r *resolver, f *Flags, s *Settings) error {
	v := r.get("encryption-master-key", f.EncryptionMasterKey, EnvEncryptionMasterKey, "")
	text := strings.TrimSpace(v.s)
	if text == "" {
		if v.from == fromFlag {
			return usagef("%s: the key is empty: pass the app's PUSHER_ENCRYPTION_MASTER_KEY_BASE64", keySource(v))
		}
		return nil
	}
	key, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return usagef("%s: not standard base64 (%s): pass the app's PUSHER_ENCRYPTION_MASTER_KEY_BASE64, e.g. from openssl rand -base64 32",
			keySource(v), base64Problem(err))
	}
	if len(key) != encryptionMasterKeySize {
		return usagef("%s: the key is %d bytes, want %d: pass the app's PUSHER_ENCRYPTION_MASTER_KEY_BASE64 (44 base64 characters, e.g. from openssl rand -base64 32)",
			keySource(v), len(key), encryptionMasterKeySize)
	}
	s.EncryptionMasterKey = key
	return nil
}

// keySource names where the key came from without quoting it, unlike
// value.desc, which repeats a flag's or variable's text.
func keySource(v value) string {
	switch v.from {
	case fromFlag:
		return "--encryption-master-key"
	case fromEnv:
		return EnvEncryptionMasterKey
	}
	return v.desc // the profile's "path:line: key", without the value
}

// base64Problem says what is wrong with base64 text: the offset of the
// first bad byte, without the byte itself.
func base64Problem(err error) string {
	if ce, ok := err.(base64.CorruptInputError); ok {
		return fmt.Sprintf("bad input at character %d", int64(ce)+1)
	}
	return "it does not decode"
}
