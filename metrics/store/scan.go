package store

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
int sqlite3_value_type(sqlite3_value *v);
long long sqlite3_value_int64(sqlite3_value *v);
double sqlite3_value_double(sqlite3_value *v);

typedef struct sqlite3_context sqlite3_context;
int sqlite3_create_function_v2(sqlite3 *db, const char *name, int nArg, int eTextRep, void *pApp,
	void (*xFunc)(sqlite3_context *, int, sqlite3_value **), void (*xStep)(sqlite3_context *, int, sqlite3_value **),
	void (*xFinal)(sqlite3_context *), void (*xDestroy)(void *));
int sqlite3_bind_pointer(sqlite3_stmt *stmt, int i, void *p, const char *type, void (*destroy)(void *));
void *sqlite3_value_pointer(sqlite3_value *v, const char *type);
void sqlite3_result_int(sqlite3_context *ctx, int v);
void sqlite3_result_error(sqlite3_context *ctx, const char *msg, int n);

#define CLEVAL_SQLITE_UTF8 1
#define CLEVAL_SQLITE_DIRECTONLY 0x000080000
#define CLEVAL_SQLITE_ROW 100
#define CLEVAL_SQLITE_DONE 101
#define CLEVAL_SQLITE_INTEGER 1
#define CLEVAL_SQLITE_FLOAT 2

// cleval_block is a block of records being collected, column by column.
typedef struct {
	int cap, n;
	int64_t *it, *exp, *correct, *total;
	double *loss;
	int64_t after, up_to;      // the range asked for
	int64_t last_it, last_exp; // the last record collected (order check)
	int any;                   // a record was collected
	int badcol, badtype;       // a value of the wrong type (badcol >= 0)
	int unexpected;            // a record out of range or order
} cleval_block;

// cleval_collect(block, iteration, eval_exp, correct, total, loss_sum)
// appends a record to the block and is true when the block is full: as a
// filter of the records query, it lets SQLite step through a block of rows
// in one call, the values read straight from the arguments.
static void cleval_collect(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
	cleval_block *b = sqlite3_value_pointer(argv[0], "cleval_block");
	if (b == 0 || argc != 6 || b->n >= b->cap) {
		sqlite3_result_error(ctx, "cleval_collect: no block", -1);
		return;
	}
	int n = b->n;
	int64_t v[4];
	for (int c = 0; c < 4; c++) {
		int t = sqlite3_value_type(argv[c+1]);
		if (t != CLEVAL_SQLITE_INTEGER) {
			b->badcol = c; b->badtype = t;
			sqlite3_result_error(ctx, "cleval_collect: a value of the wrong type", -1);
			return;
		}
		v[c] = sqlite3_value_int64(argv[c+1]);
	}
	int t = sqlite3_value_type(argv[5]);
	if (t != CLEVAL_SQLITE_FLOAT && t != CLEVAL_SQLITE_INTEGER) {
		b->badcol = 4; b->badtype = t;
		sqlite3_result_error(ctx, "cleval_collect: a value of the wrong type", -1);
		return;
	}
	if (v[0] <= b->after || v[0] > b->up_to || (b->any && (v[0] < b->last_it || (v[0] == b->last_it && v[1] <= b->last_exp)))) {
		b->unexpected = 1;
		sqlite3_result_error(ctx, "cleval_collect: a record out of range or order", -1);
		return;
	}
	b->it[n] = v[0]; b->exp[n] = v[1]; b->correct[n] = v[2]; b->total[n] = v[3];
	b->loss[n] = sqlite3_value_double(argv[5]);
	b->last_it = v[0]; b->last_exp = v[1]; b->any = 1;
	b->n = n + 1;
	sqlite3_result_int(ctx, b->n == b->cap);
}

