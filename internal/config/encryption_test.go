package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncryptionMasterKey(t *testing.T) {
	t.Parallel()
	const (
		flagKey = "VGhpcyBpcyBhIHN0cmluZyB0aGF0IGlzIDMyIGNoYXI=" // "This is a string that is 32 char"
		envKey  = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
		profKey = "//////////////////////////////////////////8="
	)
	profile := "[default]\nencryption-master-key = " + profKey + "\n"
	tests := []struct {
		name string
		su   setup
		want []byte
	}{
		{"none", setup{}, nil},
		{"flag", setup{args: []string{"--encryption-master-key", flagKey}}, []byte("This is a string that is 32 char")},
		{"env", setup{env: map[string]string{EnvEncryptionMasterKey: envKey}}, make([]byte, 32)},
		{"profile", setup{config: profile}, []byte(strings.Repeat("\xff", 32))},
		{"flag beats env and profile", setup{config: profile, env: map[string]string{EnvEncryptionMasterKey: envKey},
			args: []string{"--encryption-master-key", flagKey}}, []byte("This is a string that is 32 char")},
		{"env beats profile", setup{config: profile, env: map[string]string{EnvEncryptionMasterKey: envKey}}, make([]byte, 32)},
		{"spaces around it", setup{env: map[string]string{EnvEncryptionMasterKey: " " + envKey + "\n"}}, make([]byte, 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, err := tt.su.resolve(t)
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.EncryptionMasterKey)
		})
	}
}

func TestEncryptionMasterKeyErrors(t *testing.T) {
	t.Parallel()
	short := "c2hvcnQ=" // "short"
	tests := []struct {
		name string
		su   setup
		want []string
		key  string // must not appear in the message
	}{
		{"flag not base64", setup{args: []string{"--encryption-master-key", "not*base64!"}},
			[]string{"--encryption-master-key: not standard base64 (bad input at character 4)", "PUSHER_ENCRYPTION_MASTER_KEY_BASE64"}, "not*base64!"},
		{"env too short", setup{env: map[string]string{EnvEncryptionMasterKey: short}},
			[]string{EnvEncryptionMasterKey + ": the key is 5 bytes, want 32", "openssl rand -base64 32"}, short},
		{"url-safe base64 is not standard", setup{env: map[string]string{EnvEncryptionMasterKey: "________________________________________8="}},
			[]string{EnvEncryptionMasterKey + ": not standard base64"}, "________"},
		{"profile too long", setup{config: "[default]\nencryption-master-key = " + strings.Repeat("A", 48) + "\n"},
			[]string{"config:2: encryption-master-key: the key is 36 bytes, want 32"}, strings.Repeat("A", 48)},
		{"empty flag", setup{args: []string{"--encryption-master-key", ""}},
			[]string{"--encryption-master-key: the key is empty"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := tt.su.resolve(t)
			var ue *UsageError
			require.ErrorAs(t, err, &ue)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			if tt.key != "" {
				assert.NotContains(t, err.Error(), tt.key, "the key is never echoed")
			}
		})
	}
}
