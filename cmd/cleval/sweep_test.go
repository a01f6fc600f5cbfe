package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cleval/cleval/metrics/store"
)

// killSweep is 16 short runs (about 0.1 s each) on the synthetic stream.
const killSweep = `
name: kill-test
preset: delange-smnist-naive
base:
  benchmark: split-synthetic
  epochs: 4
  batch_size: 16
  hidden: [64]
  eval: {size: 200}
seeds: 0-7
grid:
  strategy: [naive, er]
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// dbDigests returns key -> digest of the complete runs of a database and
// checks that it passes PRAGMA integrity_check and holds no key twice.
func dbDigests(t *testing.T, path string) map[string]string {
	t.Helper()
	sdb := openDB(t, path)
	var ok string
	if err := sdb.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("%s: integrity_check: %q %v", path, ok, err)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	runs, err := db.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range runs {
		if r.Status != "complete" {
			continue
		}
		if _, dup := out[r.Key]; dup {
			t.Errorf("%s: key %s complete twice", path, r.Key)
		}
		rd, err := db.ReadRun(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		out[r.Key] = rd.Digest()
	}
	return out
}

var (
	refOnce    sync.Once
	refDigests map[string]string
	refPath    string
)

// reference runs killSweep once, uninterrupted, with one worker.
func reference(t *testing.T) (map[string]string, string) {
	t.Helper()
	refOnce.Do(func() {
		// Next to the binary: TestMain removes it.
		dir := filepath.Join(filepath.Dir(binary), "reference")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		exp := writeFile(t, dir, "kill.yaml", killSweep)
		refPath = filepath.Join(dir, "ref.db")
		start := time.Now()
		_, stderr, code := cleval(t, "sweep", exp, "--db", refPath, "--workers", "1", "--quiet")
		if code != 0 {
			t.Fatalf("reference sweep: exit %d: %s", code, stderr)
		}
		t.Logf("reference sweep: %v", time.Since(start))
		refDigests = dbDigests(t, refPath)
	})
	if len(refDigests) != 16 {
		t.Fatalf("reference: %d complete runs, want 16", len(refDigests))
	}
	return refDigests, refPath
}

func sameRuns(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d complete runs, want %d", len(got), len(want))
	}
	for k, w := range want {
		if g, ok := got[k]; ok && g != w {
			t.Errorf("key %s: records or metrics differ from the uninterrupted sweep", k)
		}
	}
}

var finishedLine = regexp.MustCompile(`run \d+ complete in .*\(key ([0-9a-f]+)\)`)

// interruptLoop starts the sweep again and again, stopping it with sig at
// a random moment after its first run started, and checks the database
// after each stop; it returns the number of attempts that left partial
// runs.
func interruptLoop(t *testing.T, sig syscall.Signal, attempts int) {
	want, _ := reference(t)
	dir := t.TempDir()
	exp := writeFile(t, dir, "kill.yaml", killSweep)
	path := filepath.Join(dir, "resumed.db")
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	partial := 0
	for a := 0; a < attempts; a++ {
		cmd := exec.Command(binary, "sweep", exp, "--db", path, "--workers", "2")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// Wait until a run is in progress, then a random 0-400 ms.
		var err error
		deadline := time.Now().Add(time.Minute)
	wait:
		for {
			select {
			case err = <-exited:
				break wait
			default:
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatal("no run started within a minute")
			}
			if n, _ := countRows(path, `SELECT count(*) FROM runs WHERE status = 'running'`); n > 0 {
				time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
				cmd.Process.Signal(sig)
				err = <-exited
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		switch {
		case sig == syscall.SIGINT && code != 130 && code != 0:
			t.Fatalf("attempt %d: SIGINT: exit %d, want 130\n%s", a, code, stderr.String())
		case sig == syscall.SIGKILL && code != -1 && code != 0:
			t.Fatalf("attempt %d: exit %d\n%s", a, code, stderr.String())
		}
		got := dbDigests(t, path)
		// Complete runs are finished runs: each holds exactly the
		// uninterrupted sweep's records and metrics ...
		for k, d := range got {
			if want[k] != d {
				t.Errorf("attempt %d: complete run %s differs from the uninterrupted sweep", a, k)
			}
		}
		// ... and every run reported finished is complete.
		for _, m := range finishedLine.FindAllStringSubmatch(stderr.String(), -1) {
			if _, ok := got[m[1]]; !ok {
				t.Errorf("attempt %d: run %s reported finished is not complete", a, m[1])
			}
		}
		running, _ := countRows(path, `SELECT count(*) FROM runs WHERE status = 'running'`)
		interrupted, _ := countRows(path, `SELECT count(*) FROM runs WHERE status = 'interrupted'`)
		if sig == syscall.SIGINT && running != 0 {
			t.Errorf("attempt %d: %d runs left running after SIGINT", a, running)
		}
		if running+interrupted > 0 {
			partial++
		}
		t.Logf("attempt %d: exit %d, %d complete, %d running, %d interrupted", a, code, len(got), running, interrupted)
		if code == 0 {
			break
		}
	}
	if partial == 0 {
		t.Errorf("no attempt was stopped in the middle of a run")
	}
	_, stderr, code := cleval(t, "sweep", exp, "--db", path, "--workers", "2", "--quiet")
	if code != 0 {
		t.Fatalf("final resume: exit %d: %s", code, stderr)
	}
	got := dbDigests(t, path)
	sameRuns(t, got, want)
	if n, _ := countRows(path, `SELECT count(*) FROM runs`); n != 16 {
		t.Errorf("%d runs stored after the final resume, want 16 (partial runs deleted)", n)
	}
}

func countRows(path, query string) (int, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRow(query).Scan(&n)
	return n, err
}

// TestSweepSIGKILLResume kills a sweep of 16 runs with SIGKILL at random
// moments, resuming each time: the database always opens and passes the
// integrity check, its complete runs are exactly finished ones, and the
// end result is bit-identical to an uninterrupted sweep.
func TestSweepSIGKILLResume(t *testing.T) {
	t.Parallel()
	interruptLoop(t, syscall.SIGKILL, 6)
}

// TestSweepSIGINTResume does the same with SIGINT: the sweep stops
// cleanly (exit 130), leaving no run "running".
func TestSweepSIGINTResume(t *testing.T) {
	t.Parallel()
	interruptLoop(t, syscall.SIGINT, 6)
}

// TestSweepSecondSignalExitsAtOnce: a second SIGINT exits at once; the
// database stays sound and the sweep resumes.
func TestSweepSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	want, _ := reference(t)
	dir := t.TempDir()
	exp := writeFile(t, dir, "kill.yaml", killSweep)
	path := filepath.Join(dir, "twice.db")
	cmd := exec.Command(binary, "sweep", exp, "--db", path, "--quiet")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for {
		if n, _ := countRows(path, `SELECT count(*) FROM runs WHERE status = 'running'`); n > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130; %s", err, stderr.String())
	}
	dbDigests(t, path)
	if _, stderr, code := cleval(t, "sweep", exp, "--db", path, "--quiet"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	sameRuns(t, dbDigests(t, path), want)
}

// TestSweepTwoProcessesOneDatabase runs the same sweep in two processes on
// one database at once: both succeed and every run is stored once.
func TestSweepTwoProcessesOneDatabase(t *testing.T) {
	t.Parallel()
	want, _ := reference(t)
	dir := t.TempDir()
	exp := writeFile(t, dir, "kill.yaml", killSweep)
	path := filepath.Join(dir, "shared.db")
	var wg sync.WaitGroup
	outs := make([]string, 3)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(binary, "sweep", exp, "--db", path, "--workers", "2", "--quiet")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Errorf("process %d: %v: %s", i, err, stderr.String())
			}
			outs[i] = stdout.String()
		}()
	}
	wg.Wait()
	sameRuns(t, dbDigests(t, path), want)
	if n, _ := countRows(path, `SELECT count(*) FROM runs`); n != 16 {
		t.Errorf("%d runs stored, want 16", n)
	}
	ranNow := 0
	for _, o := range outs {
		ranNow += strings.Count(o, " now ")
	}
	if ranNow != 16 {
		t.Errorf("the processes ran %d runs in all, want 16", ranNow)
	}
}

// TestSweepShardsAndMerge runs a sweep as 3 shards into 3 databases,
// merges them, and compares with the local sweep.
func TestSweepShardsAndMerge(t *testing.T) {
	t.Parallel()
	want, ref := reference(t)
	dir := t.TempDir()
	exp := writeFile(t, dir, "kill.yaml", killSweep)
	var shards []string
	total := 0
	for i := range 3 {
		p := filepath.Join(dir, "shard-"+string(rune('0'+i))+".db")
		// Flags after the file, as a job script would write them.
		_, stderr, code := cleval(t, "sweep", exp, "--shard", string(rune('0'+i))+"/3", "--db", p, "--quiet")
		if code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, stderr)
		}
		total += len(dbDigests(t, p))
		shards = append(shards, p)
	}
	if total != 16 {
		t.Errorf("the shards hold %d runs, want 16", total)
	}
	all := filepath.Join(dir, "all.db")
	out, stderr, code := cleval(t, append([]string{"merge", "-o", all}, shards...)...)
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "16 runs added") {
		t.Errorf("merge said %q", out)
	}
	sameRuns(t, dbDigests(t, all), want)
	// Again, with the reference too: nothing changes.
	out, stderr, code = cleval(t, append([]string{"merge", "-o", all, ref}, shards...)...)
	if code != 0 || !strings.Contains(out, "0 runs added, 32 already there") {
		t.Fatalf("second merge: exit %d: %s%s", code, out, stderr)
	}
	sameRuns(t, dbDigests(t, all), want)
	// A sweep of the merged database has nothing to do.
	out, _, code = cleval(t, "sweep", exp, "--db", all, "--quiet")
	if code != 0 || strings.Contains(out, " now ") {
		t.Errorf("sweep of the merged database: exit %d\n%s", code, out)
	}
}

func TestMergeConflictAndOldSchemaCLI(t *testing.T) {
	t.Parallel()
	_, ref := reference(t)
	dir := t.TempDir()
	// A copy of the reference with one result changed.
	changed := filepath.Join(dir, "changed.db")
	b, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(changed, b, 0o644)
	sdb, err := sql.Open("sqlite3", changed)
	if err != nil {
		t.Fatal(err)
	}
	var key string
	sdb.QueryRow(`SELECT key FROM runs WHERE id = 3`).Scan(&key)
	if _, err := sdb.Exec(`UPDATE evaluations SET correct = correct + 1 WHERE run_id = 3 AND iteration = 5`); err != nil {
		t.Fatal(err)
	}
	sdb.Close()
	all := filepath.Join(dir, "all.db")
	_, stderr, code := cleval(t, "merge", "-o", all, ref, changed)
	if code != 1 || !strings.Contains(stderr, "conflicting results for key "+key) || !strings.Contains(stderr, "changed.db run 3") {
		t.Errorf("conflict: exit %d: %s", code, stderr)
	}
	// A shard of schema version 1.
	old := filepath.Join(dir, "old.db")
	os.WriteFile(old, b, 0o644)
	sdb, _ = sql.Open("sqlite3", old)
	sdb.Exec(`UPDATE meta SET value = '1' WHERE key = 'schema_version'`)
	sdb.Close()
	_, stderr, code = cleval(t, "merge", "-o", all, old)
	if code != 2 || !strings.Contains(stderr, "old.db") || !strings.Contains(stderr, "version 1") {
		t.Errorf("old schema: exit %d: %s", code, stderr)
	}
	_, stderr, code = cleval(t, "merge", ref)
	if code != 2 || !strings.Contains(stderr, "-o") {
		t.Errorf("no output: exit %d: %s", code, stderr)
	}
}

func TestSweepBadInputRunsNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ name, src, want string }{
		{"unknown key", "preset: delange-smnist-er\nbase:\n  epochz: 1\n", `bad.yaml:3:3: epochz: unknown field "epochz"`},
		{"wrong type", "preset: delange-smnist-er\nbase:\n  optimizer: {lr: fast}\n", "bad.yaml:3:19: optimizer.lr: got string, want a number"},
		{"empty grid", "preset: delange-smnist-er\ngrid:\n  optimizer.lr: []\n", "bad.yaml:3:17: grid.optimizer.lr: empty list"},
		{"unknown preset", "preset: delange-smnist-er\ngrid:\n  preset: [delange-smnist-er, delange]\n", `bad.yaml:3:31: grid.preset: unknown preset "delange"`},
		{"bad value in one run", "preset: delange-smnist-er\nbase: {benchmark: split-synthetic, epochs: 1}\ngrid:\n  batch_size: [16, 0]\n", "bad.yaml:4:20: batch_size 0: must be an integer from 1 to 16777216 (batch_size=0 seed=0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp := writeFile(t, dir, "bad.yaml", tc.src)
			db := filepath.Join(dir, "x.db")
			stdout, stderr, code := cleval(t, "sweep", exp, "--db", db, "--quiet")
			msg := strings.TrimSpace(stderr)
			if code != 2 || strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, msg, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Error("the database was created")
			}
		})
	}
	_, stderr, code := cleval(t, "sweep", "--db", filepath.Join(dir, "x.db"), filepath.Join(dir, "missing.yaml"))
	if code != 2 || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("missing file: exit %d: %s", code, stderr)
	}
	_, stderr, code = cleval(t, "sweep", writeFile(t, dir, "ok.yaml", killSweep), "--shard", "3/3")
	if code != 2 || !strings.Contains(stderr, "--shard") {
		t.Errorf("bad shard: exit %d: %s", code, stderr)
	}
}

func TestSweepDryRun(t *testing.T) {
	t.Parallel()
	_, ref := reference(t)
	dir := t.TempDir()
	exp := writeFile(t, dir, "kill.yaml", killSweep)
	db := filepath.Join(dir, "none.db")
	out, stderr, code := cleval(t, "sweep", exp, "--db", db, "--dry-run", "--shard", "1/2")
	if code != 0 || !strings.Contains(out, "8 runs (shard 1/2 of a sweep of 16): 8 to run") {
		t.Errorf("dry run: exit %d\n%s%s", code, out, stderr)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Error("a dry run created the database")
	}
	out, _, code = cleval(t, "sweep", exp, "--db", ref, "-n")
	if code != 0 || !strings.Contains(out, "16 runs: 0 to run") || !strings.Contains(out, "skip") {
		t.Errorf("dry run of a complete database: exit %d\n%s", code, out)
	}
}
