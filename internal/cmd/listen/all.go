package listen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fatih/color"

	"github.com/amusoft/tmsws/internal/auth"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/pusher"
	"github.com/amusoft/tmsws/internal/pusherapi"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// listen --all: a debug console for self-hosted servers. A discovery polls
// the HTTP API's list of occupied channels every --discover-every (and at
// once after each connect), subscribes the client to each new one that
// matches a glob, and leaves one that only tmsws keeps occupied, or that is
// gone, once it has looked so for a grace period. Status lines like
// stern's say so on stderr: "+ private-chat.7", "- private-chat.7".

// ObserverID is the presence user id of a discovered presence channel.
const ObserverID = "tmsws-observer"

// graceFactor times --discover-every is how long a channel must look
// vacant before it is left.
const graceFactor = 2

// channelLister is the HTTP API's channel list (pusherapi.Client).
type channelLister interface {
	Channels(ctx context.Context, prefix string) ([]pusherapi.Channel, error)
}

// subscriber adds and removes channels on the running client.
type subscriber interface {
	Subscribe(ctx context.Context, channel string) error
	Unsubscribe(ctx context.Context, channel string) error
}

// checkGlobs refuses a malformed glob of --all.
func checkGlobs(globs []string) error {
	for _, g := range globs {
		if g == "" {
			return cmdutil.Usagef(`--all "": empty pattern; give a glob over channel names such as 'private-chat.*'`)
		}
		if _, err := path.Match(g, ""); err != nil {
			return &cmdutil.UsageError{Msg: `--all "` + termsafe.Clip(g, 64) + `": malformed glob`,
				Hint: "globs take * (any run), ? (one character), [a-z] (a class) and \\ (escape), e.g. 'private-chat.*'"}
		}
	}
	return nil
}

// maxDiscovered is how many discovered channels listen --all follows at
// a time: a server (or a busy app) listing tens of thousands must not make
// it subscribe to them all.
const maxDiscovered = 1000

type discovery struct {
	api    channelLister
	globs  []string
	every  time.Duration
	grace  time.Duration
	static map[string]bool // the -c channels: subscribed by the client, never left
	// encrypt says whether an encryption master key is set: without one,
	// private-encrypted- channels are skipped (with one warning).
	encrypt bool
	log     pusher.Logger
	status  io.Writer
	plus    *color.Color
	minus   *color.Color
	now     func() time.Time

	// kick asks for a poll at once (a connected record came).
	kick chan struct{}
	// refusedBySrv holds the channels whose subscription_error the sink
	// saw; the poll takes them.
	mu           sync.Mutex
	refusedBySrv []string

	// Owned by the polling goroutine.
	joined          map[string]time.Time // channel → since when it has looked vacant (zero: in use)
	refused         map[string]bool      // not tried again until it is gone from the list
	warnedEncrypted bool
	warnedInvalid   bool
	warnedTooMany   bool
	failing         string // the last poll's error, "" when it worked

	cancel context.CancelFunc
	done   chan struct{}
}

// newDiscovery sets up listen --all: the HTTP API client (a missing app id
// or secret is exit 2) and the authorizer of the discovered channels,
// signed locally with the app secret, presence as ObserverID. given is the
// authorizer of the -c channels (nil when none needs one).
func newDiscovery(opts *Options, given pusher.Authorizer, log pusher.Logger, status io.Writer, colored bool) (*discovery, pusher.Authorizer, error) {
	s := opts.Settings
	api, err := pusherapi.New(s, opts.Version)
	if err != nil {
		return nil, nil, err
	}
	every := opts.DiscoverEvery
	if every <= 0 {
		every = DefaultDiscoverEvery
	}
	d := &discovery{
		api: api, globs: opts.Globs, every: every, grace: graceFactor * every,
		static:  map[string]bool{},
		encrypt: len(s.EncryptionMasterKey) == auth.MasterKeySize,
		log:     log, status: status,
		plus:  iostreams.Color(colored, color.FgGreen),
		minus: iostreams.Color(colored, color.FgRed),
		now:   time.Now,
		kick:  make(chan struct{}, 1), joined: map[string]time.Time{}, refused: map[string]bool{},
	}
	for _, ch := range opts.Channels {
		d.static[ch] = true
	}
	signer := &auth.Signer{Key: s.Key, Secret: s.AppSecret, UserID: ObserverID, MasterKey: s.EncryptionMasterKey}
	var a pusher.Authorizer = signer
	if given != nil {
		a = &allAuthorizer{static: d.static, given: given, signer: signer}
	}
	return d, a, nil
}

