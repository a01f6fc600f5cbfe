package export

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/internal/testdb"
	"github.com/cleval/cleval/metrics/store"

	_ "github.com/mattn/go-sqlite3"
)

var update = flag.Bool("update", false, "rewrite testdata/schema.golden")

// fixtureRuns is the database the round-trip tests export: two
// configurations over several seeds, two model variants, an interrupted
// and a diverged run, and a one-experience run (NULL metrics).
var fixtureRuns = []testdb.Run{
	{Preset: "p-naive", Strategy: "naive", Seed: 0, Experiences: 3, ItersPerExp: 6},
	{Preset: "p-naive", Strategy: "naive", Seed: 1, Experiences: 3, ItersPerExp: 6},
	{Preset: "p-er", Strategy: "er", Seed: 0, Experiences: 3, ItersPerExp: 6, Variants: []string{"live", "ema0.99"}},
	{Preset: "p-er", Strategy: "er", Seed: 1, Experiences: 3, ItersPerExp: 6, Variants: []string{"live", "ema0.99"}},
	{Strategy: "er", Seed: 2, Experiences: 3, ItersPerExp: 6, Status: metrics.RunInterrupted},
	{Strategy: "er", Seed: 3, Experiences: 3, ItersPerExp: 6, Status: metrics.RunDiverged},
	{Strategy: "naive", Seed: 4, Experiences: 1, ItersPerExp: 5},
}

func fixture(t *testing.T) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "runs.db")
	if _, err := testdb.Write(path, fixtureRuns...); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// readBack reads every record of an exported file into rows of Go values
// (see cell) and returns them with the file's Arrow schema.
func readBack(t *testing.T, mem memory.Allocator, path string, format Format) (*arrow.Schema, [][]any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]any
	collect := func(rec arrow.RecordBatch) {
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]any, rec.NumCols())
			for c, col := range rec.Columns() {
				row[c] = cell(col, i)
			}
			rows = append(rows, row)
		}
	}
	switch format {
	case FormatArrow:
		r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for i := 0; i < r.NumRecords(); i++ {
			rec, err := r.RecordBatch(i)
			if err != nil {
				t.Fatal(err)
			}
			collect(rec)
		}
		return r.Schema(), rows
	default:
		pf, err := file.NewParquetReader(f, file.WithReadProps(nil))
		if err != nil {
			t.Fatal(err)
		}
		defer pf.Close()
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 5}, mem)
		if err != nil {
			t.Fatal(err)
		}
		rr, err := fr.GetRecordReader(context.Background(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Release()
		for rr.Next() {
			collect(rr.RecordBatch())
		}
		if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		return rr.Schema(), rows
	}
}

// cell returns value i of col as int64, float64, string, bool, []any or
// nil (null); timestamps as microseconds since the epoch.
func cell(col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch a := col.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Uint64:
		return int64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.List:
		lo, hi := a.ValueOffsets(i)
		out := []any{}
		for j := lo; j < hi; j++ {
			out = append(out, cell(a.ListValues(), int(j)))
		}
		return out
	}
	panic(fmt.Sprintf("cell: unexpected array type %T", col))
}

