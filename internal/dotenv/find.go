package dotenv

import (
	"os"
	"path/filepath"
)

// FindProject returns the nearest directory, from dir upward to the root,
// that holds both a file named "artisan" and a file named ".env" (regular
// files or symlinks to them), and the path of that .env; ok is false when
// none does. A directory with artisan but no .env is skipped: the search goes
// on upward. A relative dir is taken from the working directory, and
// projectDir is then absolute.
func FindProject(dir string) (projectDir, envPath string, ok bool) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	dir = filepath.Clean(dir)
	for {
		envPath = filepath.Join(dir, ".env")
		if isFile(filepath.Join(dir, "artisan")) && isFile(envPath) {
			return dir, envPath, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", "", false
		}
		dir = parent
	}
}

// isFile: path is a regular file, or a symlink to one.
func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
