package export

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/cleval/cleval/internal/tmpfile"
	"github.com/cleval/cleval/internal/version"
	"github.com/cleval/cleval/metrics/store"
)

// Format is a file format.
type Format string

const (
	// FormatParquet writes NAME.parquet, zstd-compressed, one row group per
	// record batch, with the Arrow schema stored in the file metadata.
	FormatParquet Format = "parquet"
	// FormatArrow writes NAME.arrow in the Arrow IPC file format (Feather
	// v2), uncompressed.
	FormatArrow Format = "arrow"
)

// Ext returns the file-name extension of the format, with the dot.
func (f Format) Ext() string { return "." + string(f) }

// DefaultBatchRows is the record-batch size when Options.BatchRows is 0.
const DefaultBatchRows = 64 * 1024

// ErrNoRuns is returned (wrapped) when no run is selected: the database is
// empty or the filter matches nothing.
var ErrNoRuns = errors.New("no runs to export")

// ErrOutput is returned (wrapped) when the output directory cannot be
// created or written.
var ErrOutput = errors.New("cannot write the output directory")

// Options tunes Export. The zero value exports every run as Parquet.
type Options struct {
	// Format is the file format; zero means FormatParquet.
	Format Format
	// Filter selects the runs; the zero value selects every run. Unknown
	// run ids are an error wrapping store.ErrNotFound.
	Filter store.RunFilter
	// BatchRows is the number of rows per record batch (and Parquet row
	// group); zero means DefaultBatchRows.
	BatchRows int
	// Allocator allocates the Arrow buffers; nil means
	// memory.DefaultAllocator. Tests pass a checked allocator.
	Allocator memory.Allocator
}

// File is one written table.
type File struct {
	Table string
	Path  string
	Rows  int64
}

