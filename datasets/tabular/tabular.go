// Package tabular reads tables of samples from Parquet and Arrow IPC files
// (the file and the stream format, including Feather v2) for package
// datasets. It is the only datasets package that imports Apache Arrow, so
// that strategy plugins, which import datasets, stay free of it.
//
// Importing the package registers the formats "parquet" (.parquet, .pq)
// and "arrow" (.arrow, .feather, .ipc, .arrows) with
// datasets.RegisterTableFormat, after which datasets.OpenSource reads them:
//
//	import _ "github.com/cleval/cleval/datasets/tabular"
//
// A table has numeric feature columns (any integer or floating-point type),
// or a single list column holding each sample's feature vector
// (fixed-size list or list of numbers, every row of the same length); a
// label column of integers or strings (plain or dictionary-encoded); and
// optionally a split and a task column. datasets.TableData.Build validates
// the values. Null values are missing values and reported with their row.
package tabular

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/cleval/cleval/datasets"
)

func init() {
	datasets.RegisterTableFormat("parquet", []string{".parquet", ".pq"}, [][]byte{[]byte("PAR1")}, ReadParquet)
	datasets.RegisterTableFormat("arrow", []string{".arrow", ".feather", ".ipc", ".arrows"},
		[][]byte{[]byte("ARROW1"), {0xff, 0xff, 0xff, 0xff}}, ReadArrow)
}

// ReadParquet reads a Parquet file for datasets.TableData.Build.
func ReadParquet(path string, o datasets.TableOptions) (*datasets.TableData, error) {
	return readParquet(path, o, memory.DefaultAllocator)
}

// ReadArrow reads an Arrow IPC file (the file format, "ARROW1" magic, as
// Feather v2) or an Arrow IPC stream for datasets.TableData.Build.
func ReadArrow(path string, o datasets.TableOptions) (*datasets.TableData, error) {
	return readArrow(path, o, memory.DefaultAllocator)
}

func corrupt(path, format string, args ...any) error {
	return &datasets.FileError{Path: path, Kind: datasets.ErrCorrupt, Msg: fmt.Sprintf(format, args...)}
}

func readParquet(path string, o datasets.TableOptions, mem memory.Allocator) (_ *datasets.TableData, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &datasets.FileError{Path: path, Kind: datasets.ErrNotFound, Msg: err.Error(), Cause: err}
	}
	defer f.Close()
	defer func() {
		// The Parquet decoder may panic on some corrupt inputs.
		if r := recover(); r != nil {
			err = corrupt(path, "not a readable Parquet file: %v", r)
		}
	}()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return nil, &datasets.FileError{Path: path, Kind: datasets.ErrCorrupt, Msg: "not a readable Parquet file: " + err.Error(), Cause: err}
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		return nil, &datasets.FileError{Path: path, Kind: datasets.ErrCorrupt, Msg: "Parquet schema: " + err.Error(), Cause: err}
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return nil, &datasets.FileError{Path: path, Kind: datasets.ErrCorrupt, Msg: "reading Parquet data: " + err.Error(), Cause: err}
	}
	defer tbl.Release()
	return fromTable(path, tbl, o)
}

