package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cleval/cleval/metrics"
)

// ErrConflict is returned (wrapped) by Merge when two runs of one key hold
// different results.
var ErrConflict = errors.New("conflicting results")

// MergeStats counts what Merge did.
type MergeStats struct {
	// Inputs is the number of databases read.
	Inputs int
	// Added runs were copied.
	Added int
	// Present runs were already there: the key had a run with the same
	// results (or, for a failed run, a failed run).
	Present int
	// Replaced counts failed or interrupted runs of the output deleted
	// because an input brought a finished run of their key.
	Replaced int
	// Unfinished runs (running, interrupted) and failed runs of keys that
	// have a finished run were not copied.
	Unfinished, Superseded int
}

// isFinal reports whether a status is a final result (metrics stored).
func isFinal(s metrics.RunStatus) bool {
	return s == metrics.RunComplete || s == metrics.RunDiverged
}

// Merge copies the runs of the databases at paths into d, in one
// transaction: either every input is merged or, on an error, nothing is.
//
// Complete and diverged runs are copied once per key: a key that already
// has a run with the same results (Digest) is skipped, one with different
// results is an ErrConflict naming the key and both runs. A failed run is
// copied only when its key has no run yet; running and interrupted runs
// are partial and never copied. Merging the same inputs again changes
// nothing. Inputs must have schema version 2 or later; the sources of
// ingested runs are copied with them.
func (d *DB) Merge(ctx context.Context, paths []string) (MergeStats, error) {
	var st MergeStats
	if d.version != SchemaVersion {
		return st, fmt.Errorf("store: %s: merge needs schema version %d, the file has %d", d.path, SchemaVersion, d.version)
	}
	outInfo, err := os.Stat(d.path)
	if err != nil {
		return st, fmt.Errorf("store: %s: %w", d.path, err)
	}
	inputs := make([]*DB, 0, len(paths))
	defer func() {
		for _, in := range inputs {
			in.Close()
		}
	}()
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && os.SameFile(fi, outInfo) {
			return st, fmt.Errorf("store: merge: %s is the output database", p)
		}
		in, err := Open(p, Options{ReadOnly: true})
		if err != nil {
			return st, fmt.Errorf("store: merge: %w", err)
		}
		inputs = append(inputs, in)
		if in.version < 2 {
			return st, fmt.Errorf("store: merge: %s: %w %d: it was written by an older cleval; merge reads versions 2 to %d (rerun that shard with this cleval)",
				p, ErrSchema, in.version, SchemaVersion)
		}
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return st, d.wrap("merge", err)
	}
	defer tx.Rollback()
	m := &merger{out: d, tx: tx, digests: map[int64]string{}, origin: map[int64]string{}, judge: newJudge(0)}
	for _, in := range inputs {
		if err := m.mergeFrom(ctx, in, &st); err != nil {
			return st, err
		}
		st.Inputs++
	}
	if err := tx.Commit(); err != nil {
		return st, d.wrap("merge", err)
	}
	return st, nil
}

type merger struct {
	out     *DB
	tx      *sql.Tx
	digests map[int64]string // output run id -> digest
	origin  map[int64]string // output run id -> where it came from
	judge   judge
}

func (m *merger) where(id int64) string {
	if o, ok := m.origin[id]; ok {
		return o
	}
	return fmt.Sprintf("%s run %d", filepath.Base(m.out.path), id)
}

func (m *merger) digest(ctx context.Context, id int64) (string, error) {
	if dg, ok := m.digests[id]; ok {
		return dg, nil
	}
	rd, err := readRun(ctx, m.tx, runCols, id)
	if err != nil {
		return "", m.out.wrap(fmt.Sprintf("merge: read run %d", id), err)
	}
	dg := rd.Digest()
	m.digests[id] = dg
	return dg, nil
}

