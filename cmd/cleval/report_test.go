package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cleval/cleval/metrics/report"
	"github.com/cleval/cleval/metrics/store"
)

// resultsDB stores naive and ER on the fast synthetic benchmark, seeds
// 0..2, and returns the database path.
func resultsDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "results.db")
	for _, preset := range []string{"delange-smnist-naive", "delange-smnist-er"} {
		_, stderr, code := cleval(t, "run", "--benchmark", "split-synthetic", "--preset", preset, "--epochs", "1", "--hidden", "16",
			"--seeds", "0-2", "--db", path, "--quiet")
		if code != 0 {
			t.Fatalf("run %s: exit %d\n%s", preset, code, stderr)
		}
	}
	return path
}

func TestReportCommand(t *testing.T) {
	t.Parallel()
	path := resultsDB(t)
	stdout, stderr, code := cleval(t, "report", "--db", path, "--success", "min_acc>=0.1", "--compare", "er", "naive")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, s := range []string{"6 complete runs in 2 configurations", "[1] naive", "[2] er", "95% CI",
		"compare [2] er − [1] naive: paired over seeds 0,1,2", "min_acc>=0.1", "gap_depth_mean"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("report lacks %q:\n%s", s, stdout)
		}
	}
	stdout, _, code = cleval(t, "report", "--db", path, "--format", "json", "--metrics", "acc,min_acc")
	var j struct {
		Stats []struct{ Metric string } `json:"stats"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &j) != nil || len(j.Stats) != 4 {
		t.Errorf("json: exit %d, %d stats\n%s", code, len(j.Stats), stdout)
	}
	for _, f := range []string{"markdown", "csv", "latex"} {
		if _, stderr, code := cleval(t, "report", "--db", path, "-f", f); code != 0 {
			t.Errorf("--format %s: exit %d\n%s", f, code, stderr)
		}
	}
	html := filepath.Join(t.TempDir(), "report.html")
	if _, stderr, code := cleval(t, "report", "--db", path, "--html", html); code != 0 {
		t.Fatalf("--html: exit %d\n%s", code, stderr)
	}
	page, err := os.ReadFile(html)
	if err != nil || strings.Count(string(page), "<svg") < 4 || !strings.Contains(string(page), "<table>") {
		t.Errorf("HTML page: %v, %d SVG figures", err, strings.Count(string(page), "<svg"))
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--compare", "er", "naive", "--metrics", "acc"}, "put --compare A B last"},
		{[]string{"--compare", "er"}, "needs two groups"},
		{[]string{"--compare", "er,gem"}, `no group matches "gem"`},
		{[]string{"--success", "acc=>0.5"}, "want METRIC OP VALUE"},
		{[]string{"--format", "xml"}, "--format"},
		{[]string{"--run", "99"}, "run 99"},
	} {
		_, stderr, code := cleval(t, append([]string{"report", "--db", path}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("report %v: exit %d, stderr %q, want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestExportCommand(t *testing.T) {
	t.Parallel()
	path := resultsDB(t)
	for _, format := range []string{"parquet", "arrow"} {
		out := filepath.Join(t.TempDir(), "out")
		stdout, stderr, code := cleval(t, "export", "--db", path, "--format", format, "--out", out, "--strategy", "er")
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", format, code, stderr)
		}
		for _, table := range []string{"runs", "experiences", "evaluations", "accuracy_matrix", "metrics", "gap_events"} {
			file := filepath.Join(out, table+"."+format)
			if _, err := os.Stat(file); err != nil || !strings.Contains(stdout, file) {
				t.Errorf("%s: %v\n%s", file, err, stdout)
			}
		}
		if !strings.Contains(stdout, "runs                     3 rows") {
			t.Errorf("--strategy er did not select 3 runs:\n%s", stdout)
		}
	}
}

func TestExportBadInput(t *testing.T) {
	t.Parallel()
	path := resultsDB(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	noRuns := filepath.Join(dir, "noruns.db")
	db, err := store.Open(noRuns, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing database", []string{"--db", filepath.Join(dir, "missing.db")}, 2, "does not exist"},
		{"empty file", []string{"--db", empty}, 2, "not a cleval database"},
		{"no runs", []string{"--db", noRuns}, 2, "holds no runs"},
		{"unknown run", []string{"--db", path, "--run", "2,42"}, 2, "run 42: not found"},
		{"no match", []string{"--db", path, "--preset", "nope"}, 2, "none of its 6 runs matches"},
		{"unwritable output", []string{"--db", path, "--out", filepath.Join(file, "out")}, 2, "cannot write the output directory"},
		{"bad format", []string{"--db", path, "--format", "csv"}, 2, "parquet or arrow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"export", "--out", out}, tc.args...)
			_, stderr, code := cleval(t, args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.want)
			}
			if entries, _ := os.ReadDir(out); len(entries) > 0 {
				t.Errorf("a failed export left %d files", len(entries))
			}
		})
	}
}

func TestPlotCommand(t *testing.T) {
	t.Parallel()
	path := resultsDB(t)
	out := filepath.Join(t.TempDir(), "plots")
	stdout, stderr, code := cleval(t, "plot", "--db", path, "--out", out, "--zoom", "5")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, name := range []string{"compare-wc_acc", "compare-avg_acc", "g1-accuracy", "g1-zoom", "g1-matrix", "g2-accuracy", "g2-zoom", "g2-matrix"} {
		file := filepath.Join(out, name+".png")
		if st, err := os.Stat(file); err != nil || st.Size() < 1000 || !strings.Contains(stdout, file) {
			t.Errorf("%s: %v\n%s", file, err, stdout)
		}
	}
	_, stderr, code = cleval(t, "plot", "--db", path, "--out", out, "--kind", "matrix", "--format", "svg", "--run", "1-3")
	if code != 0 {
		t.Fatalf("svg: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "g1-matrix.svg")); err != nil {
		t.Error(err)
	}
	if _, stderr, code := cleval(t, "plot", "--db", path, "--kind", "pie"); code != 2 || !strings.Contains(stderr, "--kind") {
		t.Errorf("--kind pie: exit %d, %q", code, stderr)
	}
}

// TestInterruptedHTMLReportWritesNothing: a report --html stopped by a
// signal (its context cancelled) leaves neither the page nor a temporary
// file.
func TestInterruptedHTMLReportWritesNothing(t *testing.T) {
	t.Parallel()
	path, _, _ := fixture(t)
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	set, err := report.Load(context.Background(), db, store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Build(set, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := writeHTML(ctx, db, r, filepath.Join(dir, "r.html")); err == nil {
		t.Fatal("no error from a cancelled report")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