// DefaultDiscoverEvery is --discover-every's default.
const DefaultDiscoverEvery = 2 * time.Second

// allAuthorizer authorizes the -c channels as listen always does and the
// discovered ones with the app secret.
type allAuthorizer struct {
	static map[string]bool
	given  pusher.Authorizer
	signer *auth.Signer
}

func (a *allAuthorizer) Authorize(ctx context.Context, socketID, channel string) (auth.Result, error) {
	if a.static[channel] {
		return a.given.Authorize(ctx, socketID, channel)
	}
	return a.signer.Authorize(ctx, socketID, channel)
}

// Via is how both authorize, for the [auth] lines, when it is the same
// way ("" when the -c channels go through the endpoint).
func (a *allAuthorizer) Via() string {
	if v, ok := a.given.(interface{ Via() string }); ok && v.Via() == a.signer.Via() {
		return v.Via()
	}
	return ""
}

// wrap returns the client's sink: sink, watched for connected records
// (poll at once) and refusals of discovered channels. A nil discovery
// returns sink itself.
func (d *discovery) wrap(sink pusher.Sink) pusher.Sink {
	if d == nil {
		return sink
	}
	return &discoverySink{Sink: sink, d: d}
}

type discoverySink struct {
	pusher.Sink
	d *discovery
}

func (w *discoverySink) Write(r *record.Record) error {
	switch r.Type {
	case record.TypeConnected:
		select {
		case w.d.kick <- struct{}{}:
		default: // a poll is due already
		}
	case record.TypeSubscriptionError:
		if !w.d.static[r.Channel] {
			w.d.mu.Lock()
			w.d.refusedBySrv = append(w.d.refusedBySrv, r.Channel)
			w.d.mu.Unlock()
		}
	}
	return w.Sink.Write(r)
}

// start makes the first poll (its failure ends listen: a refusal exit 3,
// an unreachable API exit 4), then polls in the background until stop.
func (d *discovery) start(ctx context.Context, c subscriber) error {
	if err := d.poll(ctx, c); err != nil {
		return err
	}
	ctx, d.cancel = context.WithCancel(ctx)
	d.done = make(chan struct{})
	go d.loop(ctx, c)
	return nil
}

// stop ends the polling and waits for it.
func (d *discovery) stop() {
	if d == nil || d.cancel == nil {
		return
	}
	d.cancel()
	<-d.done
}

func (d *discovery) loop(ctx context.Context, c subscriber) {
	defer close(d.done)
	t := time.NewTicker(d.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.kick:
		}
		err := d.poll(ctx, c)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil && err.Error() != d.failing:
			d.failing = err.Error()
			d.log.Warn("discovery", "listing the channels failed (tried again every "+d.every.String()+"): "+err.Error())
		case err == nil && d.failing != "":
			d.failing = ""
			d.log.Info("discovery", "listing the channels works again")
		}
	}
}