func (m *merger) mergeFrom(ctx context.Context, in *DB, st *MergeStats) error {
	type ref struct {
		id     int64
		key    string
		status metrics.RunStatus
	}
	rows, err := in.db.QueryContext(ctx, `SELECT id, key, status FROM runs ORDER BY id`)
	if err != nil {
		return in.wrap("merge: list runs", err)
	}
	var refs []ref
	for rows.Next() {
		var r ref
		var s string
		if err := rows.Scan(&r.id, &r.key, &s); err != nil {
			rows.Close()
			return in.wrap("merge: list runs", err)
		}
		r.status = metrics.RunStatus(s)
		refs = append(refs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return in.wrap("merge: list runs", err)
	}
	name := filepath.Base(in.path)
	for _, r := range refs {
		if !isFinal(r.status) && r.status != metrics.RunFailed {
			st.Unfinished++
			continue
		}
		q, err := m.tx.QueryContext(ctx, keyRowSelect+` WHERE r.key = ? ORDER BY r.id`, r.key)
		if err != nil {
			return m.out.wrap("merge", err)
		}
		have, err := scanKeyRows(q)
		if err != nil {
			return m.out.wrap("merge", err)
		}
		var final, failed *keyRow
		for i := range have {
			switch {
			case isFinal(have[i].status) && final == nil:
				final = &have[i]
			case have[i].status == metrics.RunFailed && failed == nil:
				failed = &have[i]
			}
		}
		if final != nil {
			if !isFinal(r.status) {
				st.Superseded++
				continue
			}
			rd, err := in.ReadRun(ctx, r.id)
			if err != nil {
				return err
			}
			want, err := m.digest(ctx, final.id)
			if err != nil {
				return err
			}
			if rd.Digest() != want {
				return fmt.Errorf("store: merge: %w for key %s (%s, seed %d, %s): %s run %d and %s differ",
					ErrConflict, r.key, rd.Run.Strategy, rd.Run.Seed, rd.Run.Benchmark, name, r.id, m.where(final.id))
			}
			st.Present++
			continue
		}
		if !isFinal(r.status) && failed != nil {
			st.Present++
			continue
		}
		rd, err := in.ReadRun(ctx, r.id)
		if err != nil {
			return err
		}
		if isFinal(r.status) {
			// The finished run replaces the key's partial runs.
			for _, h := range have {
				if h.status == metrics.RunRunning {
					if alive, holder := m.judge.alive(h); alive {
						return fmt.Errorf("store: merge: key %s is being run by %s in %s (run %d): merge when it has finished", r.key, holder, m.out.path, h.id)
					}
				}
				if _, err := m.tx.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, h.id); err != nil {
					return m.out.wrap("merge", err)
				}
				st.Replaced++
			}
		}
		id, err := insertRun(ctx, m.tx, rd)
		if err == nil {
			err = copySources(ctx, in, r.id, m.tx, id)
		}
		if err != nil {
			return m.out.wrap(fmt.Sprintf("merge: copy %s run %d", name, r.id), err)
		}
		m.digests[id] = rd.Digest()
		m.origin[id] = fmt.Sprintf("%s run %d", name, r.id)
		st.Added++
	}
	return nil
}

// insertRun copies a run into the database of tx and returns its new id.
func insertRun(ctx context.Context, tx *sql.Tx, rd *RunData) (int64, error) {
	r := &rd.Run
	vars, err := json.Marshal(r.Variants)
	if err != nil {
		return 0, err
	}
	nullStr := func(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
	ended := sql.NullString{}
	if !r.EndedAt.IsZero() {
		ended = sql.NullString{String: timestamp(r.EndedAt), Valid: true}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO runs(key, preset, benchmark, strategy, seed, config, code_version, status, error, num_experiences, eval_subset, variants, iterations, host, pid, started_at, ended_at, claim)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Key, r.Preset, r.Benchmark, r.Strategy, int64(r.Seed), string(r.Config), r.CodeVersion, string(r.Status), nullStr(r.Error),
		r.NumExperiences, string(r.EvalSubset), string(vars), r.Iterations, r.Host, r.PID, timestamp(r.StartedAt), ended, nullStr(r.Claim))
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	for i, e := range rd.Experiences {
		classes, _ := json.Marshal(e.Classes)
		end := sql.NullInt64{Int64: int64(rd.Ends[i]), Valid: rd.Ends[i] >= 0}
		if _, err := tx.ExecContext(ctx, `INSERT INTO experiences(run_id, exp, classes, task, train_size, test_size, eval_size, end_iteration) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			id, e.ID, string(classes), e.Task, e.TrainSize, e.TestSize, e.EvalSize, end); err != nil {
			return 0, err
		}
	}
	if len(rd.Evals) > 0 {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO evaluations(run_id, variant, iteration, eval_exp, training_exp, correct, total, loss_sum, subset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return 0, err
		}
		defer stmt.Close()
		for _, e := range rd.Evals {
			if _, err := stmt.ExecContext(ctx, id, e.Variant, e.Iteration, e.Evaluated, e.Training, e.Correct, e.Total, e.LossSum, string(e.Subset)); err != nil {
				return 0, err
			}
		}
	}
	for _, mr := range rd.Matrix {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accuracy_matrix(run_id, variant, row_exp, col_exp, correct, total, loss_sum) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, mr.Variant, mr.Row, mr.Col, mr.Correct, mr.Total, mr.LossSum); err != nil {
			return 0, err
		}
	}
	for _, mt := range rd.Metrics {
		v := sql.NullFloat64{Float64: mt.Value, Valid: !mt.Null}
		if _, err := tx.ExecContext(ctx, `INSERT INTO metrics(run_id, variant, name, k, j, value) VALUES (?, ?, ?, ?, ?, ?)`, id, mt.Variant, mt.Name, mt.K, mt.J, v); err != nil {
			return 0, err
		}
	}
	return id, nil
}
