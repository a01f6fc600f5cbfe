package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/harness"
	"github.com/cleval/cleval/internal/progress"
	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
	"github.com/cleval/cleval/strategies"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run an experiment (default: preset " + harness.DefaultPreset + ", seed 0) and store it",
		Description: "Flags override the fields of the preset. Runs are stored in the SQLite database given by --db;\n" +
			"a summary table is printed on stdout, a progress bar on stderr when it is a terminal.",
		Flags: withStreamFlags([]cli.Flag{
			&cli.StringFlag{Name: "preset", Value: harness.DefaultPreset, Usage: "named experiment to start from (see: cleval presets)"},
			&cli.StringFlag{Name: "benchmark", Usage: "stream: " + strings.Join(harness.Benchmarks, ", ")},
			&cli.IntFlag{Name: "experiences", Usage: "number of experiences"},
			&cli.StringFlag{Name: "class-order", Usage: "comma-separated class order, e.g. 9,8,7,6,5,4,3,2,1,0"},
			&cli.BoolFlag{Name: "permute-classes", Usage: "seeded random class order"},
			&cli.StringFlag{Name: "strategy", Usage: "registered strategy (see: cleval strategies)"},
			pluginFlag(),
			&cli.StringSliceFlag{Name: "param", Usage: "strategy parameter `key=value` (repeatable; value as JSON or a string)"},
			&cli.IntFlag{Name: "epochs", Usage: "epochs per experience"},
			&cli.IntFlag{Name: "batch-size", Usage: "new samples per update"},
			&cli.IntFlag{Name: "replay-batch-size", Usage: "replayed samples per update (strategy parameter replay_batch_size)"},
			&cli.IntFlag{Name: "mem-size", Usage: "replay memory size (strategy parameter mem_size)"},
			&cli.Float64Flag{Name: "lr", Usage: "SGD learning rate"},
			&cli.Float64Flag{Name: "momentum", Usage: "SGD momentum"},
			&cli.Float64Flag{Name: "weight-decay", Usage: "SGD weight decay"},
			&cli.StringFlag{Name: "hidden", Usage: "hidden layer sizes, e.g. 400,400"},
			&cli.IntFlag{Name: "eval-every", Usage: "evaluation period ρ in iterations"},
			&cli.IntFlag{Name: "eval-size", Usage: "continual-evaluation samples per experience"},
			&cli.StringFlag{Name: "eval-subset", Usage: "fixed (drawn once) or resampled (every evaluation)"},
			&cli.StringFlag{Name: "eval-experiences", Usage: "seen or all"},
			&cli.StringFlag{Name: "seeds", Value: "0", Usage: "seeds to run: a list and ranges, e.g. 0,1,2 or 0-4"},
			&cli.StringFlag{Name: "db", Value: "cleval.db", Usage: "SQLite database to store runs in"},
			&cli.StringFlag{Name: "data-dir", Usage: "directory holding the dataset files (also: CLEVAL_DATA)"},
			&cli.BoolFlag{Name: "download", Usage: "download a missing dataset from its canonical address (SHA-256 checked) into the user cache"},
			&cli.IntFlag{Name: "threads", Usage: "threads per run (default: all cores divided among the workers); records do not depend on it"},
			&cli.IntFlag{Name: "workers", Value: 1, Usage: "runs (seeds) computed in parallel"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile (pprof) of the runs to `FILE`"},
		}),
		Action: runAction,
	}
}

// parseInts parses "1,2,3" (and, when ranges is set, "0-4").
func parseInts(s string, ranges bool) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if lo, hi, ok := strings.Cut(part, "-"); ranges && ok && lo != "" {
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 != nil || err2 != nil || b < a {
				return nil, fmt.Errorf("bad range %q", part)
			}
			for v := a; v <= b; v++ {
				out = append(out, v)
			}
			continue
		}
		v, err := strconv.Atoi(part)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", part)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list %q", s)
	}
	return out, nil
}

