package store

/*
#include <stdint.h>
#include <stdlib.h>

// The few functions of SQLite's C interface that the scan uses. SQLite
// itself is compiled into the binary by github.com/mattn/go-sqlite3 (or
// linked from the system's libsqlite3 with its libsqlite3 build tag): these
// declarations are those of sqlite3.h.
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
int sqlite3_prepare_v2(sqlite3 *db, const char *zSql, int nByte, sqlite3_stmt **ppStmt, const char **pzTail);
int sqlite3_bind_int64(sqlite3_stmt *stmt, int i, long long v);
int sqlite3_bind_text(sqlite3_stmt *stmt, int i, const char *v, int n, void (*destroy)(void *));
int sqlite3_step(sqlite3_stmt *stmt);
int sqlite3_finalize(sqlite3_stmt *stmt);
int sqlite3_extended_errcode(sqlite3 *db);
const char *sqlite3_errmsg(sqlite3 *db);
typedef struct sqlite3_value sqlite3_value;
sqlite3_value *sqlite3_column_value(sqlite3_stmt *stmt, int i);
int sqlite3_value_type(sqlite3_value *v);
long long sqlite3_value_int64(sqlite3_value *v);
double sqlite3_value_double(sqlite3_value *v);

#define CLEVAL_SQLITE_ROW 100
#define CLEVAL_SQLITE_DONE 101
#define CLEVAL_SQLITE_INTEGER 1
#define CLEVAL_SQLITE_FLOAT 2

// cleval_scan_prepare prepares the records query of one variant of one run
// and binds its parameters (SQLITE_TRANSIENT: SQLite copies the variant).
static int cleval_scan_prepare(sqlite3 *db, const char *sql, long long run, const char *variant, int variant_len,
	long long after, long long up_to, sqlite3_stmt **stmt) {
	int rc = sqlite3_prepare_v2(db, sql, -1, stmt, 0);
	if (rc != 0) return rc;
	if ((rc = sqlite3_bind_int64(*stmt, 1, run)) != 0) return rc;
	if ((rc = sqlite3_bind_text(*stmt, 2, variant, variant_len, (void (*)(void *))(intptr_t)-1)) != 0) return rc;
	if ((rc = sqlite3_bind_int64(*stmt, 3, after)) != 0) return rc;
	return sqlite3_bind_int64(*stmt, 4, up_to);
}

// cleval_scan_step steps stmt (iteration, eval_exp, correct, total,
// loss_sum) up to cap times, writing the rows' values column-wise. It
// returns the number of rows written; *rc is SQLITE_ROW when more rows may
// follow, SQLITE_DONE at the end, or an error code. A value of the wrong
// type stops it with *rc = -1 and *badcol the column (0-based), *badtype
// its type.
static int cleval_scan_step(sqlite3_stmt *stmt, int cap, int64_t *it, int64_t *exp, int64_t *correct, int64_t *total,
	double *loss, int *rc, int *badcol, int *badtype) {
	int n = 0;
	int64_t *ints[4] = {it, exp, correct, total};
	// sqlite3_column_value and the sqlite3_value functions: half the calls
	// that take the connection's mutex of sqlite3_column_type and
	// sqlite3_column_int64.
	while (n < cap) {
		int r = sqlite3_step(stmt);
		if (r != CLEVAL_SQLITE_ROW) {
			*rc = r;
			return n;
		}
		for (int c = 0; c < 4; c++) {
			sqlite3_value *v = sqlite3_column_value(stmt, c);
			int t = sqlite3_value_type(v);
			if (t != CLEVAL_SQLITE_INTEGER) {
				*rc = -1; *badcol = c; *badtype = t;
				return n;
			}
			ints[c][n] = sqlite3_value_int64(v);
		}
		sqlite3_value *v = sqlite3_column_value(stmt, 4);
		int t = sqlite3_value_type(v);
		if (t != CLEVAL_SQLITE_FLOAT && t != CLEVAL_SQLITE_INTEGER) {
			*rc = -1; *badcol = 4; *badtype = t;
			return n;
		}
		loss[n] = sqlite3_value_double(v);
		n++;
	}
	*rc = CLEVAL_SQLITE_ROW;
	return n;
}
*/
import "C"

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unsafe"

	"github.com/mattn/go-sqlite3"
)

