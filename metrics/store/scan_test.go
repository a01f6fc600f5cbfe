package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mattn/go-sqlite3"

	"github.com/cleval/cleval/metrics"
)

// EachRecord gives the records Evaluations gives, for any range of
// iterations, and stops on an error of its callback.
func TestEachRecord(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "scan.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewRun()
	evals, _ := fakeRun(t, w, metrics.RunComplete)
	if err := w.End(metrics.RunComplete, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	ctx := context.Background()
	for _, r := range [][2]int{{-1, 1 << 30}, {-1, 0}, {2, 4}, {3, 3}, {6, 100}} {
		var got []Record
		err := ro.EachRecord(ctx, w.ID(), "live", r[0], r[1], func(rec Record) error { got = append(got, rec); return nil })
		if err != nil {
			t.Fatal(err)
		}
		var want []Record
		for _, e := range evals {
			if e.Iteration > r[0] && e.Iteration <= r[1] {
				want = append(want, Record{Iteration: e.Iteration, Exp: e.Evaluated, Correct: e.Correct, Total: e.Total, LossSum: e.LossSum})
			}
		}
		if len(got) != len(want) {
			t.Fatalf("range %v: %d records, want %d", r, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("range %v record %d: %+v, want %+v", r, i, got[i], want[i])
			}
		}
	}
	stop := errors.New("stop")
	n := 0
	err = ro.EachRecord(ctx, w.ID(), "live", -1, 1<<30, func(Record) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("callback error: got %v after %d records, want it returned after 1", err, n)
	}
	if err := ro.EachRecord(ctx, w.ID(), "ema", -1, 1<<30, func(Record) error { t.Error("a record of a variant the run lacks"); return nil }); err != nil {
		t.Error(err)
	}
}

// scanDB writes a run of n iterations with 1 to 3 records each (a partial
// last block on purpose) and a second run and variant that must not show,
// and returns the read-only database and the first run's records.
func scanDB(t *testing.T, n int) (*DB, string, int64, []Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "blocks.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	var want []Record
	for run := range 2 {
		w := db.NewRun()
		info := metrics.RunInfo{
			Key: "k" + string(rune('a'+run)), Preset: "p", Benchmark: "b", Strategy: "naive", Config: []byte(`{}`), CodeVersion: "test",
			NumExperiences: 3, EvalSubset: metrics.SubsetFixed, Variants: []string{metrics.VariantLive, "ema"},
		}
		for k := 1; k <= 3; k++ {
			info.Experiences = append(info.Experiences, metrics.ExperienceInfo{ID: k, TrainSize: 10, TestSize: 10, EvalSize: 10})
		}
		if err := w.Begin(info); err != nil {
			t.Fatal(err)
		}
		var recs []metrics.EvalRecord
		for it := range n {
			recs = recs[:0]
			for k := 1; k <= 1+it%3; k++ {
				for _, v := range []string{metrics.VariantLive, "ema"} {
					r := metrics.EvalRecord{Iteration: 3 * it, Training: 1, Evaluated: k, Variant: v, Subset: metrics.SubsetFixed,
						Correct: (7*it + k + run) % 1001, Total: 1000 + k, LossSum: math.Ldexp(float64(it+k), -7) + 0.1}
					if it%50 == 7 {
						r.LossSum = 3 // a whole number, stored as such
					}
					recs = append(recs, r)
					if run == 0 && v == metrics.VariantLive {
						want = append(want, Record{Iteration: r.Iteration, Exp: k, Correct: r.Correct, Total: r.Total, LossSum: r.LossSum})
					}
				}
			}
			if err := w.Evaluations(recs); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.End(metrics.RunComplete, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.ID())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true, Conns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Close() })
	return ro, path, ids[0], want
}

// EachRecords passes every record of the range once, in order, in blocks
// of at most scanBlock records, with the values stored; it steps through
// the rows in C (not the slower driver path), and gives the same blocks as
// the driver path.
func TestEachRecordsBlocks(t *testing.T) {
	t.Parallel()
	const n = 2*scanBlock + 123 // about 4 scanBlock records
	ro, _, id, want := scanDB(t, n)
	ctx := context.Background()
	conn, err := ro.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = conn.Raw(func(dc any) error {
		if !fastScan(dc.(*sqlite3.SQLiteConn)) {
			t.Error("EachRecords does not find the connection's SQLite handle: it would read row by row through the driver")
		}
		return nil
	})
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int{{-1, math.MaxInt32}, {-1, 0}, {0, 3}, {2, 3 * scanBlock}, {3*n - 4, 3 * n}, {3 * n, 5 * n}} {
		var sub []Record
		for _, w := range want {
			if w.Iteration > r[0] && w.Iteration <= r[1] {
				sub = append(sub, w)
			}
		}
		for _, path := range []string{"C", "driver"} {
			var got []Record
			blocks := 0
			fn := func(b *Records) error {
				blocks++
				if b.Len() == 0 || b.Len() > scanBlock || len(b.Exp) != b.Len() || len(b.Correct) != b.Len() || len(b.Total) != b.Len() || len(b.LossSum) != b.Len() {
					t.Fatalf("%s: a block of %d records (columns %d %d %d %d)", path, b.Len(), len(b.Exp), len(b.Correct), len(b.Total), len(b.LossSum))
				}
				for i := range b.Iteration {
					got = append(got, Record{Iteration: int(b.Iteration[i]), Exp: int(b.Exp[i]), Correct: int(b.Correct[i]), Total: int(b.Total[i]), LossSum: b.LossSum[i]})
				}
				return nil
			}
			if path == "C" {
				err = ro.EachRecords(ctx, id, metrics.VariantLive, r[0], r[1], fn)
			} else {
				err = driverScan(ctx, ro, id, metrics.VariantLive, r[0], r[1], fn)
			}
			if err != nil {
				t.Fatalf("%s %v: %v", path, r, err)
			}
			if len(got) != len(sub) {
				t.Fatalf("%s %v: %d records, want %d", path, r, len(got), len(sub))
			}
			for i := range got {
				if got[i] != sub[i] {
					t.Fatalf("%s %v: record %d is %+v, want %+v", path, r, i, got[i], sub[i])
				}
			}
			if wantBlocks := (len(sub) + scanBlock - 1) / scanBlock; blocks != wantBlocks {
				t.Errorf("%s %v: %d blocks of %d records, want %d", path, r, blocks, len(sub), wantBlocks)
			}
		}
	}
	// Stopping early: the callback's error, after one block.
	stop := errors.New("stop")
	blocks := 0
	if err := ro.EachRecords(ctx, id, metrics.VariantLive, -1, math.MaxInt32, func(*Records) error { blocks++; return stop }); err != stop || blocks != 1 {
		t.Errorf("callback error: got %v after %d blocks, want it after 1", err, blocks)
	}
	// A done context stops the scan with its error.
	cctx, cancel := context.WithCancel(ctx)
	blocks = 0
	err = ro.EachRecords(cctx, id, metrics.VariantLive, -1, math.MaxInt32, func(*Records) error { blocks++; cancel(); return nil })
	if !errors.Is(err, context.Canceled) || blocks != 1 {
		t.Errorf("cancelled: got %v after %d blocks, want context.Canceled after 1", err, blocks)
	}
	// The connections still work, for this scan and other queries.
	var count int
	if err := ro.db.QueryRowContext(ctx, `SELECT count(*) FROM evaluations WHERE run_id = ? AND variant = 'live'`, id).Scan(&count); err != nil || count != len(want) {
		t.Errorf("after the scans: count %d, %v; want %d", count, err, len(want))
	}
}

// cScan is EachRecords.
func cScan(ctx context.Context, d *DB, runID int64, variant string, after, upTo int, fn func(*Records) error) error {
	return d.EachRecords(ctx, runID, variant, after, upTo, fn)
}

// driverScan is EachRecords through the driver's rows.
func driverScan(ctx context.Context, d *DB, runID int64, variant string, after, upTo int, fn func(*Records) error) error {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		return scanRows(ctx, dc.(*sqlite3.SQLiteConn), runID, variant, after, upTo, fn)
	})
}

