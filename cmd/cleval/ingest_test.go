package main

import (
	"bufio"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cleval/cleval/metrics"
)

// peerMap reads the CSV files of the plain-PyTorch peer of the
// delange-smnist-er preset (--out F --matrix-out G): t,c,k,correct,total
// and i,j,correct,total, experiences numbered from 1.
const peerMap = "t=iteration,c=training_exp,k=eval_exp,i=row_exp,j=col_exp"

// dbDigest hashes every row of every table of a database (and checks its
// integrity): equal digests mean nothing was written.
func dbDigest(t *testing.T, path string) string {
	t.Helper()
	db := openDB(t, path)
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %s %v", ok, err)
	}
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	h := sha256.New()
	for _, tb := range tables {
		rows, err := db.Query(`SELECT * FROM "` + tb + `" ORDER BY 1, 2`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		fmt.Fprintf(h, "table %s\n", tb)
		for rows.Next() {
			rows.Scan(ptrs...)
			fmt.Fprintf(h, "%v\n", vals)
		}
		rows.Close()
	}
	db.Close()
	return hex.EncodeToString(h.Sum(nil))
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestIngestBadInput: every kind of bad input gives one line naming the
// file, the row and the column, exit status 2, and writes nothing: a
// database that exists keeps every row, one that did not is not created.
func TestIngestBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	head := "run,iteration,training_exp,eval_exp,correct,total\n"
	// Two experiences; iteration 0, 1 in the first, 2, 3 in the second.
	good := "1,0,1,1,5,10\n1,1,1,1,8,10\n1,2,2,1,6,10\n1,2,2,2,4,10\n1,3,2,1,7,10\n1,3,2,2,9,10\n"
	matrix := "run,row_exp,col_exp,correct,total\n1,0,1,1,20\n1,0,2,2,20\n1,1,1,15,20\n1,1,2,3,20\n1,2,1,12,20\n1,2,2,18,20\n"
	db := filepath.Join(dir, "results.db")
	okDir := filepath.Join(dir, "ok")
	os.Mkdir(okDir, 0o755)
	write(t, filepath.Join(okDir, "evaluations.csv"), head+good)
	write(t, filepath.Join(okDir, "accuracy_matrix.csv"), matrix)
	if _, stderr, code := cleval(t, "ingest", "--db", db, "--meta", "seed=0", "--quiet", okDir); code != 0 {
		t.Fatalf("good input: exit %d\n%s", code, stderr)
	}
	before := dbDigest(t, db)

	for _, tc := range []struct {
		name   string
		evals  string // the evaluations file (evaluations.csv unless file is set)
		matrix string
		file   string // a file name other than evaluations.csv
		want   []string
	}{
		{name: "missing column", evals: "run,iteration,training_exp,eval_exp,correct\n1,0,1,1,5\n",
			want: []string{"evaluations.csv: header, column total: missing column"}},
		{name: "non-numeric count", evals: head + "1,0,1,1,5,10\n1,1,1,1,eight,10\n",
			want: []string{"evaluations.csv: row 2 (line 3), column correct: \"eight\" is not a number"}},
		{name: "correct above total", evals: head + "1,0,1,1,5,10\n1,1,1,1,11,10\n",
			want: []string{"evaluations.csv: row 2 (line 3), column correct: 11 > total 10"}},
		{name: "duplicate record", evals: head + good + "1,3,2,2,9,10\n",
			want: []string{"evaluations.csv: row 7 (line 8), column eval_exp: duplicate record: run 1, variant live, iteration 3, eval_exp 2 (the first is row 6 (line 7))"}},
		{name: "point missing an experience", evals: head + "1,0,1,1,5,10\n1,1,1,1,8,10\n1,2,2,1,6,10\n1,2,2,2,4,10\n1,3,2,2,9,10\n",
			want: []string{"evaluations.csv: row 5 (line 6), column eval_exp: run 1, variant live: the evaluation point at iteration 3 (training_exp 2) has no record for eval_exp 1 (it has 2)"}},
		{name: "matrix row of an experience never trained", evals: head + good, matrix: matrix + "1,3,1,10,20\n",
			want: []string{"accuracy_matrix.csv: row 7 (line 8), column row_exp: run 1: row 3 is the model after experience 3, which was never trained (the records train 1..2)"}},
		{name: "empty file", evals: "", want: []string{"evaluations.csv: empty file"}},
		{name: "header only", evals: head, want: []string{"evaluations.csv: empty: no rows"}},
		{name: "unknown format", file: "records.xlsx", evals: "PK\x03\x04 binary",
			want: []string{"records.xlsx: unknown format (extension .xlsx)"}},
		{name: "not JSON", file: "log.jsonl", evals: "{\"table\": \"evaluations\", \"run\": 1, \"iteration\": 0, \"training_exp\": 1, \"eval_exp\": 1, \"correct\": 1, \"total\": 2}\nnot json\n",
			want: []string{"log.jsonl: line 2: not valid JSON"}},
		{name: "corrupt Parquet", file: "evaluations.parquet", evals: "PAR1 this is not parquet",
			want: []string{"evaluations.parquet: not a readable Parquet file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "in")
			os.Mkdir(in, 0o755)
			name := "evaluations.csv"
			if tc.file != "" {
				name = tc.file
			}
			args := []string{"--meta", "seed=0", "--quiet"}
			args = append(args, "--evaluations", write(t, filepath.Join(in, name), tc.evals))
			if tc.matrix != "" {
				args = append(args, "--matrix", write(t, filepath.Join(in, "accuracy_matrix.csv"), tc.matrix))
			}
			for _, target := range []string{db, filepath.Join(t.TempDir(), "new.db")} {
				_, stderr, code := cleval(t, append([]string{"ingest", "--db", target}, args...)...)
				if code != 2 {
					t.Errorf("exit %d, want 2\n%s", code, stderr)
				}
				if n := strings.Count(strings.TrimRight(stderr, "\n"), "\n"); n != 0 {
					t.Errorf("%d lines on stderr, want one:\n%s", n+1, stderr)
				}
				for _, w := range tc.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("stderr lacks %q:\n%s", w, stderr)
					}
				}
				if target == db {
					if after := dbDigest(t, db); after != before {
						t.Errorf("the database changed")
					}
				} else if _, err := os.Stat(target); !os.IsNotExist(err) {
					t.Errorf("a database was created: %v", err)
				}
			}
		})
	}
}

