package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/scanner"
	"github.com/berth-dev/berth/scanner/vulndb"
)

// imagePage is one image: what it is, its manifest, layers and history,
// platforms, referrers, packages and findings. Each part shows only if
// the person may read it through the API.
type imagePage struct {
	Head  repoHead
	Image metadata.Image
	Kind  string
	// Pull are docker pull commands for it.
	Pull []string
	// CanManifest: the person may read the manifest (ecr:BatchGetImage),
	// Manifest is it as indented JSON.
	CanManifest bool
	Manifest    string
	// Config is the image config's summary, Steps its history with the
	// layer each step made; Layers are the layers when the history is not
	// shown, and HistoryNote says why.
	Config      *imageConfig
	Steps       []historyStep
	Layers      []ocispec.Descriptor
	HistoryNote string
	// Platforms are an index's images.
	Platforms []ocispec.Descriptor
	Subject   digest.Digest
	// Referrers are the artifacts (signatures, SBOMs) whose subject this
	// image is.
	CanReferrers bool
	Referrers    []metadata.Descriptor
	// Scan is the image's scan, Findings those of Severity (all when
	// empty) up to maxFindings, of Matching in all; Packages the first
	// maxPackages of the inventory's AllPackages.
	CanFindings bool
	Scan        *metadata.Scan
	Counts      []severityCount
	Severity    string
	Findings    []findingRow
	Matching    int
	Packages    []vulndb.Package
	AllPackages int
}

