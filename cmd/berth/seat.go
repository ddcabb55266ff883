package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/ui"
)

// seatKey is the setting that holds the address of the replica running
// the launcher.
const seatKey = "launcher.replica"

// forwardedHeader marks a call one replica hands to another, which never
// hands it on again.
const forwardedHeader = "X-Berth-Forwarded"

// launcherSeat runs the launcher on one replica of several sharing a
// PostgreSQL index: the one holding the index's "launcher" lock, which
// records its address in the index. Every other replica hands the
// launcher's calls (the ECS, Lambda and Batch APIs and their web pages)
// to it as they came; it authenticates them. Containers are started by
// one launcher only, so two replicas never run the same task, job or
// function. When the holder dies, its lock goes with its connection and
// another replica takes the seat within leaseRetry, building the
// launcher afresh: it reattaches to the tasks and jobs in the index as a
// restart does.
type launcherSeat struct {
	index seatIndex
	self  string // this replica's URL as the others reach it
	build func(context.Context) (launchers, error)
	// newUI is the web UI with a launcher's pages.
	newUI func(launchers) (*ui.UI, error)
	// shape has the launcher's services registered, for their routes
	// and their errors' forms.
	shape        *awsjson.Front
	authenticate func(string) awsjson.Authenticator
	shutdown     time.Duration
	log          *slog.Logger
	proxy        *httputil.ReverseProxy

	mu    sync.Mutex
	first launchers    // built at start, for the first term here
	local http.Handler // the launcher's routes while this replica holds the seat
	tags  launchers    // whose resources' tags conditions read
}

// seatIndex is what the seat keeps in the shared index.
type seatIndex interface {
	exclusive
	metadata.Settings
}

// newLauncherSeat builds the launcher once (to learn its routes; the
// first term here runs it) and returns the seat, which Run then seeks.
func newLauncherSeat(ctx context.Context, cfg *config.Config, index seatIndex, build func(context.Context) (launchers, error), newUI func(launchers) (*ui.UI, error), authenticate func(string) awsjson.Authenticator, log *slog.Logger) (*launcherSeat, error) {
	self, err := replicaURL(cfg)
	if err != nil {
		return nil, err
	}
	first, err := build(ctx)
	if err != nil {
		return nil, err
	}
	s := &launcherSeat{index: index, self: self, build: build, newUI: newUI, first: first,
		shape: awsjson.NewFront(http.NewServeMux(), nil, log), authenticate: authenticate,
		shutdown: cfg.ShutdownTimeout, log: log}
	first.Register(s.shape)
	s.proxy = &httputil.ReverseProxy{
		Rewrite:       s.rewrite,
		FlushInterval: -1, // live pages and log follows stream
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.log.WarnContext(r.Context(), "handing a launcher call to the replica running it", "err", err)
			s.unavailable(w, r)
		},
	}
	return s, nil
}

// replicaURL is the URL the other replicas reach this one at:
// launcher.replicaAddress, else this host's name (or the address berth
// listens on, when it names one) and port.
func replicaURL(cfg *config.Config) (string, error) {
	if a := cfg.Launcher.ReplicaAddress; a != "" {
		if !strings.Contains(a, "://") {
			a = "http://" + a
		}
		return a, nil
	}
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return "", fmt.Errorf("listen %q: %w", cfg.Listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if host, err = os.Hostname(); err != nil {
			return "", fmt.Errorf("the other replicas reach this one at launcher.replicaAddress, which is not set, and the host's name is unknown: %w", err)
		}
	}
	scheme := "http"
	if cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// Register hands the launcher's calls on the front door and its pages
// on mux to the seat.
func (s *launcherSeat) Register(front *awsjson.Front, mux *http.ServeMux) {
	front.Pass(s.shape, s)
	for _, p := range ui.LauncherPaths {
		mux.Handle(p, s)
		mux.Handle(p+"/", s)
	}
}

// RouteName names every launcher call "launcher" in metrics.
func (s *launcherSeat) RouteName(*http.Request) string { return "launcher" }

// ServeHTTP serves a launcher call here while this replica holds the
// seat, else hands it to the replica the index names. While the index
// names this replica, or none (at a first start), the call waits for
// this replica to take the seat (again), at most seatWait.
func (s *launcherSeat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	wait := time.NewTimer(seatWait)
	defer wait.Stop()
	for {
		s.mu.Lock()
		local := s.local
		s.mu.Unlock()
		if local != nil {
			local.ServeHTTP(w, r)
			return
		}
		addr, err := s.index.Setting(r.Context(), seatKey)
		if err != nil {
			s.unavailable(w, r)
			return
		}
		if addr != "" && addr != s.self {
			if r.Header.Get(forwardedHeader) != "" {
				s.unavailable(w, r) // the seat moved meanwhile: never a second hop
				return
			}
			s.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), seatTarget{}, addr)))
			return
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-wait.C:
			s.unavailable(w, r)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// seatWait bounds how long a call waits for this replica to take the
