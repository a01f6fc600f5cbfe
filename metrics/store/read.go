package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cleval/cleval/metrics"
)

// Run is a stored run.
type Run struct {
	ID             int64
	Key            string
	Preset         string
	Benchmark      string
	Strategy       string
	Seed           uint64
	Config         json.RawMessage
	CodeVersion    string
	Status         metrics.RunStatus
	Error          string
	NumExperiences int
	EvalSubset     metrics.Subset
	Variants       []string
	Iterations     int
	Host           string
	PID            int
	StartedAt      time.Time
	EndedAt        time.Time // zero while running
	// Claim is the token of the process that claimed the run's key (see
	// DB.NewClaimedRun); empty for runs written without a claim.
	Claim string
}

const runCols = `id, key, preset, benchmark, strategy, seed, config, code_version, status, coalesce(error, ''), num_experiences, eval_subset, variants, iterations, host, pid, started_at, coalesce(ended_at, ''), coalesce(claim, '')`

// runColsV1 reads a version 1 file, which has no claim column.
const runColsV1 = `id, key, preset, benchmark, strategy, seed, config, code_version, status, coalesce(error, ''), num_experiences, eval_subset, variants, iterations, host, pid, started_at, coalesce(ended_at, ''), ''`

func (d *DB) runCols() string {
	if d.version == 1 {
		return runColsV1
	}
	return runCols
}

func scanRun(sc interface{ Scan(...any) error }) (Run, error) {
	var (
		r                 Run
		seed              int64
		cfg, vars, st, en string
		status, subset    string
	)
	if err := sc.Scan(&r.ID, &r.Key, &r.Preset, &r.Benchmark, &r.Strategy, &seed, &cfg, &r.CodeVersion, &status, &r.Error, &r.NumExperiences, &subset, &vars, &r.Iterations, &r.Host, &r.PID, &st, &en, &r.Claim); err != nil {
		return Run{}, err
	}
	r.Seed = uint64(seed)
	r.Config = json.RawMessage(cfg)
	r.Status = metrics.RunStatus(status)
	r.EvalSubset = metrics.Subset(subset)
	if err := json.Unmarshal([]byte(vars), &r.Variants); err != nil {
		return Run{}, fmt.Errorf("run %d: variants: %v", r.ID, err)
	}
	r.StartedAt, _ = time.Parse(time.RFC3339Nano, st)
	if en != "" {
		r.EndedAt, _ = time.Parse(time.RFC3339Nano, en)
	}
	return r, nil
}

// Runs lists the stored runs in id order.
func (d *DB) Runs(ctx context.Context) ([]Run, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+d.runCols()+` FROM runs ORDER BY id`)
	if err != nil {
		return nil, d.wrap("list runs", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, d.wrap("list runs", err)
		}
		out = append(out, r)
	}
	return out, d.wrap("list runs", rows.Err())
}

// Run returns the run with the given id.
func (d *DB) Run(ctx context.Context, id int64) (Run, error) {
	r, err := scanRun(d.db.QueryRowContext(ctx, `SELECT `+d.runCols()+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("store: %s: run %d: %w", d.path, id, ErrNotFound)
	}
	return r, d.wrap(fmt.Sprintf("run %d", id), err)
}

// Experiences returns the experiences of a run and their end iterations
// (-1 for experiences that did not end).
func (d *DB) Experiences(ctx context.Context, runID int64) ([]metrics.ExperienceInfo, []int, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT exp, classes, task, train_size, test_size, eval_size, coalesce(end_iteration, -1) FROM experiences WHERE run_id = ? ORDER BY exp`, runID)
	if err != nil {
		return nil, nil, d.wrap("experiences", err)
	}
	defer rows.Close()
	var (
		infos []metrics.ExperienceInfo
		ends  []int
	)
	for rows.Next() {
		var (
			e       metrics.ExperienceInfo
			classes string
			end     int
		)
		if err := rows.Scan(&e.ID, &classes, &e.Task, &e.TrainSize, &e.TestSize, &e.EvalSize, &end); err != nil {
			return nil, nil, d.wrap("experiences", err)
		}
		if err := json.Unmarshal([]byte(classes), &e.Classes); err != nil {
			return nil, nil, d.wrap("experiences", err)
		}
		infos = append(infos, e)
		ends = append(ends, end)
	}
	return infos, ends, d.wrap("experiences", rows.Err())
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Evaluations returns a run's evaluation records of one variant (all
// variants when variant is ""), ordered by variant, iteration and evaluated
// experience.
func (d *DB) Evaluations(ctx context.Context, runID int64, variant string) ([]metrics.EvalRecord, error) {
	recs, err := evaluations(ctx, d.db, runID, variant)
	return recs, d.wrap("evaluations", err)
}

func evaluations(ctx context.Context, q queryer, runID int64, variant string) ([]metrics.EvalRecord, error) {
	rows, err := q.QueryContext(ctx, `SELECT iteration, training_exp, eval_exp, variant, correct, total, loss_sum, subset FROM evaluations
		WHERE run_id = ? AND (? = '' OR variant = ?) ORDER BY variant, iteration, eval_exp`, runID, variant, variant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []metrics.EvalRecord
	for rows.Next() {
		var r metrics.EvalRecord
		var sub string
		if err := rows.Scan(&r.Iteration, &r.Training, &r.Evaluated, &r.Variant, &r.Correct, &r.Total, &r.LossSum, &sub); err != nil {
			return nil, err
		}
		r.Subset = metrics.Subset(sub)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Matrix returns a run's accuracy-matrix entries of one variant (all when
// variant is ""), ordered by variant, row and column.
func (d *DB) Matrix(ctx context.Context, runID int64, variant string) ([]metrics.MatrixRecord, error) {
	recs, err := matrix(ctx, d.db, runID, variant)
	return recs, d.wrap("accuracy matrix", err)
}

func matrix(ctx context.Context, q queryer, runID int64, variant string) ([]metrics.MatrixRecord, error) {
	rows, err := q.QueryContext(ctx, `SELECT row_exp, col_exp, variant, correct, total, loss_sum FROM accuracy_matrix
		WHERE run_id = ? AND (? = '' OR variant = ?) ORDER BY variant, row_exp, col_exp`, runID, variant, variant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []metrics.MatrixRecord
	for rows.Next() {
		var r metrics.MatrixRecord
		if err := rows.Scan(&r.Row, &r.Col, &r.Variant, &r.Correct, &r.Total, &r.LossSum); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Metric is one stored metric value.
type Metric struct {
	Variant string
	Name    string
	K, J    int
	Value   float64
	Null    bool
}

// Metrics returns a run's metrics ordered by variant, name, k, j.
func (d *DB) Metrics(ctx context.Context, runID int64) ([]Metric, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT variant, name, k, j, value FROM metrics WHERE run_id = ? ORDER BY variant, name, k, j`, runID)
	if err != nil {
		return nil, d.wrap("metrics", err)
	}
	defer rows.Close()
	var out []Metric
	for rows.Next() {
		var m Metric
		var v sql.NullFloat64
		if err := rows.Scan(&m.Variant, &m.Name, &m.K, &m.J, &v); err != nil {
			return nil, d.wrap("metrics", err)
		}
		m.Value, m.Null = v.Float64, !v.Valid
		out = append(out, m)
	}
	return out, d.wrap("metrics", rows.Err())
}
