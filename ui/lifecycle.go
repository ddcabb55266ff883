package ui

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/lifecycle"
	"github.com/berth-dev/berth/metadata"
)

// lifecyclePage is the lifecycle policy editor.
type lifecyclePage struct {
	Head repoHead
	// Text is the stored policy, or the draft a refused form sent.
	Text        string
	Exists      bool
	EvaluatedAt time.Time
	Notice      string
	Error       string
	// At is the what-if date field's value; Today its earliest.
	At, Today string
	// Preview is the repository's latest preview, if the person may read
	// it and there is one.
	Preview *metadata.LifecyclePreview
	// CanPut, CanDelete and CanPreview say which buttons to show.
	CanPut, CanDelete, CanPreview bool
}

// dateLayout is the layout of an <input type="date">'s value.
const dateLayout = "2006-01-02"

// lifecycle shows the lifecycle policy in an editor that saves it or
// previews it, now or at a chosen date.
func (u *UI) lifecycle(w http.ResponseWriter, rq *request, name string) error {
	return u.renderLifecycle(w, rq, http.StatusOK, name, nil, "", "")
}

// renderLifecycle shows the editor with the stored policy, or with draft
// (a refused form), its date and what is wrong.
func (u *UI) renderLifecycle(w http.ResponseWriter, rq *request, status int, name string, draft *string, at, msg string) error {
	if err := rq.require("ecr:GetLifecyclePolicy", name); err != nil {
		return err
	}
	r, err := u.store.Repository(rq.Context(), name)
	if err != nil {
		return err
	}
	p := lifecyclePage{
		Head: u.head(rq, name, "lifecycle"), Text: r.LifecyclePolicy, Exists: r.LifecyclePolicy != "",
		EvaluatedAt: r.LifecycleEvaluatedAt, Notice: notices[rq.URL.Query().Get("done")], Error: msg,
		At: at, Today: u.now().UTC().Format(dateLayout),
		CanPut:     rq.may("ecr:PutLifecyclePolicy", name),
		CanDelete:  rq.may("ecr:DeleteLifecyclePolicy", name),
		CanPreview: rq.may("ecr:StartLifecyclePolicyPreview", name),
	}
	if draft != nil {
		p.Text = *draft
	}
	if rq.may("ecr:GetLifecyclePolicyPreview", name) {
		pv, err := u.store.LifecyclePreview(rq.Context(), name)
		if err == nil {
			p.Preview = &pv
		} else if !errors.Is(err, metadata.ErrPreviewUnknown) {
			return err
		}
	}
	u.render(w, rq, status, "lifecycle", "Lifecycle policy of "+name, p)
	return nil
}

// parsePolicy validates policy text as PutLifecyclePolicy does, with its
// message.
func parsePolicy(text string) string {
	if strings.TrimSpace(text) == "" {
		return "Write a lifecycle policy first."
	}
	if _, err := lifecycle.Parse(text); err != nil {
		return strings.TrimPrefix(err.Error(), lifecycle.ErrorCode+": ")
	}
	return ""
}

// putLifecycle stores the lifecycle policy as PutLifecyclePolicy does.
func (u *UI) putLifecycle(w http.ResponseWriter, rq *request, name string) error {
	if err := rq.require("ecr:PutLifecyclePolicy", name); err != nil {
		return err
	}
	text := rq.PostForm.Get("policy")
	if msg := parsePolicy(text); msg != "" {
		return u.renderLifecycle(w, rq, http.StatusBadRequest, name, &text, rq.PostForm.Get("at"), msg)
	}
	return u.update(w, rq, name, func(r *metadata.Repository) { r.LifecyclePolicy = text },
		"put a lifecycle policy", repoURL(name, "lifecycle")+"?done=saved")
}

// deleteLifecycle removes the lifecycle policy as DeleteLifecyclePolicy
// does.
func (u *UI) deleteLifecycle(w http.ResponseWriter, rq *request, name string) error {
	if err := rq.require("ecr:DeleteLifecyclePolicy", name); err != nil {
		return err
	}
	return u.update(w, rq, name, func(r *metadata.Repository) { r.LifecyclePolicy, r.LifecycleEvaluatedAt = "", time.Time{} },
		"deleted a lifecycle policy", repoURL(name, "lifecycle")+"?done=lifecycle-deleted")
}

// startPreview starts a preview of the editor's policy (saved or not),
// as StartLifecyclePolicyPreview does; with a date, a what-if of what the
// policy would do to today's images on that day.
func (u *UI) startPreview(w http.ResponseWriter, rq *request, name string) error {
	if err := rq.require("ecr:StartLifecyclePolicyPreview", name); err != nil {
		return err
	}
	text, date := rq.PostForm.Get("policy"), strings.TrimSpace(rq.PostForm.Get("at"))
	if msg := parsePolicy(text); msg != "" {
		return u.renderLifecycle(w, rq, http.StatusBadRequest, name, &text, date, msg)
	}
	var at time.Time
	if date != "" {
		day, err := time.Parse(dateLayout, date)
		now := u.now().UTC()
		today := now.Truncate(24 * time.Hour)
		if err != nil || day.Before(today) {
			return u.renderLifecycle(w, rq, http.StatusBadRequest, name, &text, date, "Choose today or a later date, or none for now.")
		}
		if day.After(today) { // that day, at this time of day
			at = day.Add(now.Sub(today))
		}
	}
	_, err := u.cfg.Previews.StartAt(rq.Context(), name, text, at)
	if errors.Is(err, metadata.ErrPreviewInProgress) {
		return u.renderLifecycle(w, rq, http.StatusConflict, name, &text, date,
			"The previous lifecycle policy preview request has not completed. Wait and try again.")
	}
	if err != nil {
		return err
	}
	return u.done(w, rq, "started a lifecycle policy preview", name, repoURL(name, "lifecycle", "preview"), "at", at)
}

// previewPage shows a preview's outcome, a page of results at a time.
type previewPage struct {
	Head    repoHead
	Preview *metadata.LifecyclePreview
	Results []metadata.PreviewResult
	// Next is the query of the next page of results; First of the first.
	Next, First string
}

const previewResultsPerPage = 100

// preview shows the repository's latest preview; while it runs, the page
// reloads itself (no script needed).
func (u *UI) preview(w http.ResponseWriter, rq *request, name string) error {
	if err := rq.require("ecr:GetLifecyclePolicyPreview", name); err != nil {
		return err
	}
	p := previewPage{Head: u.head(rq, name, "lifecycle")}
	pv, err := u.store.LifecyclePreview(rq.Context(), name)
	switch {
	case errors.Is(err, metadata.ErrPreviewUnknown):
	case err != nil:
		return err
	default:
		p.Preview = &pv
	}
	v := view{Title: "Lifecycle preview of " + name, Body: &p}
	if p.Preview != nil && pv.Status == metadata.PreviewInProgress {
		v.Refresh = 2
	}
	if p.Preview != nil && pv.Status == metadata.PreviewComplete {
		after, _ := strconv.Atoi(rq.URL.Query().Get("after"))
		results, err := u.store.PreviewResults(rq.Context(), name, pv.ID, metadata.AnyImage(), after, previewResultsPerPage+1)
		if err != nil {
			return err
		}
		if len(results) > previewResultsPerPage {
			results = results[:previewResultsPerPage]
			p.Next = "?after=" + strconv.Itoa(results[len(results)-1].Position)
		}
		if after > 0 {
			p.First = "?"
		}
		p.Results = results
	}
	u.renderView(w, rq, http.StatusOK, "preview", v)
	return nil
}
