package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/harness"
	"github.com/cleval/cleval/harness/sweep"
	"github.com/cleval/cleval/internal/progress"
	"github.com/cleval/cleval/internal/version"
	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run an experiment (default: preset " + harness.DefaultPreset + ", seed 0) and store it",
		Description: "Flags override the fields of the preset (a strategy other than the preset's starts from its own\n" +
			"default parameters); the runs go through the same plan and runner as cleval sweep. Runs are stored in\n" +
			"the SQLite database given by --db (every run is a new run, also of a configuration stored before); a\n" +
			"summary table is printed on stdout, a progress bar on stderr when it is a terminal. Ctrl-C or SIGTERM\n" +
			"stops the runs, stored as interrupted (exit status 130); a second signal exits at once.",
		Flags:  runFlags(),
		Action: runAction,
	}
}

// runPlan resolves the command line into a prepared plan: the preset with
// the flags laid over it, one run per seed, every run validated and its
// stream built.
func runPlan(c *cli.Context, data *harness.Data) (*sweep.Plan, error) {
	preset, err := harness.LookupPreset(c.String("preset"))
	if err != nil {
		return nil, err
	}
	fields, err := runFieldsOf(c, preset)
	if err != nil {
		return nil, err
	}
	seeds, err := sweep.ParseSeeds(c.String("seeds"))
	if err != nil {
		return nil, usagef("--seeds %s: %s", c.String("seeds"), strings.TrimPrefix(err.Error(), harness.ErrInvalid.Error()+": "))
	}
	// One seed: errors need not name the run.
	oneRun := func(err error) error {
		var se *sweep.Error
		if len(seeds) == 1 && errors.As(err, &se) {
			se.Run = ""
		}
		return err
	}
	exp, err := sweep.FromFields("cleval run", preset.Name, fields, seeds)
	if err != nil {
		return nil, err
	}
	plan, err := exp.Expand()
	if err != nil {
		return nil, oneRun(err)
	}
	if err := plan.Prepare(data); err != nil {
		return nil, oneRun(err)
	}
	return plan, nil
}

func runAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("run takes no arguments, got %q", c.Args().Slice())
	}
	data := &harness.Data{Locate: datasets.LocateOptions{Dir: c.String("data-dir"), Download: c.Bool("download")}}
	plan, err := runPlan(c, data)
	if err != nil {
		return err
	}
	workers := int(intOr(c, "workers", 1))
	threads := int(intOr(c, "threads", 0))
	if err := sweep.CheckMemory(plan.Runs, workers, threads); err != nil {
		return err
	}
	if c.Bool("dry-run") {
		return dryRun(c, plan, plan.Runs, "", true)
	}
	var prof *os.File
	if path := c.String("cpuprofile"); path != "" {
		// Checked before the database is created.
		if prof, err = os.Create(path); err != nil {
			return usagef("--cpuprofile: %v", err)
		}
		defer prof.Close()
	}
	db, err := openForWriting(c.String("db"))
	if err != nil {
		if prof != nil {
			prof.Close()
			os.Remove(prof.Name())
		}
		return err
	}
	defer db.Close()
	// Runs left running by processes that are gone are interrupted.
	if _, err := db.PruneDead(context.Background(), 0); err != nil {
		return err
	}
	if prof != nil {
		if err := pprof.StartCPUProfile(prof); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := withSignals(c.Context)
	defer stop()
	bar := newRunBar(plan.Runs, c.Bool("quiet"))
	r := &sweep.Runner{DB: db, Data: data, Workers: workers, Threads: threads, Fresh: true, CodeVersion: version.Version, Events: bar.event}
	sum, runErr := r.Run(ctx, plan.Runs)
	bar.done()
	if sum == nil {
		return runErr
	}
	var ids []int64
	for _, o := range sum.Outcomes {
		if o.RunID != 0 {
			ids = append(ids, o.RunID)
		}
	}
	if len(ids) > 0 {
		if err := printSummary(c.App.Writer, db, ids); err != nil && runErr == nil {
			runErr = err
		}
	}
	switch {
	case runErr != nil && !errors.Is(runErr, context.Canceled):
		return runErr
	case ctx.Err() != nil:
		return fmt.Errorf("%w: unfinished runs stored as interrupted", errInterrupted)
	}
	return outcomeError(sum, db.Path())
}

