package channels

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil/cmdtest"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
)

func TestFlagsParseIntoOptions(t *testing.T) {
	t.Parallel()
	o, err := cmdtest.Parse(t, NewCmdChannels, nil, "--prefix", "presence-", "--json")
	require.NoError(t, err)
	assert.Equal(t, List, o.What)
	assert.Equal(t, "presence-", o.Prefix)
	assert.True(t, o.JSON)

	o, err = cmdtest.Parse(t, NewCmdChannels, nil, "info", "presence-chat.42", "--jq", ".user_count", "--app-id", "7")
	require.NoError(t, err)
	assert.Equal(t, Info, o.What)
	assert.Equal(t, "presence-chat.42", o.Name)
	assert.Equal(t, ".user_count", o.JQ)
	assert.Equal(t, "7", o.Settings.AppID)

	o, err = cmdtest.Parse(t, NewCmdChannels, nil, "users", "presence-chat.42", "--json")
	require.NoError(t, err)
	assert.Equal(t, Users, o.What)
	assert.True(t, o.JSON)

	_, err = cmdtest.Parse(t, NewCmdChannels, nil, "users", "chat")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a presence channel")
}

// hostile answers each endpoint with names and ids that carry terminal
// escapes and newlines.
func hostile(t *testing.T) *config.Settings {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/users"):
			_, _ = io.WriteString(w, `{"users":[{"id":"7\u001b]0;owned\u0007"},{"id":"a\nb"}]}`)
		case strings.HasSuffix(r.URL.Path, "/channels"):
			_, _ = io.WriteString(w, `{"channels":{"evil\u001b[2J":{"subscription_count":1},"ok":{}}}`)
		default:
			_, _ = io.WriteString(w, `{"occupied":true,"subscription_count":1,"cache":{"event":"\u001b[31mred"}}`)
		}
	}))
	t.Cleanup(ts.Close)
	u, err := url.Parse(ts.URL)
	require.NoError(t, err)
	port, _ := strconv.Atoi(u.Port())
	return &config.Settings{Scheme: "http", Host: u.Hostname(), Port: port, Key: "k", AppSecret: "s", AppID: "1", HTTPTimeout: 5 * time.Second, Color: "never"}
}

func TestOutsideTextIsEscapedOnATerminal(t *testing.T) {
	t.Parallel()
	s := hostile(t)
	for _, what := range []Options{{What: List}, {What: Info, Name: "cache-x"}, {What: Users, Name: "presence-x"}} {
		ios, _, stdout, stderr := iostreams.Test()
		ios.OutTTY = true
		opts := what
		opts.IO, opts.Settings, opts.Version = ios, s, "test"
		require.NoError(t, Run(context.Background(), &opts), stderr.String())
		out := stdout.String()
		assert.NotContains(t, out, "\x1b", what.What)
		assert.NotContains(t, out, "\a", what.What)
		if what.What == Users {
			assert.Equal(t, 2, strings.Count(out, "\n"), "one line per id: %q", out)
		}
	}
}

func TestEmptyListOnATerminalSaysSo(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"channels":{}}`)
	}))
	t.Cleanup(ts.Close)
	u, _ := url.Parse(ts.URL)
	port, _ := strconv.Atoi(u.Port())
	s := &config.Settings{Scheme: "http", Host: u.Hostname(), Port: port, Key: "k", AppSecret: "s", AppID: "1", HTTPTimeout: 5 * time.Second}
	ios, _, stdout, stderr := iostreams.Test()
	ios.ErrTTY = true
	require.NoError(t, Run(context.Background(), &Options{IO: ios, Settings: s, What: List, Prefix: "presence-"}))
	assert.Empty(t, stdout.String())
	assert.Equal(t, "no occupied channels whose name starts with \"presence-\"\n", stderr.String())
}
