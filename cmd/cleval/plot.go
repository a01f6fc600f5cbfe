package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"gonum.org/v1/plot/vg"

	"github.com/cleval/cleval/internal/tmpfile"
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
			numFlag("zoom", "iterations after each boundary in the zoom figure", zoomRange, strconv.Itoa(plot.DefaultZoom)),
			&cli.StringFlag{Name: "variant", Value: metrics.VariantLive, Usage: "model variant to draw (e.g. an EMA model)"},
			numFlag("width", "figure width in inches", inchesRange, "8; matrix 6.5"),
			numFlag("height", "figure height in inches", inchesRange, "4.5; zoom 3 per row of panels; matrix 5"),
			numFlag("dpi", fmt.Sprintf("resolution of PNG files (at most %d megapixels a figure)", plot.MaxPixels/1_000_000), dpiRange, "150"),
			numFlag("font-size", "font size in points (titles 1.2x)", fontRange, "10"),
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
			opt := plot.Options{DPI: 150, FontSize: vg.Points(10)}
			if c.IsSet("width") {
				opt.Width = vg.Length(floatOf(c, "width")) * vg.Inch
			}
			if c.IsSet("height") {
				opt.Height = vg.Length(floatOf(c, "height")) * vg.Inch
			}
			if c.IsSet("dpi") {
				opt.DPI = int(intOf(c, "dpi"))
			}
			if c.IsSet("font-size") {
				opt.FontSize = vg.Points(floatOf(c, "font-size"))
			}
			figs, err := r.Figures(context.Background(), db, c.StringSlice("kind"), c.String("variant"), int(intOr(c, "zoom", plot.DefaultZoom)), opt)
			if err != nil {
				return usageError{err}
			}
			if format == "png" {
				for _, f := range figs {
					if w, h := f.Pixels(); !(w*h <= plot.MaxPixels) {
						return usagef("figure %s would be %.0f × %.0f pixels, more than %d megapixels: lower --dpi, --width or --height", f.Name, w, h, plot.MaxPixels/1_000_000)
					}
				}
			}
			out := c.String("out")
			if err := os.MkdirAll(out, 0o777); err != nil {
				return usagef("--out: %v", err)
			}
			for _, g := range set.Groups {
				fmt.Fprintf(c.App.Writer, "group %s: runs %v, seeds %v\n", g.Name(), g.RunIDs(), g.Seeds())
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			paths, err := saveFigures(ctx, out, format, figs)
			if ctx.Err() != nil {
				return fmt.Errorf("%w: plot stopped, no figure written", errInterrupted)
			}
			if err != nil {
				return err
			}
			for i, f := range figs {
				fmt.Fprintf(c.App.Writer, "%s  %s\n", paths[i], f.Caption)
			}
			if len(set.Skipped) > 0 {
				fmt.Fprintf(c.App.ErrWriter, "skipped %d runs that are not complete (see: cleval report)\n", len(set.Skipped))
			}
			return nil
		},
	}
}

// saveFigures writes the figures into dir as one set: each into a
// temporary file first, then, when every one is written, all renamed into
// place; on an error or a signal none is left (temporary files of a plot
// that was killed are removed by the next one).
func saveFigures(ctx context.Context, dir, format string, figs []report.Figure) (paths []string, err error) {
	var temps []string
	defer func() {
		if err != nil {
			for _, t := range temps {
				os.Remove(t)
			}
		}
	}()
	for _, f := range figs {
		name := f.Name + "." + format
		tmpfile.Clean(dir, name)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := tmpfile.Create(dir, name)
		if err != nil {
			return nil, usagef("--out: %v", err)
		}
		temps = append(temps, t.Name())
		err = f.Write(t, format)
		if err == nil {
			err = t.Chmod(0o644)
		}
		if cerr := t.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("plot: %s: %w", name, err)
		}
		paths = append(paths, filepath.Join(dir, name))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, p := range paths {
		if err := os.Rename(temps[i], p); err != nil {
			for _, q := range paths[:i] {
				os.Remove(q)
			}
			return nil, fmt.Errorf("plot: %w", err)
		}
	}
	temps = nil
	return paths, nil
}
