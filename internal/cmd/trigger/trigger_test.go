package trigger

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/cmdutil/cmdtest"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
)

func TestAPIBase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    config.Settings
		want string
	}{
		{config.Settings{Scheme: "https", Host: "tms.amusoft.uz", Port: 443}, "https://tms.amusoft.uz:443"},
		{config.Settings{Scheme: "http", Host: "127.0.0.1", Port: 6001}, "http://127.0.0.1:6001"},
		{config.Settings{Scheme: "http", Host: "::1", Port: 8080}, "http://[::1]:8080"},
		{config.Settings{Scheme: "https", Host: "ws-eu.pusher.com", Port: 443, Cluster: "eu"}, "https://api-eu.pusher.com"},
		// A host given with the cluster wins, as it does for the WebSocket.
		{config.Settings{Scheme: "https", Host: "reverb.example", Port: 443, Cluster: "eu"}, "https://reverb.example:443"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, APIBase(&tt.s))
	}
}

func TestReadData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	require.NoError(t, os.WriteFile(good, []byte("{\n  \"a\": [1, 2],\n  \"b\": \"x y\"\n}\n"), 0o644))
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte("{\n  \"a\": [1, 2\n}\n"), 0o644))
	tests := []struct {
		arg, stdin string
		want       string
		err        string
	}{
		{arg: `{"a":1}`, want: `{"a":1}`},
		{arg: ` [1, 2 ] `, want: `[1,2]`},
		{arg: `42`, want: `42`},
		{arg: "@" + good, want: `{"a":[1,2],"b":"x y"}`},
		{arg: "-", stdin: `{"from":"stdin"}`, want: `{"from":"stdin"}`},
		{arg: "@" + bad, err: "-d @" + bad + " is not valid JSON: line 3, column 1 (byte 16): invalid character '}' after array element"},
		{arg: `{"a":`, err: "-d is not valid JSON: line 1, column 5 (byte 5): unexpected end of JSON input"},
		{arg: "-", stdin: "", err: "-d - (stdin): the data is empty"},
		{arg: "@", err: "-d @ names no file"},
		{arg: `hello`, err: "-d is not valid JSON: line 1, column 1 (byte 1): invalid character 'h' looking for beginning of value"},
	}
	for _, tt := range tests {
		got, err := readData(tt.arg, strings.NewReader(tt.stdin))
		if tt.err != "" {
			var ue *cmdutil.UsageError
			require.ErrorAs(t, err, &ue, tt.arg)
			assert.Equal(t, tt.err, ue.Msg)
			continue
		}
		require.NoError(t, err, tt.arg)
		assert.Equal(t, tt.want, string(got))
	}
}

func TestFlagsParseIntoOptions(t *testing.T) {
	t.Parallel()
	io, in, _, _ := iostreams.Test()
	in.WriteString(`{"typing": true}`)
	got, err := cmdtest.Parse(t, NewCmdTrigger, io, "--client", "-c", "presence-chat.42", "-e", "client-typing", "-d", "-",
		"--timeout", "3s", "--wait", "250ms", "--json", "--app-id", "42", "--app-secret", "s3cret")
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, []string{"presence-chat.42"}, got.Channels)
	assert.Equal(t, "client-typing", got.Event)
	assert.Equal(t, `{"typing":true}`, string(got.Data))
	assert.True(t, got.Client)
	assert.True(t, got.JSON)
	assert.Equal(t, 3*time.Second, got.Timeout)
	assert.Equal(t, 250*time.Millisecond, got.Wait)
	assert.Equal(t, "42", got.Settings.AppID)
	assert.Equal(t, "s3cret", got.Settings.AppSecret)
}

