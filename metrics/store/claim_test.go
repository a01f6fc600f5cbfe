package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cleval/cleval/metrics"
)

// writeRun stores a small 2-experience run of key through w; delta changes
// its results (a different delta is a conflicting result for the key).
// status complete or failed ends it; running leaves it as a killed process
// would; interrupted ends it after the first experience.
func writeRun(t *testing.T, w *RunWriter, key string, delta int, status metrics.RunStatus) error {
	t.Helper()
	info := metrics.RunInfo{
		Key: key, Benchmark: "split-synthetic", Strategy: "naive", Seed: 1,
		Config: []byte(`{"k":"` + key + `"}`), CodeVersion: "test", NumExperiences: 2,
		EvalSubset: metrics.SubsetFixed, Variants: []string{metrics.VariantLive},
		Experiences: []metrics.ExperienceInfo{
			{ID: 1, Classes: []int32{0, 1}, TrainSize: 30, TestSize: 10, EvalSize: 10},
			{ID: 2, Classes: []int32{2, 3}, TrainSize: 30, TestSize: 10, EvalSize: 10},
		},
	}
	if err := w.Begin(info); err != nil {
		return err
	}
	ev := func(it, c, k, correct int) metrics.EvalRecord {
		return metrics.EvalRecord{Iteration: it, Training: c, Evaluated: k, Variant: "live", Correct: correct, Total: 10, LossSum: 0.1 * float64(correct+delta), Subset: metrics.SubsetFixed}
	}
	mat := func(row, c1, c2 int) []metrics.MatrixRecord {
		return []metrics.MatrixRecord{
			{Row: row, Col: 1, Variant: "live", Correct: c1, Total: 10, LossSum: 1.5 + float64(delta)},
			{Row: row, Col: 2, Variant: "live", Correct: c2, Total: 10, LossSum: 2.5},
		}
	}
	steps := []func() error{
		func() error { return w.Matrix(mat(0, 5, 5)) },
		func() error { return w.Evaluations([]metrics.EvalRecord{ev(0, 1, 1, 5)}) },
		func() error { return w.Evaluations([]metrics.EvalRecord{ev(1, 1, 1, 7)}) },
		func() error { return w.Evaluations([]metrics.EvalRecord{ev(2, 1, 1, 9), ev(2, 1, 2, 1)}) },
		func() error { return w.Matrix(mat(1, 9, 1)) },
		func() error { return w.ExperienceEnd(1, 2) },
	}
	if status != metrics.RunInterrupted {
		steps = append(steps,
			func() error { return w.Evaluations([]metrics.EvalRecord{ev(3, 2, 1, 6), ev(3, 2, 2, 6)}) },
			func() error { return w.Evaluations([]metrics.EvalRecord{ev(4, 2, 1, 7+delta%3), ev(4, 2, 2, 8)}) },
			func() error { return w.Matrix(mat(2, 7, 8)) },
			func() error { return w.ExperienceEnd(2, 4) },
		)
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	switch status {
	case metrics.RunRunning:
		return nil
	case metrics.RunFailed:
		return w.End(status, errors.New("boom"))
	}
	return w.End(status, nil)
}

func openTemp(t *testing.T, name string) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), name), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func owner(t *testing.T, db *DB) *Owner {
	t.Helper()
	o, err := db.RegisterOwner(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func statusesOf(t *testing.T, db *DB, key string) []metrics.RunStatus {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT status FROM runs WHERE key = ? ORDER BY id`, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []metrics.RunStatus
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, metrics.RunStatus(s))
	}
	return out
}

func TestClaimSkipsDoneAndRedoesPartial(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t, "c.db")
	o := owner(t, db)
	claimed := func() *RunWriter { return db.NewClaimedRun(ClaimOptions{Owner: o}) }

	if err := writeRun(t, claimed(), "a", 0, metrics.RunComplete); err != nil {
		t.Fatal(err)
	}
	err := writeRun(t, claimed(), "a", 0, metrics.RunComplete)
	var ce *ClaimError
	if !errors.As(err, &ce) || ce.State.State != StateDone || !errors.Is(err, ErrNotClaimed) {
		t.Fatalf("second claim of a complete key: %v", err)
	}

	// An interrupted run is redone, its partial rows deleted in the claim.
	if err := writeRun(t, claimed(), "b", 0, metrics.RunInterrupted); err != nil {
		t.Fatal(err)
	}
	st, _ := db.KeyStates(ctx, []string{"b", "zzz"}, 0)
	if st["b"].State != StateRedo || st["zzz"].State != StateNew {
		t.Fatalf("states %+v", st)
	}
	if err := writeRun(t, claimed(), "b", 0, metrics.RunComplete); err != nil {
		t.Fatal(err)
	}
	if got := statusesOf(t, db, "b"); len(got) != 1 || got[0] != metrics.RunComplete {
		t.Errorf("key b: %v, want one complete run", got)
	}
	var orphans int
	db.SQL().QueryRow(`SELECT count(*) FROM evaluations WHERE run_id NOT IN (SELECT id FROM runs)`).Scan(&orphans)
	if orphans != 0 {
		t.Errorf("%d evaluation rows of deleted runs", orphans)
	}

	// A failed run stays failed unless retried.
	if err := writeRun(t, claimed(), "c", 0, metrics.RunFailed); err != nil {
		t.Fatal(err)
	}
	if err := writeRun(t, claimed(), "c", 0, metrics.RunComplete); !errors.As(err, &ce) || ce.State.State != StateFailed {
		t.Fatalf("claim of a failed key: %v", err)
	}
	if err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: o, RetryFailed: true}), "c", 0, metrics.RunComplete); err != nil {
		t.Fatal(err)
	}
	if got := statusesOf(t, db, "c"); len(got) != 1 || got[0] != metrics.RunComplete {
		t.Errorf("key c: %v, want one complete run", got)
	}
}

// TestDeadOwnerIsRedone: a run left running by a process that is gone
// (here: an owner whose pid is not alive) is redone; one of a live process
// of this host is busy; one of another host counts as alive while its
// heartbeat is within the lease.
func TestDeadOwnerIsRedone(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t, "d.db")
	me := owner(t, db)
	fake := func(token, host string, pid int, start int64, heartbeat time.Time) *Owner {
		boot := bootID()
		if _, err := db.SQL().Exec(`INSERT INTO owners(token, host, boot_id, pid, proc_start, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			token, host, boot, pid, start, timestamp(heartbeat), timestamp(heartbeat)); err != nil {
			t.Fatal(err)
		}
		return &Owner{Token: token, Host: host, BootID: boot, PID: pid, ProcStart: start}
	}
	// A dead process: our pid with another start time (a reused pid).
	dead := fake("dead", me.Host, me.PID, me.ProcStart+12345, time.Now())
	if err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: dead}), "k", 0, metrics.RunRunning); err != nil {
		t.Fatal(err)
	}
	// The parent process (the test runner) is alive.
	ppid := os.Getppid()
	pstart, err := procStart(ppid)
	if err != nil {
		t.Skip("no /proc:", err)
	}
	live := fake("live", me.Host, ppid, pstart, time.Now())
	if err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: live}), "l", 0, metrics.RunRunning); err != nil {
		t.Fatal(err)
	}
	remoteFresh := fake("rf", "elsewhere", 1, 1, time.Now())
	if err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: remoteFresh}), "rf", 0, metrics.RunRunning); err != nil {
		t.Fatal(err)
	}
	remoteStale := fake("rs", "elsewhere", 1, 1, time.Now().Add(-time.Hour))
	if err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: remoteStale}), "rs", 0, metrics.RunRunning); err != nil {
		t.Fatal(err)
	}
	st, err := db.KeyStates(ctx, []string{"k", "l", "rf", "rs"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]State{"k": StateRedo, "l": StateBusy, "rf": StateBusy, "rs": StateRedo}
	for k, s := range want {
		if st[k].State != s {
			t.Errorf("key %s: %v (%+v), want %v", k, st[k].State, st[k], s)
		}
	}
	// Claiming the dead run's key deletes it; the dead process's writer
	// then finds its run gone.
	old := db.NewClaimedRun(ClaimOptions{Owner: dead})
	if err := writeRun(t, old, "k2", 0, metrics.RunRunning); err != nil {
		t.Fatal(err)
	}
	if err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: me}), "k2", 0, metrics.RunComplete); err != nil {
		t.Fatal(err)
	}
	if err := old.End(metrics.RunComplete, nil); !errors.Is(err, ErrClaimLost) {
		t.Errorf("the taken-over writer ended with %v, want ErrClaimLost", err)
	}
	if got := statusesOf(t, db, "k2"); len(got) != 1 || got[0] != metrics.RunComplete {
		t.Errorf("key k2: %v, want one complete run", got)
	}
	// A live holder blocks the claim.
	var ce *ClaimError
	if err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: me}), "l", 0, metrics.RunComplete); !errors.As(err, &ce) || ce.State.State != StateBusy {
		t.Errorf("claim of a busy key: %v", err)
	}
	// Released owners' runs are redone at once.
	if err := db.ReleaseOwner(ctx, live); err != nil {
		t.Fatal(err)
	}
	st, _ = db.KeyStates(ctx, []string{"l"}, time.Minute)
	if st["l"].State != StateRedo {
		t.Errorf("run of a released owner: %v, want redo", st["l"].State)
	}
}

