package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/export"
	"github.com/cleval/cleval/metrics/internal/testdb"
	"github.com/cleval/cleval/metrics/store"
)

// nativeRuns writes two complete native runs (live and EMA variants, three
// experiences) and returns the database and their stored data.
func nativeRuns(t *testing.T) (*store.DB, []*store.RunData) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "native.db")
	ids, err := testdb.Write(path,
		testdb.Run{Strategy: "er", Seed: 0, Experiences: 3, ItersPerExp: 7, Variants: []string{"live", "ema0.99"}},
		testdb.Run{Strategy: "er", Seed: 1, Experiences: 3, ItersPerExp: 7, Variants: []string{"live", "ema0.99"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var out []*store.RunData
	for _, id := range ids {
		rd, err := db.ReadRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rd)
	}
	return db, out
}

// column is a column of a test table: its name, Arrow type and values.
type column struct {
	name string
	typ  arrow.DataType
	vals []any
}

type table struct {
	name string
	cols []*column
}

func (t *table) add(row ...any) {
	for i, v := range row {
		t.cols[i].vals = append(t.cols[i].vals, v)
	}
}

func newTable(name string, cols ...string) *table {
	t := &table{name: name}
	for _, c := range cols {
		n, typ, _ := strings.Cut(c, ":")
		var dt arrow.DataType
		switch typ {
		case "i64":
			dt = arrow.PrimitiveTypes.Int64
		case "i32":
			dt = arrow.PrimitiveTypes.Int32
		case "f64":
			dt = arrow.PrimitiveTypes.Float64
		case "str":
			dt = arrow.BinaryTypes.String
		case "list":
			dt = arrow.ListOf(arrow.PrimitiveTypes.Int32)
		default:
			panic(typ)
		}
		t.cols = append(t.cols, &column{name: n, typ: dt})
	}
	return t
}

// testTables turns stored runs into the format's four tables.
func testTables(runs []*store.RunData) []*table {
	runsT := newTable("runs", "run:str", "seed:i64", "strategy:str", "benchmark:str", "preset:str", "config:str")
	exps := newTable("experiences", "run:str", "exp:i32", "classes:list", "task:i32", "train_size:i64", "test_size:i64", "eval_size:i64", "end_iteration:i64")
	evals := newTable("evaluations", "run:str", "variant:str", "iteration:i64", "training_exp:i32", "eval_exp:i32", "correct:i64", "total:i64", "loss_sum:f64", "subset:str")
	mat := newTable("accuracy_matrix", "run:str", "variant:str", "row_exp:i32", "col_exp:i32", "correct:i64", "total:i64", "loss_sum:f64")
	for _, rd := range runs {
		name := fmt.Sprintf("r%d", rd.Run.ID)
		runsT.add(name, int64(rd.Run.Seed), rd.Run.Strategy, rd.Run.Benchmark, rd.Run.Preset, string(rd.Run.Config))
		for i, e := range rd.Experiences {
			exps.add(name, int32(e.ID), e.Classes, int32(e.Task), int64(e.TrainSize), int64(e.TestSize), int64(e.EvalSize), int64(rd.Ends[i]))
		}
		for _, e := range rd.Evals {
			evals.add(name, e.Variant, int64(e.Iteration), int32(e.Training), int32(e.Evaluated), int64(e.Correct), int64(e.Total), e.LossSum, string(e.Subset))
		}
		for _, m := range rd.Matrix {
			mat.add(name, m.Variant, int32(m.Row), int32(m.Col), int64(m.Correct), int64(m.Total), m.LossSum)
		}
	}
	return []*table{runsT, exps, evals, mat}
}

func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case int32:
		return strconv.Itoa(int(v))
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func writeCSV(t *testing.T, path string, tb *table, comma rune, gz bool) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Comma = comma
	var head []string
	for _, c := range tb.cols {
		head = append(head, c.name)
	}
	w.Write(head)
	for i := range tb.cols[0].vals {
		var rec []string
		for _, c := range tb.cols {
			rec = append(rec, text(c.vals[i]))
		}
		w.Write(rec)
	}
	w.Flush()
	writeFile(t, path, buf.Bytes(), gz)
}

