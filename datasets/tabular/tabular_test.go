package tabular

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/cleval/cleval/datasets"
)

// spec describes a test table of 12 rows: features 10·i+j, label i mod 3,
// rows 10..12 in the test split.
type spec struct {
	list       bool   // features as one list column "vec" instead of f0, f1, f2
	varList    bool   // the list column is a variable-size list
	ragged     int    // row (from 1) whose list has one value fewer; 0 none
	nullLabel  int    // row whose label is null
	nanFeature int    // row whose feature f1 (or vec[1]) is NaN
	strLabel   bool   // labels as dictionary-encoded strings
	labelType  string // "" int32, "uint8", "float64"
}

func (s spec) record(mem memory.Allocator) arrow.RecordBatch {
	var fields []arrow.Field
	if s.list {
		typ := arrow.DataType(arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float32))
		if s.varList {
			typ = arrow.ListOf(arrow.PrimitiveTypes.Float32)
		}
		fields = append(fields, arrow.Field{Name: "vec", Type: typ, Nullable: true})
	} else {
		for _, n := range []string{"f0", "f1", "f2"} {
			fields = append(fields, arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
		}
	}
	var ltype arrow.DataType = arrow.PrimitiveTypes.Int32
	switch {
	case s.strLabel:
		ltype = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	case s.labelType == "uint8":
		ltype = arrow.PrimitiveTypes.Uint8
	case s.labelType == "float64":
		ltype = arrow.PrimitiveTypes.Float64
	}
	fields = append(fields, arrow.Field{Name: "y", Type: ltype, Nullable: true}, arrow.Field{Name: "split", Type: arrow.BinaryTypes.String})
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	for i := range 12 {
		row := i + 1
		vals := []float32{float32(10 * i), float32(10*i + 1), float32(10*i + 2)}
		if row == s.nanFeature {
			vals[1] = float32(math.NaN())
		}
		if row == s.ragged {
			vals = vals[:2]
		}
		col := 0
		if s.list {
			if s.varList {
				lb := b.Field(0).(*array.ListBuilder)
				lb.Append(true)
				lb.ValueBuilder().(*array.Float32Builder).AppendValues(vals, nil)
			} else {
				lb := b.Field(0).(*array.FixedSizeListBuilder)
				lb.Append(true)
				lb.ValueBuilder().(*array.Float32Builder).AppendValues(vals, nil)
			}
			col = 1
		} else {
			for j, v := range vals {
				b.Field(j).(*array.Float64Builder).Append(float64(v))
			}
			col = 3
		}
		lab := i % 3
		switch lb := b.Field(col).(type) {
		case *array.Int32Builder:
			if row == s.nullLabel {
				lb.AppendNull()
			} else {
				lb.Append(int32(lab))
			}
		case *array.Uint8Builder:
			lb.Append(uint8(lab))
		case *array.Float64Builder:
			lb.Append(float64(lab) + 0.5*float64(b2i(row == s.nullLabel)))
		case *array.BinaryDictionaryBuilder:
			if row == s.nullLabel {
				lb.AppendNull()
			} else {
				lb.AppendString([]string{"cat", "dog", "emu"}[lab])
			}
		}
		split := "train"
		if i >= 9 {
			split = "test"
		}
		b.Field(col + 1).(*array.StringBuilder).Append(split)
	}
	return b.NewRecordBatch()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func writeParquet(t *testing.T, path string, rec arrow.RecordBatch) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tbl := array.NewTableFromRecords(rec.Schema(), []arrow.RecordBatch{rec})
	defer tbl.Release()
	// Row groups of 5 rows exercise chunked columns; but arrow-go v18.8.0
	// writes the values of a fixed-size list column in later row groups
	// from the start of the column (the slice offset is lost), so list
	// tables are written as one row group.
	chunk := int64(5)
	if _, ok := rec.Schema().Field(0).Type.(*arrow.FixedSizeListType); ok {
		chunk = 1 << 20
	}
	if err := pqarrow.WriteTable(tbl, f, chunk, nil, pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func writeArrow(t *testing.T, path string, rec arrow.RecordBatch, stream bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if stream {
		w := ipc.NewWriter(f, ipc.WithSchema(rec.Schema()))
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		w.Close()
		return
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(rec.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	// Two record batches, to exercise chunked columns.
	for _, r := range []arrow.RecordBatch{rec.NewSlice(0, 5), rec.NewSlice(5, 12)} {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// write writes the table of s in each format and returns the paths.
func write(t *testing.T, s spec) map[string]string {
	t.Helper()
	rec := s.record(memory.DefaultAllocator)
	defer rec.Release()
	dir := t.TempDir()
	paths := map[string]string{
		"parquet":      filepath.Join(dir, "t.parquet"),
		"arrow file":   filepath.Join(dir, "t.arrow"),
		"arrow stream": filepath.Join(dir, "t.arrows"),
	}
	writeParquet(t, paths["parquet"], rec)
	writeArrow(t, paths["arrow file"], rec, false)
	writeArrow(t, paths["arrow stream"], rec, true)
	return paths
}

// read reads path through the format's reader under a checked allocator
// that must see every buffer released, then builds the pair.
func read(t *testing.T, format, path string, o datasets.TableOptions) (datasets.Pair, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var td *datasets.TableData
	var err error
	if format == "parquet" {
		td, err = readParquet(path, o, mem)
	} else {
		td, err = readArrow(path, o, mem)
	}
	if err != nil {
		return datasets.Pair{}, err
	}
	return td.Build(o)
}

var formats = []string{"parquet", "arrow file", "arrow stream"}

func TestReadTables(t *testing.T) {
	o := datasets.TableOptions{LabelCol: "y", SplitCol: "split"}
	for _, s := range []spec{{}, {list: true}, {list: true, varList: true}, {strLabel: true}, {labelType: "uint8"}, {labelType: "float64"}} {
		paths := write(t, s)
		for _, format := range formats {
			p, err := read(t, format, paths[format], o)
			if err != nil {
				t.Fatalf("%+v %s: %v", s, format, err)
			}
			if p.Train.Len() != 9 || p.Test.Len() != 3 || p.Train.NumClasses != 3 || p.Train.Dim() != 3 {
				t.Fatalf("%+v %s: %d/%d samples, %d classes, dim %d", s, format, p.Train.Len(), p.Test.Len(), p.Train.NumClasses, p.Train.Dim())
			}
			if !slices.Equal(p.Test.Features[:3], []float32{90, 91, 92}) || !slices.Equal(p.Test.Labels, []int32{0, 1, 2}) {
				t.Errorf("%+v %s: first test row %v, labels %v", s, format, p.Test.Features[:3], p.Test.Labels)
			}
			if s.strLabel && !slices.Equal(p.Train.ClassNames, []string{"cat", "dog", "emu"}) {
				t.Errorf("%s: class names %v", format, p.Train.ClassNames)
			}
		}
	}
	// Through datasets.OpenSource, with the format told by the extension.
	paths := write(t, spec{list: true})
	for _, format := range formats {
		p, err := datasets.OpenSource(datasets.Source{Path: paths[format], TableOptions: o})
		if err != nil || p.Train.Len() != 9 {
			t.Errorf("OpenSource %s: %v", format, err)
		}
	}
	// And by content when the extension says nothing.
	for _, format := range []string{"parquet", "arrow file", "arrow stream"} {
		other := paths[format] + ".bin"
		os.Rename(paths[format], other)
		if _, err := datasets.OpenSource(datasets.Source{Path: other, TableOptions: o}); err != nil {
			t.Errorf("OpenSource %s without an extension: %v", format, err)
		}
	}
}

func TestMalformedTables(t *testing.T) {
	o := datasets.TableOptions{LabelCol: "y", SplitCol: "split"}
	for _, tc := range []struct {
		name string
		s    spec
		o    datasets.TableOptions
		want []string
	}{
		{"null label", spec{nullLabel: 4}, o, []string{"row 4", `column "y"`, "missing label"}},
		{"null dictionary label", spec{nullLabel: 5, strLabel: true}, o, []string{"row 5", `column "y"`, "missing label"}},
		{"fractional label", spec{labelType: "float64", nullLabel: 2}, o, []string{"row 2", "1.5 is not an integer"}},
		{"NaN feature", spec{nanFeature: 7}, o, []string{"row 7", `column "f1"`, "NaN"}},
		{"NaN in a list", spec{nanFeature: 7, list: true}, o, []string{"row 7", `column "vec"`, "NaN"}},
		{"ragged list", spec{list: true, varList: true, ragged: 6}, o, []string{"row 6", `column "vec"`, "2 values, but the first row has 3"}},
		{"label out of range", spec{}, datasets.TableOptions{LabelCol: "y", SplitCol: "split", NumClasses: 2}, []string{"row 3", "label 2 out of range"}},
		{"empty class", spec{}, datasets.TableOptions{LabelCol: "y", SplitCol: "split", NumClasses: 4}, []string{"class 3 has no samples"}},
		{"string feature", spec{}, datasets.TableOptions{LabelCol: "y"}, []string{`feature column "split" has type utf8`, "name the feature columns"}},
		{"no label column", spec{}, datasets.TableOptions{SplitCol: "split"}, []string{`no label column "label"`}},
	} {
		paths := write(t, tc.s)
		for _, format := range formats {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				_, err := read(t, format, paths[format], tc.o)
				if err == nil {
					t.Fatal("accepted")
				}
				if !errors.Is(err, datasets.ErrCorrupt) {
					t.Errorf("error %v does not wrap ErrCorrupt", err)
				}
				msg := err.Error()
				if !strings.Contains(msg, paths[format]+": ") || strings.Contains(msg, "\n") {
					t.Errorf("error %q does not name the file on one line", msg)
				}
				for _, w := range tc.want {
					if !strings.Contains(msg, w) {
						t.Errorf("error %q does not mention %q", msg, w)
					}
				}
			})
		}
	}
	// Not a Parquet or Arrow file at all.
	bad := filepath.Join(t.TempDir(), "x.parquet")
	os.WriteFile(bad, []byte("PAR1 this is not parquet PAR1"), 0o644)
	if _, err := datasets.OpenSource(datasets.Source{Path: bad}); !errors.Is(err, datasets.ErrCorrupt) {
		t.Errorf("garbage parquet: %v", err)
	}
	badArrow := filepath.Join(t.TempDir(), "x.arrow")
	os.WriteFile(badArrow, []byte("ARROW1\x00\x00garbage"), 0o644)
	if _, err := datasets.OpenSource(datasets.Source{Path: badArrow}); !errors.Is(err, datasets.ErrCorrupt) {
		t.Errorf("garbage arrow: %v", err)
	}
}
