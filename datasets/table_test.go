package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// csvTable returns a CSV with features a, b, label y (classes 0..2) and a
// split column: 12 rows, rows 10-12 (one per class) test.
func csvTable() string {
	var b strings.Builder
	b.WriteString("a,b,y,split\n")
	for i := range 12 {
		split := "train"
		if i >= 9 {
			split = "test"
		}
		fmt.Fprintf(&b, "%d.5,%d,%d,%s\n", i, -i, i%3, split)
	}
	return b.String()
}

func readCSVString(t *testing.T, s string, o TableOptions) (Pair, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.csv")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return OpenSource(Source{Path: path, TableOptions: o})
}

func TestCSVTable(t *testing.T) {
	p, err := readCSVString(t, csvTable(), TableOptions{LabelCol: "y", SplitCol: "split"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Train.Len() != 9 || p.Test.Len() != 3 || p.Train.NumClasses != 3 || !slices.Equal(p.Train.Shape, []int{2}) {
		t.Fatalf("train %d test %d classes %d shape %v", p.Train.Len(), p.Test.Len(), p.Train.NumClasses, p.Train.Shape)
	}
	if !slices.Equal(p.Train.Features[:4], []float32{0.5, 0, 1.5, -1}) || !slices.Equal(p.Train.Labels[:3], []int32{0, 1, 2}) {
		t.Errorf("features %v labels %v", p.Train.Features[:4], p.Train.Labels[:3])
	}
	if p.Train.Name != "t/train" || p.Test.Name != "t/test" {
		t.Errorf("names %q %q", p.Train.Name, p.Test.Name)
	}
	x := make([]float32, 2)
	p.Test.Gather(x, nil, []int32{0})
	if !slices.Equal(x, []float32{9.5, -9}) {
		t.Errorf("features are not copied as is: %v", x)
	}
	// Explicit feature columns, string labels, a held-out test split, a
	// task column and a shape.
	var b strings.Builder
	b.WriteString("id,x1,x2,x3,x4,cls,task\n")
	for i := range 40 {
		fmt.Fprintf(&b, "%d,%d,%d,%d,%d,%s,%s\n", i, i, i+1, i+2, i+3, []string{"cat", "dog"}[i%2], []string{"b", "a"}[i/20])
	}
	p, err = readCSVString(t, b.String(), TableOptions{LabelCol: "cls", FeatureCols: []string{"x1", "x2", "x3", "x4"}, TaskCol: "task", Shape: []int{2, 2}, TestFraction: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Train.ClassNames, []string{"cat", "dog"}) || !slices.Equal(p.Train.TaskNames, []string{"a", "b"}) || !slices.Equal(p.Train.Shape, []int{2, 2}) {
		t.Errorf("class names %v task names %v shape %v", p.Train.ClassNames, p.Train.TaskNames, p.Train.Shape)
	}
	if got := p.Test.ClassCounts(); !slices.Equal(got, []int{5, 5}) {
		t.Errorf("held-out test split has %v per class, want 25%% of 20 = [5 5]", got)
	}
	if p.Train.Tasks[0] != 1 {
		t.Errorf("row 1 has task %q, want b (index 1)", p.Train.TaskNames[p.Train.Tasks[0]])
	}
	// The hold-out is seeded: the same options give the same split.
	q, _ := readCSVString(t, b.String(), TableOptions{LabelCol: "cls", FeatureCols: []string{"x1", "x2", "x3", "x4"}, TaskCol: "task", Shape: []int{2, 2}, TestFraction: 0.25})
	if !slices.Equal(p.Test.Features, q.Test.Features) {
		t.Error("two reads gave different test splits")
	}
}

// TestMalformedTables checks that every malformed input gives one clear
// error naming the file and the row or column.
func TestMalformedTables(t *testing.T) {
	good := csvTable()
	for _, tc := range []struct {
		name string
		csv  string
		o    TableOptions
		want []string
	}{
		{"missing label", strings.Replace(good, "3.5,-3,0,train", "3.5,-3,,train", 1), TableOptions{LabelCol: "y", SplitCol: "split"}, []string{"row 4", `column "y"`, "missing label"}},
		{"NaN feature", strings.Replace(good, "3.5,-3", "NaN,-3", 1), TableOptions{LabelCol: "y", SplitCol: "split"}, []string{"row 4", `column "a"`, "NaN"}},
		{"Inf feature", strings.Replace(good, "5.5,-5", "5.5,-inf", 1), TableOptions{LabelCol: "y", SplitCol: "split"}, []string{"row 6", `column "b"`, "Inf"}},
		{"missing feature", strings.Replace(good, "5.5,-5", "5.5,", 1), TableOptions{LabelCol: "y", SplitCol: "split"}, []string{"row 6", `column "b"`, "missing value"}},
		{"not a number", strings.Replace(good, "5.5,-5", "5.5,abc", 1), TableOptions{LabelCol: "y", SplitCol: "split"}, []string{"row 6", `column "b"`, "not a number"}},
		{"ragged row", strings.Replace(good, "3.5,-3,0,train", "3.5,-3,0,train,7", 1), TableOptions{LabelCol: "y", SplitCol: "split"}, []string{"row 4", "line 5", "5 fields", "header has 4"}},
		{"short row", strings.Replace(good, "3.5,-3,0,train", "3.5,0,train", 1), TableOptions{LabelCol: "y", SplitCol: "split"}, []string{"row 4", "3 fields"}},
		{"negative label", strings.Replace(good, "3.5,-3,0,train", "3.5,-3,-1,train", 1), TableOptions{LabelCol: "y", SplitCol: "split"}, []string{"row 4", `column "y"`, "out of range"}},
		{"label over num classes", good, TableOptions{LabelCol: "y", SplitCol: "split", NumClasses: 2}, []string{"row 3", `column "y"`, "label 2 out of range [0, 2)"}},
		{"fractional label", strings.Replace(good, "3.5,-3,0,train", "3.5,-3,0.5,train", 1), TableOptions{LabelCol: "y", SplitCol: "split"}, []string{"row 4", "not an integer"}},
		{"empty class", strings.ReplaceAll(strings.ReplaceAll(good, ",1,train", ",2,train"), ",1,test", ",2,test"), TableOptions{LabelCol: "y", SplitCol: "split"}, []string{`column "y"`, "class 1 has no samples"}},
		{"class missing from test", strings.Replace(good, "10.5,-10,1,test", "10.5,-10,0,test", 1), TableOptions{LabelCol: "y", SplitCol: "split"}, []string{"class 1", "no samples in the test split"}},
		{"unknown label column", good, TableOptions{LabelCol: "target", SplitCol: "split"}, []string{`no label column "target"`, "columns: a, b, y, split"}},
		{"unknown feature column", good, TableOptions{LabelCol: "y", SplitCol: "split", FeatureCols: []string{"a", "c"}}, []string{`no feature column "c"`}},
		{"bad split value", strings.Replace(good, "3.5,-3,0,train", "3.5,-3,0,valid", 1), TableOptions{LabelCol: "y", SplitCol: "split"}, []string{"row 4", `column "split"`, `"valid"`}},
		{"string feature", good, TableOptions{LabelCol: "y"}, []string{"row 1", `column "split"`, `"train" is not a number`}},
		{"shape mismatch", good, TableOptions{LabelCol: "y", SplitCol: "split", Shape: []int{3}}, []string{"shape [3]", "2 features"}},
		{"no rows", "a,b,y,split\n", TableOptions{LabelCol: "y", SplitCol: "split"}, []string{"no rows"}},
		{"empty file", "", TableOptions{}, []string{"empty file"}},
		{"duplicate column", "a,a,y\n1,2,0\n", TableOptions{LabelCol: "y"}, []string{`column "a" appears twice`}},
		{"bad quote", "a,y\n\"1,0\n", TableOptions{LabelCol: "y"}, []string{"line 2"}},
		{"single sample class", "a,y\n1,0\n2,0\n3,1\n", TableOptions{LabelCol: "y"}, []string{"class 1 has a single sample (row 3)"}},
		{"CR line endings", "a,b,y\r0.1,0.2,0\r0.1,0.3,1\r", TableOptions{LabelCol: "y"}, []string{"carriage returns only"}},
		{"Parquet read as CSV", "PAR1\x15\x04\x15\x00binary", TableOptions{}, []string{"a Parquet file, not CSV text", "--data-format parquet"}},
		{"Arrow read as CSV", "ARROW1\x00\x00binary", TableOptions{}, []string{"an Arrow IPC file"}},
		{"binary", "a,y\n1,\x00\n", TableOptions{}, []string{"binary data, not CSV text (a NUL byte at offset 6)"}},
		{"mixed labels, single sample", "a,y\n1,0\n2,0\n3,cat\n4,1\n5,1\n", TableOptions{LabelCol: "y"}, []string{`label "cat" (class 2 of the sorted labels) has a single sample (row 3)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readCSVString(t, tc.csv, tc.o)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v does not wrap ErrCorrupt", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "t.csv: ") || strings.Contains(msg, "\n") {
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

func TestSourceFormats(t *testing.T) {
	dir := t.TempDir()
	// Parquet is not built into this package: the error says what to import.
	pq := filepath.Join(dir, "x.parquet")
	os.WriteFile(pq, []byte("PAR1"), 0o644)
	_, err := OpenSource(Source{Path: pq})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "datasets/tabular") {
		t.Errorf("parquet without the reader: %v", err)
	}
	odd := filepath.Join(dir, "x.dat")
	os.WriteFile(odd, []byte("hello"), 0o644)
	if _, err := OpenSource(Source{Path: odd}); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "set the format") {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := OpenSource(Source{Path: filepath.Join(dir, "nope.csv")}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing file: %v", err)
	}
	// A .dat file read as CSV with an explicit format.
	os.WriteFile(odd, []byte(csvTable()), 0o644)
	if _, err := OpenSource(Source{Path: odd, Format: "csv", TableOptions: TableOptions{LabelCol: "y", SplitCol: "split"}}); err != nil {
		t.Errorf("explicit csv: %v", err)
	}
	// An IDX directory.
	idx := t.TempDir()
	writeFile(t, filepath.Join(idx, TrainImagesFile), idxBytes(8, []uint32{4, 2, 2}, seq(16, 256)))
	writeFile(t, filepath.Join(idx, TrainLabelsFile), idxBytes(8, []uint32{4}, []byte{0, 1, 0, 1}))
	writeFile(t, filepath.Join(idx, TestImagesFile), idxBytes(8, []uint32{2, 2, 2}, seq(8, 256)))
	writeFile(t, filepath.Join(idx, TestLabelsFile), idxBytes(8, []uint32{2}, []byte{1, 0}))
	p, err := OpenSource(Source{Path: idx})
	if err != nil || p.Train.Len() != 4 || p.Train.NumClasses != 2 {
		t.Fatalf("IDX directory: %v", err)
	}
	if _, err := OpenSource(Source{Path: idx, TableOptions: TableOptions{NumClasses: 3}}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "class 2 has no samples") {
		t.Errorf("IDX with an empty class: %v", err)
	}
	if _, err := OpenSource(Source{Path: idx, TableOptions: TableOptions{LabelCol: "y"}}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("IDX with a label column: %v", err)
	}
}

// FuzzReadCSV feeds arbitrary bytes to the CSV reader and Build: they must
// return a dataset pair that validates or a *FileError, never panic.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte(csvTable()), "y", "split")
	f.Add([]byte("a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n"), "", "")
	f.Add([]byte("a,label\nnan,0\n"), "", "")
	f.Add([]byte("\xef\xbb\xbfx,y\n\"1\",\"0\"\n2,1\n3,0\n4,1\n"), "y", "")
	f.Add([]byte("a,y,s\n1,cat,test\n2,dog,train\n3,cat,train\n4,dog,test\n"), "y", "s")
	f.Add([]byte("a,y\n1e39,0\n1e-50,1\n2,0\n3,1\n"), "y", "")
	f.Fuzz(func(t *testing.T, in []byte, label, split string) {
		o := TableOptions{LabelCol: label, SplitCol: split}
		td, err := DecodeCSV(bytes.NewReader(in), "fuzz.csv", o)
		var p Pair
		if err == nil {
			p, err = td.Build(o)
		}
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "datasets: fuzz.csv: ") {
				t.Fatalf("error %q (%T) is not a *FileError naming the file", err, err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Build returned an invalid pair: %v", err)
		}
		if p.Train.Len() == 0 || p.Test.Len() == 0 {
			t.Fatal("Build returned an empty split")
		}
	})
}
