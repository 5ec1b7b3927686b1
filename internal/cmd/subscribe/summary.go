package subscribe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/amusoft/tmsws/internal/cmdutil"
)

// Summary is the object `subscribe --json` prints on stdout at the end.
// All times are milliseconds since the command started.
type Summary struct {
	OK        bool              `json:"ok"`
	Error     string            `json:"error,omitempty"`
	SocketID  string            `json:"socket_id,omitempty"`
	ConnectMS *int64            `json:"connect_ms,omitempty"`
	ElapsedMS int64             `json:"elapsed_ms"`
	Channels  []ChannelResult   `json:"channels"`
	Expected  *ExpectedResult   `json:"expected,omitempty"`
	Schema    *SchemaResult     `json:"schema,omitempty"`
	Events    []json.RawMessage `json:"events"`
}

// SchemaResult is what --schema checked: how many events had a schema and
// how many of them broke it (the run ends at the first).
type SchemaResult struct {
	File    string `json:"file"`
	Checked int    `json:"checked"`
	Broken  int    `json:"broken"`
}

// ChannelResult is one -c channel in the Summary.
type ChannelResult struct {
	Channel    string `json:"channel"`
	Subscribed bool   `json:"subscribed"`
	MS         *int64 `json:"ms,omitempty"`      // when confirmed
	Members    *int   `json:"members,omitempty"` // presence channels, when confirmed
	// Auth is how a private or presence channel is authorized: "endpoint"
	// (the auth endpoint) or "local" (signed with the app secret); absent
	// for public channels.
	Auth  string `json:"auth,omitempty"`
	Error string `json:"error,omitempty"` // why it was refused
}

// ExpectedResult is what --expect waited for and how many matched.
type ExpectedResult struct {
	Pattern string   `json:"pattern"`
	Where   []string `json:"where,omitempty"`
	Count   int      `json:"count"`
	Matched int      `json:"matched"`
}

func (k *sink) summarize(end time.Time, err error) Summary {
	ms := func(t time.Time) *int64 {
		v := t.Sub(k.start).Milliseconds()
		return &v
	}
	sum := Summary{
		OK:        err == nil,
		SocketID:  k.socketID,
		ElapsedMS: *ms(end),
		Channels:  make([]ChannelResult, 0, len(k.channels)),
		Events:    make([]json.RawMessage, 0, len(k.events)),
	}
	switch {
	case errors.Is(err, context.Canceled):
		sum.Error = "interrupted"
	case err != nil:
		sum.Error = err.Error()
	}
	if k.socketID != "" {
		sum.ConnectMS = ms(k.connectedAt)
	}
	for _, ch := range k.channels {
		cr := ChannelResult{Channel: ch.name, Subscribed: ch.subscribed, Error: ch.refusal}
		if cmdutil.NeedsAuth(ch.name) {
			cr.Auth = k.auth
		}
		if ch.subscribed {
			cr.MS = ms(ch.at)
			if ch.presence {
				n := ch.members
				cr.Members = &n
			}
		}
		sum.Channels = append(sum.Channels, cr)
	}
	if k.pattern != "" {
		sum.Expected = &ExpectedResult{Pattern: k.pattern, Where: k.wheres, Count: k.want, Matched: k.matched}
	}
	if k.schema != nil {
		sum.Schema = &SchemaResult{File: k.schemaFile, Checked: k.schema.Checked(), Broken: k.schema.Broken()}
	}
	for _, e := range k.events {
		sum.Events = append(sum.Events, e)
	}
	return sum
}

// writeSummary prints the Summary as one JSON line, or what --jq or
// --template make of it.
func (k *sink) writeSummary(w io.Writer, end time.Time, err error) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(k.summarize(end, err)); err != nil {
		return err
	}
	out := b.Bytes()
	if k.formatter != nil {
		var ferr error
		if out, ferr = k.formatter.Append(nil, bytes.TrimSuffix(out, []byte("\n"))); ferr != nil {
			return ferr
		}
	}
	_, werr := w.Write(out)
	return werr
}
