package dashboard

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/internal/testdb"
	"github.com/cleval/cleval/metrics/store"
)

// fixture is a database with complete runs of two configurations (naive
// and er, three seeds each, er with an EMA variant), an interrupted run, and a
// running run whose writer stays open so that a test can add points.
type fixture struct {
	path        string
	complete    []int64 // naive seeds 0-2, then er seeds 0-2
	interrupted int64
	running     *liveRun
}

// liveRun is a run in progress: 3 experiences of 20 iterations, stopped in
// the middle of experience 2.
type liveRun struct {
	db   *store.DB
	w    *store.RunWriter
	id   int64
	last int
}

const liveIters = 20

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "dash.db")}
	var runs []testdb.Run
	for seed := range 3 {
		runs = append(runs, testdb.Run{Preset: "p-naive", Strategy: "naive", Seed: uint64(seed), Experiences: 3, ItersPerExp: 12})
	}
	for seed := range 3 {
		runs = append(runs, testdb.Run{Preset: "p-er", Strategy: "er", Seed: uint64(seed), Experiences: 3, ItersPerExp: 12,
			Quality: 0.05, Variants: []string{metrics.VariantLive, "ema0.99"}})
	}
	runs = append(runs, testdb.Run{Preset: "p-er", Strategy: "er", Seed: 9, Experiences: 3, ItersPerExp: 12, Status: metrics.RunInterrupted})
	ids, err := testdb.Write(f.path, runs...)
	if err != nil {
		t.Fatal(err)
	}
	f.complete, f.interrupted = ids[:6], ids[6]
	f.running = startLive(t, f.path)
	return f
}

// liveAcc is the running run's accuracy on experience k at iteration it.
func liveAcc(it, k int) float64 {
	start := (k - 1) * liveIters
	if it <= start {
		return 0.1
	}
	return 0.5 + 0.4*(1-math.Exp(-float64(it-start)/4)) - 0.2*float64(it/liveIters-(k-1))
}

func startLive(t testing.TB, path string) *liveRun {
	t.Helper()
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	lr := &liveRun{db: db, w: db.NewRun()}
	info := metrics.RunInfo{
		Key: "live", Preset: "p-live", Benchmark: "split-synthetic", Strategy: "er", Seed: 4,
		Config:         []byte(`{"benchmark":"split-synthetic","strategy":"er","epochs":1,"batch_size":10,"seed":4}`),
		CodeVersion:    "test",
		NumExperiences: 3, EvalSubset: metrics.SubsetFixed, Variants: []string{metrics.VariantLive},
	}
	for k := 1; k <= 3; k++ {
		info.Experiences = append(info.Experiences, metrics.ExperienceInfo{ID: k, Classes: []int32{int32(2*k - 2), int32(2*k - 1)}, TrainSize: 10 * liveIters, TestSize: 50, EvalSize: 50})
	}
	if err := lr.w.Begin(info); err != nil {
		t.Fatal(err)
	}
	lr.id = lr.w.ID()
	lr.last = -1
	for it := 0; it <= liveIters+liveIters/2; it++ {
		lr.add(t, it)
	}
	return lr
}

// add stores the evaluation point at iteration it and commits it.
func (lr *liveRun) add(t testing.TB, it int) {
	t.Helper()
	c := it/liveIters + 1
	if it > 0 && it%liveIters == 0 {
		c = it / liveIters
	}
	upTo := c
	if it == c*liveIters && c < 3 {
		upTo = c + 1
	}
	var recs []metrics.EvalRecord
	for k := 1; k <= upTo; k++ {
		correct := int(math.Round(50 * liveAcc(it, k)))
		recs = append(recs, metrics.EvalRecord{Iteration: it, Training: c, Evaluated: k, Variant: metrics.VariantLive,
			Correct: correct, Total: 50, LossSum: float64(50-correct) * 0.5, Subset: metrics.SubsetFixed})
	}
	if err := lr.w.Evaluations(recs); err != nil {
		t.Fatal(err)
	}
	if it > 0 && it%liveIters == 0 {
		if err := lr.w.ExperienceEnd(it/liveIters, it); err != nil {
			t.Fatal(err)
		}
	}
	if err := lr.w.Flush(); err != nil {
		t.Fatal(err)
	}
	lr.last = it
}