// readCSV reads a CSV file with a header as integer rows.
func readCSV(t *testing.T, path string) [][]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]int
	for _, r := range recs[1:] {
		row := make([]int, len(r))
		for i, s := range r {
			if row[i], err = strconv.Atoi(s); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, row)
	}
	return out
}

// peerMetrics computes metrics of the PyTorch peer's records from their
// definitions, independently of package metrics: straight loops over the
// records, no series or sweeps.
func peerMetrics(t *testing.T, evalsPath, matrixPath string) map[string]float64 {
	evals, mat := readCSV(t, evalsPath), readCSV(t, matrixPath)
	type key struct{ t, k int }
	acc := map[key]float64{}
	cur := map[int]int{}
	var points []int
	T := 0
	for _, r := range evals {
		tt, c, k := r[0], r[1], r[2]
		acc[key{tt, k}] = float64(r[3]) / float64(r[4])
		if _, ok := cur[tt]; !ok {
			points = append(points, tt)
		}
		cur[tt] = c
		T = max(T, c)
	}
	sort.Ints(points)
	end := make([]int, T+1)
	for _, r := range evals {
		end[r[1]] = max(end[r[1]], r[0])
	}
	R := map[[2]int]float64{}
	Rc, Rt := map[[2]int]int{}, map[[2]int]int{}
	for _, r := range mat {
		R[[2]int{r[0], r[1]}] = float64(r[2]) / float64(r[3])
		Rc[[2]int{r[0], r[1]}], Rt[[2]int{r[0], r[1]}] = r[2], r[3]
	}
	m := map[string]float64{}
	fT := float64(T)
	// Accuracy matrix.
	s, c, n := 0.0, 0, 0
	for j := 1; j <= T; j++ {
		s += R[[2]int{T, j}]
		c += Rc[[2]int{T, j}]
		n += Rt[[2]int{T, j}]
	}
	m["acc"], m["acc_sw"] = s/fT, float64(c)/float64(n)
	s = 0
	for i := 1; i <= T; i++ {
		row := 0.0
		for j := 1; j <= i; j++ {
			row += R[[2]int{i, j}]
		}
		s += row / float64(i)
	}
	m["avg_inc_acc"] = s / fT
	var ff, fm, bwt, fwt float64
	for j := 1; j < T; j++ {
		ff += R[[2]int{j, j}] - R[[2]int{T, j}]
		bwt += R[[2]int{T, j}] - R[[2]int{j, j}]
		best := math.Inf(-1)
		for i := j; i < T; i++ {
			best = math.Max(best, R[[2]int{i, j}])
		}
		fm += best - R[[2]int{T, j}]
	}
	for j := 2; j <= T; j++ {
		fwt += R[[2]int{j - 1, j}] - R[[2]int{0, j}]
	}
	m["forgetting_first"], m["forgetting_max"], m["bwt"], m["fwt"] = ff/(fT-1), fm/(fT-1), bwt/(fT-1), fwt/(fT-1)
	// min-ACC and WC-ACC at e_T.
	minSum := 0.0
	for k := 1; k < T; k++ {
		lo := math.Inf(1)
		for _, p := range points {
			if p > end[k] && p <= end[T] {
				lo = math.Min(lo, acc[key{p, k}])
			}
		}
		minSum += lo
	}
	m["min_acc"] = minSum / (fT - 1)
	m["wc_acc"] = acc[key{end[T], T}]/fT + (1-1/fT)*m["min_acc"]
	// AAA: pooled seen accuracy per point; aaa_iter weights by the
	// iterations since the previous point.
	var aaa, aaaIter float64
	prev := -1
	for _, p := range points {
		c, n := 0, 0
		for _, r := range evals {
			if r[0] == p && r[2] <= r[1] {
				c += r[3]
				n += r[4]
			}
		}
		a := float64(c) / float64(n)
		aaa += a
		aaaIter += a * float64(p-prev)
		prev = p
	}
	m["aaa"], m["aaa_iter"] = aaa/float64(len(points)), aaaIter/float64(points[len(points)-1]+1)
	// Windowed forgetting and plasticity: the largest drop (rise) between
	// two of an experience's evaluations at most w-1 evaluations apart.
	for _, w := range []int{10, 100} {
		var wf, wp float64
		for k := 1; k <= T; k++ {
			var series []float64
			for _, p := range points {
				if k <= cur[p] {
					series = append(series, acc[key{p, k}])
				}
			}
			drop, rise := 0.0, 0.0
			for i := range series {
				for j := i + 1; j < len(series) && j-i <= w-1; j++ {
					drop = math.Max(drop, series[i]-series[j])
					rise = math.Max(rise, series[j]-series[i])
				}
			}
			wf += drop
			wp += rise
		}
		m[fmt.Sprintf("wf%d", w)], m[fmt.Sprintf("wp%d", w)] = wf/fT, wp/fT
	}
	// Stability gap: depth per transition into j of earlier k.
	var depthSum, depthMax float64
	depthMax = math.Inf(-1)
	pairs := 0
	for j := 2; j <= T; j++ {
		for k := 1; k < j; k++ {
			trough := math.Inf(1)
			for _, p := range points {
				if p > end[j-1] && p <= end[j] {
					trough = math.Min(trough, acc[key{p, k}])
				}
			}
			d := acc[key{end[j-1], k}] - trough
			depthSum += d
			depthMax = math.Max(depthMax, d)
			pairs++
		}
	}
	m["gap_depth_mean"], m["gap_depth_max"] = depthSum/float64(pairs), depthMax
	return m
}