func writeFile(t *testing.T, path string, b []byte, gz bool) {
	t.Helper()
	if gz {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(b)
		zw.Close()
		b = z.Bytes()
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// jsonLines returns the rows of tb as JSON objects, with a "table" field
// when tag is set.
func jsonLines(tb *table, tag bool) []byte {
	var buf bytes.Buffer
	for i := range tb.cols[0].vals {
		buf.WriteString("{")
		if tag {
			fmt.Fprintf(&buf, `"table": %q, `, tb.name)
		}
		for j, c := range tb.cols {
			if j > 0 {
				buf.WriteString(", ")
			}
			b, _ := json.Marshal(c.vals[i])
			fmt.Fprintf(&buf, "%q: %s", c.name, b)
		}
		buf.WriteString("}\n")
	}
	return buf.Bytes()
}

func record(tb *table) arrow.RecordBatch {
	var fields []arrow.Field
	for _, c := range tb.cols {
		fields = append(fields, arrow.Field{Name: c.name, Type: c.typ, Nullable: true})
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for j, c := range tb.cols {
		for _, v := range c.vals {
			switch fb := b.Field(j).(type) {
			case *array.Int64Builder:
				fb.Append(v.(int64))
			case *array.Int32Builder:
				fb.Append(v.(int32))
			case *array.Float64Builder:
				fb.Append(v.(float64))
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.ListBuilder:
				fb.Append(true)
				fb.ValueBuilder().(*array.Int32Builder).AppendValues(v.([]int32), nil)
			}
		}
	}
	return b.NewRecordBatch()
}

func writeArrow(t *testing.T, path string, tb *table, stream bool, parquetFile bool) {
	t.Helper()
	rec := record(tb)
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Two record batches (row groups), to read across batches.
	half := rec.NumRows() / 2
	parts := []arrow.RecordBatch{rec.NewSlice(0, half), rec.NewSlice(half, rec.NumRows())}
	defer parts[0].Release()
	defer parts[1].Release()
	switch {
	case parquetFile:
		w, err := pqarrow.NewFileWriter(rec.Schema(), f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			if err := w.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case stream:
		w := ipc.NewWriter(f, ipc.WithSchema(rec.Schema()))
		for _, p := range parts {
			w.Write(p)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		w, err := ipc.NewFileWriter(f, ipc.WithSchema(rec.Schema()))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			w.Write(p)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// sameRun compares an ingested run with the native one it came from:
// every record, experience, end and metric bit for bit (the key differs).
func sameRun(t *testing.T, label string, got, want *store.RunData) {
	t.Helper()
	g, w := *got, *want
	g.Run.Key, w.Run.Key = "", ""
	if g.Digest() != w.Digest() {
		switch {
		case !reflect.DeepEqual(g.Evals, w.Evals):
			t.Errorf("%s: evaluation records differ", label)
		case !reflect.DeepEqual(g.Matrix, w.Matrix):
			t.Errorf("%s: accuracy matrix differs", label)
		case !reflect.DeepEqual(g.Metrics, w.Metrics):
			t.Errorf("%s: metrics differ:\n%v\n%v", label, g.Metrics, w.Metrics)
		default:
			t.Errorf("%s: runs differ: %+v %v %v\nwant %+v %v %v", label, g.Run, g.Experiences, g.Ends, w.Run, w.Experiences, w.Ends)
		}
	}
	if !bytes.Equal(got.Run.Config, want.Run.Config) {
		t.Errorf("%s: config %s, want %s", label, got.Run.Config, want.Run.Config)
	}
}

func ingestInto(t *testing.T, opt Options) (*store.DB, *Result, error) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "ingested.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	res, err := Ingest(context.Background(), db, opt)
	return db, res, err
}

// TestFormatsRoundTrip writes two native runs in every format (one file
// per table, mixed JSON Lines, gzip, Arrow file and stream, Parquet, and
// cleval's own export) and checks that each ingest stores them bit for
// bit, metrics included.
func TestFormatsRoundTrip(t *testing.T) {
	native, runs := nativeRuns(t)
	tables := testTables(runs)
	cases := map[string]func(dir string) []Input{
		"csv": func(dir string) []Input {
			for _, tb := range tables {
				writeCSV(t, filepath.Join(dir, tb.name+".csv"), tb, ',', false)
			}
			return []Input{{Path: dir}}
		},
		"tsv.gz": func(dir string) []Input {
			for _, tb := range tables {
				writeCSV(t, filepath.Join(dir, tb.name+".tsv.gz"), tb, '\t', true)
			}
			return []Input{{Path: dir}}
		},
		"jsonl per table": func(dir string) []Input {
			for _, tb := range tables {
				writeFile(t, filepath.Join(dir, tb.name+".jsonl"), jsonLines(tb, false), false)
			}
			return []Input{{Path: dir}}
		},
		"jsonl mixed": func(dir string) []Input {
			var all []byte
			for _, tb := range tables {
				all = append(all, jsonLines(tb, true)...)
			}
			path := filepath.Join(dir, "log.jsonl")
			writeFile(t, path, all, false)
			return []Input{{Path: path}}
		},
		"parquet": func(dir string) []Input {
			for _, tb := range tables {
				writeArrow(t, filepath.Join(dir, tb.name+".parquet"), tb, false, true)
			}
			return []Input{{Path: dir}}
		},
		"arrow file and stream": func(dir string) []Input {
			var in []Input
			for i, tb := range tables {
				path := filepath.Join(dir, tb.name+".arrow")
				writeArrow(t, path, tb, i%2 == 0, false)
				in = append(in, Input{Path: path})
			}
			return in
		},
		"explicit tables, other names": func(dir string) []Input {
			var in []Input
			for _, tb := range tables {
				path := filepath.Join(dir, "x-"+tb.name+".csv")
				writeCSV(t, path, tb, ',', false)
				tab, _ := ParseTable(tb.name)
				in = append(in, Input{Path: path, Table: tab})
			}
			return in
		},
		"cleval export (parquet)": func(dir string) []Input {
			if _, err := export.Export(context.Background(), native, dir, export.Options{Format: export.FormatParquet}); err != nil {
				t.Fatal(err)
			}
			return []Input{{Path: dir}}
		},
		"cleval export (arrow)": func(dir string) []Input {
			if _, err := export.Export(context.Background(), native, dir, export.Options{Format: export.FormatArrow, BatchRows: 50}); err != nil {
				t.Fatal(err)
			}
			return []Input{{Path: dir}}
		},
	}
	for name, make := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			inputs := make(t.TempDir())
			db, res, err := ingestInto(t, Options{Inputs: inputs})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Runs) != len(runs) {
				t.Fatalf("%d runs ingested, want %d", len(res.Runs), len(runs))
			}
			for i, rr := range res.Runs {
				got, err := db.ReadRun(context.Background(), rr.ID)
				if err != nil {
					t.Fatal(err)
				}
				sameRun(t, rr.Name, got, runs[i])
				srcs, err := db.RunSources(context.Background(), rr.ID)
				if err != nil || len(srcs) == 0 {
					t.Errorf("run %s: sources %v %v", rr.Name, srcs, err)
				}
				for _, s := range srcs {
					if len(s.SHA256) != 64 || s.Bytes == 0 || s.Tables == "" || s.SourceRun != rr.Name {
						t.Errorf("run %s: source %+v", rr.Name, s)
					}
				}
			}
			// The same files again store nothing new.
			again, err := Ingest(context.Background(), db, Options{Inputs: inputs})
			if err != nil {
				t.Fatal(err)
			}
			for i, rr := range again.Runs {
				if !rr.Existing || rr.ID != res.Runs[i].ID {
					t.Errorf("second ingest: %+v, want run %d stored before", rr, res.Runs[i].ID)
				}
			}
			all, _ := db.Runs(context.Background())
			if len(all) != len(runs) {
				t.Errorf("%d runs after ingesting twice, want %d", len(all), len(runs))
			}
		})
	}
}

// TestColumnsAndNumbering reads a 0-based CSV with other column names,
// accuracies instead of counts and a mean loss, and checks what is
// stored.
func TestColumnsAndNumbering(t *testing.T) {
	dir := t.TempDir()
	evals := "step,task_trained,task_eval,acc,n,mean_loss,note\n" +
		"0,0,0,0.5,4,0.25,a\n" +
		"1,0,0,0.75,4,0.5,b\n" +
		"2,1,0,0.25,4,1,c\n" +
		"2,1,1,0.5,4,1,d\n"
	matrix := "row,col,acc,n\n-1,0,0.5,8\n-1,1,0.5,8\n0,0,0.75,8\n0,1,0.125,8\n1,0,0.25,8\n1,1,0.5,8\n"
	writeFile(t, filepath.Join(dir, "e.csv"), []byte(evals), false)
	writeFile(t, filepath.Join(dir, "m.csv"), []byte(matrix), false)
	opt := Options{
		Inputs: []Input{{Path: filepath.Join(dir, "e.csv"), Table: TableEvaluations}, {Path: filepath.Join(dir, "m.csv"), Table: TableMatrix}},
		Map: map[string]string{"step": "iteration", "task_trained": "training_exp", "task_eval": "eval_exp", "acc": "accuracy", "n": "total",
			"mean_loss": "loss", "note": "", "row": "row_exp", "col": "col_exp"},
		ZeroBased: true, Run: "mine", Meta: map[string]string{"seed": "4", "strategy": "naive", "lr": "0.01", "tag": "x,y"},
	}
	db, res, err := ingestInto(t, opt)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := db.ReadRun(context.Background(), res.Runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []metrics.EvalRecord{
		{Iteration: 0, Training: 1, Evaluated: 1, Variant: "live", Correct: 2, Total: 4, LossSum: 1, Subset: "fixed"},
		{Iteration: 1, Training: 1, Evaluated: 1, Variant: "live", Correct: 3, Total: 4, LossSum: 2, Subset: "fixed"},
		{Iteration: 2, Training: 2, Evaluated: 1, Variant: "live", Correct: 1, Total: 4, LossSum: 4, Subset: "fixed"},
		{Iteration: 2, Training: 2, Evaluated: 2, Variant: "live", Correct: 2, Total: 4, LossSum: 4, Subset: "fixed"},
	}
	if !reflect.DeepEqual(rd.Evals, want) {
		t.Errorf("records\n%+v\nwant\n%+v", rd.Evals, want)
	}
	if len(rd.Matrix) != 6 || rd.Matrix[0].Row != 0 || rd.Matrix[0].Col != 1 || rd.Matrix[5].Row != 2 || rd.Matrix[5].Col != 2 || rd.Matrix[3].Correct != 1 {
		t.Errorf("matrix %+v", rd.Matrix)
	}
	if !reflect.DeepEqual(rd.Ends, []int{1, 2}) || rd.Run.Seed != 4 || rd.Run.Strategy != "naive" || rd.Run.NumExperiences != 2 {
		t.Errorf("run %+v ends %v", rd.Run, rd.Ends)
	}
	if got := string(rd.Run.Config); got != `{"lr":0.01,"seed":4,"strategy":"naive","tag":"x,y"}` {
		t.Errorf("config %s", got)
	}
	// ACC = (R_{2,1} + R_{2,2})/2 = (0.25 + 0.5)/2; BWT = R_{2,1} - R_{1,1}.
	for name, v := range map[string]float64{"acc": 0.375, "bwt": -0.5, "wc_acc": 0.5*0.5 + 0.5*0.25, "min_acc": 0.25} {
		if m := find(rd.Metrics, name); m == nil || m.Null || math.Abs(m.Value-v) > 1e-15 {
			t.Errorf("%s = %+v, want %v", name, m, v)
		}
	}
	if e := rd.Experiences[1]; e.EvalSize != 4 || e.TestSize != 8 || len(e.Classes) != 0 {
		t.Errorf("derived experience %+v", e)
	}
}

func find(ms []store.Metric, name string) *store.Metric {
	for i, m := range ms {
		if m.Variant == "live" && m.Name == name && m.K == 0 && m.J == 0 {
			return &ms[i]
		}
	}
	return nil
}

// TestBadInput checks errors beyond the command-line tests: each names
// the file, the row and the column, and the database stays empty.
func TestBadInput(t *testing.T) {
	head := "run,iteration,training_exp,eval_exp,correct,total\n"
	good := "a,0,1,1,1,2\na,1,1,1,2,2\na,2,2,1,1,2\na,2,2,2,1,2\n"
	for _, tc := range []struct {
		name, evals, matrix, runs, exps string
		opt                             Options
		want                            string
	}{
		{name: "iterations back", evals: head + "a,0,1,1,1,2\na,2,1,1,2,2\na,1,1,1,1,2\n", want: "evaluations.csv: row 3 (line 4), column iteration: 1 after iteration 2 of run a"},
		{name: "negative total", evals: head + "a,0,1,1,0,-2\n", want: "row 1 (line 2), column total: -2: must be >= 1"},
		{name: "zero-based index in a one-based file", evals: head + "a,0,0,0,1,2\n", want: "column training_exp: 0: must be >= 1 (experiences are numbered from 1 (declare 0-based numbering with --exp-base 0))"},
		{name: "training_exp changes inside a point", evals: head + "a,0,1,1,1,2\na,1,1,1,1,2\na,1,2,2,1,2\n", opt: Options{Meta: map[string]string{"seed": "0"}}, want: "evaluations.csv: row 3 (line 4), column training_exp: run a: a record of experience 2 at iteration 1, but experience 1 ends at iteration 1"},
		{name: "training_exp changes inside a point, given ends", evals: head + "a,0,1,1,1,2\na,1,1,1,1,2\na,1,2,2,1,2\na,2,2,1,1,2\na,2,2,2,1,2\n",
			opt: Options{Meta: map[string]string{"seed": "0"}}, exps: "run,exp,end_iteration\na,1,1\na,2,2\n",
			want: "evaluations.csv: row 3 (line 4), column training_exp: run a, variant live, iteration 1: training_exp 2, but another record of this evaluation point has 1"},
		{name: "accuracy and correct disagree", evals: "run,iteration,training_exp,eval_exp,correct,accuracy,total\na,0,1,1,1,0.75,2\n", want: "column accuracy: 0.75, but correct/total = 1/2"},
		{name: "percent accuracy", evals: "run,iteration,training_exp,eval_exp,accuracy,total\na,0,1,1,75,100\n", want: "column accuracy: 75: must be in [0, 1] (accuracies are fractions: divide percentages by 100)"},
		{name: "ragged row", evals: head + "a,0,1,1,1\n", want: "evaluations.csv: row 1 (line 2): 5 fields, the header has 6"},
		{name: "unknown column", evals: "run,iteration,training_exp,eval_exp,correct,total,epoch\n", want: "column epoch: unknown column of table evaluations"},
		{name: "no seed", evals: head + good, runs: "run,strategy\na,er\n", want: "runs.csv: row 1 (line 2), column seed: run a has no seed"},
		{name: "two metadata rows", evals: head + good, runs: "run,seed\na,1\na,2\n", want: "runs.csv: row 2 (line 3), column run: run a has a second row in the runs table (the first is"},
		{name: "not complete", evals: head + good, runs: "run,seed,status\na,1,interrupted\n", want: "column status: run a is interrupted: only complete runs are ingested"},
		{name: "run without records", evals: head + good, runs: "run,seed\na,1\nb,2\n", want: "runs.csv: row 2 (line 3), column run: run b has no evaluation records"},
		{name: "meta conflict", evals: head + good, runs: "run,seed\na,1\n", opt: Options{Meta: map[string]string{"seed": "2"}}, want: "column seed: run a: 1 here, but --meta seed=2"},
		{name: "matrix column out of range", evals: head + good, runs: "run,seed\na,1\n", matrix: "run,row_exp,col_exp,correct,total\na,1,3,1,2\n", want: "accuracy_matrix.csv: row 1 (line 2), column col_exp: run a: col_exp 3, but the run has 2 experiences"},
		// Records are written 64 to a statement: duplicates inside one
		// statement and across two.
		{name: "duplicate in one batch", evals: head + longRun(100, 20), opt: Options{Meta: map[string]string{"seed": "0"}},
			want: "evaluations.csv: row 21 (line 22), column eval_exp: duplicate record: run a, variant live, iteration 19, eval_exp 1 (the first is row 20 (line 21))"},
		{name: "duplicate across batches", evals: head + longRun(200, 64), opt: Options{Meta: map[string]string{"seed": "0"}},
			want: "evaluations.csv: row 65 (line 66), column eval_exp: duplicate record: run a, variant live, iteration 63, eval_exp 1 (the first is row 64 (line 65))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "evaluations.csv"), []byte(tc.evals), false)
			if tc.matrix != "" {
				writeFile(t, filepath.Join(dir, "accuracy_matrix.csv"), []byte(tc.matrix), false)
			}
			if tc.runs != "" {
				writeFile(t, filepath.Join(dir, "runs.csv"), []byte(tc.runs), false)
			}
			if tc.exps != "" {
				writeFile(t, filepath.Join(dir, "experiences.csv"), []byte(tc.exps), false)
			}
			opt := tc.opt
			opt.Inputs = []Input{{Path: dir}}
			db, _, err := ingestInto(t, opt)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if runs, _ := db.Runs(context.Background()); len(runs) != 0 {
				t.Errorf("%d runs stored after an error", len(runs))
			}
		})
	}
}

// TestDryRun checks everything and stores nothing.
func TestDryRun(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "evaluations.csv"), []byte("run,iteration,training_exp,eval_exp,correct,total\n1,0,1,1,1,2\n1,3,1,1,2,2\n"), false)
	db, res, err := ingestInto(t, Options{Inputs: []Input{{Path: dir}}, DryRun: true, SeedFromRun: true})
	if err != nil || len(res.Runs) != 1 || res.Runs[0].Seed != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if runs, _ := db.Runs(context.Background()); len(runs) != 0 {
		t.Errorf("dry run stored %d runs", len(runs))
	}
}