// poll lists the channels once, leaves the vacant ones whose grace is over
// and joins the new ones.
func (d *discovery) poll(ctx context.Context, c subscriber) error {
	list, err := d.api.Channels(ctx, "")
	if err != nil {
		return err
	}
	now := d.now()
	d.mu.Lock()
	for _, name := range d.refusedBySrv {
		if _, ok := d.joined[name]; ok {
			delete(d.joined, name)
			d.refused[name] = true
		}
	}
	d.refusedBySrv = nil
	d.mu.Unlock()

	seen := make(map[string]*pusherapi.Channel, len(list))
	for i := range list {
		seen[list[i].Name] = &list[i]
	}
	for name := range d.refused {
		if seen[name] == nil {
			delete(d.refused, name) // gone: tried again when it comes back
		}
	}

	// Leave first: the list was taken before this poll's joins, whose
	// counts do not hold our subscription yet.
	joined := make([]string, 0, len(d.joined))
	for name := range d.joined {
		joined = append(joined, name)
	}
	slices.Sort(joined)
	left := map[string]bool{}
	for _, name := range joined {
		if ch := seen[name]; ch != nil && ch.Occupied && !onlyObserver(ch) {
			d.joined[name] = time.Time{}
			continue
		}
		since := d.joined[name]
		if since.IsZero() {
			d.joined[name] = now
			since = now
		}
		if now.Sub(since) < d.grace {
			continue
		}
		if err := c.Unsubscribe(ctx, name); err != nil {
			return err
		}
		delete(d.joined, name)
		left[name] = true // the list still counts us: not joined again below
		d.line(d.minus, "- ", name)
	}

	for i := range list {
		ch := &list[i]
		name := ch.Name
		if _, ok := d.joined[name]; ok || left[name] || !ch.Occupied || d.static[name] || d.refused[name] || !d.match(name) {
			continue
		}
		// The list is the server's: a name that is no channel name is not
		// sent back, and however many it lists, at most maxDiscovered are
		// followed.
		if err := cmdutil.CheckChannel(name); err != nil {
			if !d.warnedInvalid {
				d.warnedInvalid = true
				d.log.Warn("discovery", "skipping channels whose names are not channel names (the server listed "+termsafe.Clip(name, 64)+"): "+err.Error())
			}
			continue
		}
		if len(d.joined) >= maxDiscovered {
			if !d.warnedTooMany {
				d.warnedTooMany = true
				d.log.Warn("discovery", fmt.Sprintf("the server lists more channels than listen --all follows (%d): name the ones you want with a GLOB, e.g. tmsws listen --all 'private-chat.*'", maxDiscovered))
			}
			break
		}
		if strings.HasPrefix(name, auth.EncryptedPrefix) && !d.encrypt {
			if !d.warnedEncrypted {
				d.warnedEncrypted = true
				d.log.Warn("discovery", "skipping private-encrypted- channels ("+termsafe.Clip(name, 64)+" first): decrypting them needs --encryption-master-key")
			}
			continue
		}
		if err := c.Subscribe(ctx, name); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var sub *pusher.SubscriptionError
			if !errors.As(err, &sub) {
				return err
			}
			d.refused[name] = true // the client has warned and written the record
			continue
		}
		d.joined[name] = time.Time{}
		d.line(d.plus, "+ ", name)
	}
	return nil
}

// onlyObserver reports whether the counts say that the only subscriber
// left is tmsws: one subscription, or on a presence channel one user.
func onlyObserver(ch *pusherapi.Channel) bool {
	if ch.SubscriptionCount != nil && *ch.SubscriptionCount <= 1 {
		return true
	}
	return strings.HasPrefix(ch.Name, "presence-") && ch.UserCount != nil && *ch.UserCount <= 1
}

func (d *discovery) match(name string) bool {
	if len(d.globs) == 0 {
		return true
	}
	for _, g := range d.globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// line writes a status line such as "+ private-chat.7".
func (d *discovery) line(c *color.Color, sign, name string) {
	_, _ = io.WriteString(d.status, c.Sprint(sign+termsafe.Clip(name, 200))+"\n")
}

// lockedWriter serializes the writes of the status log and the discovery
// (two goroutines) to stderr.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