// The expected tables, queried from SQLite directly (independently of the
// export code). Columns follow Schema.
var expectedSQL = map[string]string{
	TableRuns: `SELECT id, key, '', preset, benchmark, strategy, seed, status, error, num_experiences, eval_subset,
		variants, iterations, code_version, host, pid, started_at, ended_at,
		json_extract(config, '$.hidden'), coalesce(json_extract(config, '$.class_order'), '[]'),
		coalesce(json_extract(config, '$.permute_classes'), 0),
		json_extract(config, '$.optimizer.lr'), json_extract(config, '$.optimizer.momentum'),
		json_extract(config, '$.optimizer.weight_decay'), coalesce(json_extract(config, '$.optimizer.nesterov'), 0),
		json_extract(config, '$.epochs'), json_extract(config, '$.batch_size'), json_extract(config, '$.eval.every'),
		json_extract(config, '$.eval.size'), json_extract(config, '$.eval.experiences'),
		json_extract(config, '$.strategy_params'), config
		FROM runs ORDER BY id`,
	TableExperiences: `SELECT e.run_id, e.exp, e.classes, e.task, e.train_size, e.test_size, e.eval_size,
		CASE WHEN e.exp = 1 THEN 0 ELSE (SELECT p.end_iteration FROM experiences p WHERE p.run_id = e.run_id AND p.exp = e.exp - 1) END,
		e.end_iteration FROM experiences e ORDER BY e.run_id, e.exp`,
	TableEvaluations: `SELECT run_id, variant, iteration, training_exp, eval_exp, eval_exp <= training_exp, correct, total,
		CAST(correct AS REAL) / total, loss_sum, loss_sum / total, subset
		FROM evaluations ORDER BY run_id, variant, iteration, eval_exp`,
	TableAccuracyMatrix: `SELECT run_id, variant, row_exp, col_exp, correct, total, CAST(correct AS REAL) / total, loss_sum
		FROM accuracy_matrix ORDER BY run_id, variant, row_exp, col_exp`,
	TableMetrics: `SELECT run_id, variant, name, k, j, value FROM metrics ORDER BY run_id, variant, name, k, j`,
	TableGapEvents: `WITH g AS (
			SELECT run_id, variant, j, k,
				max(CASE WHEN name = 'gap_depth' THEN value END) AS depth,
				max(CASE WHEN name = 'gap_time_to_trough' THEN value END) AS ttt,
				max(CASE WHEN name = 'gap_recovery' THEN value END) AS recovery,
				max(CASE WHEN name = 'gap_r90' THEN value END) AS r90,
				max(CASE WHEN name = 'gap_area' THEN value END) AS area
			FROM metrics WHERE j > 0 GROUP BY run_id, variant, j, k),
		b AS (SELECT g.*,
			(SELECT end_iteration FROM experiences x WHERE x.run_id = g.run_id AND x.exp = g.j - 1) AS b,
			(SELECT end_iteration FROM experiences x WHERE x.run_id = g.run_id AND x.exp = g.j) AS e
			FROM g)
		SELECT run_id, variant, j, k, b.b, b.e,
			(SELECT CAST(correct AS REAL) / total FROM evaluations v WHERE v.run_id = b.run_id AND v.variant = b.variant AND v.iteration = b.b AND v.eval_exp = b.k),
			(SELECT CAST(correct AS REAL) / total FROM evaluations v WHERE v.run_id = b.run_id AND v.variant = b.variant AND v.iteration = b.b + b.ttt AND v.eval_exp = b.k),
			CAST(b.b + b.ttt AS INTEGER),
			(SELECT CAST(correct AS REAL) / total FROM evaluations v WHERE v.run_id = b.run_id AND v.variant = b.variant AND v.iteration = b.e AND v.eval_exp = b.k),
			depth, ttt, recovery, r90, area
		FROM b WHERE b.b IS NOT NULL AND b.e IS NOT NULL ORDER BY run_id, variant, j, k`,
}

