package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/cleval/cleval/metrics"
)

// flushEvery is how many evaluation records a RunWriter buffers before it
// writes them in one transaction.
const flushEvery = 4096

// FlushInterval is the longest a RunWriter keeps evaluation records
// buffered: an evaluation point that comes this long after the last write
// is written at once, so that readers (cleval serve) see a run progress
// live, whatever its evaluation rate.
const FlushInterval = time.Second

// RunWriter stores one run as it happens. It implements the harness's
// Recorder interface. Evaluation records are buffered and written in
// transactions of a few thousand rows, at every experience end and at End;
// metrics are computed from the stored rows when the run ends.
type RunWriter struct {
	db      *DB
	id      int64
	info    metrics.RunInfo
	evals   []metrics.EvalRecord
	matrix  []metrics.MatrixRecord
	ends    map[int]int
	pending []int // experience ends not written yet
	iters   int
	now     func() time.Time
	// flushed is when the buffered records were last written.
	flushed time.Time
	// claim, when not nil, makes Begin claim the key (NewClaimedRun).
	claim *ClaimOptions
}

// NewRun returns a writer for a new run; nothing is written before Begin.
func (d *DB) NewRun() *RunWriter {
	return &RunWriter{db: d, ends: map[int]int{}, now: time.Now}
}

// ID returns the run's id (0 before Begin).
func (w *RunWriter) ID() int64 { return w.id }

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Begin inserts the run (status running) and its experiences. A claimed
// writer (NewClaimedRun) first claims the key in the same transaction and
// returns a *ClaimError when the key is not to be run.
func (w *RunWriter) Begin(info metrics.RunInfo) error {
	w.info = info
	vars, err := json.Marshal(info.Variants)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	ctx := context.Background()
	tx, err := w.db.db.BeginTx(ctx, nil)
	if err != nil {
		return w.db.wrap("begin run", err)
	}
	defer tx.Rollback()
	claim := sql.NullString{}
	if w.claim != nil {
		if w.db.version != SchemaVersion {
			return fmt.Errorf("store: %s: claims need schema version %d, the file has %d", w.db.path, SchemaVersion, w.db.version)
		}
		if err := w.db.claimTx(ctx, tx, info.Key, *w.claim); err != nil {
			return err
		}
		claim = sql.NullString{String: w.claim.Owner.Token, Valid: true}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO runs(key, preset, benchmark, strategy, seed, config, code_version, status, num_experiences, eval_subset, variants, host, pid, started_at, claim)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)`,
		info.Key, info.Preset, info.Benchmark, info.Strategy, int64(info.Seed), string(info.Config), info.CodeVersion,
		info.NumExperiences, string(info.EvalSubset), string(vars), host, os.Getpid(), timestamp(w.now()), claim)
	if err != nil {
		return w.db.wrap("begin run", err)
	}
	if w.id, err = res.LastInsertId(); err != nil {
		return w.db.wrap("begin run", err)
	}
	w.flushed = w.now()
	for _, e := range info.Experiences {
		classes, _ := json.Marshal(e.Classes)
		if _, err := tx.ExecContext(ctx, `INSERT INTO experiences(run_id, exp, classes, task, train_size, test_size, eval_size) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			w.id, e.ID, string(classes), e.Task, e.TrainSize, e.TestSize, e.EvalSize); err != nil {
			return w.db.wrap("begin run", err)
		}
	}
	return w.db.wrap("begin run", tx.Commit())
}

// Evaluations buffers the records of one evaluation point.
func (w *RunWriter) Evaluations(recs []metrics.EvalRecord) error {
	w.evals = append(w.evals, recs...)
	for _, r := range recs {
		w.iters = max(w.iters, r.Iteration)
	}
	if len(w.evals) >= flushEvery || w.now().Sub(w.flushed) >= FlushInterval {
		return w.Flush()
	}
	return nil
}

// Matrix buffers one row of the accuracy matrix.
func (w *RunWriter) Matrix(recs []metrics.MatrixRecord) error {
	w.matrix = append(w.matrix, recs...)
	return nil
}

// ExperienceEnd records e_exp and writes everything buffered.
func (w *RunWriter) ExperienceEnd(exp, t int) error {
	w.ends[exp] = t
	w.pending = append(w.pending, exp)
	return w.Flush()
}

