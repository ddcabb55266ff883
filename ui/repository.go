package ui

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// repoHead is what every page of a repository shows above its tab: the
// name, where docker finds it, and the tabs the person may open.
type repoHead struct {
	Name, URI, Tab string
	// Tabs says which tabs to show.
	Settings, Policy, Lifecycle, Delete bool
}

// head is the heading of repository name's pages, open on tab.
func (u *UI) head(rq *request, name, tab string) repoHead {
	return repoHead{
		Name: name, URI: u.host(rq) + "/" + name, Tab: tab,
		Settings:  rq.may("ecr:DescribeRepositories", name),
		Policy:    rq.may("ecr:GetRepositoryPolicy", name),
		Lifecycle: rq.may("ecr:GetLifecyclePolicy", name),
		Delete:    rq.may("ecr:DeleteRepository", name),
	}
}

// done logs what the person did to repository name (with more log
// attributes) and sends the browser on to next.
func (u *UI) done(w http.ResponseWriter, rq *request, did, name, next string, more ...any) error {
	u.log.InfoContext(rq.Context(), "ui: "+did, append([]any{"repository", name, "user", rq.principal.User}, more...)...)
	http.Redirect(w, rq.Request, next, http.StatusSeeOther)
	return nil
}

// update applies change to repository name's settings, then is done.
func (u *UI) update(w http.ResponseWriter, rq *request, name string, change func(*metadata.Repository), did, next string) error {
	if _, err := u.store.UpdateRepository(rq.Context(), name, func(r *metadata.Repository) error {
		change(r)
		return nil
	}); err != nil {
		return err
	}
	return u.done(w, rq, did, name, next)
}

// host is the registry host in docker commands.
func (u *UI) host(rq *request) string {
	if u.cfg.RepositoryHost != "" {
		return u.cfg.RepositoryHost
	}
	return rq.Host
}

// imagesPage is a repository's images table.
type imagesPage struct {
	Head       repoHead
	Repository metadata.Repository
	Notice     string
	// Tag filters, Sort orders ("pushed", "oldest", "pulled"), N is the
	// page size.
	Tag, Sort string
	N         int
	// Count is how many images the filter selects.
	Count  int
	Images []imageRow
	// Next is the query of the next page; First of the first, when this
	// is not it.
	Next, First string
	CanDelete   bool
}

// imageRow is an image in the table.
type imageRow struct {
	metadata.Image
	Kind   string
	Worst  string
	Counts []severityCount
}

// severityCount is a number of findings of one severity.
type severityCount struct {
	Severity string
	N        int
}

// severities are ECR's, worst first.
var severities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"}

// countsOf orders a scan's counts by severity, worst first, and names
// the worst.
func countsOf(counts map[string]int) (worst string, out []severityCount) {
	for _, s := range severities {
		if n := counts[s]; n > 0 {
			if worst == "" {
				worst = s
			}
			out = append(out, severityCount{s, n})
		}
	}
	return worst, out
}

// maxPageImages is the most images a page shows (?n=), so that a page
// stays well under 100 ms to render.
const maxPageImages = 200

// imageOrders are the orders the table offers.
var imageOrders = map[string]metadata.ImageOrder{
	"pushed": metadata.NewestFirst,
	"oldest": metadata.OldestFirst,
	"pulled": metadata.RecentlyPulledFirst,
}

// images shows a repository's images, a page at a time in the order
// asked for, filtered by tag. A page is one indexed query however many
// images the repository holds: the next page starts after the last
// image of this one.
func (u *UI) images(w http.ResponseWriter, rq *request, name string) error {
	if err := rq.require("ecr:DescribeImages", name); err != nil {
		return err
	}
	r, err := u.store.Repository(rq.Context(), name)
	if err != nil {
		return err
	}
	q := rq.URL.Query()
	p := imagesPage{Head: u.head(rq, name, "images"), Repository: r, Notice: notices[q.Get("done")],
		Tag: strings.TrimSpace(q.Get("tag")), Sort: q.Get("sort"), CanDelete: rq.may("ecr:BatchDeleteImage", name)}
	order, ok := imageOrders[p.Sort]
	if !ok {
		p.Sort, order = "pushed", metadata.NewestFirst
	}
	p.N, _ = strconv.Atoi(q.Get("n"))
	if p.N <= 0 || p.N > maxPageImages {
		p.N = 50
	}
	after, err := parseCursor(q.Get("after"))
	if err != nil {
		return err
	}
	if p.Count, err = u.store.CountImages(rq.Context(), name, p.Tag); err != nil {
		return err
	}
	page, err := u.store.ImagePage(rq.Context(), name, metadata.ImageQuery{Order: order, TagContains: p.Tag, After: after, N: p.N + 1})
	if err != nil {
		return err
	}
	link := func(after string) string {
		v := url.Values{"sort": {p.Sort}, "n": {strconv.Itoa(p.N)}}
		if p.Tag != "" {
			v.Set("tag", p.Tag)
		}
		if after != "" {
			v.Set("after", after)
		}
		return "?" + v.Encode()
	}
	if len(page) > p.N {
		page = page[:p.N]
		last := page[p.N-1]
		at := last.PushedAt
		if order == metadata.RecentlyPulledFirst {
			at = last.LastPulledAt
		}
		p.Next = link(formatCursor(metadata.ImageCursor{At: at, Digest: last.Digest}))
	}
	if after.Digest != "" {
		p.First = link("")
	}
	for _, im := range page {
		row := imageRow{Image: im, Kind: imageKind(im)}
		if im.Scan != nil {
			row.Worst, row.Counts = countsOf(im.Scan.SeverityCounts)
		}
		p.Images = append(p.Images, row)
	}
	u.render(w, rq, http.StatusOK, "images", name, p)
	return nil
}