// seat: longer than another replica's lock takes to free when its holder
// dies.
const seatWait = leaseRetry + 5*time.Second

// seatTarget is the context key of the URL a call is handed to.
type seatTarget struct{}

// rewrite sends a call to the replica running the launcher, keeping its
// Host (which its signature covers).
func (s *launcherSeat) rewrite(p *httputil.ProxyRequest) {
	p.SetXForwarded()
	p.Out.Host = p.In.Host
	p.Out.Header.Set(forwardedHeader, "1")
	addr, _ := p.In.Context().Value(seatTarget{}).(string)
	target, err := url.Parse(addr)
	if err != nil || target.Host == "" {
		// An unroutable URL makes the proxy's error handler answer.
		target = &url.URL{Scheme: "http", Host: "launcher-replica.invalid"}
	}
	p.Out.URL.Scheme, p.Out.URL.Host = target.Scheme, target.Host
}

// unavailable answers a call no replica can serve now with its service's
// 503, which SDKs retry.
func (s *launcherSeat) unavailable(w http.ResponseWriter, r *http.Request) {
	s.shape.Unavailable(w, r, "No berth replica runs the launcher at the moment; another takes it over within seconds. Try again.")
}

// Run seeks the seat until ctx ends, and while holding it runs the
// launcher.
func (s *launcherSeat) Run(ctx context.Context) error {
	return s.index.Exclusively(ctx, "launcher", leaseRetry, s.hold)
}

// hold runs one term: the launcher, built afresh unless this is the
// first, serves here and runs its loops until ctx ends (the process
// stops, or the lock's connection failed), then stops.
func (s *launcherSeat) hold(ctx context.Context) {
	s.mu.Lock()
	l := s.first
	s.first = launchers{}
	s.mu.Unlock()
	if l.api == nil {
		var err error
		if l, err = s.build(ctx); err != nil {
			s.log.Error("building the launcher", "err", err)
			return
		}
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdown)
		defer cancel()
		if err := l.close(cctx); err != nil {
			s.log.Warn("removing Lambda execution environments", "err", err)
		}
	}()
	pages, err := s.newUI(l)
	if err != nil {
		s.log.Error("building the launcher's pages", "err", err)
		return
	}
	mux := http.NewServeMux()
	l.Register(awsjson.NewFront(mux, s.authenticate, s.log))
	pages.Register(mux)
	if err := s.index.PutSetting(ctx, seatKey, s.self); err != nil {
		s.log.Error("recording this replica as the launcher's", "err", err)
		return
	}
	s.log.Info("this replica runs the launcher", "address", s.self)
	s.set(mux, l)
	defer func() {
		s.set(nil, launchers{})
		// Still holding the lock: no other replica has written since.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.index.PutSetting(cctx, seatKey, ""); err != nil {
			s.log.Warn("clearing this replica as the launcher's", "err", err)
		}
	}()
	g, gctx := errgroup.WithContext(ctx)
	for _, loop := range l.loops() {
		g.Go(func() error { return loop(gctx) })
	}
	g.Go(func() error { pages.Run(gctx, 15*time.Minute); return nil })
	if err := g.Wait(); err != nil && ctx.Err() == nil {
		s.log.Error("the launcher stopped", "err", err)
	}
}

func (s *launcherSeat) set(local http.Handler, l launchers) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.local, s.tags = local, l
}

// tagger is the resource tags of one of the launcher's services, read
// from the launcher running here (none elsewhere: calls are
// authorized by the replica running it).
func (s *launcherSeat) tagger(service string) auth.ResourcePolicies {
	return seatTags{s, service}
}

type seatTags struct {
	s       *launcherSeat
	service string
}

func (t seatTags) ResourceTags(ctx context.Context, resource arn.ARN) (map[string]string, error) {
	t.s.mu.Lock()
	l := t.s.tags
	t.s.mu.Unlock()
	if l.api == nil {
		return nil, errors.New("the launcher does not run on this replica")
	}
	return l.resourcePolicies()[t.service].(auth.ResourceTagger).ResourceTags(ctx, resource)
}

func (seatTags) ResourcePolicy(context.Context, arn.ARN) (string, error) { return "", nil }
