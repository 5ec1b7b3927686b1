package connections

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
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
	o, err := cmdtest.Parse(t, NewCmdConnections, nil, "--json", "--app-id", "9")
	require.NoError(t, err)
	assert.True(t, o.JSON)
	assert.Equal(t, "9", o.Settings.AppID)
	_, err = cmdtest.Parse(t, NewCmdConnections, nil, "extra")
	require.Error(t, err)
}

func TestOutput(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/apps/1/connections", r.URL.Path)
		_, _ = io.WriteString(w, `{"connections":1}`)
	}))
	t.Cleanup(ts.Close)
	u, _ := url.Parse(ts.URL)
	port, _ := strconv.Atoi(u.Port())
	s := &config.Settings{Scheme: "http", Host: u.Hostname(), Port: port, Key: "k", AppSecret: "s", AppID: "1", HTTPTimeout: 5 * time.Second}
	for _, tt := range []struct {
		tty, json bool
		want      string
	}{
		{false, false, `{"connections":1}` + "\n"},
		{true, false, "1 connection\n"},
		{true, true, `{"connections":1}` + "\n"},
	} {
		ios, _, stdout, _ := iostreams.Test()
		ios.OutTTY = tt.tty
		require.NoError(t, Run(context.Background(), &Options{IO: ios, Settings: s, JSON: tt.json}))
		assert.Equal(t, tt.want, stdout.String())
	}
}