// buildConfig resolves the preset and applies the flags that were set.
func buildConfig(c *cli.Context) (harness.Config, error) {
	p, err := harness.LookupPreset(c.String("preset"))
	if err != nil {
		return harness.Config{}, err
	}
	cfg := p.Config
	if c.IsSet("benchmark") {
		cfg.Benchmark = c.String("benchmark")
	}
	if c.IsSet("experiences") {
		cfg.Experiences = c.Int("experiences")
	}
	if c.IsSet("class-order") {
		order, err := parseInts(c.String("class-order"), false)
		if err != nil {
			return cfg, usagef("--class-order: %v", err)
		}
		cfg.ClassOrder = order
	}
	if c.IsSet("permute-classes") {
		cfg.PermuteClasses = c.Bool("permute-classes")
	}
	if err := applyStreamFlags(c, &cfg); err != nil {
		return cfg, err
	}
	if c.IsSet("strategy") && c.String("strategy") != cfg.Strategy {
		cfg.Strategy = c.String("strategy")
		// The preset's parameters belong to its strategy: another strategy
		// starts from its own defaults.
		cfg.StrategyParams = nil
	}
	setParam := func(name string, v any) error {
		info, err := strategies.Lookup(cfg.Strategy)
		if err != nil {
			return err
		}
		if !info.Has(name) {
			return usagef("strategy %s has no parameter %s", cfg.Strategy, name)
		}
		return cfg.SetStrategyParam(name, v)
	}
	if c.IsSet("replay-batch-size") {
		if err := setParam("replay_batch_size", c.Int("replay-batch-size")); err != nil {
			return cfg, err
		}
	}
	if c.IsSet("mem-size") {
		if err := setParam("mem_size", c.Int("mem-size")); err != nil {
			return cfg, err
		}
	}
	for _, kv := range joinParams(c.StringSlice("param")) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return cfg, usagef("--param %q: want key=value", kv)
		}
		var val any
		if json.Unmarshal([]byte(v), &val) != nil {
			val = v
		}
		if err := setParam(k, val); err != nil {
			return cfg, err
		}
	}
	if c.IsSet("epochs") {
		cfg.Epochs = c.Int("epochs")
	}
	if c.IsSet("batch-size") {
		cfg.BatchSize = c.Int("batch-size")
	}
	if c.IsSet("lr") {
		cfg.Optimizer.LR = c.Float64("lr")
	}
	if c.IsSet("momentum") {
		cfg.Optimizer.Momentum = c.Float64("momentum")
	}
	if c.IsSet("weight-decay") {
		cfg.Optimizer.WeightDecay = c.Float64("weight-decay")
	}
	if c.IsSet("hidden") {
		h, err := parseInts(c.String("hidden"), false)
		if err != nil {
			return cfg, usagef("--hidden: %v", err)
		}
		cfg.Hidden = h
	}
	if c.IsSet("eval-every") {
		cfg.Eval.Every = c.Int("eval-every")
	}
	if c.IsSet("eval-size") {
		cfg.Eval.Size = c.Int("eval-size")
	}
	if c.IsSet("eval-subset") {
		cfg.Eval.Subset = c.String("eval-subset")
	}
	if c.IsSet("eval-experiences") {
		cfg.Eval.Experiences = c.String("eval-experiences")
	}
	return cfg, nil
}

func runAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("run takes no arguments, got %q", c.Args().Slice())
	}
	base, err := buildConfig(c)
	if err != nil {
		return err
	}
	if c.Int("threads") < 0 {
		return usagef("--threads %d: must be >= 0 (0 = all cores)", c.Int("threads"))
	}
	if c.Int("workers") < 1 {
		return usagef("--workers %d: must be >= 1", c.Int("workers"))
	}
	seeds, err := parseInts(c.String("seeds"), true)
	if err != nil {
		return usagef("--seeds: %v", err)
	}
	// Validate every run and load the data before touching the database.
	cfgs := make([]harness.Config, len(seeds))
	for i, s := range seeds {
		if s < 0 {
			return usagef("--seeds: seed %d: must be >= 0", s)
		}
		cfg := base
		cfg.Seed = uint64(s)
		if _, err := cfg.Resolve(); err != nil {
			return err
		}
		cfgs[i] = cfg
	}
	data := &harness.Data{Locate: datasets.LocateOptions{Dir: c.String("data-dir"), Download: c.Bool("download")}}
	if _, err := data.Stream(&cfgs[0]); err != nil {
		return err
	}
	db, err := store.Open(c.String("db"), store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()

	if path := c.String("cpuprofile"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return usagef("--cpuprofile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	bar := progress.New(os.Stderr, c.Bool("quiet"))
	ids, runErr := runAll(ctx, c, db, data, cfgs, bar)
	if len(ids) > 0 {
		if err := printSummary(c.App.Writer, db, ids); err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
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
