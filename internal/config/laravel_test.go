package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// laravelProject makes a Laravel-shaped folder (artisan and .env) with a
// subfolder, and returns the project and the subfolder.
func laravelProject(t *testing.T, env string) (project, sub string) {
	t.Helper()
	project = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(project, "artisan"), []byte("#!/usr/bin/env php\n<?php\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(project, ".env"), []byte(env), 0o644))
	sub = filepath.Join(project, "app", "Events")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	return project, sub
}

// reverbEnv is the .env of a Laravel 11 app after php artisan
// install:broadcasting, with its Reverb block.
const reverbEnv = `APP_NAME=Laravel
APP_ENV=local
APP_KEY=base64:2fl+Ktvkfl+Fuz4Qp/A75G2RTiWVA/ZoKZvp6fiiM10=
APP_DEBUG=true
APP_URL=http://chat.test

BROADCAST_CONNECTION=reverb
QUEUE_CONNECTION=database

REVERB_APP_ID=417512
REVERB_APP_KEY=qwlsbbd3ivkqj3hdcbmm
REVERB_APP_SECRET=qxj7cpgsxwyzdeqcxkfv
REVERB_HOST="localhost"
REVERB_PORT=8080
REVERB_SCHEME=http

VITE_APP_NAME="${APP_NAME}"
VITE_REVERB_APP_KEY="${REVERB_APP_KEY}"
VITE_REVERB_HOST="${REVERB_HOST}"
VITE_REVERB_PORT="${REVERB_PORT}"
VITE_REVERB_SCHEME="${REVERB_SCHEME}"
`

func TestALaravelProjectNeedsNoSetup(t *testing.T) {
	t.Parallel()
	project, sub := laravelProject(t, reverbEnv)
	s, _, err := setup{workDir: sub}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, "localhost", s.Host)
	assert.Equal(t, 8080, s.Port)
	assert.Equal(t, "http", s.Scheme)
	assert.Equal(t, "qwlsbbd3ivkqj3hdcbmm", s.Key)
	assert.Equal(t, "417512", s.AppID)
	assert.Equal(t, "qxj7cpgsxwyzdeqcxkfv", s.AppSecret)
	assert.Equal(t, "http://chat.test", s.APIURL)
	assert.Equal(t, "http://chat.test/broadcasting/auth", s.AuthURL)
	assert.False(t, s.SignLocally, "a secret from .env never replaces the app's /broadcasting/auth")
	require.NotNil(t, s.DotEnv)
	envPath := filepath.Join(project, ".env")
	assert.Equal(t, envPath, s.DotEnv.Path)
	assert.Equal(t, []string{"host", "port", "scheme", "key", "api-url", "app-id", "app-secret"}, s.DotEnv.Used)
	assert.Empty(t, s.DotEnv.Vite, "the stock VITE_REVERB_* repeat REVERB_*: nothing to say")
	assert.Equal(t, "reverb", s.DotEnv.Driver)
	assert.Equal(t, "using "+envPath+" for host, port, scheme, key, api-url, app-id, app-secret", s.DotEnv.Summary())
	assert.NotContains(t, s.DotEnv.Summary(), "qxj7", "never a secret in the status line")
	assert.Equal(t, ".env "+envPath+":20 (VITE_REVERB_PORT)", s.Origin("port"))
	assert.Equal(t, ".env "+envPath+":12 (REVERB_APP_SECRET)", s.Origin("app-secret"))
	v, _ := s.Value("app-secret")
	assert.Equal(t, "…xkfv", v, "masked")
}

func TestNoProjectNoDotEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A .env without artisan is not a Laravel project.
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte("REVERB_HOST=nope\n"), 0o644))
	s, _, err := setup{workDir: dir}.resolve(t)
	require.NoError(t, err)
	assert.Nil(t, s.DotEnv)
	assert.Equal(t, DefaultHost, s.Host)
}