func readArrow(path string, o datasets.TableOptions, mem memory.Allocator) (_ *datasets.TableData, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &datasets.FileError{Path: path, Kind: datasets.ErrNotFound, Msg: err.Error(), Cause: err}
	}
	defer f.Close()
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(path, "not a readable Arrow IPC file: %v", r)
		}
	}()
	head := make([]byte, 6)
	n, _ := f.ReadAt(head, 0)
	var (
		schema *arrow.Schema
		recs   []arrow.RecordBatch
	)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if bytes.Equal(head[:n], []byte("ARROW1")) {
		r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
		if err != nil {
			return nil, &datasets.FileError{Path: path, Kind: datasets.ErrCorrupt, Msg: "Arrow IPC file: " + err.Error(), Cause: err}
		}
		defer r.Close()
		schema = r.Schema()
		for i := range r.NumRecords() {
			rec, err := r.RecordBatchAt(i)
			if err != nil {
				return nil, &datasets.FileError{Path: path, Kind: datasets.ErrCorrupt, Msg: fmt.Sprintf("Arrow IPC record batch %d: %v", i, err), Cause: err}
			}
			recs = append(recs, rec)
		}
	} else {
		r, err := ipc.NewReader(f, ipc.WithAllocator(mem))
		if err != nil {
			return nil, &datasets.FileError{Path: path, Kind: datasets.ErrCorrupt, Msg: "not an Arrow IPC file or stream: " + err.Error(), Cause: err}
		}
		defer r.Release()
		schema = r.Schema()
		for r.Next() {
			rec := r.RecordBatch()
			rec.Retain()
			recs = append(recs, rec)
		}
		if err := r.Err(); err != nil {
			return nil, &datasets.FileError{Path: path, Kind: datasets.ErrCorrupt, Msg: "Arrow IPC stream: " + err.Error(), Cause: err}
		}
	}
	tbl := array.NewTableFromRecords(schema, recs)
	defer tbl.Release()
	return fromTable(path, tbl, o)
}

// columnOf describes an Arrow field for datasets.ResolveColumns.
func columnOf(f arrow.Field) datasets.Column {
	c := datasets.Column{Name: f.Name, Type: f.Type.String(), Kind: datasets.KindOther}
	switch t := f.Type.(type) {
	case *arrow.DictionaryType:
		switch {
		case isString(t.ValueType):
			c.Kind = datasets.KindString
		case isNumber(t.ValueType):
			c.Kind = datasets.KindNumeric
		}
	case *arrow.FixedSizeListType:
		if isNumber(t.Elem()) {
			c.Kind, c.ListSize = datasets.KindList, int(t.Len())
		}
	case *arrow.ListType:
		if isNumber(t.Elem()) {
			c.Kind = datasets.KindList
		}
	case *arrow.LargeListType:
		if isNumber(t.Elem()) {
			c.Kind = datasets.KindList
		}
	default:
		switch {
		case isString(t):
			c.Kind = datasets.KindString
		case isNumber(t):
			c.Kind = datasets.KindNumeric
		}
	}
	return c
}

func isNumber(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.BOOL:
		return true
	}
	return false
}

func isString(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	}
	return false
}

// number returns value i of a numeric array (isNumber).
func number(a arrow.Array, i int) float64 {
	switch a := a.(type) {
	case *array.Float64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float16:
		return float64(a.Value(i).Float32())
	case *array.Int8:
		return float64(a.Value(i))
	case *array.Int16:
		return float64(a.Value(i))
	case *array.Int32:
		return float64(a.Value(i))
	case *array.Int64:
		return float64(a.Value(i))
	case *array.Uint8:
		return float64(a.Value(i))
	case *array.Uint16:
		return float64(a.Value(i))
	case *array.Uint32:
		return float64(a.Value(i))
	case *array.Uint64:
		return float64(a.Value(i))
	case *array.Boolean:
		if a.Value(i) {
			return 1
		}
		return 0
	case *array.Dictionary:
		return number(a.Dictionary(), a.GetValueIndex(i))
	}
	panic(fmt.Sprintf("tabular: %s is not numeric", a.DataType()))
}

// text returns value i of a string array (isString or a dictionary of strings).
func text(a arrow.Array, i int) string {
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.StringView:
		return a.Value(i)
	case *array.Dictionary:
		return text(a.Dictionary(), a.GetValueIndex(i))
	}
	panic(fmt.Sprintf("tabular: %s is not a string type", a.DataType()))
}