// The scan in C reads the rows in the order of the primary key, by an
// index range search (cleval_collect relies on it and checks it).
func TestCollectQueryPlan(t *testing.T) {
	t.Parallel()
	ro, _, id, _ := scanDB(t, 5)
	ctx := context.Background()
	// Register cleval_collect on a connection, then ask it for the plan.
	conn, err := ro.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		return scanC(ctx, connHandle(dc.(*sqlite3.SQLiteConn)), id, metrics.VariantLive, -1, 10, func(*Records) error { return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(ctx, `EXPLAIN QUERY PLAN `+collectQuery, id, metrics.VariantLive, -1, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var a, b, c any
		var detail string
		if err := rows.Scan(&a, &b, &c, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	want := "SEARCH evaluations USING PRIMARY KEY (run_id=? AND variant=? AND iteration>? AND iteration<?)"
	if len(plan) != 1 || plan[0] != want {
		t.Errorf("plan %q, want [%q]", plan, want)
	}
}

// A value of the wrong type in a record is one clear error, from both
// paths.
func TestEachRecordsBadValue(t *testing.T) {
	t.Parallel()
	ro, path, id, _ := scanDB(t, 10)
	rw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	ctx := context.Background()
	for _, c := range []struct {
		set, want string
	}{
		{`correct = 'many'`, "evaluation column 3 holds text, want an integer"},
		{`total = 1.5`, "evaluation column 4 holds a real number, want an integer"},
		{`loss_sum = x'00'`, "evaluation column 5 holds a blob, want a number"},
	} {
		if _, err := rw.Exec(`UPDATE evaluations SET `+c.set+` WHERE run_id = ? AND iteration = 9 AND eval_exp = 1 AND variant = 'live'`, id); err != nil {
			t.Fatal(err)
		}
		for _, scan := range []func(context.Context, *DB, int64, string, int, int, func(*Records) error) error{cScan, driverScan} {
			err := scan(ctx, ro, id, metrics.VariantLive, -1, math.MaxInt32, func(*Records) error { return nil })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: got %v, want an error saying %q", c.set, err, c.want)
			}
		}
		if _, err := rw.Exec(`UPDATE evaluations SET correct = 1, total = 10, loss_sum = 0.5 WHERE run_id = ? AND iteration = 9 AND eval_exp = 1 AND variant = 'live'`, id); err != nil {
			t.Fatal(err)
		}
	}
}
