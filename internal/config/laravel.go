package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/amusoft/tmsws/internal/dotenv"
)

// EnvNoEnvFile turns off reading the Laravel project's .env (as
// --no-env-file does) when it is a true value.
const EnvNoEnvFile = "TMSWS_NO_ENV_FILE"

// DotEnv says which Laravel .env the settings read and what it gave.
type DotEnv struct {
	// Path is the .env file read.
	Path string
	// Used are the settings whose value came from it, in Keys order
	// (host, port, key, ...): the ones no stronger source gave.
	Used []string
	// Vite names the variables of the browser's view that were preferred
	// for the WebSocket (VITE_REVERB_HOST, ...), with what the backend's
	// variable said instead when it differed: "VITE_REVERB_HOST (REVERB_HOST
	// is reverb)".
	Vite []string
	// Driver is the broadcaster the .env selects: "reverb", "pusher", the
	// text of BROADCAST_CONNECTION (or BROADCAST_DRIVER) otherwise, "" when
	// it sets neither.
	Driver string
	// File is the parsed file, for doctor's checks.
	File *dotenv.File
}

// Summary is the one [config] status line about the .env: which file, and
// which settings it gave.
func (d *DotEnv) Summary() string {
	if len(d.Used) == 0 {
		return "read " + d.Path + ": it gives no setting that a flag, TMSWS_* variable or profile did not"
	}
	msg := "using " + d.Path + " for " + strings.Join(d.Used, ", ")
	if len(d.Vite) > 0 {
		msg += "; the WebSocket address from " + strings.Join(d.Vite, ", ") + ": the browser's view of the server, as Laravel Echo connects"
	}
	return msg
}

// dotValue is a setting as the .env gives it.
type dotValue struct {
	s    string
	line int
	name string // the variable, e.g. REVERB_HOST
}

// laravelVars maps each setting to the .env variables that give it, the
// first one set winning: for the WebSocket address the browser's view
// (VITE_*) comes first, since tmsws connects as the app's clients do.
var laravelVars = map[string]map[string][]string{
	"reverb": {
		"key":        {"REVERB_APP_KEY", "VITE_REVERB_APP_KEY"},
		"app-id":     {"REVERB_APP_ID"},
		"app-secret": {"REVERB_APP_SECRET"},
		"host":       {"VITE_REVERB_HOST", "REVERB_HOST"},
		"port":       {"VITE_REVERB_PORT", "REVERB_PORT"},
		"scheme":     {"VITE_REVERB_SCHEME", "REVERB_SCHEME"},
		"ws-path":    {"REVERB_SERVER_PATH"},
		"api-url":    {"APP_URL"},
	},
	"pusher": {
		"key":        {"PUSHER_APP_KEY", "VITE_PUSHER_APP_KEY"},
		"app-id":     {"PUSHER_APP_ID"},
		"app-secret": {"PUSHER_APP_SECRET"},
		"cluster":    {"PUSHER_APP_CLUSTER", "VITE_PUSHER_APP_CLUSTER"},
		"host":       {"VITE_PUSHER_HOST", "PUSHER_HOST"},
		"port":       {"VITE_PUSHER_PORT", "PUSHER_PORT"},
		"scheme":     {"VITE_PUSHER_SCHEME", "PUSHER_SCHEME"},
		"api-url":    {"APP_URL"},
	},
}

// laravelValue is the variable name as Laravel's env() reads it: unset,
// empty, null, (null), empty and (empty) all mean "not given".
func laravelValue(f *dotenv.File, name string) (dotenv.Var, bool) {
	v, ok := f.Get(name)
	if !ok {
		return v, false
	}
	v.Value = strings.TrimSpace(v.Value)
	switch strings.ToLower(v.Value) {
	case "", "null", "(null)", "empty", "(empty)":
		return v, false
	}
	return v, true
}

