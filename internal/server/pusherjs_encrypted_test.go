package server

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amusoft/tmsws/internal/cmd/trigger"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/iostreams"
)

// TestPusherJSDecryptsWhatTriggerSent: tmsws trigger to a
// private-encrypted- channel seals the data as the Pusher server SDKs do:
// pusher-js, given the channel's shared secret by /broadcasting/auth
// (derived from the same master key), decrypts it to the data sent. Sent
// as plaintext, pusher-js would fail to decrypt it and drop the event.
func TestPusherJSDecryptsWhatTriggerSent(t *testing.T) {
	t.Parallel()
	const channel = "private-encrypted-chat.42"
	master := bytes.Repeat([]byte{0x5a}, 32)
	for _, like := range []Like{LikePusher, LikeReverb} {
		t.Run(like.String(), func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{EncryptionMasterKey: master, Like: like})
			js := startScript(t, s, "pusherjs/listen", "TMSWS_CHANNEL="+channel, "TMSWS_EXPECT=2")
			js.NextOf("", "subscribed")

			sent := []string{`{"message":{"id":7,"content":"for your eyes only ✓"}}`, `"just text"`}
			for _, data := range sent {
				runTrigger(t, s, master, channel, data)
			}
			lines, code := js.Wait()
			require.Equal(t, 0, code)
			events := linesOf(lines, "event")
			require.Len(t, events, len(sent))
			for i, data := range sent {
				assert.Equal(t, "MessageSent", events[i].Event)
				assert.JSONEq(t, data, string(events[i].Data), "pusher-js decrypts event %d to the data sent", i)
			}
			assert.Empty(t, linesOf(lines, "error"))
		})
	}
}

// runTrigger runs tmsws trigger's HTTP API path against s.
func runTrigger(t *testing.T, s *Server, master []byte, channel, data string) {
	t.Helper()
	host, port, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	io, _, _, errOut := iostreams.Test()
	err = trigger.Run(t.Context(), &trigger.Options{
		IO: io,
		Settings: &config.Settings{Scheme: "http", Host: host, Port: p, Key: s.AppKey(), AppID: s.AppID(), AppSecret: "app-secret",
			EncryptionMasterKey: master, Header: http.Header{}, HTTPTimeout: 5 * time.Second, Color: "never"},
		Version:  "test",
		Channels: []string{channel},
		Event:    "MessageSent",
		Data:     []byte(data),
	})
	require.NoError(t, err, errOut.String())
}
