package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/harness"
	"github.com/cleval/cleval/harness/sweep"
	"github.com/cleval/cleval/internal/progress"
	"github.com/cleval/cleval/internal/version"
	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

func sweepCommand() *cli.Command {
	return &cli.Command{
		Name:      "sweep",
		Usage:     "run every run of an experiment file (YAML) into one database, resuming where an earlier attempt stopped",
		ArgsUsage: "EXPERIMENT.yaml",
		Description: "Expands the experiment file (preset, base, grid, zip, seeds, experiments; see examples/) and\n" +
			"validates every run before starting any. Runs whose key is complete in --db are skipped; runs\n" +
			"that were interrupted, or left running by a process that died, are redone from scratch; failed\n" +
			"runs are redone with --retry-failed. Several sweeps may share one database.\n\n" +
			"Ctrl-C (SIGINT) or SIGTERM stops the runs in progress, which are stored as interrupted (exit\n" +
			"status 130); a second signal exits at once. Run the same command again to resume.\n\n" +
			"On a cluster, --shard i/n runs the i-th of n parts (i from 0) into its own database;\n" +
			"cleval merge combines them (see deploy/slurm and deploy/k8s).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "db", Value: "cleval.db", Usage: "SQLite database to store runs in"},
			numFlag("workers", "runs in parallel (at most the runs to do)", harness.Range{Min: 1, Max: maxThreads, Integer: true, Zero: "one per core"}, "one per core, the fastest for small models", "j"),
			numFlag("threads", "threads per run (records do not depend on it)", threadsRange, "cores / workers"),
			&cli.StringFlag{Name: "shard", Usage: fmt.Sprintf("run only part `i/n` of the sweep (0 <= i < n <= %d), e.g. a job-array index", sweep.MaxShards)},
			&cli.BoolFlag{Name: "retry-failed", Usage: "run again the runs whose last attempt failed"},
			&cli.BoolFlag{Name: "retry-diverged", Usage: "run again the runs that diverged (otherwise a diverged run is a result)"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "list the runs and what would be done, run nothing"},
			&cli.StringFlag{Name: "data-dir", Usage: "directory holding the dataset files (also: CLEVAL_DATA)"},
			&cli.BoolFlag{Name: "download", Usage: "download a missing dataset from its canonical address (SHA-256 checked) into the user cache"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar and no per-run lines on stderr"},
		},
		Action: sweepAction,
	}
}

func sweepAction(c *cli.Context) error {
	if again, err := flagsAfterArgs(c); again {
		return err
	}
	if c.NArg() != 1 {
		return usagef("sweep takes one experiment file, got %d arguments (see: cleval sweep --help)", c.NArg())
	}
	workers := int(intOr(c, "workers", 0))
	if workers == 0 {
		workers = max(1, sweep.ThreadsPerRun(1))
	}
	threads := int(intOr(c, "threads", 0))
	exp, err := sweep.Load(c.Args().First())
	if err != nil {
		return err
	}
	plan, err := exp.Expand()
	if err != nil {
		return err
	}
	runs := plan.Runs
	shardNote := ""
	if c.IsSet("shard") {
		sh, err := sweep.ParseShard(c.String("shard"))
		if err != nil {
			return usagef("--shard: %v", strings.TrimPrefix(err.Error(), harness.ErrInvalid.Error()+": "))
		}
		runs = plan.Shard(sh)
		shardNote = fmt.Sprintf(" (shard %s of a sweep of %d)", sh, len(plan.Runs))
	}
	data := &harness.Data{Locate: datasets.LocateOptions{Dir: c.String("data-dir"), Download: c.Bool("download")}}
	if err := plan.Prepare(data); err != nil {
		return err
	}
	if err := sweep.CheckMemory(runs, workers, threads); err != nil {
		return err
	}
	if c.Bool("dry-run") {
		return dryRun(c, plan, runs, shardNote, false)
	}
	db, err := openForWriting(c.String("db"))
	if err != nil {
		return err
	}
	defer db.Close()

	bar := newSweepBar(os.Stderr, c.Bool("quiet"), runs)
	ctx, stop := withSignals(c.Context, bar.interrupt)
	defer stop()
	r := &sweep.Runner{
		DB:            db,
		Data:          data,
		Workers:       workers,
		Threads:       threads,
		RetryFailed:   c.Bool("retry-failed"),
		RetryDiverged: c.Bool("retry-diverged"),
		CodeVersion:   version.Version,
		Events:        bar.event,
	}
	sum, runErr := r.Run(ctx, runs)
	bar.done()
	if sum == nil {
		return runErr
	}
	if err := printSweepSummary(c.App.Writer, db, sum, shardNote); err != nil && runErr == nil {
		runErr = err
	}
	var failed, elsewhere, unfinished int
	for _, o := range sum.Outcomes {
		switch {
		case o.Status == metrics.RunFailed:
			failed++
		case o.Status == "" && (o.State.State == store.StateBusy || errors.Is(o.Err, store.ErrClaimLost)):
			elsewhere++
		case o.Status == "" || o.Status == metrics.RunInterrupted:
			unfinished++
		}
	}
	if elsewhere > 0 && !c.Bool("quiet") {
		fmt.Fprintf(os.Stderr, "cleval: %d runs are being run by another process (see: cleval runs --db %s)\n", elsewhere, db.Path())
	}
	switch {
	case runErr != nil && !errors.Is(runErr, context.Canceled):
		return runErr
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %d runs not finished; run the same command again to resume", errInterrupted, unfinished)
	case failed > 0:
		return fmt.Errorf("sweep: %d of %d runs failed (see: cleval runs --db %s; --retry-failed runs them again)", failed, len(runs), db.Path())
	case sum.Count(metrics.RunDiverged) > 0 && !c.Bool("quiet"):
		fmt.Fprintf(os.Stderr, "cleval: %d runs diverged: their records and metrics are stored (--retry-diverged runs them again)\n", sum.Count(metrics.RunDiverged))
	}
	return runErr
}

