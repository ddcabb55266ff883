// Package config is berth's configuration: one typed struct read from a
// YAML file (unknown keys are errors that name the key and line), then
// overridden by BERTH_* environment variables, then by flags. Defaults()
// says what a missing key means; Validate() says what a bad value means.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration. config.example.yml documents every key.
type Config struct {
	// Listen is the address berth serves every API on.
	Listen string `yaml:"listen"`
	// DataDir holds blobs and the index unless their own paths are set.
	DataDir string `yaml:"dataDir"`
	// ShutdownTimeout is how long SIGTERM waits for requests in flight.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`

	Storage   Storage   `yaml:"storage"`
	Metadata  Metadata  `yaml:"metadata"`
	TLS       TLS       `yaml:"tls"`
	Log       Log       `yaml:"log"`
	Registry  Registry  `yaml:"registry"`
	Auth      Auth      `yaml:"auth"`
	AWS       AWS       `yaml:"aws"`
	Lifecycle Lifecycle `yaml:"lifecycle"`
	GC        GC        `yaml:"gc"`
	Scanning  Scanning  `yaml:"scanning"`
	UI        UI        `yaml:"ui"`
	Launcher  Launcher  `yaml:"launcher"`
	Logs      Logs      `yaml:"logs"`

	PullThrough PullThrough `yaml:"pullThrough"`
	Replication Replication `yaml:"replication"`
}

// PullThrough tunes the pull-through cache; its rules are set through the
// ECR API (CreatePullThroughCacheRule), its upstream credentials with
// `berth pull-through credential set`.
type PullThrough struct {
	// RecheckInterval is how often a cached tag is compared with its
	// upstream (a HEAD request); 0 is 24h, as ECR.
	RecheckInterval time.Duration `yaml:"recheckInterval"`
}

// Replication names the registries that PutReplicationConfiguration rules
// replicate to. A rule's destination {region, registryId} is the entry
// with that region and registry id.
type Replication struct {
	Destinations []ReplicationDestination `yaml:"destinations"`
}

