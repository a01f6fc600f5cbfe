package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/cleval/cleval/metrics"
)

// Ingest stores runs made by other tools (package metrics/ingest) in one
// transaction: either every run of an ingest is stored, or, when Rollback
// is called instead of Commit, nothing is.
//
// The records stream in first: NewRun inserts a placeholder run (status
// running, empty key), AddEval, AddMatrix and AddExperience insert rows
// (evaluation records are buffered and written many rows per statement),
// SetMeta keeps the run's raw metadata. Then, run by run, Pending and
// Evaluations read back what arrived, and Finish turns the placeholder into
// a complete run with its experiences, metrics and key. Nothing is visible
// to other connections before Commit.
type Ingest struct {
	db  *DB
	ctx context.Context
	tx  *sql.Tx
	now time.Time

	evals    []ingestEval
	evalStmt *sql.Stmt
	matStmt  *sql.Stmt
	expStmt  *sql.Stmt
	done     bool
}

type ingestEval struct {
	run int64
	metrics.EvalRecord
}

// evalBatch is the number of evaluation records per INSERT statement.
const evalBatch = 64

// DuplicateError reports a record whose key (run, variant, iteration and
// evaluated experience; or run, variant, row and column; or run and
// experience) is already stored in the ingest.
type DuplicateError struct {
	Run   int64
	Table string // "evaluations", "accuracy_matrix" or "experiences"
	// Eval is the duplicated evaluation record (Table evaluations), Matrix
	// the matrix entry, Exp the experience.
	Eval   metrics.EvalRecord
	Matrix metrics.MatrixRecord
	Exp    int
}

func (e *DuplicateError) Error() string {
	switch e.Table {
	case "evaluations":
		return fmt.Sprintf("store: duplicate evaluation record: run %d, variant %s, iteration %d, eval_exp %d", e.Run, e.Eval.Variant, e.Eval.Iteration, e.Eval.Evaluated)
	case "accuracy_matrix":
		return fmt.Sprintf("store: duplicate accuracy-matrix entry: run %d, variant %s, row_exp %d, col_exp %d", e.Run, e.Matrix.Variant, e.Matrix.Row, e.Matrix.Col)
	}
	return fmt.Sprintf("store: duplicate experience: run %d, exp %d", e.Run, e.Exp)
}

