package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/harness"
	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
	"github.com/cleval/cleval/strategies"
)

func dbFlag() cli.Flag {
	return &cli.StringFlag{Name: "db", Value: "cleval.db", Usage: "SQLite database"}
}

func runsCommand() *cli.Command {
	return &cli.Command{
		Name:  "runs",
		Usage: "list the runs stored in a database",
		Description: "A run whose status is running but whose process is gone (killed, out of memory, a lost node) is\n" +
			"shown as dead; --prune stores such runs as interrupted (their records are kept; a sweep redoes them).\n" +
			"The next cleval run into the database does the same.",
		Flags: []cli.Flag{dbFlag(), &cli.BoolFlag{Name: "prune", Usage: "store the runs of processes that are gone as interrupted"}},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("runs takes no arguments, got %q", c.Args().Slice())
			}
			var db *store.DB
			var err error
			ctx := context.Background()
			if c.Bool("prune") {
				if db, err = openForWriting(c.String("db")); err != nil {
					return err
				}
				n, err := db.PruneDead(ctx, 0)
				if err != nil {
					db.Close()
					return err
				}
				fmt.Fprintf(c.App.ErrWriter, "%d runs of processes that are gone stored as interrupted\n", n)
			} else if db, err = openResults(c); err != nil {
				return err
			}
			defer db.Close()
			runs, err := db.Runs(ctx)
			if err != nil {
				return err
			}
			live, err := db.Running(ctx, 0)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "id\tstatus\tpreset\tbenchmark\tstrategy\tseed\titers\tstarted\tduration\tACC\tmin-ACC\tkey")
			dead := 0
			for _, r := range runs {
				ms, err := db.Metrics(ctx, r.ID)
				if err != nil {
					return err
				}
				dur := "-"
				if !r.EndedAt.IsZero() {
					dur = r.EndedAt.Sub(r.StartedAt).Round(100 * time.Millisecond).String()
				}
				preset := r.Preset
				if preset == "" {
					preset = "-"
				}
				status := string(r.Status)
				if l, ok := live[r.ID]; ok && l.Liveness != store.Alive {
					status = "running (" + l.Liveness.String() + ")"
					if l.Liveness == store.Dead {
						status = "dead"
						dead++
					}
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, status, preset, r.Benchmark, r.Strategy, r.Seed, r.Iterations,
					r.StartedAt.Local().Format("2006-01-02 15:04:05"), dur,
					formatMetric(ms, metrics.VariantLive, "acc"), formatMetric(ms, metrics.VariantLive, "min_acc"), r.Key)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if dead > 0 {
				fmt.Fprintf(c.App.Writer, "dead: stored as running, but the process running it is gone; cleval runs --prune --db %s stores them as interrupted\n", db.Path())
			}
			return nil
		},
	}
}

// jsonMetric is the machine-readable form of one metric.
type jsonMetric struct {
	Variant string   `json:"variant"`
	Name    string   `json:"name"`
	K       int      `json:"k,omitempty"`
	J       int      `json:"j,omitempty"`
	Value   *float64 `json:"value"`
}