// ReplicationDestination is another berth (or any OCI registry) images
// are replicated to.
type ReplicationDestination struct {
	// Region and RegistryID are what replication rules name it by;
	// Region is also the region requests to its ECR API are signed for,
	// so a berth destination's aws.region must be the same.
	Region     string `yaml:"region"`
	RegistryID string `yaml:"registryId"`
	// Endpoint is the registry's base URL: https://host[:port], or
	// http:// for plain HTTP.
	Endpoint string `yaml:"endpoint"`
	// Username and Password are Basic credentials on it: on a berth, the
	// access key id and secret of a user who may push (ecr:PutImage and
	// the layer-upload actions; repositories are created, so with
	// ecr:CreateRepository or createOnPush). PasswordFile, when set, is
	// read for the password instead.
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"passwordFile"`
}

// Logs bounds the launcher's log store (the CloudWatch Logs API).
type Logs struct {
	// MaxStreamBytes caps each log stream; over it, its oldest events are
	// dropped. 0 is no cap.
	MaxStreamBytes int64 `yaml:"maxStreamBytes"`
	// SweepInterval is how often events past their group's retention are
	// deleted.
	SweepInterval time.Duration `yaml:"sweepInterval"`
}

// UI configures the web UI at /ui/.
type UI struct {
	// SessionLifetime is how long a sign-in lasts.
	SessionLifetime time.Duration `yaml:"sessionLifetime"`
	// SecureCookies marks the UI's cookies Secure when berth is reached
	// over HTTPS through a proxy that terminates TLS (they always are
	// when berth serves TLS itself).
	SecureCookies bool `yaml:"secureCookies"`
}

// Launcher configures the launcher: ECS tasks on a local Docker Engine.
type Launcher struct {
	// Enabled serves the ECS API and runs its tasks. berth still starts
	// when the engine cannot be reached; ECS calls that need it say so.
	Enabled bool `yaml:"enabled"`
	// DockerHost is the engine's address ("unix:///var/run/docker.sock",
	// "tcp://127.0.0.1:2375"); empty: DOCKER_HOST, else the default
	// socket.
	DockerHost string `yaml:"dockerHost"`
	// StateDir holds running tasks' metadata files, which the engine
	// mounts into their sidecars (so it must see the same path); default
	// <dataDir>/launcher.
	StateDir string `yaml:"stateDir"`
	// SidecarPool is how many task sidecars are kept started for awsvpc
	// tasks without port mappings, once one has run; 0 keeps none.
	SidecarPool int `yaml:"sidecarPool"`
	// DeregistrationDelay is how long a load-balanced ECS service drains
	// a task (lets its requests in flight finish) before stopping it;
	// 0: 10 s.
	DeregistrationDelay time.Duration `yaml:"deregistrationDelay"`
	// ReplicaAddress is the URL ("http://10.0.0.5:5000") at which the
	// other replicas sharing a PostgreSQL index reach this one, to hand it
	// the launcher's calls while it runs the launcher; empty: this host's
	// name (or the address berth listens on, when it names one) and port.
	ReplicaAddress string `yaml:"replicaAddress"`
	// Lambda configures Lambda functions (served when the launcher is).
	Lambda Lambda `yaml:"lambda"`
	// Batch configures AWS Batch jobs (served when the launcher is).
	Batch Batch `yaml:"batch"`
}

// Batch configures AWS Batch: how long finished jobs stay visible and how
// long a stopped job's container has to exit.
type Batch struct {
	// Retention is how long a finished job stays visible to DescribeJobs
	// and ListJobs (AWS keeps them about a day).
	Retention time.Duration `yaml:"retention"`
	// StopGrace is how long TerminateJob and a timeout give a container
	// between SIGTERM and SIGKILL.
	StopGrace time.Duration `yaml:"stopGrace"`
}

// Lambda configures Lambda functions: their execution environments,
// asynchronous retries, function URLs and the prices their cost is
// reckoned at.
type Lambda struct {
	// AccountConcurrency caps invocations in flight across every function,
	// as an AWS account's concurrency limit does; over it, invocations get
	// TooManyRequestsException.
	AccountConcurrency int `yaml:"accountConcurrency"`
	// IdleTimeout is how long an execution environment stays warm without
	// an invocation.
	IdleTimeout time.Duration `yaml:"idleTimeout"`
	// RetryDelay is how long a failed asynchronous invocation waits for its
	// first retry; the second waits twice as long (1m and 2m, as on AWS).
	RetryDelay time.Duration `yaml:"retryDelay"`
	// URLHost is the loopback address function URLs listen on, each on a
	// port of its own.
	URLHost string `yaml:"urlHost"`
	// Prices are what functions would cost on AWS, in US dollars.
	Prices LambdaPrices `yaml:"prices"`
}

// LambdaPrices are Lambda's prices: per million requests and per
// GB-second by architecture (AWS's public price list, us-east-1).
type LambdaPrices struct {
	RequestsPerMillion float64 `yaml:"requestsPerMillion"`
	GBSecondX86        float64 `yaml:"gbSecondX86"`
	GBSecondARM        float64 `yaml:"gbSecondArm"`
}

// Scanning configures vulnerability scanning.
type Scanning struct {
	// OSVDir holds the OSV database: <dir>/<Ecosystem>/all.zip or loose
	// <dir>/<Ecosystem>/*.json; default <dataDir>/osv.
	OSVDir string `yaml:"osvDir"`
	// Workers is how many images are scanned at once.
	Workers int `yaml:"workers"`
	// ReloadInterval is how often OSVDir is checked for data copied in
	// by hand (berth vulndb import applies at the next scan); new data
	// re-matches every stored inventory.
	ReloadInterval time.Duration `yaml:"reloadInterval"`
}

// Lifecycle schedules the repositories' lifecycle policies.
type Lifecycle struct {
	// Interval is how often every policy is applied; 0 turns the schedule
	// off (berth lifecycle run still works).
	Interval time.Duration `yaml:"interval"`
}

// GC configures online garbage collection of blobs and uploads.
type GC struct {
	// Interval is how often a pass runs; 0 turns the schedule off (berth
	// gc still works).
	Interval time.Duration `yaml:"interval"`
	// Grace is how long a blob must be unreferenced before it is deleted;
	// a push that takes longer than this between checking a layer and
	// pushing its manifest could see the layer go.
	Grace time.Duration `yaml:"grace"`
	// UploadTimeout is how long an upload may sit unwritten before it is
	// purged.
	UploadTimeout time.Duration `yaml:"uploadTimeout"`
}

// Auth configures identities and access control. In YAML, `auth: none` is
// short for `auth: {mode: none}`.
type Auth struct {
	// Mode is "keys" (access keys, tokens and policies; the default) or
	// "none" (an open registry for local development).
	Mode string `yaml:"mode"`
	// MasterKey is the base64 AES-256 key that seals access key secrets;
	// empty: read or create MasterKeyFile.
	MasterKey string `yaml:"masterKey"`
	// MasterKeyFile defaults to <dataDir>/master.key.
	MasterKeyFile string `yaml:"masterKeyFile"`
	// SigningKeysDir holds the token signing keys; default
	// <dataDir>/signing-keys.
	SigningKeysDir string `yaml:"signingKeysDir"`
	// AdminCredentialsFile receives the first administrator's access key;
	// default <dataDir>/admin-credentials.
	AdminCredentialsFile string `yaml:"adminCredentialsFile"`
	// Service names the registry in tokens and challenges.
	Service string `yaml:"service"`
	// Challenge is "basic" (as ECR) or "bearer" (the Docker token flow).
	Challenge string `yaml:"challenge"`
	// FailureBurst bad credentials from one address within FailureWindow
	// get it 429 until the oldest ages out.
	FailureBurst  int           `yaml:"failureBurst"`
	FailureWindow time.Duration `yaml:"failureWindow"`
	// Anonymous is "" (the default: every request needs credentials) or
	// "pull": repository policies may then open pulls (and only pulls) to
	// anonymous callers with "Principal": "*".
	Anonymous string `yaml:"anonymous"`
}

// UnmarshalYAML accepts the scalar shorthand `auth: none` (or `auth: keys`).
func (a *Auth) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		a.Mode = n.Value
		return nil
	}
	type plain Auth // without this method
	return n.Decode((*plain)(a))
}

// AWS is the account and region berth answers as.
type AWS struct {
	// AccountID is the 12-digit registry id in ARNs and API answers.
	AccountID string `yaml:"accountId"`
	// Region is the region of ARNs and SigV4 scopes.
	Region string `yaml:"region"`
}

// Storage chooses and configures the blob store: S3 when storage.s3.bucket
// is set, else the filesystem.
type Storage struct {
	Filesystem Filesystem `yaml:"filesystem"`
	S3         S3         `yaml:"s3"`
}

// S3 is an S3-compatible blob store (AWS S3, MinIO, ...).
type S3 struct {
	Endpoint  string `yaml:"endpoint"` // host:port
	Bucket    string `yaml:"bucket"`
	Region    string `yaml:"region"`
	Prefix    string `yaml:"prefix"`
	AccessKey string `yaml:"accessKey"` // empty: the AWS credential chain
	SecretKey string `yaml:"secretKey"`
	Secure    bool   `yaml:"secure"`
	// Redirect answers blob GETs with a 307 to a presigned URL valid for
	// RedirectExpiry.
	Redirect       bool          `yaml:"redirect"`
	RedirectExpiry time.Duration `yaml:"redirectExpiry"`
	CreateBucket   bool          `yaml:"createBucket"`
	// PartSize is the multipart part size (at least 5 MiB); each upload
	// request in flight holds one part in memory.
	PartSize int64 `yaml:"partSize"`
}

// Enabled reports whether S3 is the configured blob store.
func (s S3) Enabled() bool { return s.Bucket != "" }

// Filesystem is the local filesystem blob store.
type Filesystem struct {
	// Root is the blob directory; default <dataDir>/blobs.
	Root string `yaml:"root"`
}

// Metadata chooses and configures the metadata index: the embedded
// SQLite file, or PostgreSQL when a DSN is set (for several replicas).
type Metadata struct {
	SQLite   SQLite   `yaml:"sqlite"`
	Postgres Postgres `yaml:"postgres"`
}

// SQLite is the embedded index.
type SQLite struct {
	// Path is the database file; default <dataDir>/berth.db.
	Path string `yaml:"path"`
}

// Postgres is the PostgreSQL index, which several berth replicas share.
type Postgres struct {
	// DSN is the connection string (postgres://user@host:5432/db?...);
	// when set, the index is in PostgreSQL and the SQLite path is unused.
	DSN string `yaml:"dsn"`
}

// Enabled reports whether PostgreSQL is the configured index.
func (p Postgres) Enabled() bool { return p.DSN != "" }

// TLS serves HTTPS (and HTTP/2) when both files are set.
type TLS struct {
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
}

// Log configures the structured log.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// Registry tunes the OCI API.
type Registry struct {
	// PullFlushInterval is how often pull times are written in a batch.
	PullFlushInterval time.Duration `yaml:"pullFlushInterval"`
	// CatalogPageSize is the _catalog page size when the client gives none.
	CatalogPageSize int `yaml:"catalogPageSize"`
	// CreateOnPush lets a push create a missing repository; without it
	// (as in ECR) create repositories first.
	CreateOnPush bool `yaml:"createOnPush"`
	// Host is the host[:port] in ECR's repositoryUri; empty: the host the
	// client reached.
	Host string `yaml:"host"`
}

// Defaults returns the configuration berth runs with when nothing is set.
func Defaults() Config {
	return Config{
		Listen:          ":5000",
		DataDir:         "./data",
		ShutdownTimeout: 30 * time.Second,
		Log:             Log{Level: "info", Format: "text"},
		Registry:        Registry{PullFlushInterval: 5 * time.Second, CatalogPageSize: 1000},
		Auth: Auth{
			Mode: "keys", Service: "berth", Challenge: "basic",
			FailureBurst: 10, FailureWindow: time.Minute,
		},
		AWS:       AWS{AccountID: "000000000000", Region: "us-east-1"},
		Lifecycle: Lifecycle{Interval: time.Hour},
		GC:        GC{Interval: time.Hour, Grace: time.Hour, UploadTimeout: 24 * time.Hour},
		Scanning:  Scanning{Workers: 1, ReloadInterval: time.Minute},
		UI:        UI{SessionLifetime: 12 * time.Hour},
		Launcher: Launcher{Enabled: true, SidecarPool: 2, Lambda: Lambda{
			AccountConcurrency: 1000, IdleTimeout: 10 * time.Minute, RetryDelay: time.Minute, URLHost: "127.0.0.1",
			Prices: LambdaPrices{RequestsPerMillion: 0.20, GBSecondX86: 0.0000166667, GBSecondARM: 0.0000133334},
		}, Batch: Batch{Retention: 24 * time.Hour, StopGrace: 30 * time.Second}},
		Logs: Logs{MaxStreamBytes: 64 << 20, SweepInterval: time.Minute},
	}
}

// Load returns the defaults overridden by the YAML file at path (if path is
// not empty) and then by BERTH_* variables in environ. Call Validate after
// applying flags.
func Load(path string, environ []string) (*Config, error) {
	cfg := Defaults()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := decodeYAML(data, &cfg); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &cfg, nil
}

// decodeYAML decodes data strictly into cfg: an unknown key is an error
// that names it and its line. Two things the strict decoder lets through
// silently are refused first: a second document (it reads only the first)
// and a null key such as "null:" or "~:" (it skips those).
func decodeYAML(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		if i > 0 && len(doc.Content) > 0 && doc.Content[0].ShortTag() != "!!null" {
			return fmt.Errorf("line %d: a second YAML document; the configuration is one document", doc.Content[0].Line)
		}
		if k := nullKey(&doc); k != nil {
			return fmt.Errorf("line %d: null key %q is not a configuration key", k.Line, k.Value)
		}
	}
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// nullKey returns the first mapping key under n that is null.
func nullKey(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			if n.Content[i].ShortTag() == "!!null" {
				return n.Content[i]
			}
		}
	}
	for _, c := range n.Content {
		if k := nullKey(c); k != nil {
			return k
		}
	}
	return nil
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// Validate checks the configuration and fills in paths derived from
// DataDir.
func (c *Config) Validate() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("listen: must not be empty"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("dataDir: must not be empty"))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, errors.New("shutdownTimeout: must not be negative"))
	}
	for i, d := range c.Replication.Destinations {
		if d.Region == "" || len(d.RegistryID) != 12 || strings.Trim(d.RegistryID, "0123456789") != "" {
			errs = append(errs, fmt.Errorf("replication.destinations[%d]: region and a 12-digit registryId name it", i))
		}
		if !strings.HasPrefix(d.Endpoint, "http://") && !strings.HasPrefix(d.Endpoint, "https://") {
			errs = append(errs, fmt.Errorf("replication.destinations[%d].endpoint: must be an http:// or https:// URL", i))
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: certFile and keyFile must be set together"))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q is not one of text, json", c.Log.Format))
	}
	if c.Registry.PullFlushInterval <= 0 {
		errs = append(errs, errors.New("registry.pullFlushInterval: must be positive"))
	}
	if c.Registry.CatalogPageSize <= 0 {
		errs = append(errs, errors.New("registry.catalogPageSize: must be positive"))
	}
	if s3 := c.Storage.S3; s3.Enabled() {
		if s3.Endpoint == "" {
			errs = append(errs, errors.New("storage.s3.endpoint: must be set with storage.s3.bucket"))
		}
		if s3.PartSize != 0 && s3.PartSize < 5<<20 {
			errs = append(errs, fmt.Errorf("storage.s3.partSize: %d is below S3's minimum part size of 5 MiB (5242880)", s3.PartSize))
		}
		if s3.RedirectExpiry < 0 || s3.RedirectExpiry > 7*24*time.Hour {
			errs = append(errs, errors.New("storage.s3.redirectExpiry: must be between 0 and 7 days"))
		}
	}
	switch c.Auth.Mode {
	case "keys", "none":
	default:
		errs = append(errs, fmt.Errorf("auth.mode: %q is not one of keys, none", c.Auth.Mode))
	}
	switch c.Auth.Challenge {
	case "basic", "bearer":
	default:
		errs = append(errs, fmt.Errorf("auth.challenge: %q is not one of basic, bearer", c.Auth.Challenge))
	}
	switch c.Auth.Anonymous {
	case "", "pull":
	default:
		errs = append(errs, fmt.Errorf("auth.anonymous: %q is not pull (or empty, no anonymous access)", c.Auth.Anonymous))
	}
	if c.Auth.Service == "" {
		errs = append(errs, errors.New("auth.service: must not be empty"))
	}
	if c.Auth.FailureBurst <= 0 || c.Auth.FailureWindow <= 0 {
		errs = append(errs, errors.New("auth.failureBurst and auth.failureWindow: must be positive"))
	}
	if !accountID.MatchString(c.AWS.AccountID) {
		errs = append(errs, fmt.Errorf("aws.accountId: %q is not 12 digits", c.AWS.AccountID))
	}
	if c.AWS.Region == "" {
		errs = append(errs, errors.New("aws.region: must not be empty"))
	}
	if c.Lifecycle.Interval < 0 || c.GC.Interval < 0 {
		errs = append(errs, errors.New("lifecycle.interval and gc.interval: must not be negative"))
	}
	if c.GC.Grace <= 0 || c.GC.UploadTimeout <= 0 {
		errs = append(errs, errors.New("gc.grace and gc.uploadTimeout: must be positive"))
	}
	if c.Scanning.Workers <= 0 || c.Scanning.ReloadInterval <= 0 {
		errs = append(errs, errors.New("scanning.workers and scanning.reloadInterval: must be positive"))
	}
	if c.UI.SessionLifetime <= 0 {
		errs = append(errs, errors.New("ui.sessionLifetime: must be positive"))
	}
	if c.Launcher.SidecarPool < 0 || c.Launcher.SidecarPool > 64 {
		errs = append(errs, errors.New("launcher.sidecarPool: must be between 0 and 64"))
	}
	if c.Launcher.DeregistrationDelay < 0 {
		errs = append(errs, errors.New("launcher.deregistrationDelay: must not be negative"))
	}
	if l := c.Launcher.Lambda; l.AccountConcurrency < 1 || l.IdleTimeout <= 0 || l.RetryDelay <= 0 {
		errs = append(errs, errors.New("launcher.lambda.accountConcurrency, idleTimeout and retryDelay: must be positive"))
	}
	if p := c.Launcher.Lambda.Prices; p.RequestsPerMillion < 0 || p.GBSecondX86 < 0 || p.GBSecondARM < 0 {
		errs = append(errs, errors.New("launcher.lambda.prices: must not be negative"))
	}
	if ip := net.ParseIP(c.Launcher.Lambda.URLHost); ip == nil || !ip.IsLoopback() {
		errs = append(errs, fmt.Errorf("launcher.lambda.urlHost %q: must be a loopback address (function URLs are for this machine)", c.Launcher.Lambda.URLHost))
	}
	if b := c.Launcher.Batch; b.Retention <= 0 || b.StopGrace <= 0 {
		errs = append(errs, errors.New("launcher.batch.retention and stopGrace: must be positive"))
	}
	if c.Logs.MaxStreamBytes < 0 || c.Logs.SweepInterval <= 0 {
		errs = append(errs, errors.New("logs.maxStreamBytes: must not be negative; logs.sweepInterval: must be positive"))
	}
	if c.Storage.Filesystem.Root == "" {
		c.Storage.Filesystem.Root = filepath.Join(c.DataDir, "blobs")
	}
	for _, p := range []struct {
		path *string
		name string
	}{
		{&c.Auth.MasterKeyFile, "master.key"},
		{&c.Auth.SigningKeysDir, "signing-keys"},
		{&c.Auth.AdminCredentialsFile, "admin-credentials"},
		{&c.Scanning.OSVDir, "osv"},
		{&c.Launcher.StateDir, "launcher"},
	} {
		if *p.path == "" {
			*p.path = filepath.Join(c.DataDir, p.name)
		}
	}
	if c.Metadata.SQLite.Path == "" {
		c.Metadata.SQLite.Path = filepath.Join(c.DataDir, "berth.db")
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return nil
}

// applyEnv sets each field from its BERTH_* variable: the YAML path in
// upper snake case, e.g. storage.filesystem.root is
// BERTH_STORAGE_FILESYSTEM_ROOT.
func applyEnv(cfg *Config, environ []string) error {
	vars := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "BERTH_") {
			vars[k] = v
		}
	}
	var errs []error
	walkFields(reflect.ValueOf(cfg).Elem(), "BERTH", func(name string, f reflect.Value) {
		v, ok := vars[name]
		if !ok {
			return
		}
		if err := setField(f, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	})
	return errors.Join(errs...)
}

// EnvNames lists every BERTH_* variable the configuration reads.
func EnvNames() []string {
	var names []string
	cfg := Defaults()
	walkFields(reflect.ValueOf(&cfg).Elem(), "BERTH", func(name string, _ reflect.Value) {
		names = append(names, name)
	})
	return names
}

func walkFields(v reflect.Value, prefix string, fn func(name string, f reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		name := prefix + "_" + upperSnake(tag)
		f := v.Field(i)
		if f.Kind() == reflect.Struct {
			walkFields(f, name, fn)
			continue
		}
		if f.Kind() == reflect.Slice {
			continue // lists (replication destinations) come from the file only
		}
		fn(name, f)
	}
}

func setField(f reflect.Value, s string) error {
	switch {
	case f.Type() == reflect.TypeFor[time.Duration]():
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(s)
	case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		f.SetInt(int64(n))
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case f.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		f.SetFloat(x)
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// upperSnake turns "pullFlushInterval" into "PULL_FLUSH_INTERVAL".
func upperSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}
