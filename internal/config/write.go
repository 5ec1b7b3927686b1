package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ConfigPath is the config file in dir.
func ConfigPath(dir string) string { return filepath.Join(dir, ConfigFileName) }

// SetProfileValues sets keys of profile in dir/config: a key the profile
// already has gets the new value on its (last) line, a new key is added
// after the profile's last line, and a missing profile gets a new section at
// the end. Every other line, comment and blank line stays as it was. kv may
// be empty, which only makes sure the profile's section exists. Keys must be
// profile keys (not token); values cannot hold a line break. The file is
// checked before and after the edit and written atomically, mode 0600, in a
// 0700 folder.
func SetProfileValues(dir, profile string, kv [][2]string) error {
	if !validProfileName(profile) {
		return usagef("profile %q is not a valid name: use letters, digits, '.', '_' and '-'", profile)
	}
	for _, p := range kv {
		if !isProfileKey(p[0]) {
			return usagef("unknown key %s: profiles take %s", keyName(p[0]), strings.Join(profileKeys, ", "))
		}
		if strings.ContainsAny(p[1], "\r\n") {
			return usagef("the value of %s holds a line break: a config line cannot", p[0])
		}
	}
	path := ConfigPath(dir)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if _, err := parseINI(path, data); err != nil {
		return err // never rewrite a file we cannot read
	}
	out := editProfile(data, profile, kv)
	if _, err := parseINI(path, out); err != nil {
		return fmt.Errorf("update %s: the edit would break the file: %w", path, err)
	}
	if err := ensureDir(dir); err != nil {
		return err
	}
	return writeAtomic(path, out, 0o600)
}

func isProfileKey(k string) bool {
	for _, p := range profileKeys {
		if p == k {
			return true
		}
	}
	return false
}

// configLine is one line of a config file as editProfile sees it.
type configLine struct {
	text    string // without its line ending
	section string // the profile it belongs to ("" before any header)
	key     string // the key of a key = value line, else ""
	header  bool   // a [profile] line
}

// editProfile applies kv to data (a file parseINI accepts) line by line.
func editProfile(data []byte, profile string, kv [][2]string) []byte {
	eol := "\n"
	if bytes.Contains(data, []byte("\r\n")) {
		eol = "\r\n"
	}
	var lines []configLine
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.TrimSuffix(text, "\n")
	cur := ""
	if text != "" {
		for i, l := range strings.Split(text, "\n") {
			t := strings.TrimSpace(l)
			if i == 0 {
				t = strings.TrimPrefix(t, "\ufeff")
			}
			cl := configLine{text: l, section: cur}
			switch {
			case t == "" || t[0] == '#' || t[0] == ';':
			case t[0] == '[':
				cur = strings.TrimSpace(t[1 : len(t)-1])
				cl.section, cl.header = cur, true
			default:
				k, _, _ := strings.Cut(t, "=")
				cl.key = strings.ToLower(strings.TrimSpace(k))
			}
			lines = append(lines, cl)
		}
	}

	for _, p := range kv {
		entry := p[0] + " = " + strings.TrimSpace(p[1])
		last, end := -1, -1 // the key's last line; the profile's last key or header line
		for i, l := range lines {
			if l.section != profile {
				continue
			}
			if l.key == p[0] {
				last = i
			}
			if l.key != "" || l.header {
				end = i
			}
		}
		switch {
		case last >= 0:
			lines[last].text = entry
		case end >= 0:
			lines = append(lines[:end+1], append([]configLine{{text: entry, section: profile, key: p[0]}}, lines[end+1:]...)...)
		default:
			lines = appendSection(lines, profile)
			lines = append(lines, configLine{text: entry, section: profile, key: p[0]})
		}
	}
	if len(kv) == 0 && !hasSection(lines, profile) {
		lines = appendSection(lines, profile)
	}

	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.text)
		b.WriteString(eol)
	}
	return []byte(b.String())
}