func TestTheBrowsersViewIsPreferredForTheWebSocket(t *testing.T) {
	t.Parallel()
	_, sub := laravelProject(t, `REVERB_HOST=reverb
REVERB_PORT=8080
REVERB_SCHEME=http
VITE_REVERB_HOST=ws.chat.test
VITE_REVERB_PORT=443
VITE_REVERB_SCHEME=https
REVERB_SERVER_PATH=ws
`)
	s, _, err := setup{workDir: sub}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, "ws.chat.test", s.Host)
	assert.Equal(t, 443, s.Port)
	assert.Equal(t, "https", s.Scheme)
	assert.Equal(t, "/ws", s.WSPath, "REVERB_SERVER_PATH=ws is the prefix /ws")
	assert.Equal(t, []string{"VITE_REVERB_HOST (REVERB_HOST says otherwise)", "VITE_REVERB_PORT (REVERB_PORT says otherwise)",
		"VITE_REVERB_SCHEME (REVERB_SCHEME says otherwise)"}, s.DotEnv.Vite, "in the order of the settings, every run")
	assert.Contains(t, s.DotEnv.Summary(), "the browser's view")

	// A flag for the host leaves only the port and scheme to mention.
	s, _, err = setup{workDir: sub, args: []string{"--host", "127.0.0.1"}}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", s.Host)
	assert.Equal(t, []string{"VITE_REVERB_PORT (REVERB_PORT says otherwise)", "VITE_REVERB_SCHEME (REVERB_SCHEME says otherwise)"}, sortedCopy(s.DotEnv.Vite))
}

func sortedCopy(v []string) []string {
	out := append([]string(nil), v...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestPusherDriverReadsPusherVariables(t *testing.T) {
	t.Parallel()
	both := `REVERB_APP_KEY=reverb-key
REVERB_HOST=reverb.local
PUSHER_APP_ID=1900001
PUSHER_APP_KEY=pusher-key
PUSHER_APP_SECRET=pusher-secret
PUSHER_HOST=
PUSHER_PORT=443
PUSHER_SCHEME="https"
PUSHER_APP_CLUSTER=eu
`
	for _, driver := range []string{"BROADCAST_CONNECTION=pusher", "BROADCAST_DRIVER=pusher", "BROADCAST_CONNECTION=Pusher"} {
		_, sub := laravelProject(t, driver+"\n"+both)
		s, _, err := setup{workDir: sub}.resolve(t)
		require.NoError(t, err, driver)
		assert.Equal(t, "pusher-key", s.Key, driver)
		assert.Equal(t, "1900001", s.AppID, driver)
		assert.Equal(t, "eu", s.Cluster, driver)
		assert.Equal(t, "ws-eu.pusher.com", s.Host, "an empty PUSHER_HOST leaves the cluster's host: %s", driver)
		assert.Equal(t, 443, s.Port)
		assert.Equal(t, "pusher", s.DotEnv.Driver)
	}
	// With a host (Soketi behind the pusher driver), the host wins over the cluster.
	_, sub := laravelProject(t, "BROADCAST_CONNECTION=pusher\n"+strings.Replace(both, "PUSHER_HOST=", "PUSHER_HOST=soketi.local", 1))
	s, _, err := setup{workDir: sub}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, "soketi.local", s.Host)

	// Any other broadcaster reads REVERB_*.
	_, sub = laravelProject(t, "BROADCAST_CONNECTION=reverb\n"+both)
	s, _, err = setup{workDir: sub}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, "reverb-key", s.Key)
	assert.Equal(t, "reverb.local", s.Host)
	assert.Empty(t, s.Cluster)
}