// TestIngestPeerCSV ingests the records of the PyTorch peer
// (testdata/pytorch: one epoch, seed 0, one thread) through a
// column mapping and compares the stored metrics with an independent
// computation.
func TestIngestPeerCSV(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "peer.db")
	evals, mat := filepath.Join("testdata", "pytorch", "evals-s0.csv"), filepath.Join("testdata", "pytorch", "matrix-s0.csv")
	stdout, stderr, code := cleval(t, "ingest", "--db", db, "--map", peerMap, "--run", "torch-s0",
		"--meta", "seed=0", "--meta", "strategy=er", "--meta", "benchmark=split-mnist", "--meta", "framework=pytorch",
		"--evaluations", evals, "--matrix", mat)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "torch-s0") || !strings.Contains(stdout, "ingested 1 runs") {
		t.Errorf("output:\n%s", stdout)
	}
	want := peerMetrics(t, evals, mat)
	sdb := openDB(t, db)
	for name, v := range want {
		got := metricOf(t, sdb, 1, name, 0, 0)
		if math.Abs(got-v) > 1e-12 {
			t.Errorf("%s = %.17g, independent computation %.17g", name, got, v)
		}
	}
	// The peer's own printout for this seed: acc=0.8052 min_acc=0.4573 wc_acc=0.5352.
	for name, v := range map[string]float64{"acc": 0.8052, "min_acc": 0.4573, "wc_acc": 0.5352} {
		if got := metricOf(t, sdb, 1, name, 0, 0); math.Abs(got-v) > 5e-5 {
			t.Errorf("%s = %.4f, the peer printed %.4f", name, got, v)
		}
	}
	var file, sum string
	if err := sdb.QueryRow(`SELECT file, sha256 FROM run_sources WHERE run_id = 1 AND tables = 'evaluations'`).Scan(&file, &sum); err != nil || file != evals || len(sum) != 64 {
		t.Errorf("source %q %q %v", file, sum, err)
	}
	var cfg string
	sdb.QueryRow(`SELECT config FROM runs WHERE id = 1`).Scan(&cfg)
	if cfg != `{"benchmark":"split-mnist","framework":"pytorch","seed":0,"strategy":"er"}` {
		t.Errorf("config %s", cfg)
	}
	// Recomputing from the stored records, as for a native run, changes
	// nothing.
	q := `SELECT variant, name, k, j, quote(value) FROM metrics WHERE run_id = 1 ORDER BY 1, 2, 3, 4`
	before := rowsOf(t, sdb, q)
	sdb.Close()
	if _, stderr, code := cleval(t, "metrics", "--db", db, "--run", "1", "--recompute"); code != 0 {
		t.Fatalf("metrics --recompute: exit %d\n%s", code, stderr)
	}
	if after := rowsOf(t, openDB(t, db), q); after != before {
		t.Errorf("recomputed metrics differ:\n%s\n%s", after, before)
	}
}

