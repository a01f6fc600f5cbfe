package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"github.com/mattn/go-sqlite3"
)

// Record is one evaluation record as EachRecord passes it.
type Record struct {
	Iteration, Exp int // t and the evaluated experience k
	Correct, Total int
	LossSum        float64
}

// EachRecord calls fn for every evaluation record of one variant of a run
// with after < iteration <= upTo, in iteration and experience order. It
// reads the rows straight from SQLite, without the per-row work of
// database/sql, for readers of long runs (a run evaluated at every
// iteration has millions of records). fn must not use the database; an
// error from fn stops the scan and is returned as is.
func (d *DB) EachRecord(ctx context.Context, runID int64, variant string, after, upTo int, fn func(Record) error) error {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return d.wrap("evaluations", err)
	}
	defer conn.Close()
	var fnErr error
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("not an SQLite connection: %T", dc)
		}
		rows, err := c.QueryContext(ctx, `SELECT iteration, eval_exp, correct, total, loss_sum FROM evaluations
			WHERE run_id = ? AND variant = ? AND iteration > ? AND iteration <= ? ORDER BY iteration, eval_exp`,
			[]driver.NamedValue{{Ordinal: 1, Value: runID}, {Ordinal: 2, Value: variant}, {Ordinal: 3, Value: int64(after)}, {Ordinal: 4, Value: int64(upTo)}})
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := make([]driver.Value, 5)
		var ints [4]int64
		for {
			if err := rows.Next(dest); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			for i := range ints {
				v, ok := dest[i].(int64)
				if !ok {
					return fmt.Errorf("run %d: column %d holds %T, want an integer", runID, i+1, dest[i])
				}
				ints[i] = v
			}
			r := Record{Iteration: int(ints[0]), Exp: int(ints[1]), Correct: int(ints[2]), Total: int(ints[3])}
			switch v := dest[4].(type) {
			case float64:
				r.LossSum = v
			case int64:
				r.LossSum = float64(v)
			}
			if fnErr = fn(r); fnErr != nil {
				return fnErr
			}
		}
	})
	if fnErr != nil {
		return fnErr
	}
	return d.wrap("evaluations", err)
}
