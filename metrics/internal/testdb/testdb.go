// Package testdb writes small cleval databases with known, deterministic
// records for the tests of the report, export and plot packages. The runs
// go through store.RunWriter, so their metrics are the real ones.
package testdb

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

// Run describes one run to write.
type Run struct {
	Preset   string
	Strategy string
	Seed     uint64
	// Experiences is T (>= 1); ItersPerExp the updates of each.
	Experiences, ItersPerExp int
	// Variants are the model variants (default: live).
	Variants []string
	// Status is complete (default), diverged or interrupted. A diverged or
	// interrupted run stops in the middle of its last experience.
	Status metrics.RunStatus
	// LR goes into the configuration (default 0.1): runs that differ only
	// by Seed and Preset form one configuration group.
	LR float64
	// Quality shifts every accuracy (default 0): a strategy "better" by
	// Quality.
	Quality float64
}

// Config returns the run's configuration JSON, shaped like harness.Config.
func (r Run) Config() []byte {
	lr := r.LR
	if lr == 0 {
		lr = 0.1
	}
	cfg := map[string]any{
		"preset": r.Preset, "benchmark": "split-synthetic", "experiences": r.Experiences,
		"hidden": []int{8}, "strategy": r.Strategy, "strategy_params": map[string]any{"mem_size": 20},
		"optimizer": map[string]any{"lr": lr, "momentum": 0.9, "weight_decay": 0},
		"epochs":    1, "batch_size": 16,
		"eval": map[string]any{"every": 1, "size": 50, "subset": "fixed", "experiences": "seen"},
		"seed": r.Seed,
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return b
}

// Accuracy is the accuracy the fixture records for experience k after t
// updates when experience c is trained and experience k started at
// iteration start: it rises while k is trained, dips right after each
// later boundary and partly recovers (a stability gap).
func (r Run) Accuracy(variant string, t, c, k int) float64 {
	n := r.ItersPerExp
	start := (k - 1) * n
	if t <= start {
		return 0.1
	}
	seed := float64(r.Seed%7) * 0.013
	learnt := 0.55 + 0.3*(1-math.Exp(-float64(min(t, k*n)-start)/3)) + seed + r.Quality
	if c > k {
		since := t - (c-1)*n // updates since the last boundary
		learnt -= 0.08 * float64(c-k)
		learnt -= 0.25 * math.Exp(-float64(since)/2) * float64(since) / 2
	}
	if variant != metrics.VariantLive {
		learnt += 0.02
	}
	return math.Min(0.99, math.Max(0.02, learnt))
}

const evalSize = 50

// Write appends the runs to the database at path and returns their ids.
func Write(path string, runs ...Run) ([]int64, error) {
	db, err := store.Open(path, store.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var ids []int64
	for _, r := range runs {
		id, err := write(db, r)
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func write(db *store.DB, r Run) (int64, error) {
	if r.Status == "" {
		r.Status = metrics.RunComplete
	}
	if len(r.Variants) == 0 {
		r.Variants = []string{metrics.VariantLive}
	}
	T, n := r.Experiences, r.ItersPerExp
	info := metrics.RunInfo{
		Key: fmt.Sprintf("test-%s-%d-%v", r.Strategy, r.Seed, r.LR), Preset: r.Preset, Benchmark: "split-synthetic",
		Strategy: r.Strategy, Seed: r.Seed, Config: r.Config(), CodeVersion: "test",
		NumExperiences: T, EvalSubset: metrics.SubsetFixed, Variants: r.Variants,
	}
	for k := 1; k <= T; k++ {
		info.Experiences = append(info.Experiences, metrics.ExperienceInfo{
			ID: k, Classes: []int32{int32(2*k - 2), int32(2*k - 1)}, TrainSize: 100, TestSize: 80, EvalSize: evalSize,
		})
	}
	w := db.NewRun()
	if err := w.Begin(info); err != nil {
		return 0, err
	}
	last := T * n
	if r.Status != metrics.RunComplete {
		last = (T-1)*n + n/2 // stops inside the last experience
	}
	eval := func(t, c, upTo int) error {
		var recs []metrics.EvalRecord
		for _, v := range r.Variants {
			for k := 1; k <= upTo; k++ {
				acc := r.Accuracy(v, t, c, k)
				correct := int(math.Round(acc * evalSize))
				recs = append(recs, metrics.EvalRecord{Iteration: t, Training: c, Evaluated: k, Variant: v,
					Correct: correct, Total: evalSize, LossSum: float64(evalSize-correct) * 0.75, Subset: metrics.SubsetFixed})
			}
		}
		return w.Evaluations(recs)
	}
	matrixRow := func(i, t int) error {
		var recs []metrics.MatrixRecord
		for _, v := range r.Variants {
			for j := 1; j <= T; j++ {
				c := max(i, 1)
				acc := r.Accuracy(v, t, c, j)
				correct := int(math.Round(acc * 80))
				recs = append(recs, metrics.MatrixRecord{Row: i, Col: j, Variant: v, Correct: correct, Total: 80, LossSum: float64(80-correct) * 0.5})
			}
		}
		return w.Matrix(recs)
	}
	if err := eval(0, 1, 1); err != nil {
		return 0, err
	}
	if err := matrixRow(0, 0); err != nil {
		return 0, err
	}
	for t := 1; t <= last; t++ {
		c := (t-1)/n + 1
		upTo := c
		if t == c*n && c < T {
			upTo = c + 1 // the next experience before its first update
		}
		if err := eval(t, c, upTo); err != nil {
			return 0, err
		}
		if t == c*n {
			if err := matrixRow(c, t); err != nil {
				return 0, err
			}
			if err := w.ExperienceEnd(c, t); err != nil {
				return 0, err
			}
		}
	}
	var cause error
	switch r.Status {
	case metrics.RunDiverged:
		cause = fmt.Errorf("training loss is not finite")
	case metrics.RunInterrupted:
		cause = fmt.Errorf("interrupted")
	}
	if err := w.End(r.Status, cause); err != nil {
		return 0, err
	}
	return w.ID(), nil
}
