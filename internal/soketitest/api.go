package soketitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/amusoft/tmsws/internal/auth"
)

// StringToSign is auth.APIStringToSign, kept for the tests of this package.
func StringToSign(method, path string, params url.Values) string {
	return auth.APIStringToSign(method, path, params)
}

// Sign is the hex HMAC-SHA256 of s keyed with secret.
func Sign(secret, s string) string { return auth.Sign(secret, s) }

// SignedQuery is auth.SignAPIQuery: params plus the HTTP API's
// authentication parameters.
func SignedQuery(method, path string, params url.Values, body []byte, key, secret string, now time.Time) url.Values {
	return auth.SignAPIQuery(method, path, params, body, key, secret, now)
}

var channelName = regexp.MustCompile(`\A#?[-a-zA-Z0-9_=@,.;]+\z`)

// Trigger publishes an event through the signed HTTP API
// (POST /apps/{id}/events), as a Laravel app does. data is sent as is: the
// Pusher norm is a JSON document in a string. socketID, when set, is the
// connection that must not receive the event.
func (s *Soketi) Trigger(ctx context.Context, channels []string, event, data, socketID string) error {
	body := struct {
		Name     string   `json:"name"`
		Channels []string `json:"channels"`
		Data     string   `json:"data"`
		SocketID string   `json:"socket_id,omitempty"`
	}{event, channels, data, socketID}
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("trigger %s: encode body: %w", event, err)
	}
	var reply json.RawMessage
	if err := s.do(ctx, http.MethodPost, "/apps/"+s.AppID+"/events", nil, raw, &reply); err != nil {
		return fmt.Errorf("trigger %s on %s: %w", event, strings.Join(channels, ","), err)
	}
	return nil
}

// ChannelInfo is what the HTTP API tells about one channel.
type ChannelInfo struct {
	Occupied          bool `json:"occupied"`
	SubscriptionCount int  `json:"subscription_count"`
	UserCount         int  `json:"user_count"` // presence channels only
}

// Channels lists the occupied channels (GET /apps/{id}/channels).
func (s *Soketi) Channels(ctx context.Context) (map[string]ChannelInfo, error) {
	var reply struct {
		Channels map[string]ChannelInfo `json:"channels"`
	}
	if err := s.do(ctx, http.MethodGet, "/apps/"+s.AppID+"/channels", nil, nil, &reply); err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	if reply.Channels == nil {
		reply.Channels = map[string]ChannelInfo{}
	}
	return reply.Channels, nil
}

// Channel tells whether a channel is occupied and by how many connections
// (GET /apps/{id}/channels/{channel}).
func (s *Soketi) Channel(ctx context.Context, channel string) (ChannelInfo, error) {
	var info ChannelInfo
	if !channelName.MatchString(channel) {
		return info, fmt.Errorf("channel %q: not a valid Pusher channel name", channel)
	}
	if err := s.do(ctx, http.MethodGet, "/apps/"+s.AppID+"/channels/"+channel, nil, nil, &info); err != nil {
		return info, fmt.Errorf("channel %s: %w", channel, err)
	}
	return info, nil
}

// Users lists the user ids in a presence channel
// (GET /apps/{id}/channels/{channel}/users).
func (s *Soketi) Users(ctx context.Context, channel string) ([]string, error) {
	if !channelName.MatchString(channel) {
		return nil, fmt.Errorf("channel %q: not a valid Pusher channel name", channel)
	}
	var reply struct {
		Users []struct {
			ID string `json:"id"`
		} `json:"users"`
	}
	if err := s.do(ctx, http.MethodGet, "/apps/"+s.AppID+"/channels/"+channel+"/users", nil, nil, &reply); err != nil {
		return nil, fmt.Errorf("users of %s: %w", channel, err)
	}
	ids := make([]string, 0, len(reply.Users))
	for _, u := range reply.Users {
		ids = append(ids, u.ID)
	}
	return ids, nil
}

// WaitSubscribed waits until at least one connection is subscribed to
// channel, so that an event triggered next reaches it.
func (s *Soketi) WaitSubscribed(ctx context.Context, channel string) error {
	return s.WaitChannel(ctx, channel, "subscribed", func(c ChannelInfo) bool { return c.Occupied })
}

// WaitVacant waits until no connection is subscribed to channel.
func (s *Soketi) WaitVacant(ctx context.Context, channel string) error {
	return s.WaitChannel(ctx, channel, "vacant", func(c ChannelInfo) bool { return !c.Occupied })
}

// WaitChannel polls the channel's info until cond holds. want names the
// condition in the error. Without a deadline on ctx it gives up after 10s.
func (s *Soketi) WaitChannel(ctx context.Context, channel, want string, cond func(ChannelInfo) bool) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, httpTimeout)
		defer cancel()
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var (
		last    ChannelInfo
		known   bool
		lastErr error
	)
	for {
		info, err := s.Channel(ctx, channel)
		if err == nil {
			if cond(info) {
				return nil
			}
			last, known, lastErr = info, true, nil
		} else if ctx.Err() == nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil || !known {
				return fmt.Errorf("wait for %s to be %s: %w (last error: %v)", channel, want, ctx.Err(), lastErr)
			}
			return fmt.Errorf("wait for %s to be %s: %w (last state %+v)", channel, want, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// do sends a signed HTTP API request and decodes a 200 reply into out.
func (s *Soketi) do(ctx context.Context, method, path string, params url.Values, body []byte, out any) error {
	q := SignedQuery(method, path, params, body, s.Key, s.Secret, time.Now())
	u := s.HTTPURL() + path + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, s.HTTPURL()+path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read reply: %w", method, s.HTTPURL()+path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s from %s %s: %s", resp.Status, method, s.HTTPURL()+path, bytes.TrimSpace(raw))
	}
	// Soketi 1.6.1 on this uWebSockets.js build answers errors with HTTP 200
	// and the real status in the body: {"error":"...","code":401}.
	var soketiErr struct {
		Error *string `json:"error"`
		Code  int     `json:"code"`
	}
	if json.Unmarshal(raw, &soketiErr) == nil && soketiErr.Error != nil && soketiErr.Code >= 400 {
		return fmt.Errorf("%d %s from %s %s (sent with HTTP %s)", soketiErr.Code, *soketiErr.Error, method, s.HTTPURL()+path, resp.Status)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode reply %q: %w", method, s.HTTPURL()+path, raw, err)
	}
	return nil
}
