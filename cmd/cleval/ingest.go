package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/internal/progress"
	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/ingest"
	"github.com/cleval/cleval/metrics/store"
)

func ingestCommand() *cli.Command {
	return &cli.Command{
		Name:      "ingest",
		Usage:     "store runs made elsewhere (PyTorch, Avalanche, any framework) from their evaluation records, with every metric",
		ArgsUsage: "[FILE|DIR]...",
		Description: "Reads the record format of docs/ingest.md: a table of evaluation records (run, iteration, training_exp,\n" +
			"eval_exp, correct or accuracy, total; optional variant, loss, subset) and optionally an accuracy matrix, run\n" +
			"metadata (strategy, benchmark, seed, configuration keys) and experiences, from CSV, TSV, JSON Lines,\n" +
			"Parquet or Arrow IPC files (a file's table is named by its name, e.g. evaluations.csv, by --evaluations and\n" +
			"the like, or by each JSON Lines line's \"table\" field; a directory, such as a cleval export, is read file by\n" +
			"file). Everything is checked and stored in one transaction: on any error (one line naming the file, row and\n" +
			"column; exit status 2) nothing is written. Each run is stored as complete with its metrics computed as for\n" +
			"a native run, and its input files (name, SHA-256) recorded; ingesting the same files again stores nothing new.\n\n" +
			"The CSV of the PyTorch peer (t,c,k,correct,total and i,j,correct,total) reads with\n" +
			"  --map t=iteration,c=training_exp,k=eval_exp,i=row_exp,j=col_exp",
		Flags: []cli.Flag{
			dbFlag(),
			&cli.GenericFlag{Name: "evaluations", Value: &multiString{}, Usage: "`FILE` of evaluation records (repeatable)"},
			&cli.GenericFlag{Name: "matrix", Value: &multiString{}, Usage: "`FILE` of accuracy-matrix entries (repeatable)"},
			&cli.GenericFlag{Name: "runs", Value: &multiString{}, Usage: "`FILE` of run metadata (repeatable)"},
			&cli.GenericFlag{Name: "experiences", Value: &multiString{}, Usage: "`FILE` of experiences and their ends (repeatable)"},
			&cli.StringFlag{Name: "format", Usage: "read every input as `FORMAT`: csv, tsv, jsonl, parquet or arrow (default: from the extension)"},
			&cli.GenericFlag{Name: "map", Value: &multiString{}, Usage: "rename columns, `FROM=TO,...` (e.g. t=iteration,c=training_exp); FROM= drops a column (repeatable)"},
			numFlag("exp-base", "experience indices in the input start at 0 or 1 (with 0, row_exp -1 is the initial model)", expBaseRange, "1"),
			&cli.StringFlag{Name: "run", Usage: "`NAME` of the run of tables without a run column (default 1)"},
			&cli.GenericFlag{Name: "meta", Value: &multiString{}, Usage: "metadata `KEY=VALUE` for every run: seed=0, strategy=er, benchmark=split-mnist, any configuration key (repeatable)"},
			&cli.BoolFlag{Name: "seed-from-run", Usage: "a run without a seed takes its name (an integer) as seed"},
			&cli.BoolFlag{Name: "check", Usage: "read and check everything, store nothing"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar"},
		},
		Action: ingestAction,
	}
}

func ingestAction(c *cli.Context) error {
	for _, a := range c.Args().Slice() {
		if strings.HasPrefix(a, "-") && a != "-" {
			return usagef("flag %s after the files: put flags before the files", a)
		}
	}
	opt := ingest.Options{Run: c.String("run"), SeedFromRun: c.Bool("seed-from-run"), DryRun: c.Bool("check"), Map: map[string]string{}, Meta: map[string]string{}}
	opt.ZeroBased = intOr(c, "exp-base", 1) == 0
	format := ingest.Format(c.String("format"))
	if format != "" && !contains(ingest.Formats, format) {
		return usagef("--format %q: must be one of csv, tsv, jsonl, parquet, arrow", format)
	}
	for _, m := range *c.Generic("map").(*multiString) {
		for _, pair := range strings.Split(m, ",") {
			from, to, ok := strings.Cut(pair, "=")
			from, to = strings.TrimSpace(from), strings.TrimSpace(to)
			if !ok || from == "" {
				return usagef("--map %q: want FROM=TO pairs, e.g. --map t=iteration,c=training_exp", pair)
			}
			if old, dup := opt.Map[from]; dup && old != to {
				return usagef("--map: column %s is renamed twice (%s and %s)", from, old, to)
			}
			opt.Map[from] = to
		}
	}
	for _, m := range *c.Generic("meta").(*multiString) {
		k, v, ok := strings.Cut(m, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || k == "run" {
			return usagef("--meta %q: want KEY=VALUE, e.g. --meta seed=0 (not run: name runs with --run)", m)
		}
		if _, dup := opt.Meta[k]; dup {
			return usagef("--meta: %s is given twice", k)
		}
		opt.Meta[k] = v
	}
	for _, t := range []struct {
		flag  string
		table ingest.Table
	}{{"evaluations", ingest.TableEvaluations}, {"matrix", ingest.TableMatrix}, {"runs", ingest.TableRuns}, {"experiences", ingest.TableExperiences}} {
		for _, p := range *c.Generic(t.flag).(*multiString) {
			opt.Inputs = append(opt.Inputs, ingest.Input{Path: p, Table: t.table, Format: format})
		}
	}
	for _, p := range c.Args().Slice() {
		opt.Inputs = append(opt.Inputs, ingest.Input{Path: p, Format: format})
	}
	if len(opt.Inputs) == 0 {
		return usagef("ingest: give the records to read: files or directories, or --evaluations FILE (see: cleval ingest --help)")
	}
	bar := progress.New(os.Stderr, c.Bool("quiet"))
	stage := ""
	opt.Progress = func(s string, done, total int64) {
		if s != stage { // a new file or pass: its own rate and time left
			stage = s
			bar.Start()
		}
		bar.Update(s, int(done), int(total), "")
	}
	defer bar.Done()

	plan, err := ingest.Prepare(opt)
	if err != nil {
		return ingestErr(err)
	}
	path := c.String("db")
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist)
	db, err := store.Open(path, store.Options{})
	if err != nil {
		return ingestErr(err)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := plan.Run(ctx, db)
	bar.Done()
	if err != nil || c.Bool("check") && created {
		db.Close()
		if created {
			// Leave no empty database behind.
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suffix)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w: ingest stopped, nothing written", errInterrupted)
			}
			return ingestErr(err)
		}
	} else {
		defer db.Close()
	}
	return printIngest(c, db, res, c.Bool("check"))
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// ingestErr maps bad input (the records, the database file) to exit
// status 2.
func ingestErr(err error) error {
	switch {
	case errors.Is(err, ingest.ErrInvalid), errors.Is(err, store.ErrReadOnly), errors.Is(err, store.ErrLocked),
		errors.Is(err, store.ErrNotDatabase), errors.Is(err, store.ErrSchema):
		return usageError{err}
	}
	return err
}

func printIngest(c *cli.Context, db *store.DB, res *ingest.Result, check bool) error {
	w := c.App.Writer
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tid\tstrategy\tseed\texps\trecords\tACC\tmin-ACC\tWC-ACC\t")
	added, present := 0, 0
	for _, r := range res.Runs {
		id, acc, minACC, wcACC := "-", "-", "-", "-"
		if !check {
			id = strconv.FormatInt(r.ID, 10)
			ms, err := db.Metrics(context.Background(), r.ID)
			if err != nil {
				return err
			}
			acc, minACC, wcACC = pctMetric(ms, metrics.NameACC), pctMetric(ms, metrics.NameMinACC), pctMetric(ms, metrics.NameWCACC)
		}
		if r.Existing {
			present++
			id += " (stored before)"
		} else {
			added++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t\n", r.Name, id, r.Strategy, r.Seed, r.NumExperiences, r.Records, acc, minACC, wcACC)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	files := make([]string, len(res.Files))
	for i, f := range res.Files {
		files[i] = f.Path
	}
	if check {
		fmt.Fprintf(w, "checked %d runs from %s: nothing stored (--check)\n", len(res.Runs), strings.Join(files, ", "))
		return nil
	}
	fmt.Fprintf(w, "ingested %d runs into %s (%d were stored before) from %s; accuracies in %%\n", added, db.Path(), present, strings.Join(files, ", "))
	return nil
}

func pctMetric(ms []store.Metric, name string) string {
	for _, m := range ms {
		if m.Variant == metrics.VariantLive && m.Name == name && m.K == 0 && m.J == 0 {
			if m.Null {
				return "-"
			}
			return strconv.FormatFloat(100*m.Value, 'f', 2, 64)
		}
	}
	return "-"
}
