package ui

import (
	"cmp"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/berth-dev/berth/metadata"
)

// settingsPage shows a repository's settings, with the forms the person
// may use.
type settingsPage struct {
	Head       repoHead
	Repository metadata.Repository
	Notice     string
	// Mutabilities are the tag mutability settings to choose from.
	Mutabilities []string
	// Mutability and Filters are the form's values (five filter fields).
	Mutability string
	Filters    []string
	Error      string
	// CanMutability and CanScanning say which forms to show.
	CanMutability, CanScanning bool
}

// mutabilities are ECR's tag mutability settings.
var mutabilities = []string{metadata.Mutable, metadata.Immutable, metadata.MutableWithExclusion, metadata.ImmutableWithExclusion}

// maxExclusions is ECR's limit of exclusion filters.
const maxExclusions = 5

// exclusionFilter is ECR's grammar of a tag exclusion filter.
var exclusionFilter = regexp.MustCompile(`^[0-9a-zA-Z._*-]{1,128}$`)

// settings shows tag mutability, scan on push and the rest of a
// repository's settings.
func (u *UI) settings(w http.ResponseWriter, rq *request, name string) error {
	return u.renderSettings(w, rq, http.StatusOK, name, "", nil)
}

// renderSettings shows the settings page; a refused form's input comes
// back in form with its error.
func (u *UI) renderSettings(w http.ResponseWriter, rq *request, status int, name, msg string, form *settingsPage) error {
	if err := rq.require("ecr:DescribeRepositories", name); err != nil {
		return err
	}
	r, err := u.store.Repository(rq.Context(), name)
	if err != nil {
		return err
	}
	p := settingsPage{
		Head: u.head(rq, name, "settings"), Repository: r, Notice: notices[rq.URL.Query().Get("done")],
		Mutabilities: mutabilities, Mutability: cmp.Or(r.TagMutability, metadata.Mutable), Filters: r.MutabilityExclusions, Error: msg,
		CanMutability: rq.may("ecr:PutImageTagMutability", name),
		CanScanning:   rq.may("ecr:PutImageScanningConfiguration", name),
	}
	if form != nil {
		p.Mutability, p.Filters = form.Mutability, form.Filters
	}
	p.Filters = append(p.Filters, make([]string, max(0, maxExclusions-len(p.Filters)))...)
	u.render(w, rq, status, "settings", "Settings of "+name, p)
	return nil
}

// putMutability sets tag mutability as PutImageTagMutability does. The
// exclusion filters count only for the *_WITH_EXCLUSION settings.
func (u *UI) putMutability(w http.ResponseWriter, rq *request, name string) error {
	if err := rq.require("ecr:PutImageTagMutability", name); err != nil {
		return err
	}
	form := &settingsPage{Mutability: rq.PostForm.Get("mutability")}
	for _, f := range rq.PostForm["filter"] {
		if f = strings.TrimSpace(f); f != "" {
			form.Filters = append(form.Filters, f)
		}
	}
	withExclusion := strings.HasSuffix(form.Mutability, "_WITH_EXCLUSION")
	var msg string
	switch {
	case !slices.Contains(mutabilities, form.Mutability):
		msg = "Choose one of the tag mutability settings."
	case withExclusion && len(form.Filters) == 0:
		msg = fmt.Sprintf("Exclusion filters are required when imageTagMutability is %s.", form.Mutability)
	case len(form.Filters) > maxExclusions:
		msg = fmt.Sprintf("At most %d exclusion filters.", maxExclusions)
	}
	for _, f := range form.Filters {
		if msg == "" && withExclusion && !exclusionFilter.MatchString(f) {
			msg = fmt.Sprintf("The filter %q must be 1 to 128 letters, digits, '.', '_', '-' or '*'.", f)
		}
	}
	if msg != "" {
		return u.renderSettings(w, rq, http.StatusBadRequest, name, msg, form)
	}
	if !withExclusion {
		form.Filters = nil
	}
	return u.update(w, rq, name, func(r *metadata.Repository) {
		r.TagMutability, r.MutabilityExclusions = form.Mutability, form.Filters
	}, "set tag mutability", repoURL(name, "settings")+"?done=saved")
}

// putScanning sets scan on push as PutImageScanningConfiguration does.
func (u *UI) putScanning(w http.ResponseWriter, rq *request, name string) error {
	if err := rq.require("ecr:PutImageScanningConfiguration", name); err != nil {
		return err
	}
	on := rq.PostForm.Get("scan_on_push") == "on"
	return u.update(w, rq, name, func(r *metadata.Repository) { r.ScanOnPush = on },
		"set scan on push", repoURL(name, "settings")+"?done=saved")
}

// policyPage is the repository policy editor.
type policyPage struct {
	Head   repoHead
	Text   string
	Exists bool
	Notice string
	Error  string
	// CanSet and CanDelete say which buttons to show.
	CanSet, CanDelete bool
}

// policy shows a repository's policy in an editor.
func (u *UI) policy(w http.ResponseWriter, rq *request, name string) error {
	return u.renderPolicy(w, rq, http.StatusOK, name, nil, "")
}

// renderPolicy shows the editor with the stored policy, or with draft
// (a refused edit) and what is wrong with it.
func (u *UI) renderPolicy(w http.ResponseWriter, rq *request, status int, name string, draft *string, msg string) error {
	if err := rq.require("ecr:GetRepositoryPolicy", name); err != nil {
		return err
	}
	text, err := u.store.RepositoryPolicy(rq.Context(), name)
	if err != nil {
		return err
	}
	p := policyPage{Head: u.head(rq, name, "policy"), Text: text, Exists: text != "", Error: msg,
		Notice: notices[rq.URL.Query().Get("done")],
		CanSet: rq.may("ecr:SetRepositoryPolicy", name), CanDelete: rq.may("ecr:DeleteRepositoryPolicy", name)}
	if draft != nil {
		p.Text = *draft
	}
	u.render(w, rq, status, "policy", "Repository policy of "+name, p)
	return nil
}

// setPolicy stores a repository policy as SetRepositoryPolicy does, with
// its validation message.
func (u *UI) setPolicy(w http.ResponseWriter, rq *request, name string) error {
	if err := rq.require("ecr:SetRepositoryPolicy", name); err != nil {
		return err
	}
	text := rq.PostForm.Get("policy")
	if strings.TrimSpace(text) == "" {
		return u.renderPolicy(w, rq, http.StatusBadRequest, name, &text, "Write a policy, or delete the one there is.")
	}
	if err := u.cfg.Access.CheckRepositoryPolicy(text); err != nil {
		return u.renderPolicy(w, rq, http.StatusBadRequest, name, &text,
			fmt.Sprintf("Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided: %s'", err))
	}
	if err := u.store.SetRepositoryPolicy(rq.Context(), name, text); err != nil {
		return err
	}
	return u.done(w, rq, "set a repository policy", name, repoURL(name, "policy")+"?done=saved")
}

// deletePolicy removes a repository policy.
func (u *UI) deletePolicy(w http.ResponseWriter, rq *request, name string) error {
	if err := rq.require("ecr:DeleteRepositoryPolicy", name); err != nil {
		return err
	}
	if err := u.store.SetRepositoryPolicy(rq.Context(), name, ""); err != nil {
		return err
	}
	return u.done(w, rq, "deleted a repository policy", name, repoURL(name, "policy")+"?done=policy-deleted")
}
