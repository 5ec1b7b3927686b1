package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
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

// Credential is what tmsws login stores for an origin.
type Credential struct {
	Token   string
	User    string
	SavedAt time.Time
}

// StoredToken is one token of the credentials file and the origin it
// belongs to.
type StoredToken struct {
	Credential
	// Origin is the canonical origin (see Origin) the token belongs to, and
	// the only one it is ever sent to. For a legacy section it is the origin
	// of that profile's api-url; "" when that cannot be worked out (the
	// config file's profile is broken), and then the token is never sent.
	Origin string
	// Legacy names the profile of a section in the format before tokens were
	// kept per origin ([default], [staging]); "" for an origin section.
	Legacy string
	// OriginErr says why Origin is "" for a legacy section.
	OriginErr error
}

const credentialsHeader = "# tmsws credentials: written by tmsws login, keep private (mode 0600).\n" +
	"# Each token is kept under the origin (scheme://host:port) of the API that issued it, and only ever sent there.\n"

func credentialsPath(dir string) string { return filepath.Join(dir, CredentialsFileName) }

// Origin is the origin of an http(s) URL as tokens are kept under it:
// lowercase scheme "://" lowercase host ":" port, with the default port made
// explicit (https 443, http 80), so https://h and https://h:443/x are one
// origin. An IPv6 host is bracketed. The error never repeats the URL.
func Origin(rawURL string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return "", errors.New("not a URL: use one like https://tms.example.com")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("not an http(s) URL: use one like https://tms.example.com")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", errors.New("a URL without a host: use one like https://tms.example.com")
	}
	port := u.Port()
	if port == "" {
		if strings.HasSuffix(u.Host, ":") {
			return "", errors.New("a URL with an empty port: use one like https://tms.example.com:8443")
		}
		port = "443"
		if scheme == "http" {
			port = "80"
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", errors.New("a URL with a bad port: use 1 to 65535")
	}
	port = strings.TrimLeft(port, "0")
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// ShowOrigin prints an origin the way a user would type it: without the
// default port of its scheme (https://tms.example.com,
// http://127.0.0.1:18000). Anything else is returned as it is.
func ShowOrigin(origin string) string {
	switch {
	case strings.HasPrefix(origin, "https://") && strings.HasSuffix(origin, ":443"):
		return strings.TrimSuffix(origin, ":443")
	case strings.HasPrefix(origin, "http://") && strings.HasSuffix(origin, ":80"):
		return strings.TrimSuffix(origin, ":80")
	}
	return origin
}

// sectionOrigin checks a credentials section header naming an origin: an
// http(s) URL with nothing after the host and port.
func sectionOrigin(name string) (string, error) {
	const bad = "not an origin: use [https://host:port] or [https://host]"
	u, err := url.Parse(name)
	if err != nil || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", errors.New(bad)
	}
	o, err := Origin(name)
	if err != nil {
		return "", errors.New(bad)
	}
	return o, nil
}

// credentialOf reads a section's entries.
func credentialOf(f *iniFile, s *iniSection) (Credential, error) {
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
				return Credential{}, usagef("%s:%d: saved_at is not an RFC 3339 time: fix or remove the line",
					f.path, e.line)
			}
			c.SavedAt = t
		default:
			return Credential{}, usagef("%s:%d: unknown key %s: credentials hold token, user and saved_at",
				f.path, e.line, keyName(e.key))
		}
	}
	return c, nil
}

// LoadTokens returns every token of dir/credentials, in file order: those
// kept under an origin, and those of legacy profile sections, which belong
// to the origin of their profile's api-url as the config file gives it (its
// api-url key, else {scheme}://{host} of the profile). A missing file holds
// none. Use CredentialsWarning to learn whether the file is readable by
// others.
func LoadTokens(dir string) ([]StoredToken, error) {
	f, err := readINI(credentialsPath(dir))
	if err != nil {
		return nil, err
	}
	var cfg *iniFile
	var out []StoredToken
	for _, s := range f.sections {
		c, err := credentialOf(f, s)
		if err != nil {
			return nil, err
		}
		if c.Token == "" {
			continue
		}
		st := StoredToken{Credential: c}
		if s.origin {
			st.Origin = s.name
		} else {
			st.Legacy = s.name
			if cfg == nil {
				if cfg, err = readINI(filepath.Join(dir, ConfigFileName)); err != nil {
					return nil, err
				}
			}
			st.Origin, st.OriginErr = profileOrigin(cfg, s.name)
		}
		out = append(out, st)
	}
	return out, nil
}

// profileOrigin is the origin of a profile's api-url as the config file
// alone resolves it (no flags, no environment).
func profileOrigin(cfg *iniFile, profile string) (string, error) {
	r := &resolver{env: func(string) string { return "" }, profile: cfg.section(profile), path: cfg.path}
	s := &Settings{}
	if err := resolveServer(r, &Flags{}, s); err != nil {
		return "", err
	}
	api := r.get("api-url", "", "", s.Scheme+"://"+hostPort(s.Host, ""))
	u, err := checkURL(api)
	if err != nil {
		return "", err
	}
	return Origin(u)
}

// tokenFor picks the token for origin: the origin's own section, else a
// legacy section of that origin (profile's first, then the others in file
// order).
func tokenFor(all []StoredToken, origin, profile string) (StoredToken, bool) {
	var legacy []StoredToken
	for _, st := range all {
		switch {
		case st.Origin != origin:
		case st.Legacy == "":
			return st, true
		case st.Legacy == profile:
			legacy = append([]StoredToken{st}, legacy...)
		default:
			legacy = append(legacy, st)
		}
	}
	if len(legacy) > 0 {
		return legacy[0], true
	}
	return StoredToken{}, false
}

