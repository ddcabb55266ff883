package ui

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/metadata"
)

// repositoryRow is a repository in the list.
type repositoryRow struct {
	metadata.RepositorySummary
	CanDelete bool
}

// repositoriesPage is the repository list's data.
type repositoriesPage struct {
	Rows       []repositoryRow
	Query      string
	Sort       string
	Descending bool
	Total      int
	Page, Of   int
	// Prev and Next are the query strings of the neighbouring pages.
	Prev, Next string
	// Columns are the headings that sort the list.
	Columns   []column
	CanCreate bool
	Create    createForm
	Notice    string
}

// column is a heading that sorts a list by itself, or reverses it.
type column struct {
	Label, Href         string
	Current, Descending bool
}

// createForm is what the create form was given, shown again with its
// error.
type createForm struct {
	Name, Mutability string
	ScanOnPush       bool
	Error            string
}

const repositoriesPerPage = 100

// repositorySorts orders the list by a column, ascending.
var repositorySorts = map[string]func(a, b repositoryRow) int{
	"name": func(a, b repositoryRow) int { return strings.Compare(a.Name, b.Name) },
	"images": func(a, b repositoryRow) int {
		return cmp.Or(cmp.Compare(a.Images, b.Images), strings.Compare(a.Name, b.Name))
	},
	"size": func(a, b repositoryRow) int {
		return cmp.Or(cmp.Compare(a.Size, b.Size), strings.Compare(a.Name, b.Name))
	},
	"pushed": func(a, b repositoryRow) int {
		return cmp.Or(a.LastPushedAt.Compare(b.LastPushedAt), strings.Compare(a.Name, b.Name))
	},
}

// visibleRepositories lists the repositories the person may describe,
// as DescribeRepositories leaves out the others.
func (u *UI) visibleRepositories(rq *request) ([]metadata.RepositorySummary, error) {
	all, err := u.store.RepositorySummaries(rq.Context())
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(r metadata.RepositorySummary) bool {
		return !rq.may("ecr:DescribeRepositories", r.Name)
	}), nil
}

// repositories lists the repositories, searchable by name and sortable
// by each total.
func (u *UI) repositories(w http.ResponseWriter, rq *request) error {
	return u.renderRepositories(w, rq, http.StatusOK, createForm{Mutability: metadata.Mutable})
}

func (u *UI) renderRepositories(w http.ResponseWriter, rq *request, status int, create createForm) error {
	q := rq.URL.Query()
	p := repositoriesPage{Query: strings.TrimSpace(q.Get("q")), Sort: q.Get("sort"), Descending: q.Get("order") == "desc",
		CanCreate: rq.may("ecr:CreateRepository", ""), Create: create, Notice: notices[q.Get("done")]}
	if repositorySorts[p.Sort] == nil {
		p.Sort = "name"
	}
	visible, err := u.visibleRepositories(rq)
	if err != nil {
		return err
	}
	for _, r := range visible {
		if p.Query == "" || strings.Contains(r.Name, p.Query) {
			p.Rows = append(p.Rows, repositoryRow{RepositorySummary: r})
		}
	}
	slices.SortFunc(p.Rows, repositorySorts[p.Sort])
	if p.Descending {
		slices.Reverse(p.Rows)
	}
	p.Total = len(p.Rows)
	p.Of = max(1, (p.Total+repositoriesPerPage-1)/repositoriesPerPage)
	p.Page, _ = strconv.Atoi(q.Get("page"))
	p.Page = min(max(p.Page, 1), p.Of)
	p.Rows = p.Rows[(p.Page-1)*repositoriesPerPage : min(p.Page*repositoriesPerPage, p.Total)]
	for i := range p.Rows {
		p.Rows[i].CanDelete = rq.may("ecr:DeleteRepository", p.Rows[i].Name)
	}
	page := func(n int) string {
		v := url.Values{"page": {strconv.Itoa(n)}, "sort": {p.Sort}}
		if p.Query != "" {
			v.Set("q", p.Query)
		}
		if p.Descending {
			v.Set("order", "desc")
		}
		return "?" + v.Encode()
	}
	if p.Page > 1 {
		p.Prev = page(p.Page - 1)
	}
	for _, c := range []struct{ key, label string }{{"name", "Name"}, {"images", "Images"}, {"size", "Size"}, {"pushed", "Last push"}} {
		col := column{Label: c.label, Current: c.key == p.Sort, Descending: p.Descending}
		v := url.Values{"sort": {c.key}}
		if p.Query != "" {
			v.Set("q", p.Query)
		}
		if col.Current && !p.Descending {
			v.Set("order", "desc")
		}
		col.Href = "?" + v.Encode()
		p.Columns = append(p.Columns, col)
	}
	if p.Page < p.Of {
		p.Next = page(p.Page + 1)
	}
	u.render(w, rq, status, "repositories", "Repositories", p)
	return nil
}

