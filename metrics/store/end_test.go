package store

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cleval/cleval/metrics"
)

// TestEndNeverLeavesARunRunning: when the last records cannot be stored (a
// NaN loss, which SQLite would turn into NULL), End stores the run as
// failed with the reason, keeps the records written before, and returns
// an error wrapping ErrStoredFailed.
func TestEndNeverLeavesARunRunning(t *testing.T) {
	db := openTemp(t, "e.db")
	w := db.NewRun()
	if err := writeRun(t, w, "k", 0, metrics.RunRunning); err != nil {
		t.Fatal(err)
	}
	w.Evaluations([]metrics.EvalRecord{{Iteration: 5, Training: 2, Evaluated: 1, Variant: "live", Correct: 1, Total: 10, LossSum: math.NaN(), Subset: metrics.SubsetFixed}})
	err := w.End(metrics.RunComplete, nil)
	if !errors.Is(err, ErrStoredFailed) || !strings.Contains(err.Error(), "not a finite number") {
		t.Fatalf("End: %v, want ErrStoredFailed naming the record", err)
	}
	r, err := db.Run(context.Background(), w.ID())
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != metrics.RunFailed || !strings.Contains(r.Error, "NaN is not a finite number") || r.EndedAt.IsZero() {
		t.Errorf("stored %s, error %q, ended %v: want failed with the reason", r.Status, r.Error, r.EndedAt)
	}
	evals, err := db.Evaluations(context.Background(), w.ID(), "")
	if err != nil || len(evals) != 8 {
		t.Errorf("%d evaluation records kept (%v), want the 8 written before", len(evals), err)
	}
}

// TestInterruptedBeforeTheFirstUpdateIsDeleted: a run interrupted before it
// made an update (nothing but its t = 0 records) is not stored.
func TestInterruptedBeforeTheFirstUpdateIsDeleted(t *testing.T) {
	db := openTemp(t, "i.db")
	w := db.NewRun()
	info := metrics.RunInfo{Key: "k", Benchmark: "b", Strategy: "naive", Config: []byte(`{}`), NumExperiences: 1,
		EvalSubset: metrics.SubsetFixed, Variants: []string{"live"}, Experiences: []metrics.ExperienceInfo{{ID: 1, Classes: []int32{0}}}}
	if err := w.Begin(info); err != nil {
		t.Fatal(err)
	}
	w.Evaluations([]metrics.EvalRecord{{Iteration: 0, Training: 1, Evaluated: 1, Variant: "live", Total: 1, Subset: metrics.SubsetFixed}})
	if err := w.End(metrics.RunInterrupted, context.Canceled); err != nil {
		t.Fatal(err)
	}
	runs, err := db.Runs(context.Background())
	if err != nil || len(runs) != 0 || w.ID() != 0 {
		t.Errorf("%d runs stored (%v), writer id %d: want none", len(runs), err, w.ID())
	}
}

// TestRetryDiverged: a diverged key is done for a sweep, and redone (its
// diverged run deleted) only with RetryDiverged.
func TestRetryDiverged(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t, "d.db")
	o := owner(t, db)
	if err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: o}), "k", 0, metrics.RunDiverged); err != nil {
		t.Fatal(err)
	}
	st, err := db.KeyStates(ctx, []string{"k"}, 0)
	if err != nil || st["k"].State != StateDone || st["k"].Status != metrics.RunDiverged || st["k"].ToRun(true) {
		t.Fatalf("state %+v (%v): want done, diverged, not run even when retrying failed runs", st["k"], err)
	}
	var ce *ClaimError
	if err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: o, RetryFailed: true}), "k", 0, metrics.RunComplete); !errors.As(err, &ce) {
		t.Fatalf("claim with RetryFailed: %v, want a ClaimError", err)
	}
	if err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: o, RetryDiverged: true}), "k", 0, metrics.RunComplete); err != nil {
		t.Fatalf("claim with RetryDiverged: %v", err)
	}
	if got := statusesOf(t, db, "k"); len(got) != 1 || got[0] != metrics.RunComplete {
		t.Errorf("runs of the key: %v, want the diverged one replaced", got)
	}
}

// TestDeadRunsAreShownAndPruned: a run left running by a process that is
// gone (on this machine) is Dead, one of a live process Alive, one written
// without a claim on another machine Unknown; PruneDead stores only the
// dead one as interrupted.
func TestDeadRunsAreShownAndPruned(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t, "p.db")
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	live := exec.Command("sleep", "60")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	defer live.Process.Kill()
	host, _ := os.Hostname()
	for i, r := range []struct {
		key, host string
		pid       int
	}{{"dead", host, gone.ProcessState.Pid()}, {"alive", host, live.Process.Pid}, {"elsewhere", "another-host", 12345}} {
		w := db.NewRun()
		if err := writeRun(t, w, r.key, i, metrics.RunRunning); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().Exec(`UPDATE runs SET host = ?, pid = ? WHERE id = ?`, r.host, r.pid, w.ID()); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Running(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]Liveness{1: Dead, 2: Alive, 3: Unknown}
	for id, l := range want {
		if got[id].Liveness != l {
			t.Errorf("run %d: %v (%s), want %v", id, got[id].Liveness, got[id].Holder, l)
		}
	}
	n, err := db.PruneDead(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("PruneDead: %d, %v; want 1", n, err)
	}
	if s := statusesOf(t, db, "dead"); len(s) != 1 || s[0] != metrics.RunInterrupted {
		t.Errorf("dead run: %v, want interrupted", s)
	}
	for _, k := range []string{"alive", "elsewhere"} {
		if s := statusesOf(t, db, k); len(s) != 1 || s[0] != metrics.RunRunning {
			t.Errorf("%s run: %v, want still running", k, s)
		}
	}
}

// TestOpenRefusesPathsThatCannotBeDatabases: an empty path and a
// directory are ErrPath, before SQLite is asked.
func TestOpenRefusesPathsThatCannotBeDatabases(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"", dir} {
		for _, ro := range []bool{false, true} {
			if _, err := Open(p, Options{ReadOnly: ro}); !errors.Is(err, ErrPath) {
				t.Errorf("Open(%q, read-only %v): %v, want ErrPath", p, ro, err)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("files created in the directory: %v", entries)
	}
}