// Record is one evaluation record as EachRecord passes it.
type Record struct {
	Iteration, Exp int // t and the evaluated experience k
	Correct, Total int
	LossSum        float64
}

// Records is a block of evaluation records, column by column: record i is
// (Iteration[i], Exp[i], Correct[i], Total[i], LossSum[i]).
type Records struct {
	Iteration, Exp, Correct, Total []int64
	LossSum                        []float64
}

// Len returns the number of records.
func (r *Records) Len() int { return len(r.Iteration) }

// recordsQuery reads the records of one variant of a run with after <
// iteration <= upTo, in the primary key's order (iteration, then
// experience): an index range scan that sorts nothing.
const recordsQuery = `SELECT iteration, eval_exp, correct, total, loss_sum FROM evaluations
	WHERE run_id = ? AND variant = ? AND iteration > ? AND iteration <= ? ORDER BY iteration, eval_exp`

// scanBlock is the number of records EachRecords passes at a time.
const scanBlock = 4096

// EachRecord calls fn for every evaluation record of one variant of a run
// with after < iteration <= upTo, in iteration and experience order (see
// EachRecords). fn must not use the database; an error from fn stops the
// scan and is returned as is.
func (d *DB) EachRecord(ctx context.Context, runID int64, variant string, after, upTo int, fn func(Record) error) error {
	return d.EachRecords(ctx, runID, variant, after, upTo, func(b *Records) error {
		for i := range b.Iteration {
			r := Record{Iteration: int(b.Iteration[i]), Exp: int(b.Exp[i]), Correct: int(b.Correct[i]), Total: int(b.Total[i]), LossSum: b.LossSum[i]}
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// EachRecords calls fn with the evaluation records of one variant of a run
// with after < iteration <= upTo, in iteration and experience order, a
// block at a time (a few thousand records). It is for readers of long runs
// (a run evaluated at every iteration has millions of records): the rows
// are stepped through by SQLite in blocks, with one call from Go into C per
// block rather than per row and no per-value conversions. The block and its
// slices are reused: fn must copy what it keeps, and must not use the
// database. An error from fn stops the scan and is returned as is; the scan
// also stops, between blocks, when ctx is done.
func (d *DB) EachRecords(ctx context.Context, runID int64, variant string, after, upTo int, fn func(*Records) error) error {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return d.wrap("evaluations", err)
	}
	defer conn.Close()
	var fnErr error
	call := func(b *Records) error {
		fnErr = fn(b)
		return fnErr
	}
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("not an SQLite connection: %T", dc)
		}
		if h := connHandle(c); h != nil {
			return scanC(ctx, h, runID, variant, after, upTo, call)
		}
		return scanRows(ctx, c, runID, variant, after, upTo, call)
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	return d.wrap("evaluations", err)
}

// connHandle returns the SQLite connection (sqlite3*) of c, or nil when
// this version of the driver does not keep it where it is looked for (then
// the rows are read through the driver).
func connHandle(c *sqlite3.SQLiteConn) *C.sqlite3 {
	v := reflect.ValueOf(c).Elem()
	f := v.FieldByName("db")
	if !f.IsValid() || f.Kind() != reflect.Pointer || !strings.HasSuffix(f.Type().Elem().Name(), "sqlite3") || f.IsNil() {
		return nil
	}
	return (*C.sqlite3)(f.UnsafePointer())
}

// fastScan reports whether EachRecords steps through the rows in C (tests).
func fastScan(c *sqlite3.SQLiteConn) bool { return connHandle(c) != nil }

// scanC reads the records on the connection h, which the caller holds.
func scanC(ctx context.Context, h *C.sqlite3, runID int64, variant string, after, upTo int, fn func(*Records) error) error {
	q := C.CString(recordsQuery)
	defer C.free(unsafe.Pointer(q))
	v := C.CString(variant)
	defer C.free(unsafe.Pointer(v))
	var stmt *C.sqlite3_stmt
	rc := C.cleval_scan_prepare(h, q, C.longlong(runID), v, C.int(len(variant)), C.longlong(after), C.longlong(upTo), &stmt)
	if stmt != nil {
		defer C.sqlite3_finalize(stmt)
	}
	if rc != 0 {
		return sqliteError(h, rc)
	}
	// The block lives in C memory: the pointers passed to C need no
	// checks, and SQLite writes the values straight into it.
	const n = scanBlock
	mem := C.malloc(C.size_t(n * 8 * 5))
	if mem == nil {
		return errors.New("out of memory")
	}
	defer C.free(mem)
	cols := unsafe.Slice((*int64)(mem), 4*n)
	b := &Records{}
	loss := unsafe.Slice((*float64)(unsafe.Add(mem, 4*n*8)), n)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var r, badCol, badType C.int
		got := int(C.cleval_scan_step(stmt, n, (*C.int64_t)(unsafe.Pointer(&cols[0])), (*C.int64_t)(unsafe.Pointer(&cols[n])),
			(*C.int64_t)(unsafe.Pointer(&cols[2*n])), (*C.int64_t)(unsafe.Pointer(&cols[3*n])), (*C.double)(unsafe.Pointer(&loss[0])),
			&r, &badCol, &badType))
		if got > 0 {
			b.Iteration, b.Exp, b.Correct, b.Total, b.LossSum = cols[:got], cols[n:n+got], cols[2*n:2*n+got], cols[3*n:3*n+got], loss[:got]
			if err := fn(b); err != nil {
				return err
			}
		}
		switch r {
		case C.CLEVAL_SQLITE_ROW:
		case C.CLEVAL_SQLITE_DONE:
			return nil
		case -1:
			return badValue(runID, int(badCol), int(badType))
		default:
			return sqliteError(h, r)
		}
	}
}

// badValue is the error of a value of the wrong type in column col
// (0-based) of recordsQuery.
func badValue(runID int64, col, typ int) error {
	names := [...]string{"", "an integer", "a real number", "text", "a blob", "null"}
	t := fmt.Sprintf("type %d", typ)
	if typ > 0 && typ < len(names) {
		t = names[typ]
	}
	want := "an integer"
	if col == 4 {
		want = "a number"
	}
	return fmt.Errorf("run %d: evaluation column %d holds %s, want %s", runID, col+1, t, want)
}

// sqliteError is the error of result code rc on connection h, as the
// driver reports it (a sqlite3.Error, so that DB.wrap recognises it).
func sqliteError(h *C.sqlite3, rc C.int) error {
	ext := C.sqlite3_extended_errcode(h)
	se := sqlite3.Error{Code: sqlite3.ErrNo(rc & 0xff), ExtendedCode: sqlite3.ErrNoExtended(ext)}
	return fmt.Errorf("%s: %w", C.GoString(C.sqlite3_errmsg(h)), se)
}

// scanRows reads the records through the driver, row by row: the way
// when the connection's handle is not at hand.
func scanRows(ctx context.Context, c *sqlite3.SQLiteConn, runID int64, variant string, after, upTo int, fn func(*Records) error) error {
	rows, err := c.QueryContext(ctx, recordsQuery,
		[]driver.NamedValue{{Ordinal: 1, Value: runID}, {Ordinal: 2, Value: variant}, {Ordinal: 3, Value: int64(after)}, {Ordinal: 4, Value: int64(upTo)}})
	if err != nil {
		return err
	}
	defer rows.Close()
	dest := make([]driver.Value, 5)
	b := &Records{}
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		err := fn(b)
		b.Iteration, b.Exp, b.Correct, b.Total, b.LossSum = b.Iteration[:0], b.Exp[:0], b.Correct[:0], b.Total[:0], b.LossSum[:0]
		return err
	}
	for {
		if err := rows.Next(dest); err != nil {
			if errors.Is(err, io.EOF) {
				return flush()
			}
			return err
		}
		var ints [4]int64
		for i := range ints {
			v, ok := dest[i].(int64)
			if !ok {
				return badValue(runID, i, driverType(dest[i]))
			}
			ints[i] = v
		}
		var loss float64
		switch v := dest[4].(type) {
		case float64:
			loss = v
		case int64:
			loss = float64(v)
		default:
			return badValue(runID, 4, driverType(dest[4]))
		}
		b.Iteration, b.Exp, b.Correct, b.Total = append(b.Iteration, ints[0]), append(b.Exp, ints[1]), append(b.Correct, ints[2]), append(b.Total, ints[3])
		b.LossSum = append(b.LossSum, loss)
		if b.Len() == scanBlock {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// driverType is the SQLite type code of a value the driver returned.
func driverType(v driver.Value) int {
	switch v.(type) {
	case int64:
		return 1
	case float64:
		return 2
	case string:
		return 3
	case []byte:
		return 4
	case nil:
		return 5
	}
	return 0
}