// formatCursor and parseCursor write and read an ImageCursor in a query:
// the sort time in Unix nanoseconds and the digest.
func formatCursor(c metadata.ImageCursor) string {
	var ns int64
	if !c.At.IsZero() {
		ns = c.At.UnixNano()
	}
	return strconv.FormatInt(ns, 10) + "," + c.Digest.String()
}

func parseCursor(s string) (metadata.ImageCursor, error) {
	if s == "" {
		return metadata.ImageCursor{}, nil
	}
	ns, d, _ := strings.Cut(s, ",")
	n, err := strconv.ParseInt(ns, 10, 64)
	dgst, derr := digest.Parse(d)
	if err != nil || derr != nil {
		return metadata.ImageCursor{}, badRequest("The page link is damaged; start again from the first page.")
	}
	c := metadata.ImageCursor{Digest: dgst}
	if n != 0 {
		c.At = time.Unix(0, n)
	}
	return c, nil
}

// Manifest media types of indexes.
const (
	mediaTypeOCIIndex   = "application/vnd.oci.image.index.v1+json"
	mediaTypeDockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// imageKind says what an image is: an index of platforms, an artifact
// (a signature, an SBOM, a chart: anything whose type is not a container
// image's config), or an image.
func imageKind(im metadata.Image) string {
	kind := cmp.Or(im.ArtifactType, im.ConfigMediaType)
	switch {
	case im.MediaType == mediaTypeOCIIndex || im.MediaType == mediaTypeDockerList:
		return "index"
	case kind != "" && !slices.Contains(imageConfigTypes, kind):
		return "artifact"
	}
	return "image"
}

// deleteImagesPage confirms, or reports, the deletion of images.
type deleteImagesPage struct {
	Head repoHead
	// Confirm: the page asks before deleting Images; else it reports.
	Confirm  bool
	Images   []metadata.Image
	Failures []imageFailure
	Deleted  int
}

// imageFailure is an image that could not be deleted, and why.
type imageFailure struct {
	Digest digest.Digest
	Reason string
}

// deleteImages deletes the images ticked in the table, as
// BatchDeleteImage deletes by digest: each with all its tags, unless an
// index still references it. The first post shows what would go; the
// second, confirmed, deletes.
func (u *UI) deleteImages(w http.ResponseWriter, rq *request, name string) error {
	if err := rq.require("ecr:BatchDeleteImage", name); err != nil {
		return err
	}
	var digests []digest.Digest
	for _, s := range rq.PostForm["digest"] {
		d, err := digest.Parse(s)
		if err != nil {
			return badRequest("%q is not an image digest.", s)
		}
		digests = append(digests, d)
	}
	if len(digests) == 0 {
		return badRequest("No image was selected. Tick the images to delete first.")
	}
	if len(digests) > 1000 {
		return badRequest("At most 1,000 images are deleted at once.")
	}
	p := deleteImagesPage{Head: u.head(rq, name, "images")}
	if rq.PostForm.Get("confirm") != "yes" {
		p.Confirm = true
		for _, d := range digests {
			im, err := u.store.Image(rq.Context(), name, d)
			if errors.Is(err, metadata.ErrManifestUnknown) {
				continue
			}
			if err != nil {
				return err
			}
			p.Images = append(p.Images, im)
		}
		u.render(w, rq, http.StatusOK, "delete-images", "Delete images of "+name, p)
		return nil
	}
	for _, d := range digests {
		parents, err := u.store.ManifestParents(rq.Context(), name, d)
		if err != nil {
			return err
		}
		if len(parents) > 0 {
			p.Failures = append(p.Failures, imageFailure{d, "An index references it: " + shortDigest(parents[0]) + "."})
			continue
		}
		err = u.store.DeleteManifest(rq.Context(), name, d)
		if errors.Is(err, metadata.ErrManifestUnknown) {
			p.Failures = append(p.Failures, imageFailure{d, "It is no longer there."})
			continue
		}
		if err != nil {
			return err
		}
		p.Deleted++
	}
	if len(p.Failures) == 0 {
		return u.done(w, rq, "deleted images", name, repoURL(name)+"?done=images-deleted", "images", p.Deleted)
	}
	u.log.InfoContext(rq.Context(), "ui: deleted images", "repository", name, "user", rq.principal.User, "images", p.Deleted, "failed", len(p.Failures))
	u.render(w, rq, http.StatusOK, "delete-images", "Delete images of "+name, p)
	return nil
}