// notices are the messages a page shows after a form sent it there
// (?done=...); fixed texts, so the query cannot put words on the page.
var notices = map[string]string{
	"created":           "Repository created.",
	"deleted":           "Repository deleted.",
	"images-deleted":    "Images deleted.",
	"saved":             "Saved.",
	"policy-deleted":    "Repository policy deleted.",
	"lifecycle-deleted": "Lifecycle policy deleted.",
}

// repositoryName is ECR's grammar of repository names.
var repositoryName = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// createRepository creates a repository as CreateRepository does.
func (u *UI) createRepository(w http.ResponseWriter, rq *request) error {
	f := createForm{
		Name:       strings.TrimSpace(rq.PostForm.Get("name")),
		Mutability: rq.PostForm.Get("mutability"),
		ScanOnPush: rq.PostForm.Get("scan_on_push") == "on",
	}
	again := func(status int, msg string) error {
		f.Error = msg
		return u.renderRepositories(w, rq, status, f)
	}
	switch {
	case len(f.Name) < 2 || len(f.Name) > 256:
		return again(http.StatusBadRequest, "A repository name is 2 to 256 characters long.")
	case !repositoryName.MatchString(f.Name):
		return again(http.StatusBadRequest, "A repository name is lower-case letters and digits, in parts separated by one '.', '_' or '-', in components separated by '/'.")
	case f.Mutability != metadata.Mutable && f.Mutability != metadata.Immutable:
		return again(http.StatusBadRequest, "Tags are mutable or immutable.")
	}
	if err := rq.require("ecr:CreateRepository", f.Name); err != nil {
		return err
	}
	err := u.store.CreateRepository(rq.Context(), metadata.Repository{Name: f.Name, TagMutability: f.Mutability, ScanOnPush: f.ScanOnPush})
	if errors.Is(err, metadata.ErrRepositoryExists) {
		return again(http.StatusConflict, "A repository named "+f.Name+" already exists.")
	}
	if err != nil {
		return err
	}
	return u.done(w, rq, "created a repository", f.Name, repoURL(f.Name)+"?done=created")
}

// deleteRepositoryPage asks whether to delete a repository.
type deleteRepositoryPage struct {
	metadata.RepositorySummary
	Error string
}

// confirmDeleteRepository asks before DeleteRepository: the confirmation
// works without JavaScript.
func (u *UI) confirmDeleteRepository(w http.ResponseWriter, rq *request, name string) error {
	return u.renderDeleteRepository(w, rq, http.StatusOK, name, "")
}

func (u *UI) renderDeleteRepository(w http.ResponseWriter, rq *request, status int, name, msg string) error {
	if err := rq.require("ecr:DeleteRepository", name); err != nil {
		return err
	}
	r, err := u.store.Repository(rq.Context(), name)
	if err != nil {
		return err
	}
	n, err := u.store.CountImages(rq.Context(), name, "")
	if err != nil {
		return err
	}
	u.render(w, rq, status, "delete-repository", "Delete "+name, deleteRepositoryPage{
		RepositorySummary: metadata.RepositorySummary{Repository: r, Images: n}, Error: msg})
	return nil
}

// deleteRepository deletes a repository as DeleteRepository does: one
// that still holds images only when forced.
func (u *UI) deleteRepository(w http.ResponseWriter, rq *request, name string) error {
	if err := rq.require("ecr:DeleteRepository", name); err != nil {
		return err
	}
	_, err := u.store.DeleteRepository(rq.Context(), name, rq.PostForm.Get("force") == "on")
	if errors.Is(err, metadata.ErrRepositoryNotEmpty) {
		return u.renderDeleteRepository(w, rq, http.StatusConflict, name,
			"The repository still contains images. Tick the box to delete them with it.")
	}
	if err != nil {
		return err
	}
	return u.done(w, rq, "deleted a repository", name, "/ui/repositories?done=deleted")
}
