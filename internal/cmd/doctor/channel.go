package doctor

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/record"
)

// The channel steps: a missing or expired token and a refused
// authorization or subscription are exit code 3, a subscription that is
// neither confirmed nor refused in time 5.

const hintLogin = "run tmsws login (or pass --token / TMSWS_TOKEN)"

// jwtClaims decodes the payload of a JWT without verifying it: tmsws only
// wants to know when it expires. ok is false when the token is not a JWT.
func jwtClaims(token string) (gjson.Result, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return gjson.Result{}, false
	}
	header, err1 := decodeSegment(parts[0])
	payload, err2 := decodeSegment(parts[1])
	if err1 != nil || err2 != nil || jsonsafe.Valid(header) != nil || jsonsafe.Valid(payload) != nil {
		return gjson.Result{}, false
	}
	if !gjson.GetBytes(header, "alg").Exists() {
		return gjson.Result{}, false
	}
	claims := gjson.ParseBytes(payload)
	if !claims.IsObject() {
		return gjson.Result{}, false
	}
	return claims, true
}

func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func (d *doctor) authorize(ctx context.Context) outcome {
	ch := d.opts.Channel
	if !needsAuth(ch) {
		return notApplicable("a public channel needs no authorization")
	}
	// The words of the [auth] status line of listen and subscribe:
	// "authorized through http://host/broadcasting/auth" or "signed
	// locally with the app secret".
	var authorizer interface {
		pusher.Authorizer
		Via() string
	}
	by := ""
	if d.s.SignLocally {
		authorizer = &auth.Signer{Key: d.s.Key, Secret: d.s.AppSecret, MasterKey: d.s.EncryptionMasterKey}
		by = authorizer.Via()
	} else {
		client, err := d.s.HTTPClient()
		if err != nil {
			return outcome{detail: err.Error(), err: err}
		}
		authorizer = &auth.Endpoint{HTTP: client, URL: d.s.AuthURL, Token: d.s.Token, Header: d.s.Header, UserAgent: "tmsws/" + d.opts.Version}
		by = "authorized " + authorizer.Via()
	}
	res, err := authorizer.Authorize(ctx, d.socketID, ch)
	if err != nil {
		out := outcome{detail: errorDetail(err), err: err}
		var ae *auth.Error
		if errors.As(err, &ae) {
			out.hint = ae.Hint
		}
		return out
	}
	d.authRes = res
	detail := by
	if res.ChannelData != "" {
		uid := gjson.Get(res.ChannelData, "user_id")
		detail += " as user_id " + uid.String()
		if name := gjson.Get(res.ChannelData, "user_info.name"); name.Exists() {
			detail += " (" + name.String() + ")"
		}
	}
	if res.SharedSecret != "" {
		detail += ", with the channel's shared secret"
	}
	return passed(detail)
}

func (d *doctor) subscribe(ctx context.Context) outcome {
	ch := d.opts.Channel
	msg := []byte(`{"event":"pusher:subscribe","data":{"channel":`)
	msg = record.AppendString(msg, ch)
	if d.authRes.Auth != "" {
		msg = append(msg, `,"auth":`...)
		msg = record.AppendString(msg, d.authRes.Auth)
	}
	if d.authRes.ChannelData != "" {
		msg = append(msg, `,"channel_data":`...)
		msg = record.AppendString(msg, d.authRes.ChannelData)
	}
	msg = append(msg, "}}"...)
	if err := d.write(ctx, msg); err != nil {
		return fail(d.connErr("sending pusher:subscribe failed", err, "the connection broke: try again"))
	}
	for {
		raw, f, err := d.read(ctx)
		if err != nil {
			return d.subscribeReadError(err)
		}
		switch {
		case f.Event == "pusher_internal:subscription_succeeded" && f.Channel == ch:
			return d.confirmed(raw, f)
		case f.Event == "pusher:subscription_error" && (f.Channel == ch || f.Channel == ""):
			status := int(gjson.GetBytes(f.Data, "status").Int())
			message := gjson.GetBytes(f.Data, "error").String()
			if message == "" {
				message = string(f.Data)
			}
			return refused(&pusher.SubscriptionError{Channel: ch, Code: status, Message: message})
		case f.Event == "pusher:error":
			code, message := pusher.ErrorData(f.Data)
			switch {
			case f.Channel == ch || (f.Channel == "" && (code == 0 || code == 4009)):
				// Pusher refuses with code null, Reverb with 4009, both
				// without a channel.
				return refused(&pusher.SubscriptionError{Channel: ch, Code: code, Message: message})
			case code >= 4000 && code <= 4299:
				ce := &pusher.ConnError{URL: d.wsURL, Code: code, Reason: message, Hint: pusher.CodeHint(code)}
				return fail(ce)
			}
		case f.Event == "pusher:ping":
			if err := d.write(ctx, []byte(`{"event":"pusher:pong","data":{}}`)); err != nil {
				return fail(d.connErr("answering pusher:ping failed", err, "the connection broke: try again"))
			}
		}
	}
}

// refused explains a refused subscription. For a name outside Pusher's
// rules, which Soketi refuses as well (with 4009, like a bad signature) and
// Reverb takes, the name is the likelier cause.
func refused(se *pusher.SubscriptionError) outcome {
	out := outcome{detail: se.Error(), hint: se.Hint(), err: se}
	if w := cmdutil.ChannelWarnings([]string{se.Channel}); len(w) > 0 {
		out.hint = "likely the name: " + w[0] + "; use a name in Pusher's set on such a server"
		if h := se.Hint(); h != "" {
			out.hint += " (otherwise: " + h + ")"
		}
	}
	return out
}

func (d *doctor) subscribeReadError(err error) outcome {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		hint := pusher.CodeHint(ce.Code)
		if hint == "" {
			hint = "the server closed the connection while subscribing: check its logs"
		}
		return fail(&pusher.ConnError{URL: d.wsURL, Code: ce.Code, Reason: ce.Text, Hint: hint})
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		te := &cmdutil.TimeoutError{Msg: "subscribe " + d.opts.Channel + ": neither confirmed nor refused within " + d.opts.Timeout.String()}
		return outcome{detail: te.Error(), err: te,
			hint: "the server stayed silent: it may be overloaded, or ignore a subscription it cannot verify; check its logs, or raise --timeout"}
	}
	return fail(d.connErr("connection lost while subscribing", err, "the server dropped the connection: check its logs"))
}

func (d *doctor) confirmed(raw []byte, f pusher.Frame) outcome {
	ch := d.opts.Channel
	detail := "confirmed (pusher_internal:subscription_succeeded)"
	if strings.HasPrefix(ch, auth.PresencePrefix) {
		count := gjson.GetBytes(f.Data, "presence.count").Int()
		var names []string
		gjson.GetBytes(f.Data, "presence.hash").ForEach(func(k, v gjson.Result) bool {
			name := v.Get("name").String()
			if name == "" {
				name = "user " + k.String()
			}
			names = append(names, name)
			return len(names) < 10
		})
		detail += fmt.Sprintf(", %d present", count)
		if len(names) > 0 {
			detail += ": " + strings.Join(names, ", ")
		}
		return passed(detail)
	}
	// Reverb confirms other channels with data "{}", Soketi with no data.
	switch data := gjson.GetBytes(raw, "data"); {
	case !data.Exists():
		d.guess.add(kindSoketi, 1, "subscription_succeeded without data, as Soketi sends it")
	case data.Type == gjson.String:
		d.guess.add(kindReverb, 1, "subscription_succeeded with data \"{}\" as a string, as Reverb sends it")
	}
	return passed(detail)
}