// wantRows runs the table's query and converts its values to the types
// cell returns, following the Arrow schema.
func wantRows(t *testing.T, path, table string) [][]any {
	t.Helper()
	sdb, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	rows, err := sdb.Query(expectedSQL[table])
	if err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	defer rows.Close()
	schema := Schema(table)
	var out [][]any
	for rows.Next() {
		vals := make([]any, schema.NumFields())
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, f := range schema.Fields() {
			vals[i] = convert(t, f, vals[i])
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func convert(t *testing.T, f arrow.Field, v any) any {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	if v == nil {
		return nil
	}
	switch f.Type.ID() {
	case arrow.BOOL:
		return v.(int64) != 0
	case arrow.FLOAT64:
		switch x := v.(type) {
		case int64:
			return float64(x)
		}
		return v
	case arrow.STRING:
		if f.Name == "error" && v == "" {
			return nil
		}
		return v
	case arrow.TIMESTAMP:
		ts, err := time.Parse(time.RFC3339Nano, v.(string))
		if err != nil {
			t.Fatal(err)
		}
		return ts.UnixMicro()
	case arrow.LIST:
		var xs []any
		d := json.NewDecoder(strings.NewReader(v.(string)))
		d.UseNumber()
		if err := d.Decode(&xs); err != nil {
			t.Fatal(err)
		}
		out := []any{}
		for _, x := range xs {
			if n, ok := x.(json.Number); ok {
				i, _ := n.Int64()
				out = append(out, i)
			} else {
				out = append(out, x)
			}
		}
		return out
	}
	return v
}

func TestRoundTrip(t *testing.T) {
	db, path := fixture(t)
	for _, format := range []Format{FormatParquet, FormatArrow} {
		for _, batch := range []int{0, 7} {
			t.Run(fmt.Sprintf("%s/batch=%d", format, batch), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				dir := t.TempDir()
				files, err := Export(context.Background(), db, dir, Options{Format: format, BatchRows: batch, Allocator: mem})
				if err != nil {
					t.Fatal(err)
				}
				if len(files) != len(Tables) {
					t.Fatalf("%d files, want %d", len(files), len(Tables))
				}
				entries, _ := os.ReadDir(dir)
				if len(entries) != len(Tables) {
					t.Errorf("output directory holds %d entries, want %d (temporary files left?)", len(entries), len(Tables))
				}
				for _, f := range files {
					schema, got := readBack(t, mem, f.Path, format)
					if !schemaFieldsEqual(schema, Schema(f.Table)) {
						t.Errorf("%s: schema read back\n%s\nwant\n%s", f.Table, schema, Schema(f.Table))
					}
					want := wantRows(t, path, f.Table)
					if f.Table == TableRuns {
						for i := range want {
							want[i][2] = got[i][2] // config_group: checked in TestConfigGroupColumn
						}
					}
					if int64(len(got)) != f.Rows || len(got) != len(want) {
						t.Fatalf("%s: read %d rows, Export said %d, SQLite has %d", f.Table, len(got), f.Rows, len(want))
					}
					if len(want) == 0 {
						t.Fatalf("%s: the fixture has no rows", f.Table)
					}
					for i := range want {
						if !reflect.DeepEqual(got[i], want[i]) {
							t.Fatalf("%s row %d:\n got %v\nwant %v", f.Table, i, got[i], want[i])
						}
					}
				}
			})
		}
	}
}

func schemaFieldsEqual(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.Fields() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Nullable != fb.Nullable || !arrow.TypeEqual(fa.Type, fb.Type) {
			return false
		}
	}
	return true
}

func TestConfigGroupColumn(t *testing.T) {
	db, _ := fixture(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	files, err := Export(context.Background(), db, dir, Options{Format: FormatArrow, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	_, rows := readBack(t, mem, files[0].Path, FormatArrow)
	groups := map[string]map[string]bool{} // strategy -> groups
	for _, r := range rows {
		s := r[5].(string)
		if groups[s] == nil {
			groups[s] = map[string]bool{}
		}
		groups[s][r[2].(string)] = true
	}
	// naive 3-experience and 1-experience runs differ; all er runs share
	// one configuration.
	if len(groups["naive"]) != 2 || len(groups["er"]) != 1 {
		t.Errorf("config groups per strategy: %v", groups)
	}
}

// TestRowGroups checks that a large table is written in several batches.
func TestRowGroups(t *testing.T) {
	db, _ := fixture(t)
	dir := t.TempDir()
	files, err := Export(context.Background(), db, dir, Options{BatchRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	pf, err := file.OpenParquetFile(files[2].Path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if want := int((files[2].Rows + 9) / 10); pf.NumRowGroups() != want {
		t.Errorf("evaluations: %d row groups for %d rows, want %d", pf.NumRowGroups(), files[2].Rows, want)
	}
	c, err := pf.MetaData().RowGroup(0).ColumnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Compression().String() != "ZSTD" {
		t.Errorf("compression %v, want ZSTD", c.Compression())
	}
}

func TestFilters(t *testing.T) {
	db, _ := fixture(t)
	for _, tc := range []struct {
		name   string
		filter store.RunFilter
		runs   []int64
	}{
		{"run", store.RunFilter{IDs: []int64{2, 4}}, []int64{2, 4}},
		{"preset", store.RunFilter{Presets: []string{"p-er"}}, []int64{3, 4}},
		{"strategy", store.RunFilter{Strategies: []string{"naive"}}, []int64{1, 2, 7}},
		{"both", store.RunFilter{Strategies: []string{"er"}, Presets: []string{""}}, []int64{5, 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			files, err := Export(context.Background(), db, t.TempDir(), Options{Filter: tc.filter, Allocator: mem})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				_, rows := readBack(t, mem, f.Path, FormatParquet)
				seen := map[int64]bool{}
				for _, r := range rows {
					seen[r[0].(int64)] = true
				}
				for id := range seen {
					found := false
					for _, w := range tc.runs {
						found = found || w == id
					}
					if !found {
						t.Errorf("%s: run %d exported, want only %v", f.Table, id, tc.runs)
					}
				}
				if f.Table == TableRuns && len(rows) != len(tc.runs) {
					t.Errorf("runs: %d rows, want %d", len(rows), len(tc.runs))
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	db, _ := fixture(t)
	ctx := context.Background()

	t.Run("unknown run", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		_, err := Export(ctx, db, dir, Options{Filter: store.RunFilter{IDs: []int64{3, 99, 100}}})
		if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "runs 99, 100") {
			t.Errorf("err = %v, want not found naming runs 99, 100", err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("output directory created for a failed export")
		}
	})
	t.Run("no match", func(t *testing.T) {
		_, err := Export(ctx, db, t.TempDir(), Options{Filter: store.RunFilter{Strategies: []string{"gem"}}})
		if !errors.Is(err, ErrNoRuns) || !strings.Contains(err.Error(), "none of its 7 runs") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("empty database", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "empty.db")
		w, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		edb, err := store.Open(path, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer edb.Close()
		_, err = Export(ctx, edb, t.TempDir(), Options{})
		if !errors.Is(err, ErrNoRuns) || !strings.Contains(err.Error(), "holds no runs") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("bad format", func(t *testing.T) {
		if _, err := Export(ctx, db, t.TempDir(), Options{Format: "csv"}); err == nil || !strings.Contains(err.Error(), "parquet or arrow") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unwritable directory", func(t *testing.T) {
		// A path below a regular file cannot be created, even by root.
		parent := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(parent, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Export(ctx, db, filepath.Join(parent, "out"), Options{})
		if !errors.Is(err, ErrOutput) || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("failure midway leaves nothing", func(t *testing.T) {
		for _, format := range []Format{FormatParquet, FormatArrow} {
			dir := t.TempDir()
			// Keep a file of a previous export: it must survive untouched.
			old := filepath.Join(dir, "runs"+format.Ext())
			if err := os.WriteFile(old, []byte("previous"), 0o644); err != nil {
				t.Fatal(err)
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			// Runs and experiences are written, then evaluations fail after
			// some rows (as a full disk would).
			failed := errors.New("disk full")
			testHookRow = func(table string, rows int64) error {
				if table == TableEvaluations && rows == 20 {
					return failed
				}
				return nil
			}
			_, err := Export(ctx, db, dir, Options{Format: format, Allocator: mem, BatchRows: 8})
			testHookRow = nil
			if !errors.Is(err, failed) || !strings.Contains(err.Error(), "evaluations") {
				t.Errorf("%s: err = %v, want the failure in evaluations", format, err)
			}
			mem.AssertSize(t, 0)
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 || entries[0].Name() != "runs"+format.Ext() {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("%s: directory holds %v after a failed export, want only the previous file", format, names)
			}
			if b, _ := os.ReadFile(old); string(b) != "previous" {
				t.Errorf("%s: a failed export replaced an existing file", format)
			}
		}
	})
}

// TestSchemaGolden pins the exported schemas: a change must be deliberate
// (go test -run TestSchemaGolden -update) and documented in doc.go.
func TestSchemaGolden(t *testing.T) {
	var b strings.Builder
	for _, name := range Tables {
		fmt.Fprintf(&b, "## %s\n%s\n\n", name, Schema(name))
	}
	golden := filepath.Join("testdata", "schema.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestSchemaGolden -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("schemas changed; if on purpose, run go test -run TestSchemaGolden -update and update doc.go\ngot:\n%s", b.String())
	}
	if Schema("nope") != nil {
		t.Error("Schema of an unknown table is not nil")
	}
}

// peakAllocator records the largest amount of memory live at once.
type peakAllocator struct {
	memory.Allocator
	cur, peak int
}

func (a *peakAllocator) Allocate(n int) []byte {
	a.cur += n
	a.peak = max(a.peak, a.cur)
	return a.Allocator.Allocate(n)
}

func (a *peakAllocator) Reallocate(n int, b []byte) []byte {
	a.cur += n - len(b)
	a.peak = max(a.peak, a.cur)
	return a.Allocator.Reallocate(n, b)
}

func (a *peakAllocator) Free(b []byte) {
	a.cur -= len(b)
	a.Allocator.Free(b)
}

// TestStreaming checks that the Arrow memory an export holds at once is
// bounded by the batch size, not by the size of the database.
func TestStreaming(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.db")
	var runs []testdb.Run
	for seed := range uint64(8) {
		runs = append(runs, testdb.Run{Strategy: "naive", Seed: seed, Experiences: 4, ItersPerExp: 100})
	}
	if _, err := testdb.Write(path, runs...); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	peak := func(format Format, batch int) int {
		mem := &peakAllocator{Allocator: memory.NewGoAllocator()}
		files, err := Export(context.Background(), db, t.TempDir(), Options{Format: format, BatchRows: batch, Allocator: mem})
		if err != nil {
			t.Fatal(err)
		}
		if files[2].Rows < 8000 {
			t.Fatalf("only %d evaluation rows", files[2].Rows)
		}
		return mem.peak
	}
	for _, format := range []Format{FormatParquet, FormatArrow} {
		small, whole := peak(format, 100), peak(format, 1<<20)
		t.Logf("%s: peak Arrow memory %d bytes with batches of 100 rows, %d in one batch", format, small, whole)
		if small*4 > whole {
			t.Errorf("%s: peak memory %d with batches of 100 rows, %d in one batch: not streaming", format, small, whole)
		}
	}
}
