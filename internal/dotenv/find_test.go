package dotenv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tree makes the files (content "x") and directories (ending in /) under a
// new temporary directory and returns it.
func tree(t *testing.T, paths ...string) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	for _, p := range paths {
		full := filepath.Join(root, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o700))
		if p[len(p)-1] == '/' {
			require.NoError(t, os.MkdirAll(full, 0o700))
			continue
		}
		require.NoError(t, os.WriteFile(full, []byte("x"), 0o600))
	}
	return root
}

func TestFindProject(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		files []string
		links map[string]string // link → target, relative to the root
		start string
		want  string // "" when none
	}{
		{name: "the start directory", files: []string{"app/artisan", "app/.env"}, start: "app", want: "app"},
		{name: "upward", files: []string{"app/artisan", "app/.env", "app/resources/js/x/"}, start: "app/resources/js/x", want: "app"},
		{name: "the nearest", files: []string{"artisan", ".env", "a/artisan", "a/.env", "a/b/"}, start: "a/b", want: "a"},
		{name: "artisan without .env is skipped", files: []string{"artisan", ".env", "a/artisan", "a/b/"}, start: "a/b", want: "."},
		{name: ".env without artisan is skipped", files: []string{"artisan", ".env", "a/.env", "a/b/"}, start: "a/b", want: "."},
		{name: "a .env directory is skipped", files: []string{"artisan", ".env", "a/artisan", "a/.env/"}, start: "a", want: "."},
		{name: "an artisan directory is skipped", files: []string{"artisan", ".env", "a/artisan/", "a/.env"}, start: "a", want: "."},
		{name: "symlinks to files", files: []string{"real/artisan", "real/env", "a/"},
			links: map[string]string{"a/artisan": "real/artisan", "a/.env": "real/env"}, start: "a", want: "a"},
		{name: "a dangling .env symlink is skipped", files: []string{"artisan", ".env", "a/artisan"},
			links: map[string]string{"a/.env": "gone"}, start: "a", want: "."},
		{name: "none", files: []string{"a/b/", "a/.env"}, start: "a/b", want: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := tree(t, tt.files...)
			for link, target := range tt.links {
				require.NoError(t, os.Symlink(filepath.Join(root, target), filepath.Join(root, link)))
			}
			dir, env, ok := FindProject(filepath.Join(root, tt.start))
			if tt.want == "" {
				assert.False(t, ok)
				assert.Empty(t, dir)
				assert.Empty(t, env)
				return
			}
			require.True(t, ok)
			want := filepath.Join(root, tt.want)
			assert.Equal(t, want, dir)
			assert.Equal(t, filepath.Join(want, ".env"), env)
		})
	}
}

// TestFindProjectRelative: a relative dir is taken from the working
// directory; the answer is absolute.
func TestFindProjectRelative(t *testing.T) {
	root := tree(t, "app/artisan", "app/.env", "app/sub/")
	t.Chdir(filepath.Join(root, "app", "sub"))
	dir, env, ok := FindProject(".")
	require.True(t, ok)
	assert.Equal(t, filepath.Join(root, "app"), dir)
	assert.Equal(t, filepath.Join(root, "app", ".env"), env)
	dir, _, ok = FindProject("..")
	require.True(t, ok)
	assert.Equal(t, filepath.Join(root, "app"), dir)
}