// Flush writes the buffered records in one transaction.
func (w *RunWriter) Flush() error {
	if w.id == 0 {
		return errors.New("store: Flush before Begin")
	}
	ctx := context.Background()
	tx, err := w.db.db.BeginTx(ctx, nil)
	if err != nil {
		return w.db.wrap("write records", err)
	}
	defer tx.Rollback()
	if err := w.flushTx(ctx, tx); err != nil {
		return w.db.wrap("write records", err)
	}
	if err := tx.Commit(); err != nil {
		return w.db.wrap("write records", err)
	}
	w.evals, w.matrix, w.pending = w.evals[:0], w.matrix[:0], w.pending[:0]
	w.flushed = w.now()
	return nil
}

func (w *RunWriter) flushTx(ctx context.Context, tx *sql.Tx) error {
	// Records whose loss is not a number cannot be stored (SQLite would
	// turn a NaN into NULL): the driver ends such a run as diverged
	// before; refuse them here too, naming the record.
	for _, r := range w.evals {
		if math.IsNaN(r.LossSum) || math.IsInf(r.LossSum, 0) {
			return fmt.Errorf("run %d: evaluation of experience %d (%s) at iteration %d: loss %v is not a finite number", w.id, r.Evaluated, r.Variant, r.Iteration, r.LossSum)
		}
	}
	for _, r := range w.matrix {
		if math.IsNaN(r.LossSum) || math.IsInf(r.LossSum, 0) {
			return fmt.Errorf("run %d: accuracy matrix R(%d, %d) (%s): loss %v is not a finite number", w.id, r.Row, r.Col, r.Variant, r.LossSum)
		}
	}
	// The run must still be ours: a sweep that judged this process dead
	// may have deleted it (and, in a version 1 file, reused its id).
	res, err := tx.ExecContext(ctx, `UPDATE runs SET iterations = ? WHERE id = ? AND status = 'running' AND claim IS ?`, w.iters, w.id, w.claimToken())
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("run %d: %w", w.id, ErrClaimLost)
	}
	if len(w.evals) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO evaluations(run_id, variant, iteration, eval_exp, training_exp, correct, total, loss_sum, subset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, r := range w.evals {
			if _, err := st.ExecContext(ctx, w.id, r.Variant, r.Iteration, r.Evaluated, r.Training, r.Correct, r.Total, r.LossSum, string(r.Subset)); err != nil {
				return err
			}
		}
	}
	if len(w.matrix) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO accuracy_matrix(run_id, variant, row_exp, col_exp, correct, total, loss_sum) VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, r := range w.matrix {
			if _, err := st.ExecContext(ctx, w.id, r.Variant, r.Row, r.Col, r.Correct, r.Total, r.LossSum); err != nil {
				return err
			}
		}
	}
	for _, exp := range w.pending {
		if _, err := tx.ExecContext(ctx, `UPDATE experiences SET end_iteration = ? WHERE run_id = ? AND exp = ?`, w.ends[exp], w.id, exp); err != nil {
			return err
		}
	}
	return nil
}

// ErrStoredFailed is returned (wrapped, with the cause) by End when the
// run could not be ended with its status (its last records or its metrics
// could not be written): it was stored as failed instead, with the error,
// keeping the records written before.
var ErrStoredFailed = errors.New("the run was stored as failed")

// End writes what is buffered, computes the metrics from the stored
// records (complete and diverged runs), and sets the final status, all in
// one transaction: a run is never complete without its metrics. When that
// transaction fails, End stores the run as failed with the error (the
// records written before are kept) and returns an error wrapping
// ErrStoredFailed; a run is never left running by a process that ended
// it. An interrupted run that made no update (it never started) is
// deleted.
func (w *RunWriter) End(status metrics.RunStatus, cause error) error {
	if w.id == 0 {
		return nil
	}
	if status == metrics.RunInterrupted && w.iters == 0 {
		return w.deleteUnstarted()
	}
	err := w.end(status, cause)
	if err == nil || errors.Is(err, ErrClaimLost) {
		return err
	}
	if ferr := w.markFailed(errors.Join(cause, err)); ferr != nil {
		return errors.Join(err, ferr)
	}
	return fmt.Errorf("%w: %w", ErrStoredFailed, err)
}