// cleval_scan_prepare prepares the collecting query, registering
// cleval_collect on db first when it is not there yet (registering it
// again would expire the connection's prepared statements; it may not be
// used in the schema, by triggers or views), and binds the query's
// parameters (SQLITE_TRANSIENT: SQLite copies the variant).
static int cleval_scan_prepare(sqlite3 *db, const char *sql, long long run, const char *variant, int variant_len,
	cleval_block *b, sqlite3_stmt **stmt) {
	int rc = sqlite3_prepare_v2(db, sql, -1, stmt, 0);
	if (rc != 0 && strstr(sqlite3_errmsg(db), "no such function: cleval_collect") != 0) {
		rc = sqlite3_create_function_v2(db, "cleval_collect", 6, CLEVAL_SQLITE_UTF8 | CLEVAL_SQLITE_DIRECTONLY, 0, cleval_collect, 0, 0, 0);
		if (rc != 0) return rc;
		rc = sqlite3_prepare_v2(db, sql, -1, stmt, 0);
	}
	if (rc != 0) return rc;
	if ((rc = sqlite3_bind_int64(*stmt, 1, run)) != 0) return rc;
	if ((rc = sqlite3_bind_text(*stmt, 2, variant, variant_len, (void (*)(void *))(intptr_t)-1)) != 0) return rc;
	if ((rc = sqlite3_bind_int64(*stmt, 3, b->after)) != 0) return rc;
	if ((rc = sqlite3_bind_int64(*stmt, 4, b->up_to)) != 0) return rc;
	return sqlite3_bind_pointer(*stmt, 5, b, "cleval_block", 0);
}

// cleval_scan_step collects the next block: it returns SQLITE_ROW when the
// block is full, SQLITE_DONE at the end, or an error code.
static int cleval_scan_step(sqlite3_stmt *stmt, cleval_block *b) {
	b->n = 0;
	return sqlite3_step(stmt);
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

// collectQuery is recordsQuery for the scan in C: the records go to
// cleval_collect (see above), which stops the scan, with a row, each time
// a block is full. Its plan is the same index range scan (a test checks
// it), so the records come in the same order (cleval_collect checks it).
const collectQuery = `SELECT 1 FROM evaluations
	WHERE run_id = ?1 AND variant = ?2 AND iteration > ?3 AND iteration <= ?4
	AND cleval_collect(?5, iteration, eval_exp, correct, total, loss_sum) ORDER BY iteration, eval_exp`

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
	q := C.CString(collectQuery)
	defer C.free(unsafe.Pointer(q))
	v := C.CString(variant)
	defer C.free(unsafe.Pointer(v))
	// The block lives in C memory, where SQLite may keep a pointer to it.
	const n = scanBlock
	mem := C.calloc(1, C.size_t(C.sizeof_cleval_block+n*8*5))
	if mem == nil {
		return errors.New("out of memory")
	}
	defer C.free(mem)
	blk := (*C.cleval_block)(mem)
	cols := unsafe.Slice((*int64)(unsafe.Add(mem, C.sizeof_cleval_block)), 4*n)
	loss := unsafe.Slice((*float64)(unsafe.Add(mem, C.sizeof_cleval_block+4*n*8)), n)
	blk.cap = n
	blk.it, blk.exp = (*C.int64_t)(unsafe.Pointer(&cols[0])), (*C.int64_t)(unsafe.Pointer(&cols[n]))
	blk.correct, blk.total = (*C.int64_t)(unsafe.Pointer(&cols[2*n])), (*C.int64_t)(unsafe.Pointer(&cols[3*n]))
	blk.loss = (*C.double)(unsafe.Pointer(&loss[0]))
	blk.after, blk.up_to = C.int64_t(after), C.int64_t(upTo)
	blk.badcol = -1
	var stmt *C.sqlite3_stmt
	rc := C.cleval_scan_prepare(h, q, C.longlong(runID), v, C.int(len(variant)), blk, &stmt)
	if stmt != nil {
		defer C.sqlite3_finalize(stmt)
	}
	if rc != 0 {
		return sqliteError(h, rc)
	}
	b := &Records{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := C.cleval_scan_step(stmt, blk)
		if got := int(blk.n); got > 0 && (r == C.CLEVAL_SQLITE_ROW || r == C.CLEVAL_SQLITE_DONE) {
			b.Iteration, b.Exp, b.Correct, b.Total, b.LossSum = cols[:got], cols[n:n+got], cols[2*n:2*n+got], cols[3*n:3*n+got], loss[:got]
			if err := fn(b); err != nil {
				return err
			}
		}
		switch {
		case r == C.CLEVAL_SQLITE_ROW:
		case r == C.CLEVAL_SQLITE_DONE:
			return nil
		case blk.badcol >= 0:
			return badValue(runID, int(blk.badcol), int(blk.badtype))
		case blk.unexpected != 0:
			return fmt.Errorf("run %d: the evaluation records came out of the range or order asked for", runID)
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
