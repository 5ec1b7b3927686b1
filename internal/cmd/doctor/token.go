package doctor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/config"
)

func (d *doctor) token(context.Context) outcome {
	ch := d.opts.Channel
	switch {
	case !needsAuth(ch):
		return notApplicable("a public channel needs no token")
	case d.s.SignLocally:
		return notApplicable("not used: the channel is signed locally with the app secret")
	}
	s := d.s
	if s.Token == "" {
		// The same answer listen would get: logged in elsewhere, not here.
		if err := s.CheckToken(); err != nil {
			var ae *auth.Error
			if errors.As(err, &ae) {
				return outcome{detail: err.Error(), hint: ae.Hint, err: err}
			}
			return outcome{detail: err.Error(), err: err}
		}
		where := "profile " + s.Profile + "'s server"
		if o, err := config.Origin(s.AuthURL); err == nil {
			where += " " + config.ShowOrigin(o)
		}
		err := &auth.Error{Kind: auth.Unauthorized, Op: "token",
			Detail: "none given with --token or " + config.EnvToken + ", and none stored for " + where + "; " + ch + " must be authorized with one",
			Hint:   hintLogin}
		return outcome{detail: err.Error(), hint: err.Hint, err: err}
	}
	from := config.Mask(s.Token) + " from " + s.TokenSource
	claims, ok := jwtClaims(s.Token)
	if !ok {
		kind := "an opaque token"
		if i := strings.IndexByte(s.Token, '|'); i > 0 {
			if _, err := strconv.Atoi(s.Token[:i]); err == nil {
				kind = "a Sanctum token"
			}
		}
		return passed(kind + " " + from + " (not a JWT: only the server knows whether it is still valid; the authorization step asks it)")
	}
	exp := claims.Get("exp")
	if exp.Type != gjson.Number {
		return passed("a JWT " + from + ", without an expiry (exp)")
	}
	at := time.Unix(exp.Int(), 0)
	now := d.now()
	if !at.After(now) {
		err := &auth.Error{Kind: auth.Unauthorized, Op: "token",
			Detail: fmt.Sprintf("the JWT %s expired at %s (%s ago)", from, at.UTC().Format(time.RFC3339), now.Sub(at).Round(time.Second)),
			Hint:   "the token has expired: " + hintLogin + " for a new one"}
		return outcome{detail: err.Error(), hint: err.Hint, err: err}
	}
	out := passed(fmt.Sprintf("a JWT %s, expires at %s (in %s)", from, at.UTC().Format(time.RFC3339), at.Sub(now).Round(time.Second)))
	if at.Sub(now) < 5*time.Minute {
		out.hint = "the token expires in less than five minutes: " + hintLogin + " for a fresh one"
	}
	return out
}