func (w *RunWriter) end(status metrics.RunStatus, cause error) error {
	ctx := context.Background()
	tx, err := w.db.db.BeginTx(ctx, nil)
	if err != nil {
		return w.db.wrap("end run", err)
	}
	defer tx.Rollback()
	if err := w.flushTx(ctx, tx); err != nil {
		return w.db.wrap("end run", err)
	}
	if status == metrics.RunComplete || status == metrics.RunDiverged {
		if err := computeMetrics(ctx, tx, w.id, status); err != nil {
			// The records are intact; the run is failed, not complete.
			status = metrics.RunFailed
			cause = errors.Join(cause, fmt.Errorf("metrics: %w", err))
		}
	}
	msg := sql.NullString{}
	if cause != nil {
		msg = sql.NullString{String: cause.Error(), Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE id = ?`, string(status), msg, timestamp(w.now()), w.id); err != nil {
		return w.db.wrap("end run", err)
	}
	if err := tx.Commit(); err != nil {
		return w.db.wrap("end run", err)
	}
	w.evals, w.matrix, w.pending = nil, nil, nil
	return nil
}

// markFailed stores the run as failed with cause, without its buffered
// records, if it is still this writer's running run.
func (w *RunWriter) markFailed(cause error) error {
	msg := "unknown error"
	if cause != nil {
		msg = cause.Error()
	}
	_, err := w.db.db.ExecContext(context.Background(), `UPDATE runs SET status = 'failed', error = ?, ended_at = ? WHERE id = ? AND status = 'running' AND claim IS ?`,
		msg, timestamp(w.now()), w.id, w.claimToken())
	return w.db.wrap("store the run as failed", err)
}

// deleteUnstarted deletes the run (and its records), if it is still this
// writer's running run.
func (w *RunWriter) deleteUnstarted() error {
	_, err := w.db.db.ExecContext(context.Background(), `DELETE FROM runs WHERE id = ? AND status = 'running' AND claim IS ?`, w.id, w.claimToken())
	if err == nil {
		w.id = 0
	}
	return w.db.wrap("delete a run that never started", err)
}

func (w *RunWriter) claimToken() sql.NullString {
	if w.claim == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: w.claim.Owner.Token, Valid: true}
}

type txQueryer interface {
	queryer
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// computeMetrics replaces the metrics of run id by values computed from its
// stored records.
func computeMetrics(ctx context.Context, q txQueryer, id int64, status metrics.RunStatus) error {
	var (
		T    int
		vars string
	)
	if err := q.QueryRowContext(ctx, `SELECT num_experiences, variants FROM runs WHERE id = ?`, id).Scan(&T, &vars); err != nil {
		return err
	}
	var variants []string
	if err := json.Unmarshal([]byte(vars), &variants); err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `SELECT end_iteration FROM experiences WHERE run_id = ? AND end_iteration IS NOT NULL ORDER BY exp`, id)
	if err != nil {
		return err
	}
	var ends []int
	for rows.Next() {
		var e int
		if err := rows.Scan(&e); err != nil {
			rows.Close()
			return err
		}
		ends = append(ends, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	st := metrics.StatusComplete
	if status == metrics.RunDiverged {
		st = metrics.StatusDiverged
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM metrics WHERE run_id = ?`, id); err != nil {
		return err
	}
	for _, v := range variants {
		evals, err := evaluations(ctx, q, id, v)
		if err != nil {
			return err
		}
		mat, err := matrix(ctx, q, id, v)
		if err != nil {
			return err
		}
		vals, err := metrics.Compute(metrics.Input{NumExperiences: T, Ends: ends, Evals: evals, Matrix: mat, Status: st})
		if err != nil {
			return fmt.Errorf("variant %s: %w", v, err)
		}
		for _, m := range vals {
			val := sql.NullFloat64{Float64: m.Value, Valid: !m.Null}
			if _, err := q.ExecContext(ctx, `INSERT INTO metrics(run_id, variant, name, k, j, value) VALUES (?, ?, ?, ?, ?, ?)`, id, v, m.Name, m.K, m.J, val); err != nil {
				return err
			}
		}
	}
	return nil
}

// RecomputeMetrics recomputes and replaces the metrics of a complete or
// diverged run from its stored records.
func (d *DB) RecomputeMetrics(ctx context.Context, id int64) error {
	r, err := d.Run(ctx, id)
	if err != nil {
		return err
	}
	if r.Status != metrics.RunComplete && r.Status != metrics.RunDiverged {
		return fmt.Errorf("store: %s: run %d is %s: only complete or diverged runs have metrics", d.path, id, r.Status)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return d.wrap("recompute metrics", err)
	}
	defer tx.Rollback()
	if err := computeMetrics(ctx, tx, id, r.Status); err != nil {
		return d.wrap("recompute metrics", err)
	}
	return d.wrap("recompute metrics", tx.Commit())
}
