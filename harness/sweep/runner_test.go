package sweep

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cleval/cleval/harness"
	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// flaky is naive fine-tuning that fails at its first update while
// flakyFail is set.
type flaky struct {
	strategies.Strategy
}

var flakyFail atomic.Bool

func (f flaky) Name() string { return "sweep-test-flaky" }

func (f flaky) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	if flakyFail.Load() {
		return strategies.StepResult{}, errors.New("flaky failure")
	}
	return f.Strategy.Step(ctx, b)
}

func init() {
	strategies.Register(strategies.Def[struct{}]{
		Name:    "sweep-test-flaky",
		Summary: "test only",
		New: func(*struct{}) (strategies.Strategy, error) {
			r, err := strategies.Resolve("naive", nil)
			return flaky{r.Strategy}, err
		},
	})
}

// testSweep is 12 short runs on the synthetic stream.
const testSweep = `
preset: delange-smnist-er
base:
  benchmark: split-synthetic
  epochs: 2
  hidden: [16]
  batch_size: 32
  eval: {size: 50}
seeds: 0-2
grid:
  strategy: [naive, er]
  optimizer.lr: [0.02, 0.05]
`

func testPlan(t *testing.T, src string) *Plan {
	t.Helper()
	plan := mustExpand(t, src)
	if err := plan.Prepare(testData); err != nil {
		t.Fatal(err)
	}
	return plan
}

var testData = &harness.Data{}

func openDB(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// digests returns key -> status and digest of every run, failing on a key
// stored twice.
func digests(t *testing.T, db *store.DB) map[string]string {
	t.Helper()
	ctx := context.Background()
	runs, err := db.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range runs {
		rd, err := db.ReadRun(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := out[r.Key]; dup {
			t.Errorf("key %s stored twice", r.Key)
		}
		out[r.Key] = string(r.Status) + " " + rd.Digest()
	}
	return out
}

func sameDigests(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d runs, want %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("key %s: %q, want %q", k, got[k], w)
		}
	}
}

func run(t *testing.T, ctx context.Context, r *Runner, runs []Run) *Summary {
	t.Helper()
	sum, err := r.Run(ctx, runs)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	return sum
}

// TestResumeAfterCancelIsExact interrupts a sweep several times and
// resumes it; the result equals an uninterrupted sweep with another number
// of workers, bit for bit.
func TestResumeAfterCancelIsExact(t *testing.T) {
	plan := testPlan(t, testSweep)
	if len(plan.Runs) != 12 {
		t.Fatalf("%d runs", len(plan.Runs))
	}
	dir := t.TempDir()
	ref := openDB(t, filepath.Join(dir, "ref.db"))
	sum := run(t, context.Background(), &Runner{DB: ref, Data: testData, Workers: 1}, plan.Runs)
	if n := sum.Count(metrics.RunComplete); n != 12 {
		t.Fatalf("%d complete runs", n)
	}
	want := digests(t, ref)

	db := openDB(t, filepath.Join(dir, "resumed.db"))
	for attempt, stopAfter := range []int{5, 150, 400} {
		ctx, cancel := context.WithCancel(context.Background())
		var n atomic.Int64
		r := &Runner{DB: db, Data: testData, Workers: 2, Events: func(e Event) {
			if e.Kind == EventProgress && n.Add(1) == int64(stopAfter) {
				cancel()
			}
		}}
		sum := run(t, ctx, r, plan.Runs)
		cancel()
		// Nothing is left running; interrupted runs kept their records.
		var running int
		db.SQL().QueryRow(`SELECT count(*) FROM runs WHERE status = 'running'`).Scan(&running)
		if running != 0 {
			t.Errorf("attempt %d: %d runs left running", attempt, running)
		}
		if sum.Count(metrics.RunInterrupted) == 0 {
			t.Errorf("attempt %d: nothing was interrupted", attempt)
		}
	}
	sum = run(t, context.Background(), &Runner{DB: db, Data: testData, Workers: 2}, plan.Runs)
	if n := sum.Count(metrics.RunComplete); n != 12 {
		t.Fatalf("%d complete after resuming", n)
	}
	sameDigests(t, digests(t, db), want)
	// A sweep of a complete database runs nothing.
	sum = run(t, context.Background(), &Runner{DB: db, Data: testData, Workers: 2}, plan.Runs)
	for _, o := range sum.Outcomes {
		if o.Ran || o.State.State != store.StateDone {
			t.Errorf("run %d: ran %v, state %v", o.Run.Index, o.Ran, o.State.State)
		}
	}
}

