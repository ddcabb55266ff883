package scanner

import (
	"context"
	"encoding/json"
	"fmt"
	"path"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// Scan frequencies, as ECR names them.
const (
	FrequencyScanOnPush = "SCAN_ON_PUSH"
	FrequencyContinuous = "CONTINUOUS_SCAN"
	FrequencyManual     = "MANUAL"
)

// Scan types, as ECR names them. berth runs the same scan for both.
const (
	ScanTypeBasic    = "BASIC"
	ScanTypeEnhanced = "ENHANCED"
)

// Configuration is the registry's scanning configuration: which
// repositories are scanned when. A repository's own scanOnPush
// (metadata.Repository.ScanOnPush) adds to it.
type Configuration struct {
	// ScanType is ScanTypeBasic or ScanTypeEnhanced.
	ScanType string
	Rules    []Rule
}

// Rule scans the repositories whose names match one of its filters at
// its frequency.
type Rule struct {
	// Frequency is FrequencyScanOnPush, FrequencyContinuous or
	// FrequencyManual.
	Frequency string
	// RepositoryFilters are wildcard patterns of repository names, as
	// path.Match reads them ('*' matches any run of characters but '/').
	RepositoryFilters []string
}

// DefaultConfiguration is the configuration of a registry that never set
// one: basic scans, on request only.
func DefaultConfiguration() Configuration {
	return Configuration{ScanType: ScanTypeBasic, Rules: []Rule{}}
}

// Frequency is how repository repo is scanned, given its own scanOnPush:
// FrequencyScanOnPush when the repository asks for it or a rule on push
// matches it, else the first matching rule's frequency, else
// FrequencyManual; and the filters that matched, rule by rule.
func (c Configuration) Frequency(repo string, scanOnPush bool) (frequency string, applied []string) {
	frequency = FrequencyManual
	for _, rule := range c.Rules {
		for _, f := range rule.RepositoryFilters {
			if ok, _ := path.Match(f, repo); ok {
				applied = append(applied, f)
				if frequency == FrequencyManual || rule.Frequency == FrequencyScanOnPush {
					frequency = rule.Frequency
				}
			}
		}
	}
	if scanOnPush {
		frequency = FrequencyScanOnPush
	}
	return frequency, applied
}

// ScansOnPush reports whether an image pushed to repository repo is
// scanned at once: on push, and for continuous scanning, which berth runs
// as a scan on push and rescans when the vulnerability data changes.
func (c Configuration) ScansOnPush(repo string, scanOnPush bool) bool {
	f, _ := c.Frequency(repo, scanOnPush)
	return f == FrequencyScanOnPush || f == FrequencyContinuous
}

// settingConfiguration is the index setting the configuration is kept in.
// The key and the JSON (ECR's wire shape) are older than this file: the
// ECR API stored its request there, and configurations stored so read
// back, and stay readable by that older code.
const settingConfiguration = "ecr.registryScanningConfiguration"

type storedConfiguration struct {
	ScanType string       `json:"scanType"`
	Rules    []storedRule `json:"rules"`
}

type storedRule struct {
	ScanFrequency     string         `json:"scanFrequency"`
	RepositoryFilters []storedFilter `json:"repositoryFilters"`
}

type storedFilter struct {
	FilterType string `json:"filterType"` // always WILDCARD
	Filter     string `json:"filter"`
}

// SettingReader reads the index's settings (metadata.Settings).
type SettingReader interface {
	Setting(ctx context.Context, key string) (string, error)
}

// LoadConfiguration reads the registry's scanning configuration from the
// index; DefaultConfiguration if none was saved.
func LoadConfiguration(ctx context.Context, store SettingReader) (Configuration, error) {
	c := DefaultConfiguration()
	text, err := store.Setting(ctx, settingConfiguration)
	if err != nil || text == "" {
		return c, err
	}
	var stored storedConfiguration
	if err := json.Unmarshal([]byte(text), &stored); err != nil {
		return c, fmt.Errorf("scanning configuration: %w", err)
	}
	if stored.ScanType != "" {
		c.ScanType = stored.ScanType
	}
	for _, r := range stored.Rules {
		rule := Rule{Frequency: r.ScanFrequency, RepositoryFilters: []string{}}
		for _, f := range r.RepositoryFilters {
			rule.RepositoryFilters = append(rule.RepositoryFilters, f.Filter)
		}
		c.Rules = append(c.Rules, rule)
	}
	return c, nil
}

// SaveConfiguration stores c as the registry's scanning configuration.
func SaveConfiguration(ctx context.Context, store metadata.Settings, c Configuration) error {
	stored := storedConfiguration{ScanType: c.ScanType, Rules: []storedRule{}}
	for _, r := range c.Rules {
		rule := storedRule{ScanFrequency: r.Frequency, RepositoryFilters: []storedFilter{}}
		for _, f := range r.RepositoryFilters {
			rule.RepositoryFilters = append(rule.RepositoryFilters, storedFilter{"WILDCARD", f})
		}
		stored.Rules = append(stored.Rules, rule)
	}
	b, err := json.Marshal(stored)
	if err != nil {
		return err
	}
	if err := store.PutSetting(ctx, settingConfiguration, string(b)); err != nil {
		return fmt.Errorf("scanning configuration: %w", err)
	}
	return nil
}

// OnPush queues a scan of image dgst, just pushed to repo, if the
// repository or the registry's configuration scans on push. The scan
// outlives the push's request.
func (s *Scanner) OnPush(ctx context.Context, repo string, dgst digest.Digest) error {
	r, err := s.store.Repository(ctx, repo)
	if err != nil {
		return err
	}
	c, err := LoadConfiguration(ctx, s.store)
	if err != nil {
		return err
	}
	if !c.ScansOnPush(repo, r.ScanOnPush) {
		return nil
	}
	return s.Enqueue(context.WithoutCancel(ctx), repo, dgst)
}