// fromTable converts an Arrow table into datasets.TableData.
func fromTable(path string, tbl arrow.Table, o datasets.TableOptions) (*datasets.TableData, error) {
	schema := tbl.Schema()
	cols := make([]datasets.Column, schema.NumFields())
	for i, f := range schema.Fields() {
		cols[i] = columnOf(f)
	}
	l, err := datasets.ResolveColumns(path, cols, o)
	if err != nil {
		return nil, err
	}
	rows := int(tbl.NumRows())
	t := &datasets.TableData{Path: path, Rows: rows, Layout: l}
	if l.List {
		if err := listFeatures(t, tbl.Column(l.Features[0]), cols[l.Features[0]]); err != nil {
			return nil, err
		}
	} else {
		dim := len(l.Features)
		if rows > (1<<32)/max(dim, 1) {
			return nil, &datasets.FileError{Path: path, Kind: datasets.ErrUnsupported, Msg: fmt.Sprintf("%d rows of %d features: more than 16 GiB", rows, dim)}
		}
		t.Features = make([]float32, rows*dim)
		for j, c := range l.Features {
			row := 0
			for _, chunk := range tbl.Column(c).Data().Chunks() {
				for i := range chunk.Len() {
					if chunk.IsNull(i) {
						return nil, datasets.TableRowError(path, row+1, cols[c].Name, "missing value")
					}
					t.Features[row*dim+j] = float32(number(chunk, i))
					row++
				}
			}
		}
	}
	for _, c := range []struct {
		col int
		v   *datasets.Values
	}{{l.Label, &t.Label}, {l.Split, &t.Split}, {l.Task, &t.Task}} {
		if c.col < 0 {
			continue
		}
		values(tbl.Column(c.col), cols[c.col], c.v, rows)
	}
	return t, nil
}

// values copies a label, split or task column.
func values(col *arrow.Column, desc datasets.Column, v *datasets.Values, rows int) {
	if desc.Kind == datasets.KindNumeric {
		v.Num = make([]float64, rows)
	} else {
		v.Str = make([]string, rows)
	}
	row := 0
	for _, chunk := range col.Data().Chunks() {
		for i := range chunk.Len() {
			switch {
			case chunk.IsNull(i):
				if v.Null == nil {
					v.Null = make([]bool, rows)
				}
				v.Null[row] = true
			case v.Num != nil:
				v.Num[row] = number(chunk, i)
			default:
				v.Str[row] = text(chunk, i)
			}
			row++
		}
	}
}

// listFeatures copies a list column of feature vectors, checking that
// every row has a list of the same length without nulls.
func listFeatures(t *datasets.TableData, col *arrow.Column, desc datasets.Column) error {
	dim := desc.ListSize
	row := 0
	for _, chunk := range col.Data().Chunks() {
		ll := chunk.(array.ListLike)
		vals := ll.ListValues()
		for i := range chunk.Len() {
			if chunk.IsNull(i) {
				return datasets.TableRowError(t.Path, row+1, desc.Name, "missing feature vector")
			}
			start, end := ll.ValueOffsets(i)
			n := int(end - start)
			if row == 0 && dim == 0 {
				dim = n
			}
			if n != dim {
				return datasets.TableRowError(t.Path, row+1, desc.Name, "%d values, but the first row has %d (ragged rows)", n, dim)
			}
			if row == 0 {
				if t.Rows > (1<<32)/max(dim, 1) {
					return &datasets.FileError{Path: t.Path, Kind: datasets.ErrUnsupported, Msg: fmt.Sprintf("%d rows of %d features: more than 16 GiB", t.Rows, dim)}
				}
				t.Layout.SetListDim(desc.Name, dim)
				t.Features = make([]float32, 0, t.Rows*dim)
			}
			for k := int(start); k < int(end); k++ {
				if vals.IsNull(k) {
					return datasets.TableRowError(t.Path, row+1, desc.Name, "value %d is missing", k-int(start))
				}
				var f float32
				switch v := vals.(type) {
				case *array.Float32:
					f = v.Value(k)
				case *array.Float64:
					f = float32(v.Value(k))
				default:
					f = float32(number(vals, k))
				}
				if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
					return datasets.TableRowError(t.Path, row+1, desc.Name, "value %d is %v: features must be finite", k-int(start), f)
				}
				t.Features = append(t.Features, f)
			}
			row++
		}
	}
	return nil
}
