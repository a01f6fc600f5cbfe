package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cleval-cmd-test")
	if err != nil {
		panic(err)
	}
	// The binary directory is readable by everyone: tests run it as
	// another user (read-only databases).
	os.Chmod(dir, 0o755)
	binary = filepath.Join(dir, "cleval")
	if b := os.Getenv("CLEVAL_TEST_BINARY"); b != "" {
		// Run the command-line tests against another build (an older
		// cleval, say, to see a regression test fail).
		binary = b
	} else {
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			os.Stderr.Write(out)
			panic(err)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	if fixtures.dir != "" {
		os.RemoveAll(fixtures.dir)
	}
	os.Exit(code)
}

// cleval runs the binary and returns stdout, stderr and the exit status.
func cleval(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func metricOf(t *testing.T, db *sql.DB, run int, name string, k, j int) float64 {
	t.Helper()
	var v sql.NullFloat64
	if err := db.QueryRow(`SELECT value FROM metrics WHERE run_id = ? AND variant = 'live' AND name = ? AND k = ? AND j = ?`, run, name, k, j).Scan(&v); err != nil {
		t.Fatalf("metric %s(%d,%d): %v", name, k, j, err)
	}
	if !v.Valid {
		t.Fatalf("metric %s(%d,%d) is NULL", name, k, j)
	}
	return v.Float64
}

// TestReferenceExperimentOneEpoch runs the README's main command with one
// epoch, for ER and for naive, on the real MNIST.
func TestReferenceExperimentOneEpoch(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "a.db")
	stdout, stderr, code := cleval(t, "run", "--epochs", "1", "--seeds", "0", "--db", path, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("--quiet run wrote to stderr: %q", stderr)
	}
	if !strings.Contains(stdout, "complete") || !strings.Contains(stdout, "min-ACC") {
		t.Errorf("summary table missing:\n%s", stdout)
	}
	_, stderr, code = cleval(t, "run", "--preset", "delange-smnist-naive", "--epochs", "1", "--seeds", "0", "--db", path, "--quiet")
	if code != 0 {
		t.Fatalf("naive: exit %d\n%s", code, stderr)
	}
	db := openDB(t, path)
	if n := count(t, db, `SELECT count(*) FROM runs WHERE status = 'complete'`); n != 2 {
		t.Fatalf("%d complete runs, want 2", n)
	}
	for _, run := range []int{1, 2} {
		// Experience ends: 12665, 12089, 11263, 12183, 11800 training
		// samples in batches of 256: 50, 48, 44, 48, 47 iterations.
		var ends []int
		rows, err := db.Query(`SELECT end_iteration FROM experiences WHERE run_id = ? ORDER BY exp`, run)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var e int
			rows.Scan(&e)
			ends = append(ends, e)
		}
		rows.Close()
		if want := []int{50, 98, 142, 190, 237}; !equalInts(ends, want) {
			t.Fatalf("run %d: experience ends %v, want %v", run, ends, want)
		}
		// One record per seen experience per evaluation point t = 0..237,
		// plus the next experience at each of the four inner ends.
		want := 1
		c := 1
		for tt := 1; tt <= 237; tt++ {
			if tt > ends[c-1] {
				c++
			}
			want += c
		}
		want += 4
		if n := count(t, db, `SELECT count(*) FROM evaluations WHERE run_id = ?`, run); n != want {
			t.Errorf("run %d: %d evaluation records, want %d", run, n, want)
		}
		if n := count(t, db, `SELECT count(DISTINCT iteration) FROM evaluations WHERE run_id = ?`, run); n != 238 {
			t.Errorf("run %d: %d evaluation points, want 238 (t = 0..237)", run, n)
		}
		if n := count(t, db, `SELECT count(*) FROM evaluations WHERE run_id = ? AND eval_exp <= training_exp AND total != 1000`, run); n != 0 {
			t.Errorf("run %d: %d records not on 1000 samples", run, n)
		}
		if n := count(t, db, `SELECT count(*) FROM accuracy_matrix WHERE run_id = ?`, run); n != 30 {
			t.Errorf("run %d: %d accuracy-matrix entries, want 6 rows × 5", run, n)
		}
		if n := count(t, db, `SELECT count(*) FROM metrics WHERE run_id = ?`, run); n != 21+4+5*10 {
			t.Errorf("run %d: %d metrics, want 75", run, n)
		}
	}
	// ER: the stability gap. Experience 3 loses a large part of its
	// accuracy early in experience 4 and recovers.
	depth := metricOf(t, db, 1, "gap_depth", 3, 4)
	trough := metricOf(t, db, 1, "gap_time_to_trough", 3, 4)
	recovery := metricOf(t, db, 1, "gap_recovery", 3, 4)
	t.Logf("er: gap (3→4) depth %.3f, trough after %v iterations, recovery %.2f", depth, trough, recovery)
	if depth < 0.3 || trough > 25 || recovery < 0.5 {
		t.Errorf("er: gap (3→4) depth %.3f, time to trough %v, recovery %.2f: want a deep early dip that recovers", depth, trough, recovery)
	}
	if acc := metricOf(t, db, 1, "acc", 0, 0); acc < 0.6 {
		t.Errorf("er: ACC %.3f, want > 0.6", acc)
	}
	// Naive: old experiences fall to near 0.
	var worst float64
	db.QueryRow(`SELECT max(CAST(correct AS REAL) / total) FROM accuracy_matrix WHERE run_id = 2 AND row_exp = 5 AND col_exp < 5`).Scan(&worst)
	if worst > 0.05 {
		t.Errorf("naive: best final accuracy on an old experience %.3f, want near 0", worst)
	}

	// metrics --format json prints them.
	stdout, stderr, code = cleval(t, "metrics", "--db", path, "--run", "1", "--format", "json")
	if code != 0 {
		t.Fatalf("metrics: exit %d: %s", code, stderr)
	}
	var out struct {
		Run     int    `json:"run"`
		Status  string `json:"status"`
		Metrics []struct {
			Name  string   `json:"name"`
			Value *float64 `json:"value"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("metrics json: %v\n%s", err, stdout)
	}
	if out.Run != 1 || out.Status != "complete" || len(out.Metrics) != 75 {
		t.Errorf("metrics json: run %d status %s, %d metrics", out.Run, out.Status, len(out.Metrics))
	}
	stdout, _, code = cleval(t, "runs", "--db", path)
	if code != 0 || strings.Count(stdout, "complete") != 2 {
		t.Errorf("runs: exit %d\n%s", code, stdout)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBadInputExitsTwoAndWritesNothing(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"unknown preset", []string{"--preset", "nope"}, nil, `unknown preset "nope"`},
		{"unknown strategy", []string{"--strategy", "magic"}, nil, `unknown strategy "magic"`},
		{"negative lr", []string{"--lr", "-0.1"}, nil, "--lr -0.1: must be a finite number > 0"},
		{"eval size 0", []string{"--eval-size", "0"}, nil, "--eval-size 0: must be an integer from 1 to 16777216"},
		{"bad seeds", []string{"--seeds", "a"}, nil, "--seeds"},
		{"param of another strategy", []string{"--preset", "delange-smnist-naive", "--mem-size", "10"}, nil, "naive has no parameter mem_size"},
		{"unknown flag", []string{"--bogus"}, nil, "bogus"},
		{"missing dataset", []string{"--data-dir", empty}, []string{"CLEVAL_DATA=" + empty, "GOMODCACHE=" + empty, "GOPATH=" + empty, "HOME=" + empty, "XDG_CACHE_HOME=" + empty}, "mnist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "x.db")
			cmd := exec.Command(binary, append([]string{"run", "--db", db, "--quiet", "--epochs", "1"}, tc.args...)...)
			cmd.Env = append(os.Environ(), tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want status 2\nstderr: %s", err, stderr.String())
			}
			msg := strings.TrimSpace(stderr.String())
			if strings.Count(msg, "\n") > 0 && tc.name != "missing dataset" {
				t.Errorf("error is not one line:\n%s", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not mention %q", msg, tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty: %q", stdout.String())
			}
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("the database was created")
			}
		})
	}
}

// TestSIGINTStoresInterrupted interrupts a run after its first experience
// and checks the stored state.
func TestSIGINTStoresInterrupted(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "int.db")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The synthetic stream: this test is about the signal, not the data.
	cmd := exec.CommandContext(ctx, binary, append(append([]string{"run", "--db", path}, q...), "--epochs", "100")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the first experience's records are stored.
	deadline := time.Now().Add(time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Fatal("no records after a minute")
		}
		time.Sleep(50 * time.Millisecond)
		db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
		if err != nil {
			continue
		}
		var n int
		err = db.QueryRow(`SELECT count(*) FROM experiences WHERE end_iteration IS NOT NULL`).Scan(&n)
		db.Close()
		if err == nil && n >= 1 {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130; stderr %s", err, stderr.String())
	}
	db := openDB(t, path)
	var status string
	db.QueryRow(`SELECT status FROM runs WHERE id = 1`).Scan(&status)
	if status != "interrupted" {
		t.Errorf("status %q, want interrupted", status)
	}
	if n := count(t, db, `SELECT count(*) FROM metrics`); n != 0 {
		t.Errorf("%d metrics for an interrupted run", n)
	}
	if n := count(t, db, `SELECT count(*) FROM evaluations`); n < 51 {
		t.Errorf("%d evaluation records kept, want at least the first experience's", n)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr %q does not say interrupted", stderr.String())
	}
}

// dump returns every stored record and metric of a database, runs ordered
// by seed, as text (floats in full precision through SQLite's quote).
func dump(t *testing.T, path string) string {
	t.Helper()
	db := openDB(t, path)
	var b strings.Builder
	for _, q := range []string{
		`SELECT r.seed, e.variant, e.iteration, e.eval_exp, e.training_exp, e.correct, e.total, quote(e.loss_sum), e.subset FROM evaluations e JOIN runs r ON r.id = e.run_id ORDER BY r.seed, e.variant, e.iteration, e.eval_exp`,
		`SELECT r.seed, a.variant, a.row_exp, a.col_exp, a.correct, a.total, quote(a.loss_sum) FROM accuracy_matrix a JOIN runs r ON r.id = a.run_id ORDER BY r.seed, a.variant, a.row_exp, a.col_exp`,
		`SELECT r.seed, m.variant, m.name, m.k, m.j, quote(m.value) FROM metrics m JOIN runs r ON r.id = m.run_id ORDER BY r.seed, m.variant, m.name, m.k, m.j`,
		`SELECT seed, key, status, iterations FROM runs ORDER BY seed`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				fmt.Fprintf(&b, "%v|", v)
			}
			b.WriteByte('\n')
		}
		rows.Close()
	}
	return b.String()
}

// TestThreadsAndWorkersGiveIdenticalRecords: the same seeds with 1 or 2
// threads per run, and with 1 or 2 runs in parallel, store bit-identical
// records and metrics: the reference experiment on MNIST and the small
// cnn on Fashion-MNIST (its batch normalisations, separate segments),
// shortened and with smaller evaluation subsets to keep the test short.
func TestThreadsAndWorkersGiveIdenticalRecords(t *testing.T) {
	t.Parallel()
	for _, model := range [][]string{
		{"--iterations", "20", "--eval-size", "300", "--test-size", "1000"},
		{"--model", "cnn", "--benchmark", "split-fmnist", "--iterations", "6", "--batch-size", "32", "--replay-batch-size", "32", "--eval-size", "40", "--test-size", "100"},
	} {
		dir := t.TempDir()
		common := append([]string{"run", "--epochs", "1", "--seeds", "0,1", "--quiet"}, model...)
		var dumps []string
		for _, extra := range [][]string{
			{"--threads", "1", "--workers", "1"},
			{"--threads", "2", "--workers", "1"},
			{"--workers", "2"},
		} {
			path := filepath.Join(dir, strings.Join(extra, "")+".db")
			args := append(append(append([]string(nil), common...), extra...), "--db", path)
			if _, stderr, code := cleval(t, args...); code != 0 {
				t.Fatalf("%v: exit %d: %s", args, code, stderr)
			}
			dumps = append(dumps, dump(t, path))
		}
		if len(dumps[0]) < 10000 {
			t.Fatalf("%v: dump too short (%d bytes)", model, len(dumps[0]))
		}
		for i, name := range []string{"--threads 2", "--workers 2"} {
			if dumps[i+1] != dumps[0] {
				t.Errorf("%v: %s stored different records or metrics than --threads 1", model, name)
			}
		}
	}
}
