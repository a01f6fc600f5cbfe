package store

// Read-only query helpers for the adapters that turn a database into
// reports, exports and plots. They never write.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cleval/cleval/metrics"
)

// RunFilter selects runs. Each non-empty field restricts the selection;
// the zero value selects every run.
type RunFilter struct {
	// IDs are run ids; an id that is not stored is an error.
	IDs []int64
	// Presets and Strategies match the runs' preset and strategy names.
	Presets    []string
	Strategies []string
	// Statuses match the runs' status.
	Statuses []metrics.RunStatus
}

// SelectRuns returns the runs that match f, in id order. It returns an
// error wrapping ErrNotFound, naming the ids, when f.IDs holds ids that are
// not stored.
func (d *DB) SelectRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	runs, err := d.Runs(ctx)
	if err != nil {
		return nil, err
	}
	if len(f.IDs) > 0 {
		var missing []string
		for _, id := range f.IDs {
			if !slices.ContainsFunc(runs, func(r Run) bool { return r.ID == id }) {
				missing = append(missing, fmt.Sprint(id))
			}
		}
		if len(missing) > 0 {
			noun := "run"
			if len(missing) > 1 {
				noun = "runs"
			}
			return nil, fmt.Errorf("store: %s: %s %s: %w (list them with: cleval runs --db %s)", d.path, noun, strings.Join(missing, ", "), ErrNotFound, d.path)
		}
	}
	out := runs[:0]
	for _, r := range runs {
		if len(f.IDs) > 0 && !slices.Contains(f.IDs, r.ID) ||
			len(f.Presets) > 0 && !slices.Contains(f.Presets, r.Preset) ||
			len(f.Strategies) > 0 && !slices.Contains(f.Strategies, r.Strategy) ||
			len(f.Statuses) > 0 && !slices.Contains(f.Statuses, r.Status) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// EachEvaluation calls fn for every evaluation record of a run, ordered by
// variant, iteration and evaluated experience, without holding them all in
// memory. fn must not use the database (its one connection is busy
// reading); an error from fn stops the scan and is returned as is.
func (d *DB) EachEvaluation(ctx context.Context, runID int64, fn func(metrics.EvalRecord) error) error {
	rows, err := d.db.QueryContext(ctx, `SELECT iteration, training_exp, eval_exp, variant, correct, total, loss_sum, subset FROM evaluations
		WHERE run_id = ? ORDER BY variant, iteration, eval_exp`, runID)
	if err != nil {
		return d.wrap("evaluations", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r metrics.EvalRecord
		var sub string
		if err := rows.Scan(&r.Iteration, &r.Training, &r.Evaluated, &r.Variant, &r.Correct, &r.Total, &r.LossSum, &sub); err != nil {
			return d.wrap("evaluations", err)
		}
		r.Subset = metrics.Subset(sub)
		if err := fn(r); err != nil {
			return err
		}
	}
	return d.wrap("evaluations", rows.Err())
}

// EvaluationsAt returns a run's evaluation records (every variant) at the
// given iterations, ordered by variant, iteration and evaluated experience.
func (d *DB) EvaluationsAt(ctx context.Context, runID int64, iterations []int) ([]metrics.EvalRecord, error) {
	if len(iterations) == 0 {
		return nil, nil
	}
	its, err := json.Marshal(iterations)
	if err != nil {
		return nil, err
	}
	rows, err := d.db.QueryContext(ctx, `SELECT iteration, training_exp, eval_exp, variant, correct, total, loss_sum, subset FROM evaluations
		WHERE run_id = ? AND iteration IN (SELECT value FROM json_each(?)) ORDER BY variant, iteration, eval_exp`, runID, string(its))
	if err != nil {
		return nil, d.wrap("evaluations", err)
	}
	defer rows.Close()
	var out []metrics.EvalRecord
	for rows.Next() {
		var r metrics.EvalRecord
		var sub string
		if err := rows.Scan(&r.Iteration, &r.Training, &r.Evaluated, &r.Variant, &r.Correct, &r.Total, &r.LossSum, &sub); err != nil {
			return nil, d.wrap("evaluations", err)
		}
		r.Subset = metrics.Subset(sub)
		out = append(out, r)
	}
	return out, d.wrap("evaluations", rows.Err())
}

// Ends returns e_1..e_m, the end iterations of the experiences of a run
// that ended, in experience order (the Ends of metrics.Input).
func (d *DB) Ends(ctx context.Context, runID int64) ([]int, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT end_iteration FROM experiences WHERE run_id = ? AND end_iteration IS NOT NULL ORDER BY exp`, runID)
	if err != nil {
		return nil, d.wrap("experience ends", err)
	}
	defer rows.Close()
	var ends []int
	for rows.Next() {
		var e sql.NullInt64
		if err := rows.Scan(&e); err != nil {
			return nil, d.wrap("experience ends", err)
		}
		ends = append(ends, int(e.Int64))
	}
	return ends, d.wrap("experience ends", rows.Err())
}

// Input returns the metrics.Input of one variant of a run (the records as
// stored, the ends of the experiences that ended and the status mapped to
// metrics.Status: complete; diverged; anything else interrupted), for the
// series functions of package metrics.
func (d *DB) Input(ctx context.Context, r Run, variant string) (metrics.Input, error) {
	ends, err := d.Ends(ctx, r.ID)
	if err != nil {
		return metrics.Input{}, err
	}
	evals, err := d.Evaluations(ctx, r.ID, variant)
	if err != nil {
		return metrics.Input{}, err
	}
	mat, err := d.Matrix(ctx, r.ID, variant)
	if err != nil {
		return metrics.Input{}, err
	}
	st := metrics.StatusInterrupted
	switch r.Status {
	case metrics.RunComplete:
		st = metrics.StatusComplete
	case metrics.RunDiverged:
		st = metrics.StatusDiverged
	}
	return metrics.Input{NumExperiences: r.NumExperiences, Ends: ends, Evals: evals, Matrix: mat, Status: st}, nil
}