// BeginIngest starts an ingest transaction. The database must have the
// current schema version (a writable Open upgrades it).
func (d *DB) BeginIngest(ctx context.Context) (*Ingest, error) {
	if d.version != SchemaVersion {
		return nil, fmt.Errorf("store: %s: ingest needs schema version %d, the file has %d", d.path, SchemaVersion, d.version)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, d.wrap("ingest", err)
	}
	g := &Ingest{db: d, ctx: ctx, tx: tx, now: time.Now()}
	values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", evalBatch), ", ")
	if g.evalStmt, err = tx.PrepareContext(ctx, `INSERT INTO evaluations(run_id, variant, iteration, eval_exp, training_exp, correct, total, loss_sum, subset) VALUES `+values); err == nil {
		if g.matStmt, err = tx.PrepareContext(ctx, `INSERT INTO accuracy_matrix(run_id, variant, row_exp, col_exp, correct, total, loss_sum) VALUES (?, ?, ?, ?, ?, ?, ?)`); err == nil {
			g.expStmt, err = tx.PrepareContext(ctx, `INSERT INTO experiences(run_id, exp, classes, task, train_size, test_size, eval_size, end_iteration) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		}
	}
	if err != nil {
		g.Rollback()
		return nil, d.wrap("ingest", err)
	}
	return g, nil
}

// Rollback abandons the ingest: nothing it wrote is kept. It is a no-op
// after Commit.
func (g *Ingest) Rollback() error {
	if g.done {
		return nil
	}
	g.done = true
	g.closeStmts()
	return g.tx.Rollback()
}

// Commit stores everything the ingest wrote.
func (g *Ingest) Commit() error {
	if err := g.flush(); err != nil {
		g.Rollback()
		return err
	}
	g.done = true
	g.closeStmts()
	return g.db.wrap("ingest commit", g.tx.Commit())
}

func (g *Ingest) closeStmts() {
	for _, st := range []*sql.Stmt{g.evalStmt, g.matStmt, g.expStmt} {
		if st != nil {
			st.Close()
		}
	}
}

// NewRun inserts a placeholder run (status running, empty key) and returns
// its id.
func (g *Ingest) NewRun() (int64, error) {
	res, err := g.tx.ExecContext(g.ctx, `INSERT INTO runs(key, preset, benchmark, strategy, seed, config, code_version, status, num_experiences, eval_subset, variants, host, pid, started_at)
		VALUES ('', '', '', '', 0, '', '', 'running', 0, '', '[]', '', 0, ?)`, timestamp(g.now))
	if err != nil {
		return 0, g.db.wrap("ingest: new run", err)
	}
	id, err := res.LastInsertId()
	return id, g.db.wrap("ingest: new run", err)
}

// SetMeta keeps the raw metadata of a run until Finish (in runs.config).
// It reports false, writing nothing, when the run already has metadata.
func (g *Ingest) SetMeta(id int64, meta []byte) (bool, error) {
	res, err := g.tx.ExecContext(g.ctx, `UPDATE runs SET config = ? WHERE id = ? AND config = ''`, string(meta), id)
	if err != nil {
		return false, g.db.wrap("ingest: run metadata", err)
	}
	n, err := res.RowsAffected()
	return n == 1, g.db.wrap("ingest: run metadata", err)
}

func isConstraint(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrConstraint
}

// AddEval adds an evaluation record of run id. Records are written in
// batches, so a duplicate may be reported (as a *DuplicateError) by a
// later call, or by Flush.
func (g *Ingest) AddEval(id int64, r metrics.EvalRecord) error {
	g.evals = append(g.evals, ingestEval{id, r})
	if len(g.evals) == evalBatch {
		return g.flush()
	}
	return nil
}

// Flush writes the buffered evaluation records.
func (g *Ingest) Flush() error { return g.flush() }

func (g *Ingest) flush() error {
	if len(g.evals) == 0 {
		return nil
	}
	var err error
	if len(g.evals) == evalBatch {
		args := make([]any, 0, 9*evalBatch)
		for _, e := range g.evals {
			args = append(args, e.run, e.Variant, e.Iteration, e.Evaluated, e.Training, e.Correct, e.Total, e.LossSum, string(e.Subset))
		}
		_, err = g.evalStmt.ExecContext(g.ctx, args...)
	} else {
		for _, e := range g.evals {
			if _, err = g.tx.ExecContext(g.ctx, `INSERT INTO evaluations(run_id, variant, iteration, eval_exp, training_exp, correct, total, loss_sum, subset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				e.run, e.Variant, e.Iteration, e.Evaluated, e.Training, e.Correct, e.Total, e.LossSum, string(e.Subset)); err != nil {
				if isConstraint(err) {
					return &DuplicateError{Run: e.run, Table: "evaluations", Eval: e.EvalRecord}
				}
				break
			}
		}
	}
	if err != nil {
		// A failed multi-row statement stored none of its rows.
		if isConstraint(err) {
			if dup := g.findDuplicate(); dup != nil {
				return dup
			}
		}
		return g.db.wrap("ingest: evaluations", err)
	}
	g.evals = g.evals[:0]
	return nil
}

// findDuplicate returns the buffered record that is already stored or
// appears twice in the buffer (the failed statement stored none of them).
func (g *Ingest) findDuplicate() *DuplicateError {
	type key struct {
		run        int64
		variant    string
		iter, eval int
	}
	seen := map[key]bool{}
	for _, e := range g.evals {
		k := key{e.run, e.Variant, e.Iteration, e.Evaluated}
		var n int
		err := g.tx.QueryRowContext(g.ctx, `SELECT count(*) FROM evaluations WHERE run_id = ? AND variant = ? AND iteration = ? AND eval_exp = ?`, k.run, k.variant, k.iter, k.eval).Scan(&n)
		if err == nil && n > 0 || seen[k] {
			return &DuplicateError{Run: e.run, Table: "evaluations", Eval: e.EvalRecord}
		}
		seen[k] = true
	}
	return nil
}

// AddMatrix adds an accuracy-matrix entry of run id; a *DuplicateError
// when the run already has that entry.
func (g *Ingest) AddMatrix(id int64, r metrics.MatrixRecord) error {
	_, err := g.matStmt.ExecContext(g.ctx, id, r.Variant, r.Row, r.Col, r.Correct, r.Total, r.LossSum)
	if isConstraint(err) {
		return &DuplicateError{Run: id, Table: "accuracy_matrix", Matrix: r}
	}
	return g.db.wrap("ingest: accuracy matrix", err)
}

// ExperienceRow is an experience of an ingested run as given in the input.
// Fields that were not given are nil (Classes, the sizes and End) and are
// derived by the caller before Finish.
type ExperienceRow struct {
	Exp       int
	Classes   []int32
	Task      int
	TrainSize *int
	TestSize  *int
	EvalSize  *int
	// End is e_exp, the iteration after its last update.
	End *int
}

// AddExperience adds an experience of run id; a *DuplicateError when the
// run already has it.
func (g *Ingest) AddExperience(id int64, e ExperienceRow) error {
	classes := "null"
	if e.Classes != nil {
		b, _ := json.Marshal(e.Classes)
		classes = string(b)
	}
	size := func(p *int) int64 {
		if p == nil {
			return -1
		}
		return int64(*p)
	}
	end := sql.NullInt64{}
	if e.End != nil {
		end = sql.NullInt64{Int64: int64(*e.End), Valid: true}
	}
	_, err := g.expStmt.ExecContext(g.ctx, id, e.Exp, classes, e.Task, size(e.TrainSize), size(e.TestSize), size(e.EvalSize), end)
	if isConstraint(err) {
		return &DuplicateError{Run: id, Table: "experiences", Exp: e.Exp}
	}
	return g.db.wrap("ingest: experiences", err)
}

// AddSource records an input file of run id.
func (g *Ingest) AddSource(id int64, s Source) error {
	if s.IngestedAt.IsZero() {
		s.IngestedAt = g.now
	}
	return g.db.wrap("ingest: sources", insertSources(g.ctx, g.tx, id, []Source{s}))
}

// Pending is what an ingest holds for one run before Finish: the raw
// metadata, the experiences and matrix entries given, and summaries of
// its evaluation records.
type Pending struct {
	ID   int64
	Meta []byte // nil when no metadata was given
	// Experiences are the rows given, by experience.
	Experiences []ExperienceRow
	// Matrix holds every variant's entries, ordered by variant, row and
	// column.
	Matrix []metrics.MatrixRecord
	// Variants are the variants of the evaluation records, sorted.
	Variants []string
	// Records counts the evaluation records; MaxIteration is the largest
	// iteration, MaxTraining and MaxEval the largest training_exp and
	// eval_exp.
	Records                            int
	MaxIteration, MaxTraining, MaxEval int
	// Ends maps training_exp to the largest iteration of its records.
	Ends map[int]int
	// EvalTotals maps eval_exp to the smallest and largest total of its
	// records.
	EvalTotals map[int][2]int
	// Subsets are the distinct subsets of the records, sorted.
	Subsets []string
	Sources []Source
}

// Pending reads what the ingest holds for run id (flushing buffered
// records first).
func (g *Ingest) Pending(id int64) (*Pending, error) {
	if err := g.flush(); err != nil {
		return nil, err
	}
	p, err := g.pending(id)
	return p, g.db.wrap(fmt.Sprintf("ingest: run %d", id), err)
}

func (g *Ingest) pending(id int64) (*Pending, error) {
	ctx, tx := g.ctx, g.tx
	p := &Pending{ID: id, Ends: map[int]int{}, EvalTotals: map[int][2]int{}}
	var meta string
	if err := tx.QueryRowContext(ctx, `SELECT config FROM runs WHERE id = ?`, id).Scan(&meta); err != nil {
		return nil, err
	}
	if meta != "" {
		p.Meta = []byte(meta)
	}
	rows, err := tx.QueryContext(ctx, `SELECT exp, classes, task, train_size, test_size, eval_size, end_iteration FROM experiences WHERE run_id = ? ORDER BY exp`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			e                   ExperienceRow
			classes             string
			train, test, evalSz int
			end                 sql.NullInt64
		)
		if err := rows.Scan(&e.Exp, &classes, &e.Task, &train, &test, &evalSz, &end); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(classes), &e.Classes); err != nil {
			rows.Close()
			return nil, err
		}
		opt := func(v int) *int {
			if v < 0 {
				return nil
			}
			return &v
		}
		e.TrainSize, e.TestSize, e.EvalSize = opt(train), opt(test), opt(evalSz)
		if end.Valid {
			v := int(end.Int64)
			e.End = &v
		}
		p.Experiences = append(p.Experiences, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if p.Matrix, err = matrix(ctx, tx, id, ""); err != nil {
		return nil, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(max(iteration), -1), coalesce(max(training_exp), 0), coalesce(max(eval_exp), 0) FROM evaluations WHERE run_id = ?`, id).
		Scan(&p.Records, &p.MaxIteration, &p.MaxTraining, &p.MaxEval); err != nil {
		return nil, err
	}
	strs := func(query string) ([]string, error) {
		rows, err := tx.QueryContext(ctx, query, id)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, rows.Err()
	}
	if p.Variants, err = strs(`SELECT DISTINCT variant FROM evaluations WHERE run_id = ? ORDER BY variant`); err != nil {
		return nil, err
	}
	if p.Subsets, err = strs(`SELECT DISTINCT subset FROM evaluations WHERE run_id = ? ORDER BY subset`); err != nil {
		return nil, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT training_exp, max(iteration) FROM evaluations WHERE run_id = ? GROUP BY training_exp`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c, t int
		if err := rows.Scan(&c, &t); err != nil {
			rows.Close()
			return nil, err
		}
		p.Ends[c] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT eval_exp, min(total), max(total) FROM evaluations WHERE run_id = ? GROUP BY eval_exp`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var k, lo, hi int
		if err := rows.Scan(&k, &lo, &hi); err != nil {
			rows.Close()
			return nil, err
		}
		p.EvalTotals[k] = [2]int{lo, hi}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if p.Sources, err = runSources(ctx, tx, id); err != nil {
		return nil, err
	}
	return p, nil
}

// SetDefaultSubset sets the subset of the records of run id that were
// added without one.
func (g *Ingest) SetDefaultSubset(id int64, subset string) error {
	if err := g.flush(); err != nil {
		return err
	}
	_, err := g.tx.ExecContext(g.ctx, `UPDATE evaluations SET subset = ? WHERE run_id = ? AND subset = ''`, subset, id)
	return g.db.wrap("ingest: evaluations", err)
}

// Evaluations returns the evaluation records of one variant of run id,
// ordered by iteration and evaluated experience.
func (g *Ingest) Evaluations(id int64, variant string) ([]metrics.EvalRecord, error) {
	if err := g.flush(); err != nil {
		return nil, err
	}
	recs, err := evaluations(g.ctx, g.tx, id, variant)
	return recs, g.db.wrap("ingest: evaluations", err)
}

// Finished is a validated ingested run.
type Finished struct {
	// Info holds the run's key, names, seed, configuration, code version,
	// number of experiences, evaluation subset, variants and experiences
	// (every experience 1..NumExperiences, in order).
	Info metrics.RunInfo
	// Ends are e_1..e_T.
	Ends       []int
	Iterations int
	Host       string
	// Metrics are the metric values of each variant (metrics.Compute).
	Metrics map[string][]metrics.Value
}

// Finish stores run id as complete with f's fields, experiences and
// metrics. When a complete run with the same key is already stored (the
// same input ingested before), the new run is removed instead and the id
// of the stored one returned.
func (g *Ingest) Finish(id int64, f Finished) (existing int64, err error) {
	ctx, tx := g.ctx, g.tx
	wrap := func(err error) error { return g.db.wrap(fmt.Sprintf("ingest: store run %d", id), err) }
	err = tx.QueryRowContext(ctx, `SELECT id FROM runs WHERE key = ? AND id != ? AND status = 'complete' ORDER BY id LIMIT 1`, f.Info.Key, id).Scan(&existing)
	switch {
	case err == nil:
		if _, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, id); err != nil {
			return 0, wrap(err)
		}
		return existing, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, wrap(err)
	}
	info := f.Info
	if len(info.Experiences) != info.NumExperiences || len(f.Ends) != info.NumExperiences {
		return 0, fmt.Errorf("store: ingest: run %d: %d experiences and %d ends for %d experiences", id, len(info.Experiences), len(f.Ends), info.NumExperiences)
	}
	vars, err := json.Marshal(info.Variants)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE runs SET key = ?, preset = ?, benchmark = ?, strategy = ?, seed = ?, config = ?, code_version = ?, status = 'complete',
		num_experiences = ?, eval_subset = ?, variants = ?, iterations = ?, host = ?, ended_at = ? WHERE id = ?`,
		info.Key, info.Preset, info.Benchmark, info.Strategy, int64(info.Seed), string(info.Config), info.CodeVersion,
		info.NumExperiences, string(info.EvalSubset), string(vars), f.Iterations, f.Host, timestamp(g.now), id); err != nil {
		return 0, wrap(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM experiences WHERE run_id = ?`, id); err != nil {
		return 0, wrap(err)
	}
	for i, e := range info.Experiences {
		classes, _ := json.Marshal(e.Classes)
		if e.Classes == nil {
			classes = []byte("[]")
		}
		if _, err := g.expStmt.ExecContext(ctx, id, e.ID, string(classes), e.Task, e.TrainSize, e.TestSize, e.EvalSize, f.Ends[i]); err != nil {
			return 0, wrap(err)
		}
	}
	for _, v := range info.Variants {
		for _, m := range f.Metrics[v] {
			val := sql.NullFloat64{Float64: m.Value, Valid: !m.Null}
			if _, err := tx.ExecContext(ctx, `INSERT INTO metrics(run_id, variant, name, k, j, value) VALUES (?, ?, ?, ?, ?, ?)`, id, v, m.Name, m.K, m.J, val); err != nil {
				return 0, wrap(err)
			}
		}
	}
	return 0, nil
}
