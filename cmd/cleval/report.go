package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/internal/tmpfile"
	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/report"
	"github.com/cleval/cleval/metrics/store"
)

// multiString is a repeatable string flag whose values are never split on
// commas (criteria such as gap_depth[1,2]<0.1 hold commas).
type multiString []string

func (m *multiString) Set(v string) error { *m = append(*m, v); return nil }
func (m *multiString) String() string     { return strings.Join(*m, " ") }

// selectionFlags are the run filters of report, export and plot.
func selectionFlags() []cli.Flag {
	return []cli.Flag{
		dbFlag(),
		&cli.StringFlag{Name: "run", Usage: fmt.Sprintf("run ids and ranges, e.g. 1,2,5-9 (each from 1; at most %d ids; default: all; see: cleval runs)", maxIDs)},
		&cli.StringSliceFlag{Name: "preset", Usage: "only runs of these presets (repeatable or comma-separated)"},
		&cli.StringSliceFlag{Name: "strategy", Usage: "only runs of these strategies (repeatable or comma-separated)"},
	}
}

// runFilter builds the store filter from selectionFlags.
func runFilter(c *cli.Context) (store.RunFilter, error) {
	f := store.RunFilter{Presets: c.StringSlice("preset"), Strategies: c.StringSlice("strategy")}
	if c.IsSet("run") {
		ids, err := parseIDs(c.String("run"))
		if err != nil {
			return f, usagef("--run %s: %v", c.String("run"), err)
		}
		f.IDs = ids
	}
	return f, nil
}

// openResults opens the database read-only with errors that say what to
// do.
func openResults(c *cli.Context) (*store.DB, error) {
	path := c.String("db")
	if path == "" {
		return nil, usagef("--db: the database path is empty")
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, usagef("database %s does not exist (store runs in it with: cleval run --db %s)", path, path)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		if errors.Is(err, store.ErrNotDatabase) {
			return nil, usagef("%s is not a cleval database (empty or not SQLite): %v", path, err)
		}
		return nil, usageError{err}
	}
	if why := db.ReadOnlyReason(); why != "" {
		fmt.Fprintf(c.App.ErrWriter, "cleval: reading %s as an immutable file (%s): a process writing it now is not seen\n", path, why)
	}
	return db, nil
}

// loadSet opens the database and groups the selected runs.
func loadSet(c *cli.Context) (*store.DB, *report.Set, error) {
	f, err := runFilter(c)
	if err != nil {
		return nil, nil, err
	}
	db, err := openResults(c)
	if err != nil {
		return nil, nil, err
	}
	set, err := report.Load(context.Background(), db, f)
	if err != nil {
		db.Close()
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, usageError{err}
		}
		return nil, nil, err
	}
	return db, set, nil
}

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "aggregate runs over seeds: n, mean, sd and 95% CI of every metric per configuration",
		ArgsUsage: "[B of --compare A B]",
		Description: "Runs are grouped by configuration (everything but the seed and the preset name); only complete runs\n" +
			"count, and the report says which were skipped and why. --compare A B compares two groups paired over\n" +
			"their shared seeds (mean difference A-B, 95% CI, t, p); a group is named by its number in the report,\n" +
			"its config hash (prefix), its label, or a strategy or preset name that only it has. --success 'min_acc>=0.5'\n" +
			"gives the fraction of seeds meeting a criterion with a Wilson 95% interval (accuracies as fractions or\n" +
			"with %: 'acc>=80%'). --html writes one self-contained page with the tables and the figures.\n\n" +
			"--ci chooses the 95% intervals. t (default): mean ± t(0.975, n-1)·sd/√n, right for roughly normal\n" +
			"values and the usual choice for a few seeds, but it can leave the range of a bounded metric (an accuracy\n" +
			"interval past 100%). bootstrap (= bca) or percentile: resample the seeds (pairs of seeds for --compare)\n" +
			"and read the interval off the resample means, so it stays within the values seen (never past 0 or 100%);\n" +
			"BCa corrects the bias and skew of the bootstrap distribution and is the better of the two. With few\n" +
			"seeds (n < 10) bootstrap intervals are too narrow (they cannot be wider than the values): prefer t there\n" +
			"unless the bounds matter. Resampling is seeded (--ci-seed) with --resamples draws, or exact (every\n" +
			"resample enumerated) when there are no more distinct resamples than that (n <= 8 at 10000).\n" +
			"--reference GROUP adds ref_stability_gap, ref_plasticity_gap and ref_ck_gap: one minus the mean, over the\n" +
			"evaluation points of experiences 2.., of the accuracy on the old, the new and all seen experiences divided\n" +
			"by GROUP's accuracy on them after the same experience (its accuracy matrix), paired by seed.",
		Flags: append(selectionFlags(),
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "text, markdown, csv, json or latex"},
			&cli.StringSliceFlag{Name: "compare", Usage: "compare groups `A B` (or A,B; repeatable)"},
			&cli.GenericFlag{Name: "success", Value: &multiString{}, Usage: "success criterion `'METRIC OP VALUE'`, e.g. 'min_acc>=0.5' (repeatable)"},
			&cli.StringSliceFlag{Name: "metrics", Usage: "only these metrics, e.g. acc,min_acc,wc_acc"},
			&cli.BoolFlag{Name: "detail", Usage: "also per-experience min_acc[k] and per-transition gap_*[k,j] values"},
			&cli.StringFlag{Name: "html", Usage: "also write a self-contained HTML page with tables and figures to `FILE`"},
			&cli.StringFlag{Name: "ci", Value: "t", Usage: "confidence intervals: t, bootstrap (BCa), bca or percentile"},
			numFlag("resamples", "bootstrap resamples B", resamplesRange, fmt.Sprint(metrics.DefaultResamples)),
			numFlag("ci-seed", "seed of the bootstrap resampling", seedRange, "0"),
			&cli.StringFlag{Name: "reference", Usage: "add the stability, plasticity and continual-knowledge gaps (ref_*) of every group relative to the runs of `GROUP` with the same seeds (e.g. joint)"},
		),
		Action: reportAction,
	}
}