// TestConcurrentClaimsOneWinner: many goroutines on separate connections
// (as separate processes would be) claim the same keys; each key is run
// exactly once.
func TestConcurrentClaimsOneWinner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conc.db")
	keys := []string{"a", "b", "c", "d", "e", "f"}
	const procs = 4
	var wg sync.WaitGroup
	errs := make(chan error, procs*len(keys))
	for range procs {
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		o := owner(t, db)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, k := range keys {
				err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: o}), k, 0, metrics.RunComplete)
				if err != nil && !errors.Is(err, ErrNotClaimed) {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	sdb, _ := sql.Open("sqlite3", path)
	defer sdb.Close()
	for _, k := range keys {
		var n, c int
		sdb.QueryRow(`SELECT count(*), sum(status = 'complete') FROM runs WHERE key = ?`, k).Scan(&n, &c)
		if n != 1 || c != 1 {
			t.Errorf("key %s: %d runs, %d complete; want one complete", k, n, c)
		}
	}
}

func TestUniqueClaimedKey(t *testing.T) {
	db := openTemp(t, "u.db")
	o := owner(t, db)
	if err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: o}), "a", 0, metrics.RunComplete); err != nil {
		t.Fatal(err)
	}
	// Bypassing the claim logic, the index still refuses a second copy.
	_, err := db.SQL().Exec(`INSERT INTO runs(key, preset, benchmark, strategy, seed, config, code_version, status, num_experiences, eval_subset, variants, host, pid, started_at, claim)
		VALUES ('a', '', 'b', 's', 0, '{}', 'v', 'complete', 1, 'fixed', '[]', 'h', 1, 't', 'other')`)
	if err == nil {
		t.Error("a second claimed complete run of one key was stored")
	}
}

