package ui

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// overviewPage is the registry at a glance.
type overviewPage struct {
	Repositories, Images int
	Stored               int64
	Charts               []chart
	// Registry says whether the registry-wide charts (storage over time,
	// garbage reclaimed) are shown: they need ecr:DescribeRegistry.
	Registry bool
}

// overviewDays is how far back the daily charts go.
const overviewDays = 30

// overview shows totals and charts of the repositories the person may
// describe: storage by repository, images pushed a day and findings by
// severity of those whose images they may describe, and, registry-wide,
// storage over time and what garbage collection reclaimed.
func (u *UI) overview(w http.ResponseWriter, rq *request) error {
	ctx := rq.Context()
	visible, err := u.visibleRepositories(rq)
	if err != nil {
		return err
	}
	p := overviewPage{Repositories: len(visible)}
	described := map[string]bool{}
	var storage []point
	for _, r := range visible {
		p.Images += r.Images
		p.Stored += r.Size
		storage = append(storage, point{Label: r.Name, Value: r.Size})
		described[r.Name] = rq.may("ecr:DescribeImages", r.Name)
	}
	slices.SortFunc(storage, func(a, b point) int { return cmp.Or(cmp.Compare(b.Value, a.Value), cmp.Compare(a.Label, b.Label)) })
	if len(storage) > 10 {
		var rest int64
		for _, s := range storage[9:] {
			rest += s.Value
		}
		storage = append(storage[:9], point{Label: "the other " + count(int64(len(storage)-9)), Value: rest})
	}

	today := metadata.Day(u.now())
	from := today.AddDate(0, 0, -(overviewDays - 1))
	pushes, err := u.store.PushesPerDay(ctx, from)
	if err != nil {
		return err
	}
	perDay := map[time.Time]int64{}
	for _, c := range pushes {
		if described[c.Repository] {
			perDay[c.Day] += int64(c.Count)
		}
	}
	bySeverity, err := u.store.SeverityCounts(ctx)
	if err != nil {
		return err
	}
	totals := map[string]int64{}
	for repo, counts := range bySeverity {
		if described[repo] {
			for s, n := range counts {
				totals[s] += int64(n)
			}
		}
	}
	var findings []point
	for _, s := range severities {
		if totals[s] > 0 {
			findings = append(findings, point{Label: s, Value: totals[s], Class: severityClass(s)})
		}
	}

	p.Charts = []chart{
		rowsChart("storage-by-repository", "Storage by repository", storage, humanBytes, "No repositories yet."),
		dailyChart("pushes", "Images pushed a day", lastDays(today, overviewDays, perDay), count),
		rowsChart("findings", "Findings by severity", findings, count, "No findings in the scanned images."),
	}
	if p.Registry = rq.may("ecr:DescribeRegistry", ""); p.Registry {
		for _, s := range []struct{ id, title, name string }{
			{"storage-over-time", "Storage used, by day", StatisticStoredBytes},
			{"reclaimed", "Garbage reclaimed a day", StatisticReclaimedBytes},
		} {
			values, err := u.store.Statistic(ctx, s.name, from, today)
			if err != nil {
				return err
			}
			byDay := map[time.Time]int64{}
			for _, v := range values {
				byDay[v.Day] = v.Value
			}
			p.Charts = append(p.Charts, dailyChart(s.id, s.title, lastDays(today, overviewDays, byDay), humanBytes))
		}
	}
	u.render(w, rq, http.StatusOK, "overview", "Overview", p)
	return nil
}

// severityClass is the CSS class that colours a severity.
func severityClass(s string) string {
	switch s {
	case "CRITICAL", "HIGH", "MEDIUM", "LOW":
		return "sev-" + strings.ToLower(s)
	}
	return "sev-other"
}
