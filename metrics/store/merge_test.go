package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cleval/cleval/metrics"
)

// shard makes a database at dir/name holding the runs of keys (complete,
// results given by delta) and returns its path.
func shard(t *testing.T, dir, name string, delta int, keys ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := owner(t, db)
	for _, k := range keys {
		if err := writeRun(t, db.NewClaimedRun(ClaimOptions{Owner: o}), k, delta, metrics.RunComplete); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// contents returns key -> digest of the finished runs, and the number of
// runs.
func contents(t *testing.T, db *DB) (map[string]string, int) {
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
	return out, len(runs)
}

func TestMergeDisjointShards(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := shard(t, dir, "shard-0.db", 0, "k1", "k3")
	b := shard(t, dir, "shard-1.db", 0, "k2", "k4")
	out := openTemp(t, "all.db")
	st, err := out.Merge(ctx, []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 4 || st.Present != 0 || st.Inputs != 2 {
		t.Errorf("stats %+v", st)
	}
	got, n := contents(t, out)
	ref := shard(t, dir, "ref.db", 0, "k1", "k2", "k3", "k4")
	rdb, _ := Open(ref, Options{ReadOnly: true})
	defer rdb.Close()
	want, _ := contents(t, rdb)
	if n != 4 || !mapsEqual(got, want) {
		t.Errorf("merged %v\nwant %v", got, want)
	}
	// The records survive bit for bit, metrics included.
	rd, err := out.ReadRun(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rd.Metrics) == 0 || len(rd.Evals) != 8 || len(rd.Matrix) != 6 || rd.Ends[1] != 4 {
		t.Errorf("merged run: %d metrics, %d evals, %d matrix, ends %v", len(rd.Metrics), len(rd.Evals), len(rd.Matrix), rd.Ends)
	}
	// Idempotent: merging again changes nothing.
	st, err = out.Merge(ctx, []string{b, a})
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 0 || st.Present != 4 {
		t.Errorf("second merge: %+v", st)
	}
	again, n2 := contents(t, out)
	if n2 != 4 || !mapsEqual(again, got) {
		t.Error("a second merge changed the output")
	}
}

func TestMergeDuplicatesKeptOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := shard(t, dir, "a.db", 0, "k1", "k2")
	b := shard(t, dir, "b.db", 0, "k2", "k3")
	// A key stored twice in one input (two cleval run of one config).
	c := filepath.Join(dir, "c.db")
	cdb, err := Open(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := writeRun(t, cdb.NewRun(), "k3", 0, metrics.RunComplete); err != nil {
			t.Fatal(err)
		}
	}
	// Partial and failed runs.
	if err := writeRun(t, cdb.NewRun(), "k4", 0, metrics.RunInterrupted); err != nil {
		t.Fatal(err)
	}
	if err := writeRun(t, cdb.NewRun(), "k5", 0, metrics.RunFailed); err != nil {
		t.Fatal(err)
	}
	if err := writeRun(t, cdb.NewRun(), "k1", 0, metrics.RunFailed); err != nil {
		t.Fatal(err)
	}
	cdb.Close()
	out := openTemp(t, "out.db")
	st, err := out.Merge(ctx, []string{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 4 || st.Present != 3 || st.Unfinished != 1 || st.Superseded != 1 {
		t.Errorf("stats %+v, want 4 added (k1 k2 k3 k5), 3 present, 1 unfinished, 1 superseded", st)
	}
	got, n := contents(t, out)
	if n != 4 {
		t.Errorf("%d runs: %v", n, got)
	}
	if !strings.HasPrefix(got["k5"], "failed") || !strings.HasPrefix(got["k1"], "complete") {
		t.Errorf("k5 %s, k1 %s", got["k5"], got["k1"])
	}
	// A finished run replaces a failed one of its key.
	d := shard(t, dir, "d.db", 0, "k5")
	st, err = out.Merge(ctx, []string{d})
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 1 || st.Replaced != 1 {
		t.Errorf("stats %+v", st)
	}
	got, _ = contents(t, out)
	if !strings.HasPrefix(got["k5"], "complete") {
		t.Errorf("k5 %s", got["k5"])
	}
}

func TestMergeConflictNamesTheKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := shard(t, dir, "shard-0.db", 0, "k1", "k2")
	b := shard(t, dir, "shard-1.db", 1, "k3", "k2") // k2 with other results
	out := openTemp(t, "all.db")
	_, err := out.Merge(ctx, []string{a, b})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("got %v, want ErrConflict", err)
	}
	for _, want := range []string{"k2", "shard-1.db run 2", "shard-0.db run 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// Nothing was merged.
	if _, n := contents(t, out); n != 0 {
		t.Errorf("%d runs merged before the conflict were kept", n)
	}
}

func TestMergeOlderSchemaIsAnError(t *testing.T) {
	dir := t.TempDir()
	a := shard(t, dir, "shard-0.db", 0, "k1")
	old := v1Database(t)
	out := openTemp(t, "all.db")
	_, err := out.Merge(context.Background(), []string{a, old})
	if !errors.Is(err, ErrSchema) {
		t.Fatalf("got %v, want ErrSchema", err)
	}
	for _, want := range []string{"v1.db", "version 1", "older cleval"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, n := contents(t, out); n != 0 {
		t.Error("runs were merged")
	}
	// Merging into one of the inputs is refused.
	adb, _ := Open(a, Options{})
	defer adb.Close()
	if _, err := adb.Merge(context.Background(), []string{a}); err == nil {
		t.Error("merged a database into itself")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	ka := make([]string, 0, len(a))
	for k := range a {
		ka = append(ka, k)
	}
	slices.Sort(ka)
	for _, k := range ka {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}
