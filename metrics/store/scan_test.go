package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

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