func reportAction(c *cli.Context) error {
	format := c.String("format")
	switch format {
	case "text", "markdown", "md", "csv", "json", "latex", "tex":
	default:
		return usagef("--format %q: must be one of %s", format, strings.Join(report.Formats, ", "))
	}
	refs := append(c.StringSlice("compare"), c.Args().Slice()...)
	if c.NArg() > 0 && !c.IsSet("compare") {
		return usagef("report takes no arguments, got %q (flags go before arguments)", c.Args().Slice())
	}
	for _, a := range c.Args().Slice() {
		if strings.HasPrefix(a, "-") {
			return usagef("flag %s after the arguments of --compare: put --compare A B last, or write --compare A,B", a)
		}
	}
	if len(refs)%2 != 0 {
		return usagef("--compare needs two groups: --compare A B (or A,B), got %q", refs)
	}
	opt := report.Options{Detail: c.Bool("detail"), Metrics: c.StringSlice("metrics"), Success: *c.Generic("success").(*multiString)}
	switch c.String("ci") {
	case "t":
	case "bootstrap", "bca":
		opt.CI = report.CI{Bootstrap: true, Options: metrics.BootstrapOptions{Method: metrics.BCa}}
	case "percentile":
		opt.CI = report.CI{Bootstrap: true, Options: metrics.BootstrapOptions{Method: metrics.Percentile}}
	default:
		return usagef("--ci %q: must be t, bootstrap, bca or percentile", c.String("ci"))
	}
	if opt.CI.Bootstrap {
		opt.CI.Options.Resamples, opt.CI.Options.Seed = int(intOr(c, "resamples", metrics.DefaultResamples)), uint64(intOr(c, "ci-seed", 0))
	} else if c.IsSet("resamples") || c.IsSet("ci-seed") {
		return usagef("--resamples and --ci-seed need --ci bootstrap, bca or percentile")
	}
	for i := 0; i < len(refs); i += 2 {
		opt.Compare = append(opt.Compare, [2]string{refs[i], refs[i+1]})
	}
	db, set, err := loadSet(c)
	if err != nil {
		return err
	}
	defer db.Close()
	if ref := c.String("reference"); ref != "" {
		if err := set.AddReference(context.Background(), db, ref); err != nil {
			if errors.Is(err, report.ErrReference) {
				return usageError{err}
			}
			return err
		}
	}
	r, err := report.Build(set, opt)
	if err != nil {
		return usageError{err}
	}
	if html := c.String("html"); html != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := writeHTML(ctx, db, r, html)
		interrupted := ctx.Err() != nil
		stop()
		if interrupted {
			return fmt.Errorf("%w: report stopped, %s not written", errInterrupted, html)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.ErrWriter, "wrote %s\n", html)
	}
	if err := r.Write(c.App.Writer, format); err != nil {
		return err
	}
	if len(set.Groups) == 0 {
		return usagef("report: no complete runs among the %d selected (see: cleval runs --db %s)", len(set.Skipped), db.Path())
	}
	return nil
}

// writeHTML renders the page into a temporary file next to path and
// renames it, so that a failure or a signal leaves no half-written page
// (and the next report removes the temporary file of one that was
// killed).
func writeHTML(ctx context.Context, db *store.DB, r *report.Report, path string) (err error) {
	dir := filepath.Dir(path)
	tmpfile.Clean(dir, filepath.Base(path))
	f, err := tmpfile.Create(dir, filepath.Base(path))
	if err != nil {
		return usagef("--html %s: %v", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := r.WriteHTML(ctx, f, db); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
