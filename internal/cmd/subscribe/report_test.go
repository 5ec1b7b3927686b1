package subscribe

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/cmdutil/cmdtest"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/filter"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/record"
)

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		2999 * time.Millisecond:                     "3s",
		29999 * time.Millisecond:                    "30s",
		1500 * time.Millisecond:                     "1.5s",
		1549 * time.Millisecond:                     "1.5s",
		249700 * time.Microsecond:                   "250ms",
		3*time.Millisecond + 400*time.Microsecond:   "3ms",
		90*time.Second + 400*time.Millisecond:       "1m30s",
		0:                                           "0s",
		-time.Millisecond:                           "0s",
		10*time.Second - 30*time.Millisecond:        "10s",
		999*time.Millisecond + 600*time.Microsecond: "1s",
	} {
		assert.Equal(t, want, humanDuration(d), "%v", d)
	}
}

func TestWaitingLineIsRounded(t *testing.T) {
	t.Parallel()
	flt, err := filter.Compile([]string{"E"}, nil)
	require.NoError(t, err)
	var errOut bytes.Buffer
	opts := &Options{SelectFlags: cmdutil.SelectFlags{Channels: []string{"a"}, Expect: "E", Count: 1}}
	k := newSink(opts, time.Now(), flt, cmdutil.NewStatusLog(&errOut, false, false), nil, nil)
	k.deadline = time.Now().Add(3*time.Second - time.Millisecond)
	require.NoError(t, k.Write(&record.Record{TS: time.Now(), Type: record.TypeSubscribed, Channel: "a"}))
	assert.Contains(t, errOut.String(), "[expect] waiting up to 3s for 1 E event\n")
}

func TestSummaryAuthPerChannel(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		authorizer any
		want       string
	}{
		{&auth.Signer{Key: "k", Secret: "s"}, "local"},
		{&auth.Endpoint{URL: "http://127.0.0.1:1/broadcasting/auth"}, "endpoint"},
	} {
		k, _ := testSink(t, &Options{SelectFlags: cmdutil.SelectFlags{Channels: []string{"chat", "private-a", "presence-b"}, Count: 1}}, nil)
		switch a := tt.authorizer.(type) {
		case *auth.Signer:
			k.auth = authKind(a)
		case *auth.Endpoint:
			k.auth = authKind(a)
		}
		var out bytes.Buffer
		require.NoError(t, k.writeSummary(&out, time.Unix(101, 0), nil))
		sum := gjson.Parse(out.String())
		assert.False(t, sum.Get("channels.0.auth").Exists(), "a public channel needs no authorization")
		assert.Equal(t, tt.want, sum.Get("channels.1.auth").String())
		assert.Equal(t, tt.want, sum.Get("channels.2.auth").String())
	}
	assert.Equal(t, "", authKind(nil), "no authorizer: no channel needs one")
}

func TestUsageErrorsPrintTheSummaryWithJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-c", "bad name", "--json"}, `invalid channel name "bad name": a space at byte 3`},
		{[]string{"-c", "a", "-c", "a", "--json"}, `channel "a" given twice`},
		{[]string{"-c", "a", "--timeout", "0", "--json"}, "--timeout must be positive, got 0s"},
		{[]string{"-c", "private-a", "--json", "stray"}, `unexpected argument "stray"`},
		{[]string{"-c", "private-a", "--json", "--sign-locally"},
			"--sign-locally needs the app secret: pass --app-secret SECRET, set TMSWS_APP_SECRET, or add app-secret to the profile"},
		{[]string{"-c", "private-a", "--json", "--host", "x:1", "--port", "2"},
			"--host x:1 and --port 2 disagree on the port: use --host x --port 2, or --host x:1"},
	} {
		args := tt.args
		io, _, out, _ := iostreams.Test()
		home := t.TempDir()
		io.Env = func(k string) string {
			if k == "XDG_CONFIG_HOME" || k == "HOME" {
				return home
			}
			return ""
		}
		_, err := cmdtest.Parse(t, NewCmdSubscribe, io, args...)
		require.Error(t, err, "%v", args)
		assert.True(t, cmdutil.IsUsage(err), "%v: still bad usage (exit 2): %v", args, err)
		assert.EqualError(t, err, tt.msg, "%v", args)
		require.True(t, json.Valid(out.Bytes()), "%v: one JSON summary on stdout: %q", args, out.String())
		sum := gjson.Parse(out.String())
		assert.False(t, sum.Get("ok").Bool(), "%v", args)
		assert.Equal(t, tt.msg, sum.Get("error").String(), "%v", args)
		assert.True(t, sum.Get("channels.0.channel").Exists(), "%v: the channels, none subscribed", args)
		assert.False(t, sum.Get("channels.0.subscribed").Bool(), "%v", args)
	}

	// Without --json stdout stays empty.
	io, _, out, _ := iostreams.Test()
	_, err := cmdtest.Parse(t, NewCmdSubscribe, io, "-c", "bad name")
	require.Error(t, err)
	assert.Empty(t, out.String())
}

func TestBadWhereFoundByRunPrintsTheSummary(t *testing.T) {
	t.Parallel()
	io, _, out, _ := iostreams.Test()
	opts := &Options{IO: io, Settings: &config.Settings{SignLocally: true}, Timeout: time.Second,
		SelectFlags: cmdutil.SelectFlags{Channels: []string{"private-a"}, Expect: "E", Wheres: []string{"data.x~("}, Count: 1, JSON: true}}
	err := Run(context.Background(), opts)
	require.Error(t, err)
	var fue *filter.UsageError
	assert.ErrorAs(t, err, &fue, "a malformed --where is bad usage (exit 2)")
	sum := gjson.Parse(out.String())
	assert.False(t, sum.Get("ok").Bool())
	assert.Equal(t, err.Error(), sum.Get("error").String())
	assert.Equal(t, "local", sum.Get("channels.0.auth").String())
	assert.Equal(t, "E", sum.Get("expected.pattern").String())
	assert.Equal(t, int64(0), sum.Get("expected.matched").Int())
}

func TestSubscribedLinesOnceWithVerbose(t *testing.T) {
	t.Parallel()
	var errOut bytes.Buffer
	log := cmdutil.NewStatusLog(&errOut, false, true)
	l := channelLinesAsDebug{log}
	l.Info("channel", "subscribed private-a")
	l.Info("channel", "subscribed presence-b (2 present: Alice, Bob)")
	assert.Empty(t, errOut.String(), "the sink prints its own subscribed lines")
	l.Info("channel", "cache-a: nothing cached")
	assert.Contains(t, errOut.String(), "[channel] cache-a: nothing cached")
	l.Info("auth", "authorized private-a: signed locally with the app secret (0s)")
	assert.Contains(t, errOut.String(), "[auth] authorized private-a")

	errOut.Reset()
	opts := &Options{SelectFlags: cmdutil.SelectFlags{Channels: []string{"a", "b"}, Count: 1}}
	k := newSink(opts, time.Unix(100, 0), nil, log, nil, nil)
	require.NoError(t, k.Write(&record.Record{TS: time.Unix(100, 0), Type: record.TypeSubscribed, Channel: "a"}))
	require.NoError(t, k.Write(&record.Record{TS: time.Unix(101, 0), Type: record.TypeSubscribed, Channel: "a"}))
	assert.Equal(t, 1, bytes.Count(errOut.Bytes(), []byte("] subscribed a (")), errOut.String())
	assert.Contains(t, errOut.String(), "subscribed a again (1s since start)", "with -v a reconnect's confirmation is a debug line")
}
