package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/cleval/cleval/metrics"
)

// RunData is everything stored for one run.
type RunData struct {
	Run         Run
	Experiences []metrics.ExperienceInfo
	// Ends holds e_k per experience, -1 for experiences that did not end.
	Ends    []int
	Evals   []metrics.EvalRecord
	Matrix  []metrics.MatrixRecord
	Metrics []Metric
}

// ReadRun returns everything stored for run id.
func (d *DB) ReadRun(ctx context.Context, id int64) (*RunData, error) {
	rd, err := readRun(ctx, d.db, d.runCols(), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: %s: run %d: %w", d.path, id, ErrNotFound)
	}
	return rd, d.wrap(fmt.Sprintf("read run %d", id), err)
}

type rowQueryer interface {
	queryer
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readRun(ctx context.Context, q rowQueryer, cols string, id int64) (*RunData, error) {
	r, err := scanRun(q.QueryRowContext(ctx, `SELECT `+cols+` FROM runs WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	rd := &RunData{Run: r}
	rows, err := q.QueryContext(ctx, `SELECT exp, classes, task, train_size, test_size, eval_size, coalesce(end_iteration, -1) FROM experiences WHERE run_id = ? ORDER BY exp`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			e       metrics.ExperienceInfo
			classes string
			end     int
		)
		if err := rows.Scan(&e.ID, &classes, &e.Task, &e.TrainSize, &e.TestSize, &e.EvalSize, &end); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(classes), &e.Classes); err != nil {
			rows.Close()
			return nil, fmt.Errorf("run %d: classes: %v", id, err)
		}
		rd.Experiences = append(rd.Experiences, e)
		rd.Ends = append(rd.Ends, end)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if rd.Evals, err = evaluations(ctx, q, id, ""); err != nil {
		return nil, err
	}
	if rd.Matrix, err = matrix(ctx, q, id, ""); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT variant, name, k, j, value FROM metrics WHERE run_id = ? ORDER BY variant, name, k, j`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m Metric
		var v sql.NullFloat64
		if err := rows.Scan(&m.Variant, &m.Name, &m.K, &m.J, &v); err != nil {
			return nil, err
		}
		m.Value, m.Null = v.Float64, !v.Valid
		rd.Metrics = append(rd.Metrics, m)
	}
	return rd, rows.Err()
}

// Digest is a hash of a run's results: its key, status, iterations,
// variants, experiences, every record and every metric, with floats
// compared bit for bit. Two runs of one key have the same digest exactly
// when they hold the same results; ids, times, hosts, the preset name and
// the code version are left out.
func (rd *RunData) Digest() string {
	h := sha256.New()
	str := func(s string) {
		binary.Write(h, binary.LittleEndian, uint64(len(s)))
		h.Write([]byte(s))
	}
	num := func(v ...int64) {
		for _, x := range v {
			binary.Write(h, binary.LittleEndian, x)
		}
	}
	flt := func(f float64) { binary.Write(h, binary.LittleEndian, math.Float64bits(f)) }
	r := &rd.Run
	str(r.Key)
	str(string(r.Status))
	num(int64(r.Iterations), int64(r.NumExperiences))
	str(string(r.EvalSubset))
	num(int64(len(r.Variants)))
	for _, v := range r.Variants {
		str(v)
	}
	section := func(name string, n int) {
		str(name)
		num(int64(n))
	}
	section("experiences", len(rd.Experiences))
	for i, e := range rd.Experiences {
		num(int64(e.ID), int64(e.Task), int64(e.TrainSize), int64(e.TestSize), int64(e.EvalSize), int64(rd.Ends[i]), int64(len(e.Classes)))
		for _, c := range e.Classes {
			num(int64(c))
		}
	}
	section("evaluations", len(rd.Evals))
	for _, e := range rd.Evals {
		str(e.Variant)
		num(int64(e.Iteration), int64(e.Training), int64(e.Evaluated), int64(e.Correct), int64(e.Total))
		flt(e.LossSum)
		str(string(e.Subset))
	}
	section("matrix", len(rd.Matrix))
	for _, m := range rd.Matrix {
		str(m.Variant)
		num(int64(m.Row), int64(m.Col), int64(m.Correct), int64(m.Total))
		flt(m.LossSum)
	}
	section("metrics", len(rd.Metrics))
	for _, m := range rd.Metrics {
		str(m.Variant)
		str(m.Name)
		num(int64(m.K), int64(m.J))
		if m.Null {
			str("null")
		} else {
			flt(m.Value)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