// TestIngestExportAgreement: a native run, exported and ingested, has
// bit-identical records and metrics; report, plot, export and merge work
// on ingested runs.
func TestIngestExportAgreement(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	native := filepath.Join(dir, "native.db")
	if _, stderr, code := cleval(t, "run", "--benchmark", "split-synthetic", "--epochs", "1", "--hidden", "16", "--seeds", "0-1",
		"--db", native, "--quiet"); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(dir, "export")
	if _, stderr, code := cleval(t, "export", "--db", native, "--out", out, "--format", "arrow"); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	ing := filepath.Join(dir, "ingested.db")
	if _, stderr, code := cleval(t, "ingest", "--db", ing, out); code != 0 {
		t.Fatalf("ingest: exit %d\n%s", code, stderr)
	}
	a, b := openDB(t, native), openDB(t, ing)
	for _, q := range []string{
		`SELECT run_id, variant, name, k, j, quote(value) FROM metrics ORDER BY 1, 2, 3, 4, 5`, // quote: exact float text
		`SELECT run_id, variant, iteration, eval_exp, training_exp, correct, total, quote(loss_sum), subset FROM evaluations ORDER BY 1, 2, 3, 4`,
		`SELECT run_id, variant, row_exp, col_exp, correct, total, quote(loss_sum) FROM accuracy_matrix ORDER BY 1, 2, 3, 4`,
		`SELECT run_id, exp, classes, task, train_size, test_size, eval_size, end_iteration FROM experiences ORDER BY 1, 2`,
		`SELECT id, preset, benchmark, strategy, seed, config, status, num_experiences, eval_subset, variants, iterations FROM runs ORDER BY 1`,
	} {
		if x, y := rowsOf(t, a, q), rowsOf(t, b, q); x != y || x == "" {
			t.Errorf("%s\nnative:\n%.600s\ningested:\n%.600s", q, x, y)
		}
	}
	if n := count(t, b, `SELECT count(*) FROM run_sources`); n != 8 { // 2 runs × 4 tables
		t.Errorf("%d sources, want 8", n)
	}
	// The other commands on ingested runs.
	if stdout, stderr, code := cleval(t, "report", "--db", ing, "--ci", "bootstrap"); code != 0 || !strings.Contains(stdout, "2 complete runs in 1 configurations") ||
		!strings.Contains(stdout, "BCa bootstrap") {
		t.Errorf("report: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := cleval(t, "plot", "--db", ing, "--out", filepath.Join(dir, "plots"), "--format", "svg", "--kind", "accuracy"); code != 0 {
		t.Errorf("plot: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := cleval(t, "export", "--db", ing, "--out", filepath.Join(dir, "export2")); code != 0 {
		t.Errorf("export: exit %d\n%s", code, stderr)
	}
	merged := filepath.Join(dir, "merged.db")
	if _, stderr, code := cleval(t, "merge", "-o", merged, native, ing); code != 0 {
		t.Fatalf("merge: exit %d\n%s", code, stderr)
	}
	m := openDB(t, merged)
	if n := count(t, m, `SELECT count(*) FROM runs`); n != 4 {
		t.Errorf("%d merged runs, want 4", n)
	}
	if n := count(t, m, `SELECT count(*) FROM run_sources`); n != 8 {
		t.Errorf("%d merged sources, want 8", n)
	}
	// Native and ingested runs of one configuration form one group; the
	// later of two runs with the same seed counts.
	if stdout, _, code := cleval(t, "report", "--db", merged, "--metrics", "acc"); code != 0 || !strings.Contains(stdout, "2 complete runs in 1 configurations") ||
		!strings.Contains(stdout, "ignored 2 duplicate runs") {
		t.Errorf("report of the merge:\n%s", stdout)
	}
}

func rowsOf(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var b strings.Builder
	for rows.Next() {
		rows.Scan(ptrs...)
		for _, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%v|", v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// loggerScript logs one run with cleval_log: 0-based experiences, two
// variants, losses; the accuracies follow acc() below.
const loggerScript = `
import sys
sys.path.insert(0, sys.argv[2])
from cleval_log import CLevalLog

def correct(t, k, variant):
    # mirrors loggerCorrect in ingest_test.go
    return (7 * t + 13 * k + (3 if variant == "ema0.99" else 0)) % 41 + 60

T, N, EVERY = 3, 10, 3
with CLevalLog(sys.argv[1], run="py-s5", strategy="mine", seed=5, exp_base=0, lr=0.05, tag="logger") as log:
    for v in ("live", "ema0.99"):
        log.eval(0, 0, 0, correct(0, 0, v), 100, variant=v, loss=0.5)
    log.matrix(-1, 0, 10, 50)
    log.matrix(-1, 1, 11, 50)
    log.matrix(-1, 2, 12, 50)
    t = 0
    for exp in range(T):
        for _ in range(N):
            t += 1
            if t % EVERY == 0 or t == (exp + 1) * N:
                for v in ("live", "ema0.99"):
                    for k in range(exp + 1):
                        log.eval(t, exp, k, correct(t, k, v), 100, variant=v, loss=0.25 * (k + 1))
        for j in range(T):
            log.matrix(exp, j, 30 + 5 * exp - j, 50)
    try:
        log.eval(t, 2, 0, 101, 100)
    except ValueError:
        pass
    else:
        sys.exit("correct > total was accepted")
print("ok")
`

func loggerCorrect(t, k int, variant string) int {
	extra := 0
	if variant == "ema0.99" {
		extra = 3
	}
	return (7*t+13*k+extra)%41 + 60
}

// TestPythonLogger writes a log with clients/python/cleval_log.py (python3,
// standard library only), ingests it, and checks the stored records and
// metrics against the ones the script was told to log. With CI set, a
// missing python3 fails the test.
func TestPythonLogger(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3 not found: .ci/run installs it (apt-get install python3)")
		}
		t.Skip("python3 not found")
	}
	dir := t.TempDir()
	script := write(t, filepath.Join(dir, "log.py"), loggerScript)
	logPath := filepath.Join(dir, "py-s5.jsonl")
	client, _ := filepath.Abs(filepath.Join("..", "..", "clients", "python"))
	// -I -S: isolated, without site packages: the standard library only;
	// -B: no __pycache__ in the repository.
	if out, err := exec.Command(python, "-I", "-S", "-B", script, logPath, client).CombinedOutput(); err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("python3 log.py: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "py.db")
	stdout, stderr, code := cleval(t, "ingest", "--db", db, logPath)
	if code != 0 {
		t.Fatalf("ingest: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "py-s5") {
		t.Errorf("output:\n%s", stdout)
	}
	// The records the script logged, in cleval's numbering.
	const T, N, every = 3, 10, 3
	var want []metrics.EvalRecord
	for _, v := range []string{"ema0.99", "live"} {
		want = append(want, metrics.EvalRecord{Iteration: 0, Training: 1, Evaluated: 1, Variant: v, Correct: loggerCorrect(0, 0, v), Total: 100, LossSum: 50, Subset: "fixed"})
		for t := 1; t <= T*N; t++ {
			exp := (t - 1) / N
			if t%every == 0 || t == (exp+1)*N {
				for k := 0; k <= exp; k++ {
					want = append(want, metrics.EvalRecord{Iteration: t, Training: exp + 1, Evaluated: k + 1, Variant: v,
						Correct: loggerCorrect(t, k, v), Total: 100, LossSum: 25 * float64(k+1), Subset: "fixed"})
				}
			}
		}
	}
	var mat []metrics.MatrixRecord
	for j := 0; j < T; j++ {
		mat = append(mat, metrics.MatrixRecord{Row: 0, Col: j + 1, Variant: "live", Correct: 10 + j, Total: 50})
	}
	for i := 0; i < T; i++ {
		for j := 0; j < T; j++ {
			mat = append(mat, metrics.MatrixRecord{Row: i + 1, Col: j + 1, Variant: "live", Correct: 30 + 5*i - j, Total: 50})
		}
	}
	sdb := openDB(t, db)
	got := rowsOf(t, sdb, `SELECT variant, iteration, training_exp, eval_exp, correct, total, loss_sum, subset FROM evaluations ORDER BY variant, iteration, eval_exp`)
	var w strings.Builder
	for _, r := range want {
		fmt.Fprintf(&w, "%s|%d|%d|%d|%d|%d|%v|%s|\n", r.Variant, r.Iteration, r.Training, r.Evaluated, r.Correct, r.Total, r.LossSum, r.Subset)
	}
	if got != w.String() {
		t.Errorf("stored records\n%s\nwant\n%s", got, w.String())
	}
	var live []metrics.EvalRecord
	for _, r := range want {
		if r.Variant == "live" {
			live = append(live, r)
		}
	}
	vals, err := metrics.Compute(metrics.Input{NumExperiences: T, Ends: []int{10, 20, 30}, Evals: live, Matrix: mat})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		var got sql.NullFloat64
		if err := sdb.QueryRow(`SELECT value FROM metrics WHERE run_id = 1 AND variant = 'live' AND name = ? AND k = ? AND j = ?`, v.Name, v.K, v.J).Scan(&got); err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if got.Valid == v.Null || got.Float64 != v.Value {
			t.Errorf("%s[%d,%d] = %+v, want %+v", v.Name, v.K, v.J, got, v)
		}
	}
	var cfg, variants string
	sdb.QueryRow(`SELECT config, variants FROM runs WHERE id = 1`).Scan(&cfg, &variants)
	if cfg != `{"lr":0.05,"seed":5,"strategy":"mine","tag":"logger"}` || variants != `["live","ema0.99"]` {
		t.Errorf("config %s variants %s", cfg, variants)
	}
}

// writeScale writes the evaluation records of runs runs of points
// evaluation points each, every point evaluating all five experiences
// (experience k trained on iterations 400(k-1)..400k-1; 10,000 records a
// run), as CSV or JSON Lines, streaming.
func writeScale(b *testing.B, path string, runs, points int, jsonl bool) int64 {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if !jsonl {
		w.WriteString("run,iteration,training_exp,eval_exp,correct,total\n")
	}
	per := points / 5
	var n int64
	for r := 0; r < runs; r++ {
		for t := 0; t < points; t++ {
			c := min(5, t/per+1)
			for k := 1; k <= 5; k++ {
				correct := (7*t+13*k+r)%500 + 400
				if jsonl {
					fmt.Fprintf(w, `{"run":%d,"iteration":%d,"training_exp":%d,"eval_exp":%d,"correct":%d,"total":1000}`+"\n", r, t, c, k, correct)
				} else {
					fmt.Fprintf(w, "%d,%d,%d,%d,%d,1000\n", r, t, c, k, correct)
				}
				n++
			}
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return n
}

// BenchmarkIngestScale ingests generated runs of 2,000 evaluation points ×
// 5 experiences (10,000 records each) with the cleval binary and reports
// the time, the records per second, the CPU time and the peak resident
// memory of the process (Maxrss). 1,000 runs are 10 M records (a 230 MB CSV file); the
// peak memory at 100 and at 1,000 runs shows that it does not grow with
// the number of runs. Run with -benchtime 1x:
//
//	go test -run - -bench IngestScale -benchtime 1x ./cmd/cleval
func BenchmarkIngestScale(b *testing.B) {
	for _, tc := range []struct {
		runs  int
		jsonl bool
	}{{100, false}, {1000, false}, {1000, true}} {
		format := "csv"
		if tc.jsonl {
			format = "jsonl"
		}
		b.Run(fmt.Sprintf("runs=%d/%s", tc.runs, format), func(b *testing.B) {
			dir := b.TempDir()
			in := filepath.Join(dir, "evaluations."+format)
			records := writeScale(b, in, tc.runs, 2000, tc.jsonl)
			var maxRSS int64
			var cpu float64
			for b.Loop() {
				db := filepath.Join(dir, "scale.db")
				for _, s := range []string{"", "-wal", "-shm"} {
					os.Remove(db + s)
				}
				cmd := exec.Command(binary, "ingest", "--db", db, "--quiet", "--seed-from-run", "--meta", "strategy=scale", in)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				if err := cmd.Run(); err != nil {
					b.Fatalf("%v\n%s", err, stderr.String())
				}
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					maxRSS = max(maxRSS, ru.Maxrss) // KiB on Linux
				}
				cpu += (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
			}
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(maxRSS)/1024, "peak-RSS-MiB")
			// CPU time is less sensitive than wall time to other work on
			// the machine.
			b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
		})
	}
}
