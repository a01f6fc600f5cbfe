package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// q is a small, fast run on the synthetic stream.
var q = []string{"--benchmark", "split-synthetic", "--hidden", "32", "--batch-size", "32", "--eval-size", "100", "--quiet", "--epochs", "1"}

// clevalT runs the binary with a deadline (a command that hangs fails
// the test instead of blocking it) and returns stdout, stderr and the exit
// status.
func clevalT(t *testing.T, timeout time.Duration, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("cleval %s: still running after %v (killed)", strings.Join(args, " "), timeout)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func statuses(t *testing.T, path string) []string {
	t.Helper()
	db := openDB(t, path)
	rows, err := db.Query(`SELECT status FROM runs ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// TestDivergedRunsAreStoredDiverged: a run whose loss becomes NaN or
// infinite (EWC with a huge λ, SI with a huge c, a huge learning rate) is
// stored as diverged, with its records up to there and metrics computed
// on them, never left running; the command says so and exits with 1.
func TestDivergedRunsAreStoredDiverged(t *testing.T) {
	t.Parallel()
	for _, tc := range [][]string{
		{"--strategy", "ewc", "--param", "lambda=1e4"},
		{"--strategy", "si", "--param", "c=1e4"},
		{"--lr", "1e30"},
	} {
		t.Run(strings.Join(tc, " "), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "d.db")
			_, stderr, code := clevalT(t, time.Minute, append(append([]string{"run", "--db", path}, q...), tc...)...)
			if code != 1 || !strings.Contains(stderr, "diverged") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("exit %d, stderr %q: want 1 and one line saying diverged", code, stderr)
			}
			db := openDB(t, path)
			var status, msg string
			var iters int
			if err := db.QueryRow(`SELECT status, coalesce(error, ''), iterations FROM runs`).Scan(&status, &msg, &iters); err != nil {
				t.Fatal(err)
			}
			if status != "diverged" || !strings.Contains(msg, "not finite") {
				t.Errorf("stored status %q, error %q: want diverged with the cause", status, msg)
			}
			if n := count(t, db, `SELECT count(*) FROM metrics WHERE run_id = 1`); n == 0 {
				t.Error("no metrics stored for the diverged run")
			}
			if n := count(t, db, `SELECT count(*) FROM evaluations WHERE run_id = 1`); n == 0 {
				t.Errorf("%d evaluation records kept (%d iterations)", n, iters)
			}
		})
	}
}

// TestSweepGoesOnPastADivergedRun: a grid with a diverging configuration
// completes every other run, stores the diverging one as diverged with its
// metrics, and a second sweep with --retry-failed leaves it alone while
// --retry-diverged runs it again.
func TestSweepGoesOnPastADivergedRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exp := writeFile(t, dir, "div.yaml", `
preset: delange-smnist-naive
base: {benchmark: split-synthetic, epochs: 1, hidden: [32], batch_size: 32, eval: {size: 100}, strategy: ewc}
seeds: [0]
grid:
  strategy_params.lambda: [10000, 100, 1000]
`)
	path := filepath.Join(dir, "s.db")
	stdout, stderr, code := clevalT(t, time.Minute, "sweep", exp, "--db", path, "--quiet", "--workers", "1")
	if code != 0 {
		t.Fatalf("sweep: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if got := strings.Join(statuses(t, path), ","); got != "diverged,complete,complete" {
		t.Fatalf("statuses %s, want diverged,complete,complete", got)
	}
	db := openDB(t, path)
	if n := count(t, db, `SELECT count(*) FROM metrics WHERE run_id = 1`); n == 0 {
		t.Error("the diverged run has no metrics")
	}
	stdout, _, code = clevalT(t, time.Minute, "sweep", exp, "--db", path, "--quiet", "--retry-failed")
	if code != 0 || !strings.Contains(stdout, "0 run now") {
		t.Errorf("--retry-failed: exit %d, ran something:\n%s", code, stdout)
	}
	stdout, _, _ = clevalT(t, time.Minute, "sweep", exp, "--db", path, "--dry-run", "--retry-diverged")
	if !strings.Contains(stdout, "1 to run") {
		t.Errorf("--retry-diverged --dry-run does not plan the diverged run:\n%s", stdout)
	}
	stdout, stderr, code = clevalT(t, time.Minute, "sweep", exp, "--db", path, "--quiet", "--retry-diverged")
	if code != 0 || !strings.Contains(stdout, "1 run now") {
		t.Errorf("--retry-diverged: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if got := strings.Join(statuses(t, path), ","); got != "complete,complete,diverged" {
		t.Errorf("after --retry-diverged: statuses %s, want the diverged run redone (complete,complete,diverged)", got)
	}
}

// TestHostileValuesFromTheReview: the command lines a hostile review found
// crashing, looping or exhausting memory each give one line and exit
// status 2 at once, and create nothing.
func TestHostileValuesFromTheReview(t *testing.T) {
	t.Parallel()
	db, _, exp := fixture(t)
	for _, args := range [][]string{
		{"run", "--lr", "inf"},
		{"run", "--weight-decay", "inf"},
		{"run", "--batch-size", "99999999999"},
		{"run", "--replay-batch-size", "99999999999"},
		{"run", "--hidden", "100000000"},
		{"run", "--hidden", "10000000,10000000"}, // in range, refused by the memory estimate
		{"run", "--threads", "99999999999"},
		{"run", "--seeds", "0-100000000"},
		{"run", "--epochs", "922337203685477580"},
		{"run", "--mem-size", "1e400"},
		{"sweep", exp, "--workers", "1000000000"},
		{"report", "--db", db, "--run", "0-999999999999"},
		{"report", "--db", db, "--run", "1-999999999999"},
		{"plot", "--db", db, "--width", "NaN"},
		{"plot", "--db", db, "--width", "inf"},
		{"plot", "--db", db, "--width", "1e6"},
		{"plot", "--db", db, "--font-size", "NaN"},
		{"plot", "--db", db, "--font-size", "1e6"},
		{"plot", "--db", db, "--dpi", "100000"},
		{"plot", "--db", db, "--dpi", "1200", "--width", "50", "--height", "50"}, // in range, too many pixels
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			a := append([]string(nil), args...)
			switch a[0] {
			case "run":
				// The value under test comes after (and wins over) q's.
				a = append(append(append([]string{"run"}, q...), args[1:]...), "--db", filepath.Join(dir, "x.db"))
			case "sweep":
				a = append(a, "--db", filepath.Join(dir, "x.db"))
			case "plot":
				a = append(a, "--out", filepath.Join(dir, "plots"))
			}
			stdout, stderr, code := clevalT(t, 20*time.Second, a...)
			msg := strings.TrimSpace(stderr)
			if code != 2 || strings.Count(msg, "\n") != 0 || !strings.HasPrefix(msg, "cleval: ") {
				t.Errorf("exit %d, stderr %q: want 2 and one line", code, msg)
			}
			if stdout != "" {
				t.Errorf("stdout: %q", stdout)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				t.Errorf("%s was created", e.Name())
			}
		})
	}
}

// TestRangeExpressionsAtTheLimits: a range of seeds at the top of the
// uint64 range runs its two seeds (the walk does not overflow), and the
// seeds are stored as given.
func TestRangeExpressionsAtTheLimits(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "r.db")
	_, stderr, code := clevalT(t, time.Minute, append(append([]string{"run", "--db", path, "--seeds", "18446744073709551614-18446744073709551615"}, q...), "--epochs", "1")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	db := openDB(t, path)
	if n := count(t, db, `SELECT count(*) FROM runs WHERE status = 'complete'`); n != 2 {
		t.Errorf("%d complete runs, want 2", n)
	}
	stdout, _, code := clevalT(t, time.Minute, "metrics", "--db", path, "--run", "2")
	if code != 0 || !strings.Contains(stdout, "seed 18446744073709551615") {
		t.Errorf("metrics: exit %d\n%s", code, stdout)
	}
}

// TestBadListsAreRefused: a seed given twice, a multi-document experiment
// file and an empty list of feature columns are refused, not silently
// run or read.
func TestBadListsAreRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, csv, _ := fixture(t)
	two := writeFile(t, dir, "two.yaml", "preset: delange-smnist-naive\nbase: {benchmark: split-synthetic}\n---\npreset: delange-smnist-er\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append([]string{"run", "--seeds", "0,0"}, q...), "seed 0 listed twice"},
		{append([]string{"run", "--seeds", "0-3,2"}, q...), "seed 2 listed twice"},
		{[]string{"sweep", two}, "a second YAML document"},
		{[]string{"run", "--benchmark", "split", "--data", csv, "--feature-cols", ","}, `--feature-cols ",": no column names`},
		{[]string{"datasets", "info", "--feature-cols", ",", csv}, `--feature-cols ",": no column names`},
	} {
		db := filepath.Join(dir, "x.db")
		args := tc.args
		if args[0] != "datasets" {
			args = append(append([]string(nil), args...), "--db", db)
		}
		_, stderr, code := clevalT(t, 20*time.Second, args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q: want 2 and %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(db); err == nil {
			t.Errorf("%v: the database was created", tc.args)
		}
	}
}

// TestSIGINTStoresNothingForRunsThatDidNotStart: Ctrl-C during the first
// of three seeds stores that run as interrupted and nothing for the
// others (no empty run of the next seed).
func TestSIGINTStoresNothingForRunsThatDidNotStart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "i.db")
	cmd := exec.Command(binary, append(append([]string{"run", "--db", path, "--seeds", "0-2", "--workers", "1"}, q...), "--epochs", "300")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitForRecords(t, path, `SELECT count(*) FROM evaluations WHERE iteration > 0`)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130; stderr %s", err, stderr.String())
	}
	if got := strings.Join(statuses(t, path), ","); got != "interrupted" {
		t.Errorf("stored runs %s, want one interrupted run", got)
	}
	db := openDB(t, path)
	if n := count(t, db, `SELECT count(*) FROM runs WHERE iterations = 0`); n != 0 {
		t.Errorf("%d runs stored with 0 iterations", n)
	}
}

// waitForRecords waits until query (a count) is positive in the database
// at path.
func waitForRecords(t *testing.T, path, query string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Fatal("no records after a minute")
		}
		time.Sleep(20 * time.Millisecond)
		db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
		if err != nil {
			continue
		}
		var n int
		err = db.QueryRow(query).Scan(&n)
		db.Close()
		if err == nil && n > 0 {
			return
		}
	}
}

// TestKilledRunIsShownDeadAndPruned: a run whose process was killed
// (SIGKILL) is shown as dead by cleval runs, and runs --prune stores it
// as interrupted.
func TestKilledRunIsShownDeadAndPruned(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "k.db")
	cmd := exec.Command(binary, append(append([]string{"run", "--db", path}, q...), "--epochs", "300")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForRecords(t, path, `SELECT count(*) FROM evaluations WHERE iteration > 0`)
	cmd.Process.Kill()
	cmd.Wait()
	stdout, stderr, code := clevalT(t, 20*time.Second, "runs", "--db", path)
	if code != 0 || !strings.Contains(stdout, "dead") {
		t.Errorf("runs: exit %d, the killed run is not shown dead:\n%s%s", code, stdout, stderr)
	}
	_, stderr, code = clevalT(t, 20*time.Second, "runs", "--db", path, "--prune")
	if code != 0 || !strings.Contains(stderr, "1 runs of processes that are gone stored as interrupted") {
		t.Errorf("runs --prune: exit %d, stderr %q", code, stderr)
	}
	if got := strings.Join(statuses(t, path), ","); got != "interrupted" {
		t.Errorf("after --prune: %s, want interrupted", got)
	}
}

// TestStaleTempFilesAreRemoved: temporary files left by a killed export,
// plot or report --html (their process is gone) are removed by the next
// command writing into the same place, and the figures of a plot appear
// as a set.
func TestStaleTempFilesAreRemoved(t *testing.T) {
	t.Parallel()
	db, _, _ := fixture(t)
	dir := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	pid := gone.ProcessState.Pid()
	exportDir, plotDir := filepath.Join(dir, "export"), filepath.Join(dir, "plots")
	os.MkdirAll(exportDir, 0o755)
	os.MkdirAll(plotDir, 0o755)
	stale := []string{
		filepath.Join(exportDir, fmt.Sprintf(".runs.parquet.%d.1234.tmp", pid)),
		filepath.Join(plotDir, fmt.Sprintf(".g1-matrix.svg.%d.1234.tmp", pid)),
		filepath.Join(dir, fmt.Sprintf(".r.html.%d.1234.tmp", pid)),
	}
	for _, p := range stale {
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"export", "--db", db, "--out", exportDir},
		{"plot", "--db", db, "--out", plotDir, "--format", "svg", "--kind", "matrix,accuracy"},
		{"report", "--db", db, "--html", filepath.Join(dir, "r.html")},
	} {
		if _, stderr, code := clevalT(t, time.Minute, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was not removed", p)
		}
	}
	for _, d := range []string{exportDir, plotDir, dir} {
		tmps, _ := filepath.Glob(filepath.Join(d, ".*.tmp"))
		if len(tmps) > 0 {
			t.Errorf("temporary files left: %v", tmps)
		}
	}
	figs, _ := filepath.Glob(filepath.Join(plotDir, "*.svg"))
	if len(figs) != 2 {
		t.Errorf("figures %v, want g1-matrix.svg and g1-accuracy.svg", figs)
	}
}

// TestDatabasePathsThatAreNotDatabases: a directory, an empty path, a file
// that is not SQLite and an SQLite file of another program, given as the
// database of any command, are bad input (exit status 2, one line), and
// nothing is written to them.
func TestDatabasePathsThatAreNotDatabases(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, _, exp := fixture(t)
	text := writeFile(t, dir, "notes.txt", "not a database\n")
	foreign := filepath.Join(dir, "foreign.db")
	fdb, err := sql.Open("sqlite3", "file:"+foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fdb.Exec(`CREATE TABLE people(name TEXT)`); err != nil {
		t.Fatal(err)
	}
	fdb.Close()
	for _, path := range []string{dir, "", text, foreign} {
		for _, args := range [][]string{
			append([]string{"run"}, q...),
			{"sweep", exp},
			{"runs"}, {"metrics", "--run", "1"}, {"report"}, {"export", "--out", filepath.Join(dir, "e")}, {"plot", "--out", filepath.Join(dir, "p")},
		} {
			_, stderr, code := clevalT(t, 20*time.Second, append(args, "--db", path)...)
			msg := strings.TrimSpace(stderr)
			if code != 2 || strings.Count(msg, "\n") != 0 {
				t.Errorf("%s --db %q: exit %d, stderr %q: want 2 and one line", args[0], path, code, msg)
			}
		}
		_, stderr, code := clevalT(t, 20*time.Second, "merge", "-o", path, foreign)
		if code != 2 {
			t.Errorf("merge -o %q: exit %d, stderr %q: want 2", path, code, stderr)
		}
	}
	if b, _ := os.ReadFile(text); string(b) != "not a database\n" {
		t.Errorf("the text file was changed: %q", b)
	}
}

// TestChecksBeforeTheDatabaseIsCreated: a nested ema of the same decay, a
// CPU profile in a missing directory and a failed merge leave no database
// behind.
func TestChecksBeforeTheDatabaseIsCreated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	_, stderr, code := clevalT(t, 20*time.Second, append(append([]string{"run", "--db", db}, q...), "--strategy", "ema", "--param", "base=ema")...)
	if code != 2 || !strings.Contains(stderr, `both would store variant "ema0.99"`) {
		t.Errorf("nested ema: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = clevalT(t, 20*time.Second, append(append([]string{"run", "--db", db}, q...), "--cpuprofile", filepath.Join(dir, "none", "cpu.prof"))...)
	if code != 2 || !strings.Contains(stderr, "--cpuprofile") {
		t.Errorf("bad --cpuprofile: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("the database was created")
	}
	// A merge that fails (an input that does not exist after the check:
	// an empty file is not a database) leaves no output database.
	empty := writeFile(t, dir, "empty.db", "")
	out := filepath.Join(dir, "all.db")
	_, stderr, code = clevalT(t, 20*time.Second, "merge", "-o", out, empty)
	if code != 2 {
		t.Errorf("merge of an empty file: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed merge left an output database")
	}
}

// TestHelpShowsRealDefaults: the help of run shows the default preset's
// values and each range, and one default per flag.
func TestHelpShowsRealDefaults(t *testing.T) {
	t.Parallel()
	stdout, _, _ := clevalT(t, 20*time.Second, "run", "--help")
	for _, want := range []string{
		"epochs per experience: an integer from 1 to 1000000 (default: 10 in preset delange-smnist-er)",
		"SGD learning rate: a finite number > 0 (default: 0.01 in preset delange-smnist-er)",
		"(default: 400,400 in preset delange-smnist-er)",
		"(default: 2000 in preset delange-smnist-er)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("run --help does not show %q", want)
		}
	}
	for _, line := range strings.Split(stdout, "\n") {
		if strings.Contains(line, "(default: 0)") {
			t.Errorf("a default of 0 that is not the preset's: %s", strings.TrimSpace(line))
		}
		if strings.Contains(line, "--test-fraction") && strings.Count(line, "default") != 1 {
			t.Errorf("--test-fraction shows %d defaults: %s", strings.Count(line, "default"), strings.TrimSpace(line))
		}
	}
}

// TestDeletedRecordsAreNamed: a complete run whose evaluation records were
// deleted from the database is reported as such by plot, not as a run
// without the variant it has.
func TestDeletedRecordsAreNamed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "del.db")
	if _, stderr, code := clevalT(t, time.Minute, append([]string{"run", "--db", path}, q...)...); code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM evaluations`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, stderr, code := clevalT(t, time.Minute, "plot", "--db", path, "--out", filepath.Join(t.TempDir(), "p"), "--kind", "accuracy")
	if code != 2 || !strings.Contains(stderr, "records were deleted") || strings.Contains(stderr, "(it has live)") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
