// Package pullthrough owns what a pull-through cache needs of its
// upstreams: the rules (an ECR repository prefix mapped to an upstream
// registry), the upstream credentials, sealed with berth's master key, and
// the upstream client (go-containerregistry's, with the registry's own
// token flow). The registry does the caching itself through the
// registry.Upstream interface that [Cache] implements.
//
// The rules are stored by the ECR API (CreatePullThroughCacheRule) in the
// index's settings under [RulesSetting]; this package reads them there.
package pullthrough

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/registry"
)

// RulesSetting is the settings key under which the ECR API keeps the
// pull-through cache rules, as a JSON array.
const RulesSetting = "ecr.pullThroughCacheRules"

// RootPrefix is the prefix of a rule that covers every repository.
const RootPrefix = "ROOT"

// Rule is what a pull-through cache rule says about its upstream (the
// ECR API keeps the rest: timestamps, the registry id).
type Rule struct {
	Prefix        string `json:"ecrRepositoryPrefix"`
	UpstreamURL   string `json:"upstreamRegistryUrl"`
	Upstream      string `json:"upstreamRegistry,omitempty"`
	CredentialArn string `json:"credentialArn,omitempty"`
}

// Covers reports whether the rule covers repository repo, and the
// repository's path upstream.
func (r Rule) Covers(repo string) (string, bool) {
	if r.Prefix == RootPrefix {
		return repo, true
	}
	p := strings.TrimSuffix(r.Prefix, "/") + "/"
	if rest, ok := strings.CutPrefix(repo, p); ok && rest != "" {
		return rest, true
	}
	return "", false
}

// Store is what the cache needs of the index: its settings.
type Store interface {
	metadata.Settings
}

// Cache finds the upstream of a cached repository. It implements
// registry.Upstream.
type Cache struct {
	store     Store
	sealer    *secret.Sealer
	log       *slog.Logger
	transport http.RoundTripper

	mu      sync.Mutex
	pullers map[string]*remote.Puller // by upstream and credentials
	clients map[string]*http.Client   // blob readers, by repository and credentials
}

// Config tunes a Cache; the zero value is usable.
type Config struct {
	// Transport reaches the upstreams; nil is remote.DefaultTransport.
	Transport http.RoundTripper
	Log       *slog.Logger
}

// New returns a Cache over the rules and credentials in store; sealer
// opens the credentials.
func New(store Store, sealer *secret.Sealer, cfg Config) *Cache {
	if cfg.Transport == nil {
		cfg.Transport = remote.DefaultTransport
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Cache{store: store, sealer: sealer, log: cfg.Log, transport: cfg.Transport, pullers: map[string]*remote.Puller{}, clients: map[string]*http.Client{}}
}

// Rules returns the stored rules.
func (c *Cache) Rules(ctx context.Context) ([]Rule, error) {
	text, err := c.store.Setting(ctx, RulesSetting)
	if err != nil || text == "" {
		return nil, err
	}
	var rules []Rule
	if err := json.Unmarshal([]byte(text), &rules); err != nil {
		return nil, fmt.Errorf("pullthrough: stored rules: %w", err)
	}
	return rules, nil
}

// Match returns the rule that covers repo (the longest prefix wins, ROOT
// last) and repo's path upstream; ok false when none does.
func Match(rules []Rule, repo string) (rule Rule, path string, ok bool) {
	best := -1
	for _, r := range rules {
		p, covers := r.Covers(repo)
		if !covers {
			continue
		}
		n := len(r.Prefix)
		if r.Prefix == RootPrefix {
			n = 0
		}
		if n > best {
			best, rule, path, ok = n, r, p, true
		}
	}
	return rule, path, ok
}

// checkedPrefix starts the setting that holds when a cached tag was last
// compared with its upstream: checkedPrefix + "<repository>:<tag>".
const checkedPrefix = "pullthrough.checked/"

// Checked implements registry.Upstream: the time is kept in the index,
// so that replicas agree and a restart does not check every tag again.
func (c *Cache) Checked(ctx context.Context, repo, tag string) (time.Time, error) {
	v, err := c.store.Setting(ctx, checkedPrefix+repo+":"+tag)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, v)
}

// MarkChecked implements registry.Upstream.
func (c *Cache) MarkChecked(ctx context.Context, repo, tag string, at time.Time) error {
	if last, err := c.Checked(ctx, repo, tag); err == nil && at.Before(last) {
		return nil
	}
	return c.store.PutSetting(ctx, checkedPrefix+repo+":"+tag, at.UTC().Format(time.RFC3339Nano))
}

// Source implements registry.Upstream.
func (c *Cache) Source(ctx context.Context, repo string) (registry.Source, error) {
	rules, err := c.Rules(ctx)
	if err != nil || len(rules) == 0 {
		return nil, err
	}
	rule, path, ok := Match(rules, repo)
	if !ok {
		return nil, nil
	}
	return c.source(ctx, rule, path)
}