// withSignals returns a context cancelled by the first SIGINT or SIGTERM
// (after calling each of onFirst and saying so on stderr); a second
// signal exits at once with status 130. stop releases the signals.
func withSignals(parent context.Context, onFirst ...func()) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		n := 0
		for range sigs {
			n++
			if n == 1 {
				for _, f := range onFirst {
					f()
				}
				fmt.Fprintln(os.Stderr, "cleval: stopping: the runs in progress will be stored as interrupted (signal again to exit at once)")
				cancel()
				continue
			}
			fmt.Fprintln(os.Stderr, "cleval: exiting at once; the runs in progress are redone on the next attempt")
			os.Exit(130)
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(sigs)
		cancel()
	}
}

// dryRun lists the runs and what a sweep (or, fresh, cleval run) would do
// with each; it reads the database when it exists and creates nothing.
func dryRun(c *cli.Context, plan *sweep.Plan, runs []sweep.Run, shardNote string, fresh bool) error {
	states := map[string]store.KeyState{}
	path := c.String("db")
	if _, err := os.Stat(path); err == nil {
		db, err := openResults(c)
		if err != nil {
			return err
		}
		defer db.Close()
		keys := make([]string, len(runs))
		for i, r := range runs {
			keys[i] = r.Key
		}
		if states, err = db.KeyStates(context.Background(), keys, 0); err != nil {
			return err
		}
	}
	retry := c.Bool("retry-failed")
	toRun := func(st store.KeyState) bool {
		return fresh || st.ToRun(retry) || c.Bool("retry-diverged") && st.State == store.StateDone && st.Status == metrics.RunDiverged
	}
	w := c.App.Writer
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\taction\tstored\titers\tkey\trun")
	todo, iters := 0, 0
	for _, r := range runs {
		st := states[r.Key]
		action := "skip"
		stored := "-"
		if st.RunID != 0 {
			stored = fmt.Sprintf("run %d %s", st.RunID, st.Status)
		}
		switch {
		case toRun(st):
			action = "run"
			todo++
			iters += r.Iterations
		case st.State == store.StateBusy:
			action = "busy"
			stored += " by " + st.Holder
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", r.Index, action, stored, r.Iterations, r.Key, r.Label)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range plan.Duplicates {
		fmt.Fprintf(w, "duplicate: %s is run %d\n", d.Label, d.Of)
	}
	fmt.Fprintf(w, "%d runs%s: %d to run (%d iterations), %d skipped; database %s\n", len(runs), shardNote, todo, iters, len(runs)-todo, path)
	return nil
}

func printSweepSummary(w io.Writer, db *store.DB, sum *sweep.Summary, shardNote string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\trun\tstatus\twhen\ttime\tACC\tmin-ACC\tkey\tlabel")
	ctx := context.Background()
	var now, before int
	for _, o := range sum.Outcomes {
		acc, minAcc := "-", "-"
		if o.RunID != 0 && (o.Status == metrics.RunComplete || o.Status == metrics.RunDiverged) {
			ms, err := db.Metrics(ctx, o.RunID)
			if err != nil {
				return err
			}
			acc, minAcc = formatMetric(ms, metrics.VariantLive, "acc"), formatMetric(ms, metrics.VariantLive, "min_acc")
		}
		when, dur, status := "before", "-", string(o.Status)
		switch {
		case o.Ran:
			when, dur = "now", o.Duration.Round(10*time.Millisecond).String()
			now++
		case o.State.State == store.StateBusy:
			when, status = "elsewhere", "running"
		case o.Status == "":
			when, status = "-", "not started"
		default:
			before++
		}
		id := "-"
		if o.RunID != 0 {
			id = fmt.Sprint(o.RunID)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.Run.Index, id, status, when, dur, acc, minAcc, o.Run.Key, o.Run.Label)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d runs%s: %d complete, %d diverged, %d failed, %d interrupted; %d run now, %d stored before; database %s\n",
		len(sum.Outcomes), shardNote, sum.Count(metrics.RunComplete), sum.Count(metrics.RunDiverged), sum.Count(metrics.RunFailed),
		len(sum.Outcomes)-sum.Count(metrics.RunComplete)-sum.Count(metrics.RunDiverged)-sum.Count(metrics.RunFailed)-countBusy(sum),
		now, before, db.Path())
	return nil
}

func countBusy(sum *sweep.Summary) int {
	n := 0
	for _, o := range sum.Outcomes {
		if o.Status == "" && o.State.State == store.StateBusy {
			n++
		}
	}
	return n
}

// sweepBar shows the sweep's progress: on a terminal one bar (iterations
// done of the runs to do, with the rate and the remaining time, and the
// runs done, running and failed); otherwise one line per finished run.
type sweepBar struct {
	mu       sync.Mutex
	bar      *progress.Bar
	w        io.Writer
	lines    bool
	total    int // runs
	iters    int // iterations of the runs to do
	itDone   int // iterations done
	current  map[int]int
	settled  map[int]bool // runs whose iterations left the total
	finished int
	running  int
	failed   int
	stopped  bool
}

func newSweepBar(w *os.File, quiet bool, runs []sweep.Run) *sweepBar {
	b := &sweepBar{bar: progress.New(w, quiet), w: w, total: len(runs), current: map[int]int{}, settled: map[int]bool{}}
	b.lines = !quiet && !b.bar.Enabled() && !isatty.IsTerminal(w.Fd())
	for _, r := range runs {
		b.iters += r.Iterations
	}
	b.bar.Start()
	return b
}

// event is the Runner's Events callback (calls are serialised).
func (b *sweepBar) event(e sweep.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o := e.Outcome
	switch e.Kind {
	case sweep.EventSkip:
		b.finished++
		if o.Status == metrics.RunFailed {
			b.failed++
		}
		if !b.settled[o.Run.Index] {
			b.iters -= o.Run.Iterations
			b.settled[o.Run.Index] = true
		}
	case sweep.EventStart:
		b.running++
	case sweep.EventProgress:
		b.itDone += e.Iteration - b.current[o.Run.Index]
		b.current[o.Run.Index] = e.Iteration
	case sweep.EventEnd:
		if o.Ran {
			b.running--
		}
		if o.Status != metrics.RunInterrupted && o.Status != "" {
			b.finished++
		}
		if o.Status == metrics.RunFailed {
			b.failed++
		}
		// Count the iterations the run did not make as done, so the
		// rate and the remaining time stay right.
		if !b.settled[o.Run.Index] {
			b.iters -= o.Run.Iterations - b.current[o.Run.Index]
			b.settled[o.Run.Index] = true
		}
		delete(b.current, o.Run.Index)
		if b.lines {
			msg := ""
			if o.Err != nil && o.Status != metrics.RunComplete {
				msg = ": " + o.Err.Error()
			}
			status := string(o.Status)
			if status == "" {
				status = "not run"
			}
			fmt.Fprintf(b.w, "cleval: sweep: [%d/%d] run %d %s in %s: %s (key %s)%s\n", b.finished, b.total, o.RunID, status,
				o.Duration.Round(10*time.Millisecond), o.Run.Label, o.Run.Key, msg)
		}
	}
	if !b.stopped {
		b.bar.Update("sweep", b.itDone, max(b.iters, b.itDone), fmt.Sprintf("runs %d/%d done, %d running, %d failed", b.finished, b.total, b.running, b.failed))
	}
}

func (b *sweepBar) interrupt() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	b.bar.Done()
}

func (b *sweepBar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	b.bar.Done()
}

type reorderedKey struct{}

// flagsAfterArgs lets flags follow the positional arguments (cleval sweep
// exp.yaml --db r.db), which urfave/cli v2 stops parsing at: when an
// argument after the first positional one looks like a flag, the command
// runs again with the positional arguments moved to the end. It reports
// whether it did so, and that run's error.
func flagsAfterArgs(c *cli.Context) (bool, error) {
	if c.Context.Value(reorderedKey{}) != nil {
		return false, nil
	}
	args := c.Args().Slice()
	i := 0
	for i < len(args) && (!strings.HasPrefix(args[i], "-") || args[i] == "-") {
		i++
	}
	if i == len(args) || args[i] == "--" {
		return false, nil
	}
	re := append([]string{c.App.Name, c.Command.Name}, args[i:]...)
	re = append(re, args[:i]...)
	return true, c.App.RunContext(context.WithValue(c.Context, reorderedKey{}, true), re)
}