// outcomeError reports the runs that failed or diverged (nil when every
// run completed).
func outcomeError(sum *sweep.Summary, path string) error {
	var bad []sweep.Outcome
	for _, o := range sum.Outcomes {
		if o.Status != metrics.RunComplete {
			bad = append(bad, o)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	o := bad[0]
	what := "failed"
	if o.Status == metrics.RunDiverged {
		what = "diverged (its records up to there and its metrics are stored)"
	}
	msg := "error unknown"
	if o.Err != nil {
		msg, _, _ = strings.Cut(o.Err.Error(), "\n")
	}
	run := "the run"
	if o.RunID != 0 {
		run = fmt.Sprintf("run %d", o.RunID)
	}
	if len(sum.Outcomes) > 1 {
		run += " (" + o.Run.Label + ")"
	}
	err := fmt.Errorf("%s %s: %s", run, what, msg)
	if len(bad) > 1 {
		err = fmt.Errorf("%w; %d of %d runs did not complete (see: cleval runs --db %s)", err, len(bad), len(sum.Outcomes), path)
	}
	return err
}

// openForWriting opens the database a command stores runs in.
func openForWriting(path string) (*store.DB, error) {
	db, err := store.Open(path, store.Options{})
	if err != nil {
		if errors.Is(err, store.ErrPath) || errors.Is(err, store.ErrNotDatabase) || errors.Is(err, store.ErrSchema) || errors.Is(err, store.ErrReadOnly) {
			return nil, usageError{err}
		}
		return nil, err
	}
	return db, nil
}

// runBar shows the progress of cleval run: the run's experience and
// accuracies, or, with several runs, the runs done and the iterations.
type runBar struct {
	mu       sync.Mutex
	bar      *progress.Bar
	runs     []sweep.Run
	iters    map[int]int
	finished int
}

func newRunBar(runs []sweep.Run, quiet bool) *runBar {
	b := &runBar{bar: progress.New(os.Stderr, quiet), runs: runs, iters: map[int]int{}}
	b.bar.Start()
	return b
}

func (b *runBar) event(e sweep.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e.Kind {
	case sweep.EventEnd:
		b.finished++
		return
	case sweep.EventProgress:
	default:
		return
	}
	p := e.Progress
	if len(b.runs) == 1 {
		cfg := &e.Outcome.Run.Config
		b.bar.Update(fmt.Sprintf("%s seed %d", cfg.Strategy, cfg.Seed), p.Iteration, p.Iterations, progressDetail(p))
		return
	}
	b.iters[e.Outcome.Run.Index] = p.Iteration
	d, t := 0, 0
	for _, r := range b.runs {
		d += b.iters[r.Index]
		t += r.Iterations
	}
	b.bar.Update(fmt.Sprintf("%d/%d runs", b.finished, len(b.runs)), d, t, "")
}

func (b *runBar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bar.Done()
}

func progressDetail(p harness.Progress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "exp %d/%d acc", p.Experience, p.Experiences)
	for k := 0; k < p.Experience && k < len(p.Acc); k++ {
		fmt.Fprintf(&b, " %.1f", 100*p.Acc[k])
	}
	return b.String()
}

// summaryMetrics are the columns of the run summary.
var summaryMetrics = []struct{ name, title string }{
	{"acc", "ACC"}, {"min_acc", "min-ACC"}, {"wc_acc", "WC-ACC"}, {"forgetting_first", "forgetting"},
	{"bwt", "BWT"}, {"wf10", "WF10"}, {"wf100", "WF100"}, {"gap_depth_mean", "gap depth"},
}

func printSummary(w io.Writer, db *store.DB, ids []int64) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "run\tstrategy\tseed\tstatus\titers\t")
	for _, m := range summaryMetrics {
		fmt.Fprintf(tw, "%s\t", m.title)
	}
	fmt.Fprintln(tw)
	ctx := context.Background()
	for _, id := range ids {
		r, err := db.Run(ctx, id)
		if err != nil {
			return err
		}
		ms, err := db.Metrics(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%d\t", r.ID, r.Strategy, r.Seed, r.Status, r.Iterations)
		for _, sm := range summaryMetrics {
			fmt.Fprintf(tw, "%s\t", formatMetric(ms, metrics.VariantLive, sm.name))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "accuracies in %%; stored in %s (cleval metrics --db %s --run ID)\n", db.Path(), db.Path())
	return nil
}

func formatMetric(ms []store.Metric, variant, name string) string {
	for _, m := range ms {
		if m.Variant == variant && m.Name == name && m.K == 0 && m.J == 0 {
			if m.Null {
				return "-"
			}
			return fmt.Sprintf("%.2f", 100*m.Value)
		}
	}
	return "-"
}
