package server

import (
	"bytes"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartAddr(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Addr: "127.0.0.1:0"})
	assert.Regexp(t, `^127\.0\.0\.1:\d+$`, s.Addr())
	assert.Equal(t, "http://"+s.Addr(), s.HTTPURL())
	assert.Equal(t, "http://"+s.Addr()+"/broadcasting/auth", s.AuthURL())
	connect(t, s)

	// The port is taken now.
	_, err := Start(Config{Addr: s.Addr()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "start pusher server: listen on "+s.Addr()+": ")
	assert.Contains(t, err.Error(), "choose another address")
}

func TestStartRefusesBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"short master key", Config{EncryptionMasterKey: []byte("short")}, "the encryption master key is 5 bytes, not 32"},
		{"negative speed", Config{Speed: -1}, "speed -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Start(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Panics(t, func() { New(tt.cfg) })
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{1}, 32)
	s := start(t, Config{EncryptionMasterKey: key})
	key[0] = 2 // the server keeps its own copy
	assert.Equal(t, bytes.Repeat([]byte{1}, 32), s.cfg.EncryptionMasterKey)
	assert.Equal(t, "app-id", s.AppID())
	assert.Equal(t, "app-key", s.AppKey())
	assert.Equal(t, "app-secret", s.AppSecret())
	assert.Equal(t, DefaultMaxEventData, s.cfg.MaxEventData)
	assert.Len(t, start(t, Config{}).cfg.EncryptionMasterKey, 32)
}

type fakeListener struct {
	net.Listener
	addr net.Addr
}

func (l fakeListener) Addr() net.Addr { return l.addr }

func TestURLsOfAnUnspecifiedAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listen, want string
	}{
		{"0.0.0.0:6001", "127.0.0.1:6001"},
		{"[::]:6001", "127.0.0.1:6001"},
		{"127.0.0.1:6001", "127.0.0.1:6001"},
		{"[::1]:6001", "[::1]:6001"},
	}
	for _, tt := range tests {
		t.Run(tt.listen, func(t *testing.T) {
			t.Parallel()
			addr, err := net.ResolveTCPAddr("tcp", tt.listen)
			require.NoError(t, err)
			s := New(Config{})
			s.ln = fakeListener{addr: addr}
			assert.Equal(t, tt.listen, s.Addr())
			assert.Equal(t, "ws://"+tt.want, s.URL())
			assert.Equal(t, "http://"+tt.want, s.HTTPURL())
		})
	}
}

func TestIsLoopbackAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:7101", true},
		{"127.9.9.9:7101", true},
		{"localhost:7101", true},
		{"LOCALHOST:0", true},
		{"[::1]:7101", true},
		{":7101", false},
		{"0.0.0.0:7101", false},
		{"[::]:7101", false},
		{"192.168.1.20:7101", false},
		{"[fe80::1%eth0]:7101", false},
		{"myhost.local:7101", false},
		{"localhost.evil.example:7101", false},
		{"7101", false},
		{"", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, IsLoopbackAddr(tt.addr), tt.addr)
	}
}

func TestStartLogsTheAddressReallyBound(t *testing.T) {
	t.Parallel()
	var log logLines
	s := start(t, Config{Addr: "127.0.0.1:0", Logf: log.logf})
	require.NotEmpty(t, log.all())
	assert.Equal(t, "pusher server listening on "+s.Addr()+" (app id app-id, key app-key)", log.all()[0])

	addr, err := net.ResolveTCPAddr("tcp", "0.0.0.0:7101")
	require.NoError(t, err)
	u := New(Config{})
	u.ln = fakeListener{addr: addr}
	assert.Equal(t, "0.0.0.0:7101", u.Addr(), "Addr is what was bound")
	assert.Equal(t, "ws://127.0.0.1:7101", u.URL(), "URL is for dialling it here")
}