func TestLaravelNullValuesAreUnset(t *testing.T) {
	t.Parallel()
	_, sub := laravelProject(t, "REVERB_HOST=null\nREVERB_PORT=(null)\nREVERB_SCHEME=empty\nREVERB_APP_KEY=\nAPP_URL=(empty)\n")
	s, _, err := setup{workDir: sub}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, DefaultHost, s.Host)
	assert.Equal(t, DefaultPort, s.Port)
	assert.Equal(t, DefaultKey, s.Key)
	assert.Empty(t, s.DotEnv.Used)
	assert.Contains(t, s.DotEnv.Summary(), "gives no setting")
}

// TestPrecedenceEveryPair: for each pair of sources, the stronger one
// gives the host: flag; TMSWS_* environment; a profile named with
// --profile or TMSWS_PROFILE; the Laravel .env; the default profile;
// built-in defaults.
func TestPrecedenceEveryPair(t *testing.T) {
	t.Parallel()
	type source struct {
		name  string
		host  string
		apply func(su *setup, named *bool, env *string)
	}
	sources := []source{
		{"flag", "from-flag", func(su *setup, _ *bool, _ *string) { su.args = append(su.args, "--host", "from-flag") }},
		{"env", "from-env", func(su *setup, _ *bool, _ *string) { su.env["TMSWS_HOST"] = "from-env" }},
		{"named profile", "from-named", func(su *setup, named *bool, _ *string) { *named = true }},
		{".env", "from-dotenv", func(_ *setup, _ *bool, env *string) { *env = "REVERB_HOST=from-dotenv\n" }},
		{"default profile", "from-default-profile", func(su *setup, _ *bool, _ *string) {
			su.config += "[default]\nhost = from-default-profile\n"
		}},
	}
	for i, hi := range sources {
		for _, lo := range append(sources[i+1:], source{name: "built-in default", host: DefaultHost}) {
			t.Run(hi.name+" over "+lo.name, func(t *testing.T) {
				t.Parallel()
				su := setup{env: map[string]string{}}
				named, dot := false, ""
				for _, src := range []source{hi, lo} {
					if src.apply != nil {
						src.apply(&su, &named, &dot)
					}
				}
				if named {
					su.config += "[staging]\nhost = from-named\n"
					su.args = append(su.args, "--profile", "staging")
				}
				if dot != "" {
					_, su.workDir = laravelProject(t, dot)
				}
				s, _, err := su.resolve(t)
				require.NoError(t, err)
				assert.Equal(t, hi.host, s.Host)
			})
		}
	}
	// A profile named through TMSWS_PROFILE is named too.
	_, sub := laravelProject(t, "REVERB_HOST=from-dotenv\n")
	s, _, err := setup{workDir: sub, config: "[staging]\nhost = from-named\n", env: map[string]string{"TMSWS_PROFILE": "staging"}}.resolve(t)
	require.NoError(t, err)
	assert.Equal(t, "from-named", s.Host)
	assert.Equal(t, "profile staging ("+filepath.Join(s.ConfigDir, "config")+":2)", s.Origin("host"))
}

func TestDotEnvSecretSignsLocallyOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	_, sub := laravelProject(t, reverbEnv)
	s, _, err := setup{workDir: sub}.resolve(t)
	require.NoError(t, err)
	assert.False(t, s.SignLocally)
	assert.NotEmpty(t, s.AppSecret, "it still signs trigger and HTTP API calls")

	s, _, err = setup{workDir: sub, args: []string{"--sign-locally"}}.resolve(t)
	require.NoError(t, err)
	assert.True(t, s.SignLocally)

	// The user's own secret (env, profile) signs as before.
	s, _, err = setup{workDir: sub, env: map[string]string{"TMSWS_APP_SECRET": "mine"}}.resolve(t)
	require.NoError(t, err)
	assert.True(t, s.SignLocally)
	s, _, err = setup{workDir: sub, config: "[default]\napp-secret = mine\n"}.resolve(t)
	require.NoError(t, err)
	assert.False(t, s.SignLocally, "the .env's secret beats the default profile's, and does not sign")
	s, _, err = setup{workDir: sub, config: "[local]\napp-secret = mine\n", args: []string{"--profile", "local"}}.resolve(t)
	require.NoError(t, err)
	assert.True(t, s.SignLocally, "a named profile's secret signs")
}