// platform writes a platform as people read it: os/architecture[/variant].
func platform(p *ocispec.Platform) string {
	if p == nil {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// imageConfig is an image's config blob, as the page shows it.
type imageConfig struct{ ocispec.Image }

// Built is when the image was built, for people.
func (c *imageConfig) Built() string {
	if c.Created == nil {
		return ""
	}
	return when(*c.Created)
}

// PlatformName is the config's os/architecture[/variant].
func (c *imageConfig) PlatformName() string { return platform(&c.Platform) }

// historyStep is one step of an image's history, with the layer it made
// (none for steps that only change the config).
type historyStep struct {
	Command, Comment string
	Layer            *ocispec.Descriptor
}

// findingRow is a finding with its package and the class that colours
// its severity.
type findingRow struct {
	scanner.Finding
	Package, Version, Class string
}

// imageConfigTypes are the config media types whose history the page
// reads.
var imageConfigTypes = []string{"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}

const (
	// maxConfigBytes bounds the config blob read for the history.
	maxConfigBytes = 4 << 20
	// maxFindings and maxPackages bound the findings and packages listed
	// on the page, so that it stays well under 100 ms to render; the
	// severity filter narrows the findings, and berth scan --json lists
	// everything.
	maxFindings = 500
	maxPackages = 500
)

// image shows one image.
func (u *UI) image(w http.ResponseWriter, rq *request, name, ref string) error {
	if err := rq.require("ecr:DescribeImages", name); err != nil {
		return err
	}
	dgst, err := digest.Parse(ref)
	if err != nil {
		return errNotFound
	}
	im, err := u.store.Image(rq.Context(), name, dgst)
	if err != nil {
		return err
	}
	p := imagePage{Head: u.head(rq, name, "images"), Image: im, Kind: imageKind(im), Subject: im.Subject}
	for _, tag := range im.Tags {
		p.Pull = append(p.Pull, "docker pull "+p.Head.URI+":"+tag)
	}
	p.Pull = append(p.Pull, "docker pull "+p.Head.URI+"@"+dgst.String())

	if p.CanManifest = rq.may("ecr:BatchGetImage", name); p.CanManifest {
		if err := u.manifestParts(rq, name, &p); err != nil {
			return err
		}
	}
	if p.CanReferrers = rq.may("ecr:ListImageReferrers", name); p.CanReferrers {
		if p.Referrers, err = u.store.Referrers(rq.Context(), name, dgst, ""); err != nil {
			return err
		}
	}
	if p.CanFindings = rq.may("ecr:DescribeImageScanFindings", name); p.CanFindings {
		if err := u.scanParts(rq, name, &p); err != nil {
			return err
		}
	}
	u.render(w, rq, http.StatusOK, "image", shortDigest(dgst)+" in "+name, p)
	return nil
}

// manifestParts fills the manifest, the layers with their history, and
// an index's platforms.
func (u *UI) manifestParts(rq *request, name string, p *imagePage) error {
	m, err := u.store.Manifest(rq.Context(), name, p.Image.Digest.String())
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, m.Content, "", "  ") == nil {
		p.Manifest = pretty.String()
	} else {
		p.Manifest = string(m.Content)
	}
	// An index's manifests and an image's config and layers, whichever
	// this is (Docker's schema 2 types read the same).
	var index ocispec.Index
	var doc ocispec.Manifest
	if json.Unmarshal(m.Content, &index) != nil || json.Unmarshal(m.Content, &doc) != nil {
		return nil
	}
	p.Platforms, p.Layers = index.Manifests, doc.Layers
	if doc.Config.Digest == "" || len(doc.Layers) == 0 {
		return nil
	}
	switch {
	case !slices.Contains(imageConfigTypes, doc.Config.MediaType):
		p.HistoryNote = "This is not a container image, so it has no build history."
		return nil
	case !rq.may("ecr:GetDownloadUrlForLayer", name):
		p.HistoryNote = "The build history is in the image's config, which you may not read (ecr:GetDownloadUrlForLayer)."
		return nil
	}
	raw, err := u.cfg.Blobs.ReadBlob(rq.Context(), name, doc.Config.Digest, maxConfigBytes)
	if errors.Is(err, metadata.ErrBlobUnknown) {
		p.HistoryNote = "The image's config is missing from the repository."
		return nil
	}
	if err != nil {
		u.log.WarnContext(rq.Context(), "ui: reading an image config", "repository", name, "digest", doc.Config.Digest, "err", err)
		p.HistoryNote = "The image's config could not be read."
		return nil
	}
	var cfg imageConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		p.HistoryNote = "The image's config could not be read: " + err.Error()
		return nil
	}
	p.Config = &cfg
	p.Steps, p.Layers = history(cfg, doc.Layers), nil
	return nil
}

// history pairs the config's history with the layers: each step that is
// not an empty layer made the next layer. Layers the history does not
// account for come last, without a command.
func history(cfg imageConfig, layers []ocispec.Descriptor) []historyStep {
	var steps []historyStep
	next := 0
	for _, h := range cfg.History {
		s := historyStep{Command: h.CreatedBy, Comment: h.Comment}
		if !h.EmptyLayer && next < len(layers) {
			s.Layer = &layers[next]
			next++
		}
		steps = append(steps, s)
	}
	for ; next < len(layers); next++ {
		steps = append(steps, historyStep{Layer: &layers[next]})
	}
	return steps
}

// scanParts fills the scan, its findings (of the severity asked for) and
// the package inventory.
func (u *UI) scanParts(rq *request, name string, p *imagePage) error {
	sc, err := u.store.Scan(rq.Context(), name, p.Image.Digest)
	if errors.Is(err, metadata.ErrScanUnknown) {
		return nil
	}
	if err != nil {
		return err
	}
	p.Scan = &sc
	_, p.Counts = countsOf(sc.SeverityCounts)
	if s := strings.ToUpper(rq.URL.Query().Get("severity")); slices.Contains(severities, s) {
		p.Severity = s
	}
	findings, err := scanner.Findings(sc)
	if err != nil {
		u.log.WarnContext(rq.Context(), "ui: reading scan findings", "repository", name, "digest", p.Image.Digest, "err", err)
	}
	for _, f := range findings {
		if p.Severity != "" && f.Severity != p.Severity {
			continue
		}
		if p.Matching++; len(p.Findings) < maxFindings {
			row := findingRow{Finding: f, Class: severityClass(f.Severity)}
			for _, a := range f.Attributes {
				switch a.Key {
				case "package_name":
					row.Package = a.Value
				case "package_version":
					row.Version = a.Value
				}
			}
			p.Findings = append(p.Findings, row)
		}
	}
	if p.Packages, err = scanner.Packages(sc); err != nil {
		u.log.WarnContext(rq.Context(), "ui: reading a package inventory", "repository", name, "digest", p.Image.Digest, "err", err)
	}
	p.AllPackages = len(p.Packages)
	p.Packages = p.Packages[:min(len(p.Packages), maxPackages)]
	return nil
}