// FuzzFlatObject checks the JSON Lines scanner against encoding/json:
// it accepts exactly the lines that are one JSON object without repeated
// keys, with the same members.
func FuzzFlatObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"run":"x","iteration":3,"acc":0.5,"ok":true,"n":null}`, `{"a":"\u00e9\n","b":[1,{"c":"]"}],"d":-1.5e3}`,
		`{"a":1,"a":2}`, `[1]`, `{"a":}`, `{"a":123456789012345678901}`, `{"a":"x\"y"}`, `{"k\"ey":{"x":[]}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o := flatObject{keys: map[string]string{}}
		err := o.parse([]byte(s))
		var m map[string]json.RawMessage
		jerr := json.Unmarshal([]byte(s), &m)
		if jerr != nil || m == nil {
			if err == nil {
				t.Fatalf("%q: accepted, encoding/json says %v", s, jerr)
			}
			return
		}
		if dup := repeatedKeys(s); dup || err != nil {
			if !dup || err == nil || !strings.Contains(err.Error(), "appears twice") {
				t.Fatalf("%q: repeated keys %v, error %v", s, dup, err)
			}
			return
		}
		if len(m) != len(o.names) {
			t.Fatalf("%q: %d members, encoding/json %d", s, len(o.names), len(m))
		}
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		for i, name := range o.names {
			raw, ok := m[name]
			if !ok {
				t.Fatalf("%q: key %q not in encoding/json's %v", s, name, m)
			}
			var want any
			json.Unmarshal(raw, &want)
			v := o.vals[i]
			var got any
			switch v.k {
			case kNull:
				got = nil
			case kString:
				got = v.s
			case kBool:
				got = v.b
			case kInt:
				got = float64(v.i)
			case kFloat:
				got = v.f
			case kJSON:
				json.Unmarshal(v.raw, &got)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: %s = %#v, encoding/json %#v", s, name, got, want)
			}
		}
	})
}

