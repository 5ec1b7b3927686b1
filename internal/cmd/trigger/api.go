package trigger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/config"
	"github.com/amusoft/tmsws/internal/english"
	"github.com/amusoft/tmsws/internal/pusherapi"
)

// APIBase is the base URL of the server's HTTP API (pusherapi.APIBase).
func APIBase(s *config.Settings) string { return pusherapi.APIBase(s) }

func runAPI(ctx context.Context, opts *Options, log *cmdutil.StatusLog) error {
	s := opts.Settings
	data := string(opts.Data)
	encrypted := isEncrypted(opts.Channels[0])
	if encrypted {
		// validateSettings made sure it is the only channel and that the
		// key is there.
		sealed, err := auth.EncryptData(opts.Channels[0], s.EncryptionMasterKey, opts.Data, nil)
		if err != nil {
			return err
		}
		data = sealed
	}
	client, err := pusherapi.New(s, opts.Version)
	if err != nil {
		return err
	}
	client.Now = opts.Now
	// Reverb serves the HTTP API under its REVERB_SERVER_PATH too, and
	// checks the signature on the path without it (Controller.php
	// verifySignature): the request goes to {ws-path}/apps/…, signed as
	// /apps/… (pusherapi does both).
	endpoint := APIBase(s) + s.WSPath + "/apps/" + s.AppID + "/events"
	res := result{Via: "http-api", Event: opts.Event, Channels: opts.Channels, Bytes: len(opts.Data)}

	log.Debug("trigger", fmt.Sprintf("POST %s (%s, %s of data)", endpoint, english.Count(len(opts.Channels), "channel"), english.Count(len(opts.Data), "byte")))
	start := time.Now()
	status, err := client.TriggerStatus(ctx, pusherapi.Event{Name: opts.Event, Channels: opts.Channels, Data: data, SocketID: opts.SocketID})
	took := time.Since(start)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	res.MS, res.Status = millis(took), status
	if err != nil {
		res.Error = err.Error()
		if werr := writeResult(opts, res); werr != nil {
			return werr
		}
		return err
	}
	res.OK = true
	how := ""
	if encrypted {
		how = ", end-to-end encrypted"
	}
	log.Info("trigger", fmt.Sprintf("published %s on %s (%s%s, %s)", opts.Event, strings.Join(opts.Channels, ", "), english.Count(len(opts.Data), "byte"), how, took.Round(time.Millisecond)))
	return writeResult(opts, res)
}
