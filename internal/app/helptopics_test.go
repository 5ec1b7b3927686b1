package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/record"
)

var helpTopics = map[string]string{
	"exit-codes":  "Exit codes of tmsws",
	"environment": "Environment variables",
	"config":      "Config files",
	"formats":     "Formats",
}

// Every topic is listed by tmsws help (under "Additional help topics", or
// as the command it ends the help of: tmsws config) and printed whole by
// tmsws help TOPIC, exit 0.
func TestHelpTopicsListedAndPrinted(t *testing.T) {
	t.Parallel()
	res := newCLI(t).run("help")
	require.Equal(t, 0, res.code, res.stderr)
	_, topics, found := strings.Cut(res.stdout, "\nAdditional help topics:\n")
	require.True(t, found, "tmsws help has no additional help topics:\n%s", res.stdout)
	topics, _, _ = strings.Cut(topics, "\n\n")
	for name, title := range helpTopics {
		listed := regexp.MustCompile(`(?m)^  (tmsws )?` + regexp.QuoteMeta(name) + ` +\S`)
		if name == "config" && !strings.Contains(topics, "tmsws config ") {
			assert.Regexp(t, listed, res.stdout, "tmsws config is listed as a command")
		} else {
			assert.Regexp(t, listed, topics, "%s is an additional help topic", name)
		}

		got := newCLI(t).run("help", name)
		require.Equal(t, 0, got.code, got.stderr)
		assert.Empty(t, got.stderr)
		assert.Contains(t, got.stdout, title+"\n\n", name)
		if name != "config" {
			assert.True(t, strings.HasPrefix(got.stdout, title+"\n\n"), "%s starts with its title: %.80q", name, got.stdout)
			assert.NotContains(t, got.stdout, "Global Flags", "%s is text, not a command's usage", name)
			assert.Equal(t, got.stdout, newCLI(t).run(name).stdout, "tmsws %s prints the topic too", name)
		}
	}
}

// consts parses the non-test Go files of dir and returns the constants
// whose name matches nameRE, with their literal values.
func consts(t *testing.T, dir string, nameRE *regexp.Regexp) map[string]string {
	t.Helper()
	out := map[string]string{}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !nameRE.MatchString(n.Name) || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						continue
					}
					v := lit.Value
					if lit.Kind == token.STRING {
						v, err = strconv.Unquote(v)
						require.NoError(t, err)
					}
					out[n.Name] = v
				}
			}
		}
	}
	return out
}

// Every exit code constant of app.go, one added tomorrow included, has its
// row in tmsws help exit-codes.
func TestHelpExitCodesCoverEveryCode(t *testing.T) {
	t.Parallel()
	codes := consts(t, ".", regexp.MustCompile(`^Exit[A-Z]`))
	require.GreaterOrEqual(t, len(codes), 9, "the exit code constants of app.go")
	out := newCLI(t).run("help", "exit-codes").stdout
	for name, code := range codes {
		assert.Regexp(t, `(?m)^  `+code+` +\S`, out, "%s (%s) is not documented in tmsws help exit-codes", name, code)
	}
	for _, row := range exitCodeHelp {
		assert.NotEmpty(t, row.Meaning, "%d", row.Code)
		assert.NotEmpty(t, row.Causes, "%d", row.Code)
	}
}

// envReads finds the environment variables the code under internal/ reads
// by name: env("X"), IO.Env("X"), os.Getenv("X"), os.LookupEnv("X").
// Test helpers (packages ending in test) are left out.
func envReads(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasSuffix(d.Name(), "test") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			var name string
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				name = fn.Sel.Name
			}
			switch name {
			case "env", "Env", "Getenv", "LookupEnv":
			default:
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				out[v] = fset.Position(lit.Pos()).String()
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	return out
}