// TestOpenVersion1 opens a database written by cleval with schema version
// 1: read-only it is read as it is; for writing it is upgraded in place.
func TestOpenVersion1(t *testing.T) {
	ctx := context.Background()
	path := v1Database(t)
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if ro.Version() != 1 {
		t.Errorf("version %d, want 1", ro.Version())
	}
	runs, err := ro.Runs(ctx)
	if err != nil || len(runs) != 2 || runs[0].Status != metrics.RunComplete {
		t.Fatalf("runs of a version 1 file: %v %+v", err, runs)
	}
	before, err := ro.ReadRun(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.KeyStates(ctx, []string{runs[0].Key}, 0); err != nil {
		t.Errorf("key states of a version 1 file: %v", err)
	}
	ro.Close()

	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Version() != SchemaVersion {
		t.Errorf("version %d after upgrade", db.Version())
	}
	after, err := db.ReadRun(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if before.Digest() != after.Digest() {
		t.Error("the upgrade changed a run")
	}
	st, err := db.KeyStates(ctx, []string{runs[0].Key}, 0)
	if err != nil || st[runs[0].Key].State != StateDone {
		t.Errorf("key of a complete version 1 run: %+v %v", st, err)
	}
	o := owner(t, db)
	if err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: o}), "new", 0, metrics.RunComplete); err != nil {
		t.Fatal(err)
	}
	var ok string
	db.SQL().QueryRow(`PRAGMA integrity_check`).Scan(&ok)
	if ok != "ok" {
		t.Errorf("integrity_check: %s", ok)
	}
}

// v1Database builds, from testdata/v1.sql (the dump of a database written
// by cleval 0.1.0 with schema version 1: two complete runs), a database
// file and returns its path.
func v1Database(t *testing.T) string {
	t.Helper()
	script, err := os.ReadFile("testdata/v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "v1.db")
	sdb, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	if _, err := sdb.Exec(string(script)); err != nil {
		t.Fatal(err)
	}
	return path
}
