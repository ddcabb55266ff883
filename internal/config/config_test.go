package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/config"
)

// writeConfig writes a YAML file and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "berth.yml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func load(t *testing.T, yaml string, environ ...string) *config.Config {
	t.Helper()
	path := ""
	if yaml != "" {
		path = writeConfig(t, yaml)
	}
	cfg, err := config.Load(path, environ)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

func TestDefaults(t *testing.T) {
	cfg := load(t, "")
	want := config.Config{
		Listen:          ":5000",
		DataDir:         "./data",
		ShutdownTimeout: 30 * time.Second,
		Log:             config.Log{Level: "info", Format: "text"},
		Registry:        config.Registry{PullFlushInterval: 5 * time.Second, CatalogPageSize: 1000},
		Auth: config.Auth{
			Mode: "keys", Service: "berth", Challenge: "basic",
			FailureBurst: 10, FailureWindow: time.Minute,
		},
		AWS:       config.AWS{AccountID: "000000000000", Region: "us-east-1"},
		Lifecycle: config.Lifecycle{Interval: time.Hour},
		GC:        config.GC{Interval: time.Hour, Grace: time.Hour, UploadTimeout: 24 * time.Hour},
		Scanning:  config.Scanning{Workers: 1, ReloadInterval: time.Minute},
		UI:        config.UI{SessionLifetime: 12 * time.Hour},
		Launcher: config.Launcher{Enabled: true, SidecarPool: 2, Lambda: config.Lambda{
			AccountConcurrency: 1000, IdleTimeout: 10 * time.Minute, RetryDelay: time.Minute, URLHost: "127.0.0.1",
			Prices: config.LambdaPrices{RequestsPerMillion: 0.20, GBSecondX86: 0.0000166667, GBSecondARM: 0.0000133334},
		}, Batch: config.Batch{Retention: 24 * time.Hour, StopGrace: 30 * time.Second}},
		Logs: config.Logs{MaxStreamBytes: 64 << 20, SweepInterval: time.Minute},
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("Load with no file and no environment = %+v; want %+v", *cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate of the defaults: %v", err)
	}
	if cfg.Storage.Filesystem.Root != filepath.Join("data", "blobs") || cfg.Metadata.SQLite.Path != filepath.Join("data", "berth.db") {
		t.Errorf("paths derived from dataDir: root %q, index %q; want data/blobs, data/berth.db",
			cfg.Storage.Filesystem.Root, cfg.Metadata.SQLite.Path)
	}
}

func TestYAMLOverridesDefaults(t *testing.T) {
	cfg := load(t, `
listen: 127.0.0.1:6000
dataDir: /var/lib/berth
shutdownTimeout: 1m30s
storage:
  filesystem:
    root: /mnt/blobs
metadata:
  sqlite:
    path: /var/lib/berth/index.db
tls:
  certFile: cert.pem
  keyFile: key.pem
log:
  level: debug
  format: json
registry:
  pullFlushInterval: 250ms
  catalogPageSize: 50
auth:
  mode: none
  masterKeyFile: /etc/berth/master.key
  service: registry.example.com
  challenge: bearer
  failureBurst: 3
  failureWindow: 10s
aws:
  accountId: "123456789012"
  region: eu-west-1
lifecycle:
  interval: 15m
gc:
  interval: 10m
  grace: 30m
  uploadTimeout: 2h
scanning:
  osvDir: /var/lib/osv
  workers: 2
  reloadInterval: 5m
ui:
  sessionLifetime: 2h
  secureCookies: true
launcher:
  enabled: false
  dockerHost: tcp://127.0.0.1:2375
  stateDir: /run/berth
  sidecarPool: 0
  lambda:
    accountConcurrency: 20
    idleTimeout: 30s
    retryDelay: 1s
    urlHost: 127.0.0.2
    prices:
      requestsPerMillion: 0.25
      gbSecondX86: 0.00002
      gbSecondArm: 0.00001
  batch:
    retention: 2h
    stopGrace: 5s
logs:
  maxStreamBytes: 1048576
  sweepInterval: 30s
`)
	want := config.Config{
		Listen:          "127.0.0.1:6000",
		DataDir:         "/var/lib/berth",
		ShutdownTimeout: 90 * time.Second,
		Storage:         config.Storage{Filesystem: config.Filesystem{Root: "/mnt/blobs"}},
		Metadata:        config.Metadata{SQLite: config.SQLite{Path: "/var/lib/berth/index.db"}},
		TLS:             config.TLS{CertFile: "cert.pem", KeyFile: "key.pem"},
		Log:             config.Log{Level: "debug", Format: "json"},
		Registry:        config.Registry{PullFlushInterval: 250 * time.Millisecond, CatalogPageSize: 50},
		Auth: config.Auth{
			Mode: "none", MasterKeyFile: "/etc/berth/master.key", Service: "registry.example.com",
			Challenge: "bearer", FailureBurst: 3, FailureWindow: 10 * time.Second,
		},
		AWS:       config.AWS{AccountID: "123456789012", Region: "eu-west-1"},
		Lifecycle: config.Lifecycle{Interval: 15 * time.Minute},
		GC:        config.GC{Interval: 10 * time.Minute, Grace: 30 * time.Minute, UploadTimeout: 2 * time.Hour},
		Scanning:  config.Scanning{OSVDir: "/var/lib/osv", Workers: 2, ReloadInterval: 5 * time.Minute},
		UI:        config.UI{SessionLifetime: 2 * time.Hour, SecureCookies: true},
		Launcher: config.Launcher{DockerHost: "tcp://127.0.0.1:2375", StateDir: "/run/berth", SidecarPool: 0, Lambda: config.Lambda{
			AccountConcurrency: 20, IdleTimeout: 30 * time.Second, RetryDelay: time.Second, URLHost: "127.0.0.2",
			Prices: config.LambdaPrices{RequestsPerMillion: 0.25, GBSecondX86: 0.00002, GBSecondARM: 0.00001},
		}, Batch: config.Batch{Retention: 2 * time.Hour, StopGrace: 5 * time.Second}},
		Logs: config.Logs{MaxStreamBytes: 1 << 20, SweepInterval: 30 * time.Second},
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("Load = %+v; want %+v", *cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// A key the file leaves out keeps its default.
func TestYAMLKeepsUnsetDefaults(t *testing.T) {
	cfg := load(t, "log:\n  level: warn\n")
	if cfg.Log.Level != "warn" || cfg.Log.Format != "text" || cfg.Listen != ":5000" {
		t.Errorf("Load = %+v; want level warn and every other default", *cfg)
	}
}

func TestYAMLErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "listen: :5000\nlisten_addr: :6000\n", []string{"listen_addr", "line 2"}},
		{"unknown nested key", "storage:\n  filesystem:\n    root: /x\n    rot: /y\n", []string{"rot", "line 4"}},
		{"unknown section", "log:\n  level: info\nstorge:\n  filesystem: {}\n", []string{"storge", "line 3"}},
		{"keys are case-sensitive", "dataDir: /a\nDataDir: /b\n", []string{"DataDir", "line 2"}},
		{"a number is not a duration", "shutdownTimeout: 10\n", []string{"line 1", "time.Duration"}},
		{"a bad duration", "registry:\n  pullFlushInterval: soon\n", []string{"line 2"}},
		{"a string is not a number", "registry:\n  catalogPageSize: many\n", []string{"line 2"}},
		{"a list is not a section", "storage:\n  - filesystem\n", []string{"line 2"}},
		{"not YAML", "listen: [unclosed\n", []string{"yaml"}},
		// A second document would otherwise be ignored, unknown keys and all.
		{"a second document", "listen: :5000\n---\nbogus: 1\n", []string{"line 3", "document"}},
		// The decoder skips null keys instead of refusing them.
		{"a null key", "log:\n  level: info\n  null: {bogus: 1}\n", []string{"line 3", "null"}},
		{"a ~ key", "~: 1\n", []string{"line 1", "null"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			_, err := config.Load(path, nil)
			if err == nil {
				t.Fatalf("Load succeeded; want an error")
			}
			for _, want := range append(tt.want, path) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestLoadEmptyOrCommentOnlyFile(t *testing.T) {
	for _, yaml := range []string{"\n", "# nothing set yet\n", "---\n", "---\n---\n# trailing empty document\n"} {
		cfg, err := config.Load(writeConfig(t, yaml), nil)
		if err != nil || !reflect.DeepEqual(*cfg, config.Defaults()) {
			t.Errorf("Load(%q) = %+v, %v; want the defaults", yaml, cfg, err)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := config.Load(filepath.Join(t.TempDir(), "missing.yml"), nil); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	cfg := load(t, "storage:\n  filesystem:\n    root: /from/file\nlisten: :7000\n",
		"BERTH_STORAGE_FILESYSTEM_ROOT=/from/env",
		"BERTH_SHUTDOWN_TIMEOUT=45s",
		"BERTH_REGISTRY_PULL_FLUSH_INTERVAL=2m",
		"BERTH_REGISTRY_CATALOG_PAGE_SIZE=10",
		"HOME=/root",           // not ours
		"BERTH_=ignored",       // not a field
		"BERTH_LISTEN_EXTRA=x", // not a field either
	)
	if cfg.Storage.Filesystem.Root != "/from/env" {
		t.Errorf("storage root = %q; want the environment's /from/env", cfg.Storage.Filesystem.Root)
	}
	if cfg.Listen != ":7000" {
		t.Errorf("listen = %q; want the file's :7000", cfg.Listen)
	}
	if cfg.ShutdownTimeout != 45*time.Second || cfg.Registry.PullFlushInterval != 2*time.Minute {
		t.Errorf("durations = %v, %v; want 45s, 2m", cfg.ShutdownTimeout, cfg.Registry.PullFlushInterval)
	}
	if cfg.Registry.CatalogPageSize != 10 {
		t.Errorf("catalog page size = %d; want 10", cfg.Registry.CatalogPageSize)
	}
}

func TestEnvironmentErrors(t *testing.T) {
	tests := []struct{ env, want string }{
		{"BERTH_SHUTDOWN_TIMEOUT=30", "BERTH_SHUTDOWN_TIMEOUT"},
		{"BERTH_REGISTRY_PULL_FLUSH_INTERVAL=often", "BERTH_REGISTRY_PULL_FLUSH_INTERVAL"},
		{"BERTH_REGISTRY_CATALOG_PAGE_SIZE=1e3", "BERTH_REGISTRY_CATALOG_PAGE_SIZE"},
	}
	for _, tt := range tests {
		_, err := config.Load("", []string{tt.env})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load with %s: err = %v; want one naming %s", tt.env, err, tt.want)
		}
	}
}

// envValues gives every variable berth reads a value unlike its default.
// When a field is added, EnvNames grows and this table must too.
var envValues = map[string]string{
	"BERTH_LISTEN":                                      ":9999",
	"BERTH_DATA_DIR":                                    "/env/data",
	"BERTH_SHUTDOWN_TIMEOUT":                            "3s",
	"BERTH_STORAGE_FILESYSTEM_ROOT":                     "/env/blobs",
	"BERTH_STORAGE_S3_ENDPOINT":                         "127.0.0.1:9000",
	"BERTH_STORAGE_S3_BUCKET":                           "berth",
	"BERTH_STORAGE_S3_REGION":                           "eu-west-1",
	"BERTH_STORAGE_S3_PREFIX":                           "reg/",
	"BERTH_STORAGE_S3_ACCESS_KEY":                       "AKIAEXAMPLE",
	"BERTH_STORAGE_S3_SECRET_KEY":                       "secret",
	"BERTH_STORAGE_S3_SECURE":                           "true",
	"BERTH_STORAGE_S3_REDIRECT":                         "true",
	"BERTH_STORAGE_S3_REDIRECT_EXPIRY":                  "5m",
	"BERTH_STORAGE_S3_CREATE_BUCKET":                    "true",
	"BERTH_STORAGE_S3_PART_SIZE":                        "16777216",
	"BERTH_METADATA_SQLITE_PATH":                        "/env/berth.db",
	"BERTH_METADATA_POSTGRES_DSN":                       "postgres://berth@db/berth",
	"BERTH_TLS_CERT_FILE":                               "/env/cert.pem",
	"BERTH_TLS_KEY_FILE":                                "/env/key.pem",
	"BERTH_LOG_LEVEL":                                   "error",
	"BERTH_LOG_FORMAT":                                  "json",
	"BERTH_REGISTRY_PULL_FLUSH_INTERVAL":                "1s",
	"BERTH_REGISTRY_CATALOG_PAGE_SIZE":                  "7",
	"BERTH_REGISTRY_CREATE_ON_PUSH":                     "true",
	"BERTH_REGISTRY_HOST":                               "registry.example.com",
	"BERTH_PULL_THROUGH_RECHECK_INTERVAL":               "2h",
	"BERTH_AUTH_MODE":                                   "none",
	"BERTH_AUTH_MASTER_KEY":                             "AAAA",
	"BERTH_AUTH_MASTER_KEY_FILE":                        "/env/master.key",
	"BERTH_AUTH_SIGNING_KEYS_DIR":                       "/env/signing",
	"BERTH_AUTH_ADMIN_CREDENTIALS_FILE":                 "/env/admin",
	"BERTH_AUTH_SERVICE":                                "env.example.com",
	"BERTH_AUTH_CHALLENGE":                              "bearer",
	"BERTH_AUTH_FAILURE_BURST":                          "4",
	"BERTH_AUTH_FAILURE_WINDOW":                         "5s",
	"BERTH_AUTH_ANONYMOUS":                              "pull",
	"BERTH_AWS_ACCOUNT_ID":                              "111122223333",
	"BERTH_AWS_REGION":                                  "ap-south-1",
	"BERTH_LIFECYCLE_INTERVAL":                          "5m",
	"BERTH_GC_INTERVAL":                                 "6m",
	"BERTH_GC_GRACE":                                    "7m",
	"BERTH_GC_UPLOAD_TIMEOUT":                           "8m",
	"BERTH_SCANNING_OSV_DIR":                            "/env/osv",
	"BERTH_SCANNING_WORKERS":                            "3",
	"BERTH_LAUNCHER_ENABLED":                            "false",
	"BERTH_LAUNCHER_DOCKER_HOST":                        "tcp://127.0.0.1:2375",
	"BERTH_LAUNCHER_STATE_DIR":                          "/env/launcher",
	"BERTH_LAUNCHER_SIDECAR_POOL":                       "5",
	"BERTH_LAUNCHER_REPLICA_ADDRESS":                    "http://10.0.0.5:5000",
	"BERTH_LAUNCHER_DEREGISTRATION_DELAY":               "4s",
	"BERTH_LAUNCHER_LAMBDA_ACCOUNT_CONCURRENCY":         "30",
	"BERTH_LAUNCHER_LAMBDA_IDLE_TIMEOUT":                "2m",
	"BERTH_LAUNCHER_LAMBDA_RETRY_DELAY":                 "3s",
	"BERTH_LAUNCHER_LAMBDA_URL_HOST":                    "127.0.0.3",
	"BERTH_LAUNCHER_LAMBDA_PRICES_REQUESTS_PER_MILLION": "0.3",
	"BERTH_LAUNCHER_LAMBDA_PRICES_GB_SECOND_X86":        "0.00003",
	"BERTH_LAUNCHER_LAMBDA_PRICES_GB_SECOND_ARM":        "0.00002",
	"BERTH_LAUNCHER_BATCH_RETENTION":                    "3h",
	"BERTH_LAUNCHER_BATCH_STOP_GRACE":                   "9s",
	"BERTH_SCANNING_RELOAD_INTERVAL":                    "9m",
	"BERTH_UI_SESSION_LIFETIME":                         "10m",
	"BERTH_UI_SECURE_COOKIES":                           "true",
	"BERTH_LOGS_MAX_STREAM_BYTES":                       "1048576",
	"BERTH_LOGS_SWEEP_INTERVAL":                         "10m",
}

// `auth: none` is short for auth.mode: none, and other auth keys keep
// their defaults.
func TestAuthShorthand(t *testing.T) {
	cfg := load(t, "auth: none\n")
	if cfg.Auth.Mode != "none" || cfg.Auth.Service != "berth" {
		t.Errorf("auth: none gave %+v", cfg.Auth)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	cfg = load(t, "auth: off\n")
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "auth.mode") {
		t.Errorf("Validate of auth: off = %v; want an auth.mode error", err)
	}
}

func TestEnvNamesListsEveryField(t *testing.T) {
	names := config.EnvNames()
	got := slices.Sorted(slices.Values(names))
	want := slices.Sorted(func(yield func(string) bool) {
		for name := range envValues {
			yield(name)
		}
	})
	if !slices.Equal(got, want) {
		t.Fatalf("EnvNames() = %q; want %q", got, want)
	}
	// Each name is read: setting it alone changes exactly one leaf field.
	defaults := config.Defaults()
	before := leaves(reflect.ValueOf(defaults))
	for _, name := range names {
		cfg, err := config.Load("", []string{name + "=" + envValues[name]})
		if err != nil {
			t.Errorf("Load with %s: %v", name, err)
			continue
		}
		after := leaves(reflect.ValueOf(*cfg))
		changed := 0
		for i := range before {
			if before[i] != after[i] {
				changed++
			}
		}
		if changed != 1 {
			t.Errorf("%s changed %d fields; want 1", name, changed)
		}
	}
	if leaves := len(before); leaves != len(names) {
		t.Errorf("Config has %d leaf fields but EnvNames lists %d", leaves, len(names))
	}
}

// leaves flattens a struct's leaf fields, in order.
func leaves(v reflect.Value) []any {
	var out []any
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Struct {
			out = append(out, leaves(f)...)
		} else if f.Kind() != reflect.Slice { // lists are not set from the environment
			out = append(out, f.Interface())
		}
	}
	return out
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*config.Config)
		want   string // substring of the error; empty for none
	}{
		{"defaults", func(*config.Config) {}, ""},
		{"empty listen", func(c *config.Config) { c.Listen = "" }, "listen"},
		{"empty dataDir", func(c *config.Config) { c.DataDir = "" }, "dataDir"},
		{"negative shutdownTimeout", func(c *config.Config) { c.ShutdownTimeout = -time.Second }, "shutdownTimeout"},
		{"zero shutdownTimeout", func(c *config.Config) { c.ShutdownTimeout = 0 }, ""},
		{"cert without key", func(c *config.Config) { c.TLS.CertFile = "cert.pem" }, "tls"},
		{"key without cert", func(c *config.Config) { c.TLS.KeyFile = "key.pem" }, "tls"},
		{"cert and key", func(c *config.Config) { c.TLS = config.TLS{CertFile: "c", KeyFile: "k"} }, ""},
		{"unknown log level", func(c *config.Config) { c.Log.Level = "verbose" }, "log.level"},
		{"unknown log format", func(c *config.Config) { c.Log.Format = "xml" }, "log.format"},
		{"zero pullFlushInterval", func(c *config.Config) { c.Registry.PullFlushInterval = 0 }, "registry.pullFlushInterval"},
		{"negative catalogPageSize", func(c *config.Config) { c.Registry.CatalogPageSize = -1 }, "registry.catalogPageSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Defaults()
			tt.modify(&cfg)
			err := cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate: err = %v; want one naming %s", err, tt.want)
			}
		})
	}
}

// Validate reports every problem at once, not the first only.
func TestValidateReportsAllErrors(t *testing.T) {
	cfg := config.Defaults()
	cfg.Listen = ""
	cfg.Log.Format = "xml"
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "listen") || !strings.Contains(err.Error(), "log.format") {
		t.Errorf("Validate: err = %v; want both listen and log.format named", err)
	}
}

func TestValidateKeepsExplicitPaths(t *testing.T) {
	cfg := config.Defaults()
	cfg.Storage.Filesystem.Root = "/blobs"
	cfg.Metadata.SQLite.Path = "/index.db"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Storage.Filesystem.Root != "/blobs" || cfg.Metadata.SQLite.Path != "/index.db" {
		t.Errorf("Validate replaced explicit paths: %q, %q", cfg.Storage.Filesystem.Root, cfg.Metadata.SQLite.Path)
	}
}
