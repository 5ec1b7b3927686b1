package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names inside the config folder.
const (
	ConfigFileName      = "config"
	CredentialsFileName = "credentials"
)

// Dir is $XDG_CONFIG_HOME/tmsws, or $HOME/.config/tmsws; env looks up the
// variables (os.Getenv in production). A relative XDG_CONFIG_HOME is ignored,
// as the XDG spec says.
func Dir(env func(string) string) (string, error) {
	if x := env("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "tmsws"), nil
	}
	if h := env("HOME"); h != "" {
		return filepath.Join(h, ".config", "tmsws"), nil
	}
	return "", errors.New("cannot find the config folder: set HOME or XDG_CONFIG_HOME")
}

// Credential is what tmsws login stores for a profile.
type Credential struct {
	Token   string
	User    string
	SavedAt time.Time
}

const credentialsHeader = "# tmsws credentials: written by tmsws login, keep private (mode 0600)\n"

func credentialsPath(dir string) string { return filepath.Join(dir, CredentialsFileName) }

// LoadCredential returns the credential stored for profile in
// dir/credentials; found is false when the file or the profile is missing.
// Use CredentialsWarning to learn whether the file is readable by others.
func LoadCredential(dir, profile string) (Credential, bool, error) {
	f, err := readINI(credentialsPath(dir))
	if err != nil {
		return Credential{}, false, err
	}
	s := f.section(profile)
	if s == nil {
		return Credential{}, false, nil
	}
	var c Credential
	for _, e := range s.entries {
		switch e.key {
		case "token":
			c.Token = e.value
		case "user":
			c.User = e.value
		case "saved_at":
			t, err := time.Parse(time.RFC3339Nano, e.value)
			if err != nil {
				return Credential{}, false, usagef("%s:%d: saved_at is not an RFC 3339 time: fix or remove the line",
					f.path, e.line)
			}
			c.SavedAt = t
		default:
			return Credential{}, false, usagef("%s:%d: unknown key %s: credentials hold token, user and saved_at",
				f.path, e.line, keyName(e.key))
		}
	}
	if c.Token == "" {
		return Credential{}, false, nil
	}
	return c, true, nil
}

// CredentialsWarning returns a warning when dir/credentials exists and can
// be read by the group or by others, and "" otherwise. The file is still
// used; the caller prints the warning.
func CredentialsWarning(dir string) string {
	p := credentialsPath(dir)
	fi, err := os.Stat(p)
	if err != nil {
		return ""
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Sprintf("%s is readable by others (mode %04o): run chmod 600 %s", p, fi.Mode().Perm(), p)
	}
	return ""
}

// SaveCredential stores c for profile in dir/credentials, keeping the other
// profiles' entries. The folder is created 0700 and the file written 0600,
// atomically (temp file, fsync, rename).
func SaveCredential(dir, profile string, c Credential) error {
	if !validProfileName(profile) {
		return usagef("profile %q is not a valid name: use letters, digits, '.', '_' and '-'", profile)
	}
	token := strings.TrimSpace(c.Token)
	if token == "" {
		return errors.New("save credentials: the token is empty")
	}
	if strings.ContainsAny(token, "\r\n") || strings.ContainsAny(c.User, "\r\n") {
		return errors.New("save credentials: the token or the user holds a line break")
	}
	if err := ensureDir(dir); err != nil {
		return err
	}
	f, err := readINI(credentialsPath(dir))
	if err != nil {
		return err
	}
	s := f.section(profile)
	if s == nil {
		s = &iniSection{name: profile}
		f.sections = append(f.sections, s)
	}
	s.entries = []iniEntry{{key: "token", value: token}}
	if c.User != "" {
		s.entries = append(s.entries, iniEntry{key: "user", value: strings.TrimSpace(c.User)})
	}
	if !c.SavedAt.IsZero() {
		s.entries = append(s.entries, iniEntry{key: "saved_at", value: c.SavedAt.UTC().Format(time.RFC3339)})
	}
	return writeAtomic(credentialsPath(dir), f.encode(credentialsHeader), 0o600)
}

// DeleteCredential removes profile from dir/credentials and reports whether
// it was there. The file is removed when no profile is left.
func DeleteCredential(dir, profile string) (bool, error) {
	p := credentialsPath(dir)
	f, err := readINI(p)
	if err != nil {
		return false, err
	}
	kept := f.sections[:0]
	found := false
	for _, s := range f.sections {
		if s.name == profile {
			found = true
			continue
		}
		kept = append(kept, s)
	}
	if !found {
		return false, nil
	}
	f.sections = kept
	if len(kept) == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return true, fmt.Errorf("remove %s: %w", p, err)
		}
		return true, nil
	}
	return true, writeAtomic(p, f.encode(credentialsHeader), 0o600)
}

// ensureDir creates dir 0700, and tightens it to 0700 if it exists looser
// (it is tmsws's own folder).
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder: move it away", dir)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("chmod 700 %s: %w", dir, err)
		}
	}
	return nil
}

// writeAtomic writes data to a temp file next to path, syncs it and renames
// it over path, so a reader sees the old or the new file, never a mix.
func writeAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Make the rename itself durable; not every platform can sync a folder.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Mask shows at most the last 4 characters of a token: "…wxyz" for tokens of
// 8 characters or more, "****" for shorter ones, "" for none.
func Mask(token string) string {
	r := []rune(token)
	switch {
	case len(r) == 0:
		return ""
	case len(r) < 8:
		return "****"
	}
	return "…" + string(r[len(r)-4:])
}