// Driver is the broadcaster a Laravel .env selects: BROADCAST_CONNECTION,
// else the older BROADCAST_DRIVER, lowercased; "" when neither is set.
func Driver(f *dotenv.File) string {
	for _, name := range []string{"BROADCAST_CONNECTION", "BROADCAST_DRIVER"} {
		if v, ok := laravelValue(f, name); ok {
			return strings.ToLower(v.Value)
		}
	}
	return ""
}

// laravelSettings maps a parsed .env to settings: PUSHER_* when the
// broadcaster is pusher, REVERB_* otherwise.
func laravelSettings(f *dotenv.File) (map[string]dotValue, []string) {
	set := "reverb"
	if Driver(f) == "pusher" {
		set = "pusher"
	}
	out := map[string]dotValue{}
	var vite []string
	vars := laravelVars[set]
	for _, key := range profileKeys { // a fixed order, so the notes read the same every run
		names, ok := vars[key]
		if !ok {
			continue
		}
		for _, name := range names {
			v, ok := laravelValue(f, name)
			if !ok {
				continue
			}
			s := v.Value
			if key == "ws-path" && !strings.HasPrefix(s, "/") {
				s = "/" + s // REVERB_SERVER_PATH=ws is the prefix /ws
			}
			out[key] = dotValue{s: s, line: v.Line, name: name}
			if strings.HasPrefix(name, "VITE_") && (key == "host" || key == "port" || key == "scheme") {
				backend := strings.TrimPrefix(name, "VITE_")
				if b, ok := laravelValue(f, backend); ok && b.Value != v.Value {
					vite = append(vite, fmt.Sprintf("%s (%s says otherwise)", name, backend))
				}
			}
			break
		}
	}
	return out, vite
}

// loadDotEnv finds and reads the Laravel .env: --env-file, else the nearest
// directory from the working directory upward with artisan and .env; none
// with --no-env-file or TMSWS_NO_ENV_FILE. It returns nil when there is
// none to read.
func loadDotEnv(r *resolver, f *Flags, env func(string) string) (*DotEnv, map[string]dotValue, error) {
	if r.changed("no-env-file") && f.NoEnvFile {
		if r.changed("env-file") {
			return nil, nil, usagef("--env-file and --no-env-file contradict each other: give one of them")
		}
		return nil, nil, nil
	}
	if !r.changed("env-file") {
		if v := env(EnvNoEnvFile); v != "" {
			off, err := parseBool(v)
			if err != nil {
				return nil, nil, usagef("%s=%s: not a boolean: use 1 to stop tmsws reading the Laravel .env", EnvNoEnvFile, quoteIfNeeded(v))
			}
			if off {
				return nil, nil, nil
			}
		}
	}
	wd := f.WorkDir
	if wd == "" {
		var err error
		if wd, err = os.Getwd(); err != nil {
			return nil, nil, nil // no working directory: no project to find
		}
	}
	var path string
	if r.changed("env-file") {
		path = strings.TrimSpace(f.EnvFile)
		if path == "" {
			return nil, nil, usagef("--env-file is empty: name the Laravel .env to read, or pass --no-env-file")
		}
		path = expandHome(path, env)
		if !filepath.IsAbs(path) {
			path = filepath.Join(wd, path)
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, usagef("--env-file %s: no such file: name the Laravel project's .env (e.g. --env-file ../my-app/.env)", f.EnvFile)
		}
	} else {
		var ok bool
		if _, path, ok = dotenv.FindProject(wd); !ok {
			return nil, nil, nil
		}
	}
	file, err := dotenv.Load(path, env)
	if err != nil {
		var de *dotenv.Error
		if errors.As(err, &de) {
			return nil, nil, usagef("%v: fix the line (the .env is read as Laravel reads it), or pass --no-env-file to ignore the file", de)
		}
		return nil, nil, usagef("cannot read %s: %v: pass --no-env-file to ignore it", path, err)
	}
	vals, vite := laravelSettings(file)
	return &DotEnv{Path: path, Vite: vite, Driver: Driver(file), File: file}, vals, nil
}