// repeatedKeys reports whether the top-level object of s (valid JSON)
// repeats a key.
func repeatedKeys(s string) bool {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.Token() // {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		k := tok.(string)
		if seen[k] {
			return true
		}
		seen[k] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// longRun returns n records of run a (one experience, iterations 0, 1,
// ...) where record at (0-based) repeats the one before.
func longRun(n, at int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		it := i
		if i >= at {
			it = i - 1
		}
		fmt.Fprintf(&b, "a,%d,1,1,1,2\n", it)
	}
	return b.String()
}

// TestJSONLTableField: a line's "table" field names its table, also in a
// file named after a table; a wrong name is an error, not ignored.
func TestJSONLTableField(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "evaluations.jsonl")
	writeFile(t, path, []byte(`{"run":"a","iteration":0,"training_exp":1,"eval_exp":1,"correct":1,"total":2}
{"table":"runs","run":"a","seed":3}

{"table":"evaluation","run":"a","iteration":1,"training_exp":1,"eval_exp":1,"correct":1,"total":2}
`), false)
	_, _, err := ingestInto(t, Options{Inputs: []Input{{Path: path}}})
	if err == nil || !strings.Contains(err.Error(), `evaluations.jsonl: line 4, column table: "evaluation": must be evaluations, accuracy_matrix, runs or experiences`) {
		t.Fatalf("error %v", err)
	}
	b, _ := os.ReadFile(path)
	writeFile(t, path, bytes.Replace(b, []byte(`"evaluation"`), []byte(`"evaluations"`), 1), false)
	db, res, err := ingestInto(t, Options{Inputs: []Input{{Path: path}}})
	if err != nil || len(res.Runs) != 1 || res.Runs[0].Seed != 3 || res.Runs[0].Records != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	db.Close()
}