func TestRetryFailed(t *testing.T) {
	plan := testPlan(t, `
preset: delange-smnist-naive
base: {benchmark: split-synthetic, epochs: 1, hidden: [8], strategy: sweep-test-flaky}
seeds: 0-1
`)
	db := openDB(t, filepath.Join(t.TempDir(), "f.db"))
	flakyFail.Store(true)
	defer flakyFail.Store(false)
	sum := run(t, context.Background(), &Runner{DB: db, Data: testData}, plan.Runs)
	if sum.Count(metrics.RunFailed) != 2 || sum.Outcomes[0].Err == nil {
		t.Fatalf("outcomes %+v", sum.Outcomes)
	}
	flakyFail.Store(false)
	sum = run(t, context.Background(), &Runner{DB: db, Data: testData}, plan.Runs)
	if sum.Count(metrics.RunFailed) != 2 || sum.Outcomes[0].Ran {
		t.Errorf("failed runs were redone without RetryFailed: %+v", sum.Outcomes)
	}
	sum = run(t, context.Background(), &Runner{DB: db, Data: testData, RetryFailed: true}, plan.Runs)
	if sum.Count(metrics.RunComplete) != 2 {
		t.Errorf("RetryFailed: %+v", sum.Outcomes)
	}
	var n int
	db.SQL().QueryRow(`SELECT count(*) FROM runs`).Scan(&n)
	if n != 2 {
		t.Errorf("%d runs stored, want 2 (the failed attempts deleted)", n)
	}
}

// TestTwoRunnersOneDatabase runs one plan with two runners on separate
// connections (as two processes would) at once: every key is stored once.
func TestTwoRunnersOneDatabase(t *testing.T) {
	plan := testPlan(t, testSweep)
	path := filepath.Join(t.TempDir(), "shared.db")
	var wg sync.WaitGroup
	sums := make([]*Summary, 2)
	for i := range sums {
		db := openDB(t, path)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := (&Runner{DB: db, Data: testData, Workers: 2}).Run(context.Background(), plan.Runs)
			if err != nil {
				t.Error(err)
			}
			sums[i] = s
		}()
	}
	wg.Wait()
	ran := 0
	for _, s := range sums {
		for _, o := range s.Outcomes {
			if o.Ran {
				ran++
			}
		}
	}
	if ran != 12 {
		t.Errorf("%d runs ran in all, want 12", ran)
	}
	db := openDB(t, path)
	got := digests(t, db)
	var complete int
	db.SQL().QueryRow(`SELECT count(*) FROM runs WHERE status = 'complete'`).Scan(&complete)
	if len(got) != 12 || complete != 12 {
		t.Errorf("%d keys, %d complete runs; want 12", len(got), complete)
	}
}

// TestRemoteOwnerGoesSilent: a key left running by a process on another
// host (a pod or node that was killed) is waited for while its heartbeat
// is fresh, then redone once the lease runs out; the sweep returns with
// every key complete.
func TestRemoteOwnerGoesSilent(t *testing.T) {
	plan := testPlan(t, `
preset: delange-smnist-naive
base: {benchmark: split-synthetic, epochs: 1, hidden: [8]}
seeds: 0-2
`)
	db := openDB(t, filepath.Join(t.TempDir(), "r.db"))
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if _, err := db.SQL().Exec(`INSERT INTO owners(token, host, boot_id, pid, proc_start, started_at, heartbeat_at) VALUES ('gone', 'another-node', 'b', 1, 1, ?, ?)`, now, now); err != nil {
		t.Fatal(err)
	}
	w := db.NewClaimedRun(store.ClaimOptions{Owner: &store.Owner{Token: "gone", Host: "another-node"}})
	cfg := plan.Runs[1].Config
	if err := w.Begin(metrics.RunInfo{Key: plan.Runs[1].Key, Benchmark: cfg.Benchmark, Strategy: cfg.Strategy, Config: cfg.JSON(), NumExperiences: 5, EvalSubset: metrics.SubsetFixed, Variants: []string{"live"}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sum := run(t, context.Background(), &Runner{DB: db, Data: testData, Lease: 600 * time.Millisecond, Poll: 50 * time.Millisecond}, plan.Runs)
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("returned after %v: did not wait for the other host's lease", d)
	}
	if n := sum.Count(metrics.RunComplete); n != 3 || !sum.Outcomes[1].Ran {
		t.Errorf("%d complete; outcome of the key %+v", n, sum.Outcomes[1])
	}
	got := digests(t, db)
	if len(got) != 3 {
		t.Errorf("%d keys stored", len(got))
	}
}