func TestEnvFileFlags(t *testing.T) {
	t.Parallel()
	project, sub := laravelProject(t, reverbEnv)

	t.Run("--no-env-file", func(t *testing.T) {
		t.Parallel()
		s, _, err := setup{workDir: sub, args: []string{"--no-env-file"}}.resolve(t)
		require.NoError(t, err)
		assert.Nil(t, s.DotEnv)
		assert.Equal(t, DefaultHost, s.Host)
	})
	t.Run("TMSWS_NO_ENV_FILE", func(t *testing.T) {
		t.Parallel()
		s, _, err := setup{workDir: sub, env: map[string]string{"TMSWS_NO_ENV_FILE": "1"}}.resolve(t)
		require.NoError(t, err)
		assert.Nil(t, s.DotEnv)
		s, _, err = setup{workDir: sub, env: map[string]string{"TMSWS_NO_ENV_FILE": "0"}}.resolve(t)
		require.NoError(t, err)
		assert.NotNil(t, s.DotEnv)
		_, _, err = setup{workDir: sub, env: map[string]string{"TMSWS_NO_ENV_FILE": "maybe"}}.resolve(t)
		require.Error(t, err)
		assert.Equal(t, "TMSWS_NO_ENV_FILE=maybe: not a boolean: use 1 to stop tmsws reading the Laravel .env", err.Error())
	})
	t.Run("--env-file beats TMSWS_NO_ENV_FILE and discovery", func(t *testing.T) {
		t.Parallel()
		other := filepath.Join(t.TempDir(), "staging.env")
		require.NoError(t, os.WriteFile(other, []byte("REVERB_HOST=staging.chat.test\n"), 0o600))
		s, _, err := setup{workDir: sub, args: []string{"--env-file", other}, env: map[string]string{"TMSWS_NO_ENV_FILE": "1"}}.resolve(t)
		require.NoError(t, err)
		assert.Equal(t, "staging.chat.test", s.Host)
		assert.Equal(t, DefaultKey, s.Key, "only the named file is read")
	})
	t.Run("a relative --env-file is read from the working directory", func(t *testing.T) {
		t.Parallel()
		s, _, err := setup{workDir: project, args: []string{"--env-file", ".env"}}.resolve(t)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(project, ".env"), s.DotEnv.Path)
	})
	t.Run("a missing --env-file", func(t *testing.T) {
		t.Parallel()
		_, _, err := setup{workDir: sub, args: []string{"--env-file", "nope/.env"}}.resolve(t)
		var ue *UsageError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, "--env-file nope/.env: no such file: name the Laravel project's .env (e.g. --env-file ../my-app/.env)", err.Error())
	})
	t.Run("both flags", func(t *testing.T) {
		t.Parallel()
		_, _, err := setup{workDir: sub, args: []string{"--env-file", ".env", "--no-env-file"}}.resolve(t)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "contradict")
	})
}

func TestABrokenDotEnvSaysWhereAndHowToGoOn(t *testing.T) {
	t.Parallel()
	_, sub := laravelProject(t, "REVERB_HOST=localhost\nREVERB_APP_SECRET=abc def\n")
	_, _, err := setup{workDir: sub}.resolve(t)
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), ".env:2: ")
	assert.Contains(t, err.Error(), "--no-env-file")
	assert.NotContains(t, err.Error(), "abc def", "a value may be a secret")

	// A bad value is named by its file, line and variable, never quoted.
	_, sub = laravelProject(t, "REVERB_PORT=eighty\n")
	_, _, err = setup{workDir: sub}.resolve(t)
	require.Error(t, err)
	assert.Regexp(t, `\.env:1: REVERB_PORT: not a port number: use 1 to 65535$`, err.Error())
	assert.NotContains(t, err.Error(), "eighty")
}