func metricsCommand() *cli.Command {
	return &cli.Command{
		Name:  "metrics",
		Usage: "print every metric of a stored run",
		Flags: []cli.Flag{
			dbFlag(),
			numFlag("run", "run id (see: cleval runs)", runIDRange, ""),
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"},
			&cli.BoolFlag{Name: "recompute", Usage: "recompute the metrics from the stored records first"},
		},
		Action: func(c *cli.Context) error {
			if !c.IsSet("run") {
				return usagef("metrics: --run ID is required (see: cleval runs)")
			}
			format := c.String("format")
			if format != "text" && format != "json" {
				return usagef("--format %q: must be text or json", format)
			}
			var db *store.DB
			var err error
			if c.Bool("recompute") {
				db, err = openForWriting(c.String("db"))
			} else {
				db, err = openResults(c)
			}
			if err != nil {
				return err
			}
			defer db.Close()
			ctx := context.Background()
			r, err := db.Run(ctx, intOf(c, "run"))
			if err != nil {
				return usageError{err}
			}
			if c.Bool("recompute") {
				if err := db.RecomputeMetrics(ctx, r.ID); err != nil {
					return err
				}
			}
			ms, err := db.Metrics(ctx, r.ID)
			if err != nil {
				return err
			}
			if format == "json" {
				out := struct {
					Run        int64             `json:"run"`
					Key        string            `json:"key"`
					Status     metrics.RunStatus `json:"status"`
					Strategy   string            `json:"strategy"`
					Benchmark  string            `json:"benchmark"`
					Seed       uint64            `json:"seed"`
					Iterations int               `json:"iterations"`
					Config     json.RawMessage   `json:"config"`
					Metrics    []jsonMetric      `json:"metrics"`
				}{r.ID, r.Key, r.Status, r.Strategy, r.Benchmark, r.Seed, r.Iterations, r.Config, []jsonMetric{}}
				for _, m := range ms {
					jm := jsonMetric{Variant: m.Variant, Name: m.Name, K: m.K, J: m.J}
					if !m.Null {
						v := m.Value
						jm.Value = &v
					}
					out.Metrics = append(out.Metrics, jm)
				}
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			fmt.Fprintf(c.App.Writer, "run %d  %s  %s on %s  seed %d  %d iterations\n", r.ID, r.Status, r.Strategy, r.Benchmark, r.Seed, r.Iterations)
			if len(ms) == 0 {
				fmt.Fprintf(c.App.Writer, "no metrics: the run is %s\n", r.Status)
				return nil
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "variant\tmetric\tk\tj\tvalue")
			for _, m := range ms {
				k, j := "", ""
				if m.K > 0 {
					k = strconv.Itoa(m.K)
				}
				if m.J > 0 {
					j = strconv.Itoa(m.J)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Variant, m.Name, k, j, formatValue(m))
			}
			return tw.Flush()
		},
	}
}

// formatValue prints accuracies as percentages and iteration counts as
// integers.
func formatValue(m store.Metric) string {
	if m.Null {
		return "NULL"
	}
	switch m.Name {
	case "gap_time_to_trough", "gap_r90", "gap_time_to_trough_mean", "gap_r90_mean":
		if m.Value == math.Trunc(m.Value) {
			return fmt.Sprintf("%.0f it", m.Value)
		}
		return fmt.Sprintf("%.1f it", m.Value)
	}
	return fmt.Sprintf("%.2f%%", 100*m.Value)
}

func presetsCommand() *cli.Command {
	return &cli.Command{
		Name:  "presets",
		Usage: "list the named experiments",
		Action: func(c *cli.Context) error {
			for _, p := range harness.Presets() {
				fmt.Fprintf(c.App.Writer, "%s\n    %s\n    seeds %v\n    %s\n", p.Name, p.Summary, p.Seeds, p.Config.JSON())
			}
			return nil
		},
	}
}

func strategiesCommand() *cli.Command {
	return &cli.Command{
		Name:  "strategies",
		Usage: "list the registered strategies and their parameters",
		Description: "Parameters are set with --param key=value on cleval run (value as JSON or a string).\n" +
			"Wrappers (ema, mask, agem, gem, owm, ewc, lwf, si) wrap another strategy given by base and base_params, e.g.\n" +
			"  --strategy ema --param base=er --param 'base_params={\"mem_size\":500}' --param 'decays=[0.99,0.999]'",
		Flags: []cli.Flag{pluginFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("strategies takes no arguments, got %q", c.Args().Slice())
			}
			w := c.App.Writer
			for _, s := range strategies.List() {
				fmt.Fprintf(w, "%s\n    %s\n", s.Name, s.Summary)
				for _, p := range s.Params {
					def := p.Default
					if def == "" {
						def = `""`
					}
					fmt.Fprintf(w, "    --param %s=…  (default %s) %s\n", p.Name, def, p.Doc)
				}
			}
			fmt.Fprint(w, "\nComposition: a wrapper takes {\"base\": NAME, \"base_params\": {...}} and its own parameters; wrappers nest.\n"+
				"EMA over softmax masking over ER: --strategy ema with the parameters\n"+
				"  {\"base\": \"mask\", \"base_params\": {\"base\": \"er\", \"base_params\": {\"mem_size\": 500}}, \"decays\": [0.99]}\n")
			return nil
		},
	}
}