// Export writes every table of the selected runs into dir (created when
// missing) as dir/TABLE.parquet or dir/TABLE.arrow, replacing files of the
// same name, and returns the files in Tables order. Files are written under
// temporary names and renamed only when every table is complete: on error
// nothing is left behind.
func Export(ctx context.Context, db *store.DB, dir string, opt Options) (files []File, err error) {
	if opt.Format == "" {
		opt.Format = FormatParquet
	}
	if opt.Format != FormatParquet && opt.Format != FormatArrow {
		return nil, fmt.Errorf("export: format %q: must be parquet or arrow", opt.Format)
	}
	if opt.BatchRows < 0 {
		return nil, fmt.Errorf("export: BatchRows %d: must be >= 0", opt.BatchRows)
	}
	if opt.BatchRows == 0 {
		opt.BatchRows = DefaultBatchRows
	}
	if opt.Allocator == nil {
		opt.Allocator = memory.DefaultAllocator
	}
	runs, err := db.SelectRuns(ctx, opt.Filter)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if len(runs) == 0 {
		all, err := db.Runs(ctx)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("export: %s: %w: the database holds no runs", db.Path(), ErrNoRuns)
		}
		return nil, fmt.Errorf("export: %s: %w: none of its %d runs matches the filter", db.Path(), ErrNoRuns, len(all))
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("export: %w: %w", ErrOutput, err)
	}
	// Temporary files of an export that was killed.
	for _, name := range Tables {
		tmpfile.Clean(dir, name+opt.Format.Ext())
	}

	var temps []string
	defer func() {
		if err != nil {
			for _, t := range temps {
				os.Remove(t)
			}
		}
	}()
	x := &exporter{db: db, runs: runs, opt: opt}
	fill := map[string]func(context.Context, *table) error{
		TableRuns:           x.runsTable,
		TableExperiences:    x.experiencesTable,
		TableEvaluations:    x.evaluationsTable,
		TableAccuracyMatrix: x.matrixTable,
		TableMetrics:        x.metricsTable,
		TableGapEvents:      x.gapTable,
	}
	for _, name := range Tables {
		f, err := tmpfile.Create(dir, name+opt.Format.Ext())
		if err != nil {
			return nil, fmt.Errorf("export: %w %s: %w", ErrOutput, dir, err)
		}
		temps = append(temps, f.Name())
		rows, err := writeTable(ctx, f, name, opt, fill[name])
		if err == nil {
			// CreateTemp makes the file private; exports are ordinary files.
			err = f.Chmod(0o644)
		}
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("export: %s: %w", name, err)
		}
		files = append(files, File{Table: name, Path: filepath.Join(dir, name+opt.Format.Ext()), Rows: rows})
	}
	for i, f := range files {
		if err := os.Rename(temps[i], f.Path); err != nil {
			// Earlier renames already replaced their files; remove them so
			// that no mixed set remains.
			for _, g := range files[:i] {
				os.Remove(g.Path)
			}
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	temps = nil
	return files, nil
}

// recordWriter is the part of the Parquet and IPC file writers we use.
type recordWriter interface {
	Write(arrow.RecordBatch) error
	Close() error
}

// testHookRow, when set by a test, is called after every row and can make
// the export fail there.
var testHookRow func(table string, rows int64) error

// table accumulates rows of one table in a record builder and writes a
// record batch every batch rows.
type table struct {
	name  string
	b     *array.RecordBuilder
	w     recordWriter
	n     int // rows in the builder
	rows  int64
	batch int
}

func (t *table) col(i int) array.Builder { return t.b.Field(i) }

// endRow counts a row appended to every column and flushes a full batch.
func (t *table) endRow() error {
	t.n++
	t.rows++
	if testHookRow != nil {
		if err := testHookRow(t.name, t.rows); err != nil {
			return err
		}
	}
	if t.n >= t.batch {
		return t.flush()
	}
	return nil
}

func (t *table) flush() error {
	if t.n == 0 {
		return nil
	}
	rec := t.b.NewRecordBatch()
	defer rec.Release()
	t.n = 0
	return t.w.Write(rec)
}

// writeTable writes one table to f and returns its row count.
func writeTable(ctx context.Context, f *os.File, name string, opt Options, fill func(context.Context, *table) error) (int64, error) {
	schema := Schema(name)
	bw := bufio.NewWriterSize(f, 1<<20)
	// The format writers close their sink; ours is closed by the caller.
	sink := struct{ io.Writer }{bw}
	var w recordWriter
	switch opt.Format {
	case FormatParquet:
		props := parquet.NewWriterProperties(
			parquet.WithCompression(compress.Codecs.Zstd),
			parquet.WithAllocator(opt.Allocator),
			parquet.WithMaxRowGroupLength(int64(opt.BatchRows)),
			parquet.WithCreatedBy("cleval "+version.Version),
		)
		pw, err := pqarrow.NewFileWriter(schema, sink, props,
			pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(opt.Allocator)))
		if err != nil {
			return 0, err
		}
		w = pw
	case FormatArrow:
		iw, err := ipc.NewFileWriter(sink, ipc.WithSchema(schema), ipc.WithAllocator(opt.Allocator))
		if err != nil {
			return 0, err
		}
		w = iw
	}
	b := array.NewRecordBuilder(opt.Allocator, schema)
	defer b.Release()
	t := &table{name: name, b: b, w: w, batch: opt.BatchRows}
	err := fill(ctx, t)
	if err == nil {
		err = t.flush()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	return t.rows, err
}

// exporter holds what the table fillers share.
type exporter struct {
	db   *store.DB
	runs []store.Run
	opt  Options
}

// configColumns are the typed configuration fields of the runs table.
// Pointers and nil slices are absent fields.
type configColumns struct {
	Hidden         []int32         `json:"hidden"`
	ClassOrder     []int32         `json:"class_order"`
	PermuteClasses *bool           `json:"permute_classes"`
	StrategyParams json.RawMessage `json:"strategy_params"`
	Optimizer      *struct {
		LR          *float64 `json:"lr"`
		Momentum    *float64 `json:"momentum"`
		WeightDecay *float64 `json:"weight_decay"`
		Nesterov    *bool    `json:"nesterov"`
	} `json:"optimizer"`
	Epochs    *int32 `json:"epochs"`
	BatchSize *int32 `json:"batch_size"`
	Eval      *struct {
		Every       *int32  `json:"every"`
		Size        *int32  `json:"size"`
		Experiences *string `json:"experiences"`
	} `json:"eval"`
}