// The worked example of Pusher's HTTP API reference (pusher-protocol.md §9)
// is what trigger sends, byte for byte.
func TestRequestMatchesTheHTTPAPIExample(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var body []byte
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(ts.Close)
	u, err := url.Parse(ts.URL)
	require.NoError(t, err)
	port, _ := strconv.Atoi(u.Port())

	ios, _, stdout, stderr := iostreams.Test()
	opts := &Options{
		IO: ios, Version: "test",
		Settings: &config.Settings{Scheme: "http", Host: u.Hostname(), Port: port, Key: "278d425bdf160c739803",
			AppSecret: "7ad3773142a6692b25b8", AppID: "3", HTTPTimeout: 5 * time.Second, Color: "never"},
		Channels: []string{"project-3"}, Event: "foo", Data: []byte(`{"some":"data"}`), JSON: true,
		Now: func() time.Time { return time.Unix(1353088179, 0) },
	}
	require.NoError(t, Run(context.Background(), opts), stderr.String())
	require.NotNil(t, got)
	assert.Equal(t, http.MethodPost, got.Method)
	assert.Equal(t, "/apps/3/events", got.URL.Path)
	assert.Equal(t, `{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`, string(body))
	q := got.URL.Query()
	assert.Equal(t, "278d425bdf160c739803", q.Get("auth_key"))
	assert.Equal(t, "1353088179", q.Get("auth_timestamp"))
	assert.Equal(t, "1.0", q.Get("auth_version"))
	assert.Equal(t, "ec365a775a4cd0599faeb73354201b6f", q.Get("body_md5"))
	assert.Equal(t, "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c", q.Get("auth_signature"))
	assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"ok":true,"via":"http-api","event":"foo","channels":["project-3"],"bytes":15,"ms":0,"status":200}`,
		regexp.MustCompile(`"ms":[0-9.]+`).ReplaceAllString(stdout.String(), `"ms":0`))
}

// Under --ws-path the request goes to the prefix and is signed without it,
// as Reverb's Controller::verifySignature checks it: the signature is the
// worked example's, byte for byte.
func TestRequestUnderWSPathIsSignedWithoutIt(t *testing.T) {
	t.Parallel()
	var got *http.Request
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(ts.Close)
	u, err := url.Parse(ts.URL)
	require.NoError(t, err)
	port, _ := strconv.Atoi(u.Port())
	ios, _, _, stderr := iostreams.Test()
	opts := &Options{
		IO: ios, Version: "test",
		Settings: &config.Settings{Scheme: "http", Host: u.Hostname(), Port: port, Key: "278d425bdf160c739803", WSPath: "/reverb/ws",
			AppSecret: "7ad3773142a6692b25b8", AppID: "3", HTTPTimeout: 5 * time.Second, Color: "never"},
		Channels: []string{"project-3"}, Event: "foo", Data: []byte(`{"some":"data"}`),
		Now: func() time.Time { return time.Unix(1353088179, 0) },
	}
	require.NoError(t, Run(context.Background(), opts), stderr.String())
	require.NotNil(t, got)
	assert.Equal(t, "/reverb/ws/apps/3/events", got.URL.Path)
	assert.Equal(t, "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c", got.URL.Query().Get("auth_signature"))
}

// A name Reverb takes and Pusher refuses is published, with a warning.
func TestChannelNamesPusherRefusesAreWarnedAbout(t *testing.T) {
	t.Parallel()
	var body []byte
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(ts.Close)
	u, err := url.Parse(ts.URL)
	require.NoError(t, err)
	port, _ := strconv.Atoi(u.Port())
	ios, _, _, stderr := iostreams.Test()
	opts := &Options{
		IO: ios, Version: "test",
		Settings: &config.Settings{Scheme: "http", Host: u.Hostname(), Port: port, Key: "k",
			AppSecret: "s", AppID: "1", HTTPTimeout: 5 * time.Second, Color: "never"},
		Channels: []string{"chat:42", "private-chat.42", "news/\x1b[31mred"}, Event: "x", Data: []byte(`{}`),
	}
	require.NoError(t, Run(context.Background(), opts))
	assert.Contains(t, string(body), `"channels":["chat:42","private-chat.42","news/\u001b[31mred"]`)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	var warned []string
	for _, l := range lines {
		if strings.Contains(l, "Pusher's set") {
			warned = append(warned, l)
		}
	}
	require.Len(t, warned, 2, stderr.String())
	assert.Contains(t, warned[0], `channel "chat:42" has characters outside Pusher's set`)
	assert.Contains(t, warned[1], `channel "news/\x1b[31mred"`, "the name is escaped")
	assert.NotContains(t, stderr.String(), "\x1b", "no raw escape reaches the terminal")
}
