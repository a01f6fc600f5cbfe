package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cleval/cleval/metrics"
)

// A writer writes its buffered records once FlushInterval has passed since
// its last write, so that a reader sees a slow run progress.
func TestWriterFlushesEverySecond(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "live.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := db.NewRun()
	w.now = func() time.Time { return clock }
	info := metrics.RunInfo{Key: "k", Benchmark: "b", Strategy: "naive", Config: []byte(`{}`), NumExperiences: 1,
		EvalSubset: metrics.SubsetFixed, Variants: []string{"live"}, Experiences: []metrics.ExperienceInfo{{ID: 1, Classes: []int32{0}}}}
	if err := w.Begin(info); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stored := func() (int, int) {
		t.Helper()
		evals, err := ro.Evaluations(ctx, w.ID(), "")
		if err != nil {
			t.Fatal(err)
		}
		r, err := ro.Run(ctx, w.ID())
		if err != nil {
			t.Fatal(err)
		}
		return len(evals), r.Iterations
	}
	point := func(it int) {
		t.Helper()
		if err := w.Evaluations([]metrics.EvalRecord{{Iteration: it, Training: 1, Evaluated: 1, Variant: "live", Correct: it, Total: 100, Subset: metrics.SubsetFixed}}); err != nil {
			t.Fatal(err)
		}
	}
	for it := range 3 {
		clock = clock.Add(300 * time.Millisecond)
		point(it)
	}
	if n, iters := stored(); n != 0 || iters != 0 {
		t.Fatalf("after 0.9 s: %d records, iterations %d stored; want none yet (buffered)", n, iters)
	}
	clock = clock.Add(100 * time.Millisecond)
	point(3)
	if n, iters := stored(); n != 4 || iters != 3 {
		t.Fatalf("after 1 s: %d records, iterations %d stored; want 4 and 3", n, iters)
	}
	clock = clock.Add(999 * time.Millisecond)
	point(4)
	if n, _ := stored(); n != 4 {
		t.Fatalf("0.999 s after the last write: %d records stored, want 4", n)
	}
	clock = clock.Add(time.Millisecond)
	point(5)
	if n, iters := stored(); n != 6 || iters != 5 {
		t.Fatalf("1 s after the last write: %d records, iterations %d; want 6 and 5", n, iters)
	}
}
