package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cleval/cleval/metrics"
)

// fakeRun feeds a writer a small 2-experience run: evaluation every
// iteration, 3 iterations per experience, one variant.
func fakeRun(t *testing.T, w *RunWriter, status metrics.RunStatus) ([]metrics.EvalRecord, []metrics.MatrixRecord) {
	t.Helper()
	info := metrics.RunInfo{
		Key: "k1", Preset: "p", Benchmark: "split-synthetic", Strategy: "naive", Seed: 7,
		Config: []byte(`{"seed":7}`), CodeVersion: "test", NumExperiences: 2,
		EvalSubset: metrics.SubsetFixed, Variants: []string{metrics.VariantLive},
		Experiences: []metrics.ExperienceInfo{
			{ID: 1, Classes: []int32{0, 1}, TrainSize: 30, TestSize: 10, EvalSize: 10},
			{ID: 2, Classes: []int32{2, 3}, Task: 1, TrainSize: 30, TestSize: 8, EvalSize: 8},
		},
	}
	if err := w.Begin(info); err != nil {
		t.Fatal(err)
	}
	var evals []metrics.EvalRecord
	var mat []metrics.MatrixRecord
	row := func(i int, c1, c2 int) {
		r := []metrics.MatrixRecord{
			{Row: i, Col: 1, Variant: "live", Correct: c1, Total: 10, LossSum: 1.25 * float64(i+1)},
			{Row: i, Col: 2, Variant: "live", Correct: c2, Total: 8, LossSum: 0.1},
		}
		mat = append(mat, r...)
		if err := w.Matrix(r); err != nil {
			t.Fatal(err)
		}
	}
	point := func(recs ...metrics.EvalRecord) {
		for i := range recs {
			recs[i].Variant, recs[i].Subset = "live", metrics.SubsetFixed
		}
		evals = append(evals, recs...)
		if err := w.Evaluations(recs); err != nil {
			t.Fatal(err)
		}
	}
	row(0, 5, 4)
	point(metrics.EvalRecord{Iteration: 0, Training: 1, Evaluated: 1, Correct: 5, Total: 10, LossSum: 0.1 + 0.2})
	point(metrics.EvalRecord{Iteration: 1, Training: 1, Evaluated: 1, Correct: 7, Total: 10, LossSum: 1})
	point(metrics.EvalRecord{Iteration: 2, Training: 1, Evaluated: 1, Correct: 8, Total: 10, LossSum: 1})
	point(metrics.EvalRecord{Iteration: 3, Training: 1, Evaluated: 1, Correct: 9, Total: 10, LossSum: 1},
		metrics.EvalRecord{Iteration: 3, Training: 1, Evaluated: 2, Correct: 0, Total: 8, LossSum: 3})
	row(1, 9, 0)
	if err := w.ExperienceEnd(1, 3); err != nil {
		t.Fatal(err)
	}
	if status == metrics.RunInterrupted {
		point(metrics.EvalRecord{Iteration: 4, Training: 2, Evaluated: 1, Correct: 2, Total: 10, LossSum: 1},
			metrics.EvalRecord{Iteration: 4, Training: 2, Evaluated: 2, Correct: 4, Total: 8, LossSum: 1})
		return evals, mat
	}
	for it, c := range [][2]int{{2, 4}, {6, 6}, {8, 8}} {
		point(metrics.EvalRecord{Iteration: 4 + it, Training: 2, Evaluated: 1, Correct: c[0], Total: 10, LossSum: 1},
			metrics.EvalRecord{Iteration: 4 + it, Training: 2, Evaluated: 2, Correct: c[1], Total: 8, LossSum: 1})
	}
	row(2, 8, 8)
	if err := w.ExperienceEnd(2, 6); err != nil {
		t.Fatal(err)
	}
	return evals, mat
}

func metricValue(t *testing.T, ms []Metric, name string) Metric {
	t.Helper()
	for _, m := range ms {
		if m.Name == name && m.K == 0 && m.J == 0 && m.Variant == "live" {
			return m
		}
	}
	t.Fatalf("metric %s not stored", name)
	return Metric{}
}

func TestRoundTripOnRealFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewRun()
	evals, mat := fakeRun(t, w, metrics.RunComplete)
	if err := w.End(metrics.RunComplete, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Reopen read-only: everything reads back exactly.
	db, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	r, err := db.Run(ctx, w.ID())
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != metrics.RunComplete || r.Key != "k1" || r.Seed != 7 || r.Iterations != 6 || r.NumExperiences != 2 || r.EndedAt.IsZero() || string(r.Config) != `{"seed":7}` {
		t.Errorf("run read back as %+v", r)
	}
	gotE, err := db.Evaluations(ctx, r.ID, "live")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotE, evals) {
		t.Errorf("evaluations differ:\n got %v\nwant %v", gotE, evals)
	}
	gotM, err := db.Matrix(ctx, r.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotM, mat) {
		t.Errorf("matrix differs:\n got %v\nwant %v", gotM, mat)
	}
	infos, ends, err := db.Experiences(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || !reflect.DeepEqual(ends, []int{3, 6}) || infos[1].Task != 1 || infos[1].EvalSize != 8 || !reflect.DeepEqual(infos[0].Classes, []int32{0, 1}) {
		t.Errorf("experiences %+v ends %v", infos, ends)
	}
	ms, err := db.Metrics(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	// ACC = mean(R_{2,1}, R_{2,2}) = (0.8 + 1.0)/2 = 0.9.
	if m := metricValue(t, ms, "acc"); m.Null || m.Value != 0.9 {
		t.Errorf("acc %+v, want 0.9", m)
	}
	// min-ACC: min of A_1 over t in (3, 6] = min(0.2, 0.6, 0.8) = 0.2.
	if m := metricValue(t, ms, "min_acc"); m.Null || m.Value != 0.2 {
		t.Errorf("min_acc %+v, want 0.2", m)
	}
	// The metrics equal those computed directly from the records.
	vals, err := metrics.Compute(metrics.Input{NumExperiences: 2, Ends: []int{3, 6}, Evals: evals, Matrix: mat})
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != len(ms) {
		t.Fatalf("%d metrics stored, %d computed", len(ms), len(vals))
	}
	byKey := map[[3]any]Metric{}
	for _, m := range ms {
		byKey[[3]any{m.Name, m.K, m.J}] = m
	}
	for _, v := range vals {
		m, ok := byKey[[3]any{v.Name, v.K, v.J}]
		if !ok || m.Null != v.Null || (!v.Null && m.Value != v.Value) {
			t.Errorf("metric %s k=%d j=%d stored %+v, computed %+v", v.Name, v.K, v.J, m, v)
		}
	}
}

func TestInterruptedRunIsNotComplete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := db.NewRun()
	evals, _ := fakeRun(t, w, metrics.RunInterrupted)
	// Before End, a reader sees a running run with the flushed records.
	ctx := context.Background()
	r, _ := db.Run(ctx, w.ID())
	if r.Status != metrics.RunRunning {
		t.Errorf("status before End %s, want running", r.Status)
	}
	if err := w.End(metrics.RunInterrupted, errors.New("context canceled")); err != nil {
		t.Fatal(err)
	}
	r, _ = db.Run(ctx, w.ID())
	if r.Status != metrics.RunInterrupted || r.Error != "context canceled" {
		t.Errorf("run %+v, want interrupted with its cause", r)
	}
	ms, _ := db.Metrics(ctx, w.ID())
	if len(ms) != 0 {
		t.Errorf("interrupted run has %d metrics, want none", len(ms))
	}
	got, _ := db.Evaluations(ctx, w.ID(), "")
	if len(got) != len(evals) {
		t.Errorf("%d partial records kept, want %d", len(got), len(evals))
	}
	if err := db.RecomputeMetrics(ctx, w.ID()); err == nil {
		t.Error("RecomputeMetrics accepted an interrupted run")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	t.Run("not a database", func(t *testing.T) {
		p := filepath.Join(dir, "junk.db")
		os.WriteFile(p, []byte("this is not an SQLite file, just text that is long enough to have a header......"), 0o644)
		_, err := Open(p, Options{})
		if !errors.Is(err, ErrNotDatabase) {
			t.Errorf("got %v, want ErrNotDatabase", err)
		}
	})
	t.Run("foreign database", func(t *testing.T) {
		p := filepath.Join(dir, "other.db")
		sdb, err := sql.Open("sqlite3", p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sdb.Exec(`CREATE TABLE x(a)`); err != nil {
			t.Fatal(err)
		}
		sdb.Close()
		if _, err := Open(p, Options{}); !errors.Is(err, ErrNotDatabase) {
			t.Errorf("got %v, want ErrNotDatabase", err)
		}
	})
	t.Run("newer schema", func(t *testing.T) {
		p := filepath.Join(dir, "new.db")
		db, err := Open(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.SQL().Exec(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`)
		db.Close()
		if _, err := Open(p, Options{}); !errors.Is(err, ErrSchema) {
			t.Errorf("got %v, want ErrSchema", err)
		}
	})
	t.Run("missing read-only", func(t *testing.T) {
		p := filepath.Join(dir, "absent.db")
		if _, err := Open(p, Options{ReadOnly: true}); err == nil {
			t.Error("opened a missing database read-only")
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Error("a read-only open created the file")
		}
	})
	t.Run("read-only file", func(t *testing.T) {
		if os.Geteuid() == 0 {
			// root ignores file permissions; use a read-only open of a
			// database instead, which must refuse writes.
			p := filepath.Join(dir, "ro.db")
			db, err := Open(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			db, err = Open(p, Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			w := db.NewRun()
			err = w.Begin(metrics.RunInfo{Config: []byte("{}"), Variants: []string{"live"}})
			if !errors.Is(err, ErrReadOnly) {
				t.Errorf("write to read-only database: %v, want ErrReadOnly", err)
			}
			return
		}
		p := filepath.Join(dir, "ro.db")
		db, err := Open(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		os.Chmod(p, 0o444)
		if _, err := Open(p, Options{}); err == nil {
			t.Error("opened a read-only file for writing")
		}
	})
}
