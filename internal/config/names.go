package config

import "path/filepath"

// Keys are the settings a profile of the config file may set, in the
// order tmsws config list shows them (shell completion offers them too).
func Keys() []string { return append([]string(nil), profileKeys...) }

// ProfileNames lists the profiles the config file defines, in file
// order; nil when there is no config file or it cannot be read (shell
// completion offers them, so it never fails).
func ProfileNames(env func(string) string) []string {
	dir, err := Dir(env)
	if err != nil {
		return nil
	}
	cfg, err := readINI(filepath.Join(dir, ConfigFileName))
	if err != nil {
		return nil
	}
	return cfg.names()
}
