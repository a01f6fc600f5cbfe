package report

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/plot"
	"github.com/cleval/cleval/metrics/store"
)

// PlotGroup loads the records of one variant of a group's runs for package
// plot. The experiences are labelled with their classes, from the group's
// first run.
func PlotGroup(ctx context.Context, db *store.DB, g *Group, variant string) (plot.Group, error) {
	if variant == "" {
		variant = metrics.VariantLive
	}
	pg := plot.Group{Label: g.Label}
	for _, r := range g.Runs {
		in, err := db.Input(ctx, r.Run, variant)
		if err != nil {
			return pg, err
		}
		if len(in.Evals) == 0 {
			if !slices.Contains(r.Variants, variant) {
				return pg, fmt.Errorf("report: run %d has no variant %q (it has %s)", r.ID, variant, strings.Join(r.Variants, ", "))
			}
			return pg, fmt.Errorf("report: run %d is %s but has no evaluation records of variant %q: its records were deleted from the database (cleval metrics --run %d shows what is left)", r.ID, r.Status, variant, r.ID)
		}
		pg.Runs = append(pg.Runs, plot.Run{Seed: r.Seed, Input: in})
	}
	if len(g.Runs) > 0 {
		infos, _, err := db.Experiences(ctx, g.Runs[0].ID)
		if err != nil {
			return pg, err
		}
		for _, e := range infos {
			pg.ExpLabels = append(pg.ExpLabels, expLabel(e))
		}
	}
	return pg, nil
}

// expLabel names an experience by its number and its classes ("exp 2
// {2,3}"; long class lists are cut).
func expLabel(e metrics.ExperienceInfo) string {
	var cs []string
	for i, c := range e.Classes {
		if i == 3 && len(e.Classes) > 4 {
			cs = append(cs, "…")
			break
		}
		cs = append(cs, fmt.Sprint(c))
	}
	if len(cs) == 0 {
		return fmt.Sprintf("exp %d", e.ID)
	}
	return fmt.Sprintf("exp %d {%s}", e.ID, strings.Join(cs, ","))
}

// Figure is one figure of a report.
type Figure struct {
	// Name is a file-name stem, e.g. "g1-accuracy" or "compare-wc_acc".
	Name string
	// Caption says what the figure shows.
	Caption string
	*plot.Figure
}

// FigureKinds are the figures Figures can draw.
var FigureKinds = []string{"accuracy", "compare", "matrix", "zoom"}

// Figures draws the report's figures of the given kinds (all when empty):
// per group the accuracy per experience, the accuracy matrix and the zoom
// on the boundaries; across groups WC-ACC and the average accuracy. zoom is
// the number of iterations after each boundary (0: plot.DefaultZoom).
// Figures that have no data (a one-experience run has no boundary) are
// left out.
func (r *Report) Figures(ctx context.Context, db *store.DB, kinds []string, variant string, zoom int, opt plot.Options) ([]Figure, error) {
	want := func(k string) bool {
		if len(kinds) == 0 {
			return true
		}
		for _, x := range kinds {
			if x == k {
				return true
			}
		}
		return false
	}
	for _, k := range kinds {
		if !contains(FigureKinds, k) {
			return nil, fmt.Errorf("report: figure %q: must be one of %s", k, strings.Join(FigureKinds, ", "))
		}
	}
	groups := make([]plot.Group, 0, len(r.Groups))
	for _, g := range r.Groups {
		pg, err := PlotGroup(ctx, db, g, variant)
		if err != nil {
			return nil, err
		}
		pg.Label = g.Name()
		groups = append(groups, pg)
	}
	var out []Figure
	add := func(name, caption string, f *plot.Figure, err error) error {
		if err != nil {
			if isNoData(err) {
				return nil
			}
			return err
		}
		out = append(out, Figure{Name: name, Caption: caption, Figure: f})
		return nil
	}
	if want("compare") && len(groups) > 0 {
		for _, s := range []plot.Series{plot.SeriesWCACC, plot.SeriesAvgAcc} {
			f, err := plot.Compare(groups, s, opt)
			caption := "WC-ACC over iterations: (1/c)·A_c + (1 − 1/c)·min-ACC, the worst-case accuracy over the seen experiences; mean ± sd over seeds."
			if s == plot.SeriesAvgAcc {
				caption = "Average accuracy over the seen experiences at every evaluation; mean ± sd over seeds."
			}
			if err := add("compare-"+string(s), caption, f, err); err != nil {
				return nil, err
			}
		}
	}
	for i, g := range r.Groups {
		stem := fmt.Sprintf("g%d-", g.ID)
		if want("accuracy") {
			f, err := plot.ExperienceAccuracy(groups[i], opt)
			if err := add(stem+"accuracy", g.Name()+": accuracy on each experience over the iterations (mean ± sd over seeds); dotted: experience ends; dashed: final min-ACC of each experience.", f, err); err != nil {
				return nil, err
			}
		}
		if want("zoom") {
			f, err := plot.Zoom(groups[i], zoom, opt)
			if err := add(stem+"zoom", g.Name()+": the first iterations after each experience boundary, accuracy of the earlier experiences (the stability gap).", f, err); err != nil {
				return nil, err
			}
		}
		if want("matrix") {
			f, err := plot.AccuracyMatrix(groups[i], opt)
			if err := add(stem+"matrix", g.Name()+": accuracy matrix R(i, j), the model at the end of experience i on the full test set of experience j (mean over seeds).", f, err); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