// Every TMSWS_* constant of internal/config, and every variable the code
// reads by name, is in tmsws help environment.
func TestHelpEnvironmentCoversEveryVariable(t *testing.T) {
	t.Parallel()
	out := newCLI(t).run("help", "environment").stdout
	vars := consts(t, "../config", regexp.MustCompile(`^Env[A-Z]`))
	require.Contains(t, vars, "EnvHost")
	n := 0
	for name, v := range vars {
		if !strings.HasPrefix(v, "TMSWS_") {
			continue
		}
		n++
		assert.Regexp(t, `(?m)^  `+v+`\b`, out, "config.%s (%s) is not documented in tmsws help environment", name, v)
	}
	assert.GreaterOrEqual(t, n, 13)
	reads := envReads(t)
	for _, want := range []string{"NO_COLOR", "CLICOLOR_FORCE", "XDG_CONFIG_HOME", "HOME"} {
		require.Contains(t, reads, want, "the walk finds the variables read by name")
	}
	for v, where := range reads {
		assert.Regexp(t, `(?m)^  `+regexp.QuoteMeta(v)+`\b`, out, "%s, read at %s, is not documented in tmsws help environment", v, where)
	}
	for _, v := range []string{"REVERB_APP_KEY", "REVERB_APP_ID", "REVERB_APP_SECRET", "REVERB_HOST", "REVERB_PORT", "REVERB_SCHEME",
		"VITE_REVERB_HOST", "VITE_REVERB_PORT", "VITE_REVERB_SCHEME", "REVERB_SERVER_PATH", "APP_URL", "BROADCAST_CONNECTION",
		"BROADCAST_DRIVER", "PUSHER_APP_KEY", "PUSHER_APP_ID", "PUSHER_APP_SECRET", "PUSHER_APP_CLUSTER", "PUSHER_HOST",
		"PUSHER_PORT", "PUSHER_SCHEME", "VITE_PUSHER_HOST", "VITE_PUSHER_PORT", "VITE_PUSHER_SCHEME", "--env-file", "--no-env-file",
		"--sign-locally"} {
		assert.Contains(t, out, v)
	}
	assert.Contains(t, out, "Laravel .env keys\n")
}

// tmsws help config lists every key a profile takes, from config.Keys.
func TestHelpConfigListsEveryKey(t *testing.T) {
	t.Parallel()
	out := newCLI(t).run("help", "config").stdout
	for _, k := range config.Keys() {
		assert.Regexp(t, `(?m)^  `+regexp.QuoteMeta(k)+`\n      \S`, out, "key %s", k)
	}
	for _, s := range []string{"$XDG_CONFIG_HOME/tmsws", "~/.config/tmsws", "0600", "[default]", "token = ",
		"tmsws config list", "tmsws config get KEY", "tmsws config set KEY VALUE", "tmsws config unset KEY", "tmsws config path"} {
		assert.Contains(t, out, s)
	}
}

// tmsws help formats names every field of the JSON record and every record
// type.
func TestHelpFormatsCoversTheRecord(t *testing.T) {
	t.Parallel()
	out := newCLI(t).run("help", "formats").stdout
	full := record.Record{TS: time.Now(), Type: record.TypeEvent, Channel: "c", Event: "e", Data: []byte(`{}`), UserID: "u",
		SocketID: "1.2", Cached: true, Message: "m", Code: 4001, Attempt: 1, Delay: time.Second}
	n := 0
	gjson.ParseBytes(full.AppendJSON(nil)).ForEach(func(k, _ gjson.Result) bool {
		n++
		assert.Regexp(t, `(?m)^  `+k.Str+` +\S`, out, "the record field %s is not documented in tmsws help formats", k.Str)
		return true
	})
	assert.Equal(t, 12, n, "every field of a full record")
	types := consts(t, "../record", regexp.MustCompile(`^Type[A-Z]`))
	require.Len(t, types, 11)
	for name, v := range types {
		assert.Regexp(t, `\b`+v+`\b`, out, "record.%s", name)
	}
	assert.Contains(t, out, "--max-frame (default 16MiB)")
}
