package export

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// jsReaderDir holds the independent readers: hyparquet (Parquet, with
// hyparquet-compressors for zstd) and Arrow JS (Arrow IPC), pinned in
// package.json and package-lock.json. .ci/run installs them with
// `npm ci --prefix metrics/export/testdata/js`.
const jsReaderDir = "testdata/js"

// TestIndependentReader reads both export formats with JavaScript readers
// that share no code with Arrow Go, and checks row counts and values
// against SQLite. In CI (CI set in the environment) a missing node or
// missing node_modules fail the test; elsewhere the test is skipped with
// the command that installs them.
func TestIndependentReader(t *testing.T) {
	missing := func(what string) {
		msg := what + ": install the readers with: npm ci --prefix metrics/export/testdata/js (Node.js >= 20)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not found")
	}
	for _, pkg := range []string{"hyparquet", "hyparquet-compressors", "apache-arrow"} {
		if _, err := os.Stat(filepath.Join(jsReaderDir, "node_modules", pkg, "package.json")); err != nil {
			missing(pkg + " is not installed in " + jsReaderDir + "/node_modules")
		}
	}

	db, path := fixture(t)
	dir := t.TempDir()
	for _, f := range []Format{FormatParquet, FormatArrow} {
		// Small batches: the readers must handle several row groups and
		// record batches.
		if _, err := Export(context.Background(), db, dir, Options{Format: f, BatchRows: 16}); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(node, filepath.Join(jsReaderDir, "read.mjs"), dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node read.mjs: %v", err)
	}
	var got map[string]map[string]map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}

	sdb, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	one := func(q string) any {
		var v any
		if err := sdb.QueryRow(q).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if i, ok := v.(int64); ok {
			return float64(i) // JSON numbers
		}
		return v
	}
	column := func(q string) []any {
		rows, err := sdb.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := []any{}
		for rows.Next() {
			var v any
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			switch x := v.(type) {
			case int64:
				v = float64(x)
			case []byte:
				v = string(x)
			}
			out = append(out, v)
		}
		return out
	}
	// Gap events exist for transitions that completed.
	const completed = `' AND (SELECT end_iteration FROM experiences x WHERE x.run_id = m.run_id AND x.exp = m.j) IS NOT NULL`
	want := map[string]map[string]any{
		TableRuns: {
			"rows":     one(`SELECT count(*) FROM runs`),
			"run_id":   column(`SELECT id FROM runs ORDER BY id`),
			"seed":     column(`SELECT seed FROM runs ORDER BY id`),
			"strategy": column(`SELECT strategy FROM runs ORDER BY id`),
			"lr":       column(`SELECT json_extract(config, '$.optimizer.lr') FROM runs ORDER BY id`),
		},
		TableExperiences: {
			"rows": one(`SELECT count(*) FROM experiences`),
		},
		TableEvaluations: {
			"rows":           one(`SELECT count(*) FROM evaluations`),
			"sum_correct":    one(`SELECT sum(correct) FROM evaluations`),
			"sum_iteration":  one(`SELECT sum(iteration) FROM evaluations`),
			"seen":           one(`SELECT count(*) FROM evaluations WHERE eval_exp <= training_exp`),
			"first_accuracy": one(`SELECT CAST(correct AS REAL) / total FROM evaluations ORDER BY run_id, variant, iteration, eval_exp LIMIT 1`),
			"last_accuracy":  one(`SELECT CAST(correct AS REAL) / total FROM evaluations ORDER BY run_id DESC, variant DESC, iteration DESC, eval_exp DESC LIMIT 1`),
		},
		TableAccuracyMatrix: {
			"rows":        one(`SELECT count(*) FROM accuracy_matrix`),
			"sum_correct": one(`SELECT sum(correct) FROM accuracy_matrix`),
		},
		TableMetrics: {
			"rows":     one(`SELECT count(*) FROM metrics`),
			"nulls":    one(`SELECT count(*) FROM metrics WHERE value IS NULL`),
			"acc_run1": one(`SELECT value FROM metrics WHERE run_id = 1 AND variant = 'live' AND name = 'acc' AND k = 0`),
		},
		TableGapEvents: {
			"rows":  one(`SELECT count(*) FROM metrics m WHERE name = 'gap_depth` + completed),
			"depth": column(`SELECT value FROM metrics m WHERE name = 'gap_depth` + completed + ` ORDER BY run_id, variant, j, k`),
		},
	}
	for _, format := range []string{"parquet", "arrow"} {
		for table, fields := range want {
			for name, w := range fields {
				g, ok := got[format][table][name]
				if !ok {
					t.Errorf("%s %s: reader gave no %s", format, table, name)
					continue
				}
				if !reflect.DeepEqual(g, w) {
					t.Errorf("%s %s %s: reader %v, SQLite %v", format, table, name, g, w)
				}
			}
		}
		// Values SQLite cannot give as plainly.
		if g := got[format][TableExperiences]["classes_last"]; !reflect.DeepEqual(g, []any{0.0, 1.0}) {
			t.Errorf("%s experiences: classes of the last row %v, want [0 1]", format, g)
		}
	}
}