func hasSection(lines []configLine, profile string) bool {
	for _, l := range lines {
		if l.section == profile && l.header {
			return true
		}
	}
	return false
}

func appendSection(lines []configLine, profile string) []configLine {
	if len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1].text) != "" {
		lines = append(lines, configLine{section: lines[len(lines)-1].section})
	}
	return append(lines, configLine{text: "[" + profile + "]", section: profile, header: true})
}

// HasProfile reports whether dir/config has a [profile] section.
func HasProfile(dir, profile string) (bool, error) {
	f, err := readINI(ConfigPath(dir))
	if err != nil {
		return false, err
	}
	return f.section(profile) != nil, nil
}

// UnsetProfileValue removes every line of key from profile in dir/config,
// keeping all other lines, comments and blank lines; removed is false when
// the profile did not set the key (the file is then left untouched).
func UnsetProfileValue(dir, profile, key string) (removed bool, err error) {
	if !validProfileName(profile) {
		return false, usagef("profile %q is not a valid name: use letters, digits, '.', '_' and '-'", profile)
	}
	if !isProfileKey(key) {
		return false, usagef("unknown key %s: profiles take %s", keyName(key), strings.Join(profileKeys, ", "))
	}
	path := ConfigPath(dir)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	f, err := parseINI(path, data)
	if err != nil {
		return false, err // never rewrite a file we cannot read
	}
	if sec := f.section(profile); sec == nil || len(sec.all(key)) == 0 {
		return false, nil
	}
	// The same line walk as editProfile, dropping the key's lines.
	eol := "\n"
	if bytes.Contains(data, []byte("\r\n")) {
		eol = "\r\n"
	}
	text := strings.TrimSuffix(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	var b strings.Builder
	cur := ""
	for i, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if i == 0 {
			t = strings.TrimPrefix(t, "\ufeff")
		}
		switch {
		case t == "" || t[0] == '#' || t[0] == ';':
		case t[0] == '[':
			cur = strings.TrimSpace(t[1 : len(t)-1])
		default:
			k, _, _ := strings.Cut(t, "=")
			if cur == profile && strings.ToLower(strings.TrimSpace(k)) == key {
				if i == 0 && strings.HasPrefix(l, "\ufeff") {
					b.WriteString("\ufeff") // the BOM stays with the file
				}
				continue
			}
		}
		b.WriteString(l)
		b.WriteString(eol)
	}
	out := []byte(b.String())
	if _, err := parseINI(path, out); err != nil {
		return false, fmt.Errorf("update %s: the edit would break the file: %w", path, err)
	}
	return true, writeAtomic(path, out, 0o600)
}

// CheckValue reports whether value is valid for the profile key key, with
// the message a profile holding it would give; tmsws config set checks a
// value before it writes it.
func CheckValue(key, val string) error {
	if !isProfileKey(key) {
		return usagef("unknown key %s: profiles take %s", keyName(key), strings.Join(profileKeys, ", "))
	}
	if strings.ContainsAny(val, "\r\n") {
		return usagef("the value of %s holds a line break: a config line cannot", key)
	}
	r := &resolver{env: func(string) string { return "" }, origins: map[string]value{}, profileRank: fromProfile,
		path: "the value", profile: &iniSection{name: "new", entries: []iniEntry{{key: key, value: val, line: 1}}}}
	f := &Flags{}
	s := &Settings{Header: map[string][]string{}}
	for _, step := range []func(*resolver, *Flags, *Settings) error{resolveServer, resolveHTTP, resolveSigning, resolveEncryption} {
		if err := step(r, f, s); err != nil {
			return checkValueError(err)
		}
	}
	return checkValueError(resolveAppID(r, s))
}

// checkValueError drops the "the value:1: " a profile line's error starts
// with: the user typed the value on the command line.
func checkValueError(err error) error {
	var ue *UsageError
	if errors.As(err, &ue) {
		ue.Msg = strings.TrimPrefix(ue.Msg, "the value:1: ")
	}
	return err
}
