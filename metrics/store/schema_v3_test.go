package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/cleval/cleval/metrics"
)

// v2Database builds a database of schema version 2 (testdata/v1.sql
// upgraded as cleval 0.1 with schema version 2 did) and returns its path.
func v2Database(t *testing.T) string {
	t.Helper()
	path := v1Database(t)
	sdb, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	if _, err := sdb.Exec(migrateV1 + `UPDATE meta SET value = '2' WHERE key = 'schema_version';`); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenVersion2: a version 2 file is read as it is (no sources) and
// upgraded in place when opened for writing, its runs unchanged.
func TestOpenVersion2(t *testing.T) {
	ctx := context.Background()
	path := v2Database(t)
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if ro.Version() != 2 {
		t.Errorf("version %d, want 2", ro.Version())
	}
	before, err := ro.ReadRun(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if srcs, err := ro.RunSources(ctx, 1); err != nil || srcs != nil {
		t.Errorf("sources of a version 2 file: %v %v", srcs, err)
	}
	if ing, err := ro.IngestedRuns(ctx); err != nil || len(ing) != 0 {
		t.Errorf("ingested runs of a version 2 file: %v %v", ing, err)
	}
	if _, err := ro.BeginIngest(ctx); err == nil {
		t.Error("ingest into a read-only version 2 file")
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
	if srcs, err := db.RunSources(ctx, 1); err != nil || len(srcs) != 0 {
		t.Errorf("sources after the upgrade: %v %v", srcs, err)
	}
	var ok string
	db.SQL().QueryRow(`PRAGMA integrity_check`).Scan(&ok)
	if ok != "ok" {
		t.Errorf("integrity_check: %s", ok)
	}
}

// ingestOne stores one ingested run with a source through the Ingest
// transaction and returns its id.
func ingestOne(t *testing.T, db *DB, commit bool) int64 {
	t.Helper()
	g, err := db.BeginIngest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Rollback()
	id, err := g.NewRun()
	if err != nil {
		t.Fatal(err)
	}
	recs := []metrics.EvalRecord{
		{Iteration: 0, Training: 1, Evaluated: 1, Variant: "live", Correct: 1, Total: 4, Subset: "fixed"},
		{Iteration: 2, Training: 1, Evaluated: 1, Variant: "live", Correct: 3, Total: 4, Subset: "fixed"},
	}
	for _, r := range recs {
		if err := g.AddEval(id, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.AddSource(id, Source{File: "e.csv", Tables: "evaluations", Bytes: 10, SHA256: "ab", SourceRun: "x", Options: "{}"}); err != nil {
		t.Fatal(err)
	}
	if err := g.AddEval(id, recs[1]); err != nil {
		t.Fatal(err)
	}
	var dup *DuplicateError
	if err := g.Flush(); !errors.As(err, &dup) || dup.Eval.Iteration != 2 {
		t.Fatalf("duplicate: %v", err)
	}
	g.evals = g.evals[:0] // drop the duplicate to go on
	vals, err := metrics.Compute(metrics.Input{NumExperiences: 1, Ends: []int{2}, Evals: recs})
	if err != nil {
		t.Fatal(err)
	}
	info := metrics.RunInfo{Key: "k", Strategy: "s", Config: []byte(`{"seed":0}`), CodeVersion: "ingested", NumExperiences: 1,
		EvalSubset: "fixed", Variants: []string{"live"}, Experiences: []metrics.ExperienceInfo{{ID: 1}}}
	if existing, err := g.Finish(id, Finished{Info: info, Ends: []int{2}, Iterations: 2, Metrics: map[string][]metrics.Value{"live": vals}}); err != nil || existing != 0 {
		t.Fatalf("finish: %d %v", existing, err)
	}
	if commit {
		if err := g.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// TestIngestTransaction: a rolled-back ingest leaves nothing; a committed
// one is a complete run with its sources, copied by Merge from a version 2
// or 3 file.
func TestIngestTransaction(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t, "i.db")
	ingestOne(t, db, false)
	if runs, _ := db.Runs(ctx); len(runs) != 0 {
		t.Fatalf("%d runs after a rollback", len(runs))
	}
	id := ingestOne(t, db, true)
	rd, err := db.ReadRun(ctx, id)
	if err != nil || rd.Run.Status != metrics.RunComplete || len(rd.Evals) != 2 || len(rd.Metrics) == 0 || rd.Ends[0] != 2 {
		t.Fatalf("%+v %v", rd, err)
	}
	ing, _ := db.IngestedRuns(ctx)
	if !ing[id] {
		t.Errorf("run %d not listed as ingested", id)
	}
	out := openTemp(t, "out.db")
	st, err := out.Merge(ctx, []string{db.Path(), v2Database(t)})
	if err != nil || st.Added != 3 {
		t.Fatalf("merge: %+v %v", st, err)
	}
	runs, _ := out.Runs(ctx)
	srcs, err := out.RunSources(ctx, runs[0].ID)
	if err != nil || len(srcs) != 1 || srcs[0].File != "e.csv" || srcs[0].SHA256 != "ab" {
		t.Errorf("merged sources %+v %v", srcs, err)
	}
}