// source is the upstream repository path of rule's registry.
func (c *Cache) source(ctx context.Context, rule Rule, path string) (*source, error) {
	up, err := ParseUpstreamURL(rule.UpstreamURL)
	if err != nil {
		return nil, err
	}
	ref, err := up.Repository(path)
	if err != nil {
		return nil, err
	}
	puller, err := c.puller(ctx, up, rule.CredentialArn)
	if err != nil {
		return nil, err
	}
	return &source{repo: ref, puller: puller, blobClient: func(ctx context.Context) (*http.Client, error) {
		return c.blobClient(ctx, ref, rule.CredentialArn)
	}}, nil
}

// blobClient returns an HTTP client that reaches repo with the credentials
// arn names, through go-containerregistry's transport (the registry's
// Basic or Bearer token flow), one per repository and credential value.
func (c *Cache) blobClient(ctx context.Context, repo name.Repository, arn string) (*http.Client, error) {
	auth, version, err := c.authenticator(ctx, arn)
	if err != nil {
		return nil, err
	}
	key := repo.String() + "\x00" + arn + "\x00" + version
	c.mu.Lock()
	client, ok := c.clients[key]
	c.mu.Unlock()
	if ok {
		return client, nil
	}
	t, err := transport.NewWithContext(ctx, repo.Registry, auth, c.transport, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, err
	}
	client = &http.Client{Transport: t}
	c.mu.Lock()
	c.clients[key] = client
	c.mu.Unlock()
	return client, nil
}

// puller returns the client of an upstream with the credentials arn names,
// one per upstream and credential value, so connections and tokens are
// reused across pulls.
func (c *Cache) puller(ctx context.Context, up Upstream, arn string) (*remote.Puller, error) {
	auth, version, err := c.authenticator(ctx, arn)
	if err != nil {
		return nil, err
	}
	key := up.String() + "\x00" + arn + "\x00" + version
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.pullers[key]; ok {
		return p, nil
	}
	// Few, quick retries: a client waits on them, and an upstream that is
	// down must not delay serving what the cache holds.
	p, err := remote.NewPuller(remote.WithAuth(auth), remote.WithTransport(c.transport),
		remote.WithRetryBackoff(remote.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 2}))
	if err != nil {
		return nil, err
	}
	c.pullers[key] = p
	return p, nil
}

// Validate checks that the upstream of rule answers and accepts its
// credentials: ValidatePullThroughCacheRule.
func (c *Cache) Validate(ctx context.Context, rule Rule) error {
	up, err := ParseUpstreamURL(rule.UpstreamURL)
	if err != nil {
		return err
	}
	auth, _, err := c.authenticator(ctx, rule.CredentialArn)
	if err != nil {
		return err
	}
	reg, err := name.NewRegistry(up.Host, up.nameOptions()...)
	if err != nil {
		return err
	}
	t, err := transport.NewWithContext(ctx, reg, auth, c.transport, nil)
	if err != nil {
		return fmt.Errorf("upstream %s: %w", up, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return fmt.Errorf("upstream %s: %w", up, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("upstream %s refused the credentials: %s", up, resp.Status)
	}
	return nil
}

// source is one upstream repository through go-containerregistry.
type source struct {
	repo       name.Repository
	puller     *remote.Puller
	blobClient func(context.Context) (*http.Client, error)
}

func (s *source) String() string { return s.repo.String() }

func (s *source) opts(ctx context.Context) []remote.Option {
	return []remote.Option{remote.Reuse(s.puller), remote.WithContext(ctx)}
}

// Manifest implements registry.Source.
func (s *source) Manifest(ctx context.Context, ref string) (registry.UpstreamManifest, error) {
	r, err := s.reference(ref)
	if err != nil {
		return registry.UpstreamManifest{}, err
	}
	d, err := remote.Get(r, s.opts(ctx)...)
	if err != nil {
		return registry.UpstreamManifest{}, upstreamError(err)
	}
	return registry.UpstreamManifest{Body: d.Manifest, MediaType: string(d.MediaType), Digest: digest.Digest(d.Digest.String())}, nil
}

// Head implements registry.Source.
func (s *source) Head(ctx context.Context, tag string) (digest.Digest, error) {
	r, err := s.reference(tag)
	if err != nil {
		return "", err
	}
	d, err := remote.Head(r, s.opts(ctx)...)
	if err != nil {
		return "", upstreamError(err)
	}
	return digest.Digest(d.Digest.String()), nil
}

// Blob implements registry.Source. The bytes are not checked here: the
// registry hashes them as it stores them and records the blob only if
// they match, so hashing them twice would only slow the pull.
func (s *source) Blob(ctx context.Context, dgst digest.Digest) (io.ReadCloser, error) {
	client, err := s.blobClient(ctx)
	if err != nil {
		return nil, err
	}
	u := url.URL{Scheme: s.repo.Scheme(), Host: s.repo.RegistryStr(), Path: "/v2/" + s.repo.RepositoryStr() + "/blobs/" + dgst.String()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		resp.Body.Close()
		return nil, upstreamError(err)
	}
	return resp.Body, nil
}

func (s *source) reference(ref string) (name.Reference, error) {
	if strings.Contains(ref, ":") {
		return s.repo.Digest(ref), nil
	}
	return s.repo.Tag(ref), nil
}

// upstreamError turns an upstream's "not found" into
// registry.ErrUpstreamUnknown.
func upstreamError(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %v", registry.ErrUpstreamUnknown, err)
	}
	return err
}
