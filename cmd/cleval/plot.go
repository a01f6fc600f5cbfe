package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"gonum.org/v1/plot/vg"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/plot"
	"github.com/cleval/cleval/metrics/report"
)

func plotCommand() *cli.Command {
	return &cli.Command{
		Name:  "plot",
		Usage: "draw the continual-evaluation figures of the runs (PNG or SVG)",
		Description: "Runs are grouped by configuration as in cleval report (complete runs only); every figure shows\n" +
			"mean ± sd over the seeds of a group. Figures (--kind, default all):\n" +
			"  accuracy  per group: accuracy on each experience over iterations, experience ends, min-ACC (dashed)\n" +
			"  compare   all groups on one axis: WC-ACC and the average accuracy over iterations\n" +
			"  matrix    per group: the accuracy matrix R(i, j) as a heat map\n" +
			"  zoom      per group: the first --zoom iterations after each experience boundary\n" +
			"Files are written to --out DIR as g<N>-<kind>.<format> and compare-<series>.<format>; the group numbers\n" +
			"are those of cleval report.",
		Flags: append(selectionFlags(),
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "cleval-plots", Usage: "output `DIR` (created when missing)"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "png", Usage: "png or svg"},
			&cli.StringSliceFlag{Name: "kind", Usage: "figures: " + strings.Join(report.FigureKinds, ", ") + " (default: all)"},
			&cli.IntFlag{Name: "zoom", Value: plot.DefaultZoom, Usage: "iterations after each boundary in the zoom figure"},
			&cli.StringFlag{Name: "variant", Value: metrics.VariantLive, Usage: "model variant to draw (e.g. an EMA model)"},
			&cli.Float64Flag{Name: "width", Usage: "figure width in inches (default 8; matrix 6.5)"},
			&cli.Float64Flag{Name: "height", Usage: "figure height in inches (default 4.5; zoom 3 per row of panels; matrix 5)"},
			&cli.IntFlag{Name: "dpi", Value: 150, Usage: "resolution of PNG files"},
			&cli.Float64Flag{Name: "font-size", Value: 10, Usage: "font size in points (titles 1.2x)"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("plot takes no arguments, got %q (the output directory is --out DIR)", c.Args().Slice())
			}
			format := c.String("format")
			if format != "png" && format != "svg" {
				return usagef("--format %q: must be png or svg", format)
			}
			for _, k := range c.StringSlice("kind") {
				if !slices.Contains(report.FigureKinds, k) {
					return usagef("--kind %q: must be one of %s", k, strings.Join(report.FigureKinds, ", "))
				}
			}
			if c.Int("zoom") < 1 || c.Int("dpi") < 10 || c.Float64("font-size") <= 0 || c.Float64("width") < 0 || c.Float64("height") < 0 {
				return usagef("--zoom, --dpi, --font-size, --width and --height must be positive")
			}
			db, set, err := loadSet(c)
			if err != nil {
				return err
			}
			defer db.Close()
			if len(set.Groups) == 0 {
				return usagef("plot: no complete runs among the %d selected (see: cleval runs --db %s)", len(set.Skipped), db.Path())
			}
			r, err := report.Build(set, report.Options{})
			if err != nil {
				return err
			}
			opt := plot.Options{
				Width: vg.Length(c.Float64("width")) * vg.Inch, Height: vg.Length(c.Float64("height")) * vg.Inch,
				DPI: c.Int("dpi"), FontSize: vg.Points(c.Float64("font-size")),
			}
			figs, err := r.Figures(context.Background(), db, c.StringSlice("kind"), c.String("variant"), c.Int("zoom"), opt)
			if err != nil {
				return usageError{err}
			}
			out := c.String("out")
			if err := os.MkdirAll(out, 0o777); err != nil {
				return usagef("--out: %v", err)
			}
			for _, g := range set.Groups {
				fmt.Fprintf(c.App.Writer, "group %s: runs %v, seeds %v\n", g.Name(), g.RunIDs(), g.Seeds())
			}
			for _, f := range figs {
				path := filepath.Join(out, f.Name+"."+format)
				if err := f.Save(path); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "%s  %s\n", path, f.Caption)
			}
			if len(set.Skipped) > 0 {
				fmt.Fprintf(c.App.ErrWriter, "skipped %d runs that are not complete (see: cleval report)\n", len(set.Skipped))
			}
			return nil
		},
	}
}