// LoadToken returns the token stored for the origin of rawURL (any URL of
// that server), from its origin section or a legacy section of that origin.
func LoadToken(dir, rawURL string) (StoredToken, bool, error) {
	origin, err := Origin(rawURL)
	if err != nil {
		return StoredToken{}, false, err
	}
	all, err := LoadTokens(dir)
	if err != nil {
		return StoredToken{}, false, err
	}
	st, ok := tokenFor(all, origin, "")
	return st, ok, nil
}

// LoadCredential returns the token a profile's own settings (its api-url as
// the config file gives it) would use; found is false when none is stored.
func LoadCredential(dir, profile string) (Credential, bool, error) {
	all, err := LoadTokens(dir)
	if err != nil {
		return Credential{}, false, err
	}
	cfg, err := readINI(filepath.Join(dir, ConfigFileName))
	if err != nil {
		return Credential{}, false, err
	}
	origin, err := profileOrigin(cfg, profile)
	if err != nil {
		return Credential{}, false, err
	}
	st, ok := tokenFor(all, origin, profile)
	return st.Credential, ok, nil
}

// CredentialsWarning returns a warning when dir/credentials exists and can
// be read, written or run by the group or by others, and "" otherwise. The
// file is still used; the caller prints the warning.
func CredentialsWarning(dir string) string {
	p := credentialsPath(dir)
	fi, err := os.Stat(p)
	if err != nil {
		return ""
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Sprintf("%s is %s (mode %04o): run chmod 600 %s", p, openTo(fi.Mode().Perm()), fi.Mode().Perm(), p)
	}
	return ""
}

// SaveToken stores c under origin (a canonical origin, see Origin) in
// dir/credentials, keeping the other origins' entries. A legacy section of
// profile whose token belongs to the same origin is dropped: the new
// section replaces it. The folder is created 0700 and the file written 0600,
// atomically (temp file, fsync, rename).
func SaveToken(dir, origin, profile string, c Credential) error {
	canon, err := Origin(origin)
	if err != nil || canon != origin {
		return fmt.Errorf("save credentials: %q is not a canonical origin (use config.Origin)", origin)
	}
	token := strings.TrimSpace(c.Token)
	if token == "" {
		return errors.New("save credentials: the token is empty")
	}
	if strings.ContainsAny(token, "\r\n") || strings.ContainsAny(c.User, "\r\n") {
		return errors.New("save credentials: the token or the user holds a line break")
	}
	all, err := LoadTokens(dir)
	if err != nil {
		return err
	}
	if err := ensureDir(dir); err != nil {
		return err
	}
	f, err := readINI(credentialsPath(dir))
	if err != nil {
		return err
	}
	for _, st := range all {
		if st.Legacy != "" && st.Legacy == profile && st.Origin == origin {
			f.drop(func(s *iniSection) bool { return !s.origin && s.name == profile })
		}
	}
	s := f.section(origin)
	if s == nil {
		s = &iniSection{name: origin, origin: true}
		f.sections = append(f.sections, s)
	}
	s.entries = []iniEntry{{key: "token", value: token}}
	if u := strings.TrimSpace(c.User); u != "" {
		s.entries = append(s.entries, iniEntry{key: "user", value: u})
	}
	if !c.SavedAt.IsZero() {
		s.entries = append(s.entries, iniEntry{key: "saved_at", value: c.SavedAt.UTC().Format(time.RFC3339)})
	}
	return writeAtomic(credentialsPath(dir), f.encode(credentialsHeader), 0o600)
}

// DeleteTokens removes the tokens of origin from dir/credentials: its
// origin section and every legacy section whose token belongs to it. With
// origin "" it removes every token. It returns what was removed; the file
// is removed when nothing is left in it.
func DeleteTokens(dir, origin string) ([]StoredToken, error) {
	all, err := LoadTokens(dir)
	if err != nil {
		return nil, err
	}
	var removed []StoredToken
	gone := map[string]bool{} // section names
	for _, st := range all {
		if origin == "" || st.Origin == origin {
			removed = append(removed, st)
			if st.Legacy != "" {
				gone["legacy "+st.Legacy] = true
			} else {
				gone["origin "+st.Origin] = true
			}
		}
	}
	p := credentialsPath(dir)
	f, err := readINI(p)
	if err != nil {
		return nil, err
	}
	n := len(f.sections)
	f.drop(func(s *iniSection) bool {
		if origin == "" {
			return true
		}
		if s.origin {
			return gone["origin "+s.name]
		}
		return gone["legacy "+s.name]
	})
	if len(f.sections) == n {
		return removed, nil
	}
	if len(f.sections) == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("remove %s: %w", p, err)
		}
		return removed, nil
	}
	return removed, writeAtomic(p, f.encode(credentialsHeader), 0o600)
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

// openTo says what a mode lets the group and others do with the file:
// "readable by others", "writable by others", "readable and writable by
// others" or "open to others" (execute bits only).
func openTo(perm os.FileMode) string {
	read, write := perm&0o044 != 0, perm&0o022 != 0
	switch {
	case read && write:
		return "readable and writable by others"
	case read:
		return "readable by others"
	case write:
		return "writable by others"
	}
	return "open to others"
}
