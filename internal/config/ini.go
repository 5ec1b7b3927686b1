package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// UsageError is bad input from the user, a flag, the environment or a
// config file (exit code 2). Msg says what was wrong and what to do.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) *UsageError {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// iniFile is a parsed INI file: sections in file order, each with its
// entries in file order. Repeated sections are merged.
type iniFile struct {
	path     string
	sections []*iniSection
}

type iniSection struct {
	name string
	// origin: the section is named by an origin ("[https://h:443]", in the
	// credentials file only), not by a profile; name is then the origin in
	// its canonical form (see Origin).
	origin  bool
	line    int
	entries []iniEntry
}

type iniEntry struct {
	key, value string
	line       int
}

var profileNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func validProfileName(name string) bool { return profileNameRE.MatchString(name) && len(name) <= 64 }

// readINI parses path; a missing file is an empty iniFile. Section headers
// name profiles; in the credentials file (named CredentialsFileName) they
// may also name origins, such as [https://tms.example.com:443].
func readINI(path string) (*iniFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &iniFile{path: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if filepath.Base(path) == CredentialsFileName {
		return parseCredentialsINI(path, data)
	}
	return parseINI(path, data)
}

// parseINI reads `[profile]` headers and `key = value` lines; blank lines
// and lines starting with # or ; are ignored. Values are taken verbatim
// after trimming surrounding spaces (no quotes, no inline comments), so a
// token or a header value may hold any character.
func parseINI(path string, data []byte) (*iniFile, error) {
	return parseINIWith(path, data, false)
}

// parseCredentialsINI is parseINI that also takes origin headers
// ([https://host:port]); an origin is stored in its canonical form, so
// [https://h] and [https://h:443] are one section.
func parseCredentialsINI(path string, data []byte) (*iniFile, error) {
	return parseINIWith(path, data, true)
}

func parseINIWith(path string, data []byte, origins bool) (*iniFile, error) {
	f := &iniFile{path: path}
	var cur *iniSection
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, usagef("%s:%d: a [profile] header is not closed: end it with ]", path, n)
			}
			name := strings.TrimSpace(line[1 : len(line)-1])
			isOrigin := false
			if origins && strings.Contains(name, "://") {
				o, err := sectionOrigin(name)
				if err != nil {
					return nil, usagef("%s:%d: %v", path, n, err)
				}
				name, isOrigin = o, true
			} else if !validProfileName(name) {
				return nil, usagef("%s:%d: not a valid profile name: use letters, digits, '.', '_' and '-' inside [ ]", path, n)
			}
			cur = f.section(name)
			if cur == nil {
				cur = &iniSection{name: name, origin: isOrigin, line: n}
				f.sections = append(f.sections, cur)
			}
		default:
			key, value, ok := strings.Cut(line, "=")
			key = strings.ToLower(strings.TrimSpace(key))
			if !ok || key == "" || strings.ContainsAny(key, " \t") {
				return nil, usagef("%s:%d: neither a [profile] header nor key = value: fix or remove the line", path, n)
			}
			if cur == nil {
				return nil, usagef("%s:%d: %s comes before any [profile] header: put it under [default]", path, n, keyName(key))
			}
			cur.entries = append(cur.entries, iniEntry{key: key, value: strings.TrimSpace(value), line: n})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: line %d: %w", path, n+1, err)
	}
	return f, nil
}

// Errors about these files name the file, the line and what is wrong with
// it, and never quote a value: a line may hold a token or a secret, pasted
// in the wrong place. A key is quoted only when it looks like a key name (a
// token pasted as "eyJ...=" has the token as its "key").
var keyNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,19}$`)

// keyName quotes key for an error message, or says "a key" when it might
// be something else.
func keyName(key string) string {
	if keyNameRE.MatchString(key) {
		return strconv.Quote(key)
	}
	return "a key"
}

func (f *iniFile) section(name string) *iniSection {
	for _, s := range f.sections {
		if s.name == name {
			return s
		}
	}
	return nil
}

// names lists the profile sections (not the origin ones).
func (f *iniFile) names() []string {
	out := make([]string, 0, len(f.sections))
	for _, s := range f.sections {
		if !s.origin {
			out = append(out, s.name)
		}
	}
	return out
}

// drop removes the sections for which gone is true.
func (f *iniFile) drop(gone func(*iniSection) bool) {
	kept := f.sections[:0]
	for _, s := range f.sections {
		if !gone(s) {
			kept = append(kept, s)
		}
	}
	f.sections = kept
}

// last returns the last value of key in the section (later lines win).
func (s *iniSection) last(key string) (iniEntry, bool) {
	if s == nil {
		return iniEntry{}, false
	}
	for i := len(s.entries) - 1; i >= 0; i-- {
		if s.entries[i].key == key {
			return s.entries[i], true
		}
	}
	return iniEntry{}, false
}

func (s *iniSection) all(key string) []iniEntry {
	if s == nil {
		return nil
	}
	var out []iniEntry
	for _, e := range s.entries {
		if e.key == key {
			out = append(out, e)
		}
	}
	return out
}

// encode writes the file back, one blank line between sections.
func (f *iniFile) encode(header string) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	for i, s := range f.sections {
		if i > 0 || header != "" {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "[%s]\n", s.name)
		for _, e := range s.entries {
			fmt.Fprintf(&b, "%s = %s\n", e.key, e.value)
		}
	}
	return b.Bytes()
}
