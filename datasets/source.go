package datasets

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Source names the user's own data: a table file (CSV, Parquet, Arrow IPC),
// a directory of the four MNIST-style IDX files, or a directory of files in
// the binary CIFAR format, and how to read it.
type Source struct {
	// Path is the file or directory.
	Path string `json:"path"`
	// Format is "csv", "parquet", "arrow", "idx", or "cifar10", "cifar100"
	// or "cifar100-coarse" (a directory holding the files of the binary
	// CIFAR-10 or CIFAR-100 in their format, with any number of records:
	// CIFARFormat.OpenDir); "" tells it from the path: a directory holding
	// the CIFAR-10 files is cifar10, one holding those of CIFAR-100
	// cifar100, any other directory idx; for a file the extension
	// (.csv/.tsv, .parquet/.pq, .arrow/.feather/.ipc/.arrows), then its
	// first bytes.
	Format string `json:"format,omitempty"`
	TableOptions
}

// TableReader reads a table file for TableData.Build.
type TableReader func(path string, o TableOptions) (*TableData, error)

type tableFormat struct {
	name  string
	exts  []string
	magic [][]byte
	read  TableReader
}

var (
	formatsMu sync.RWMutex
	formats   = []tableFormat{{name: "csv", exts: []string{".csv", ".tsv"}, read: ReadCSV}}
)

// externalFormats are the formats whose readers live in package
// datasets/tabular (they need Apache Arrow, which this package must not
// import).
var externalFormats = map[string][]string{
	"parquet": {".parquet", ".pq"},
	"arrow":   {".arrow", ".feather", ".ipc", ".arrows"},
}

// RegisterTableFormat makes OpenSource read the format name (file
// extensions with their dot, and optional leading magic bytes) with read.
// Package datasets/tabular registers "parquet" and "arrow" in its init
// function, so a blank import of it enables them. It panics when name is
// registered twice.
func RegisterTableFormat(name string, exts []string, magic [][]byte, read TableReader) {
	formatsMu.Lock()
	defer formatsMu.Unlock()
	for _, f := range formats {
		if f.name == name {
			panic("datasets: table format " + name + " registered twice")
		}
	}
	formats = append(formats, tableFormat{name: name, exts: exts, magic: magic, read: read})
}

// TableFormats returns the names of the readable table formats, sorted.
func TableFormats() []string {
	formatsMu.RLock()
	defer formatsMu.RUnlock()
	var out []string
	for _, f := range formats {
		out = append(out, f.name)
	}
	slices.Sort(out)
	return out
}

// detectFormat tells the format of path from its extension, then its
// first bytes.
func detectFormat(path string) (string, error) {
	ext := strings.ToLower(filepath.Ext(path))
	formatsMu.RLock()
	defer formatsMu.RUnlock()
	for _, f := range formats {
		if slices.Contains(f.exts, ext) {
			return f.name, nil
		}
	}
	for name, exts := range externalFormats {
		if slices.Contains(exts, ext) {
			return name, nil
		}
	}
	head := make([]byte, 8)
	if f, err := os.Open(path); err == nil {
		n, _ := f.Read(head)
		head = head[:n]
		f.Close()
	}
	for _, f := range formats {
		for _, m := range f.magic {
			if bytes.HasPrefix(head, m) {
				return f.name, nil
			}
		}
	}
	return "", fileErr(path, ErrUnsupported, fmt.Sprintf("cannot tell the table format from the name or content: set the format (one of %s, idx)", strings.Join(tableFormatNames(), ", ")))
}

// tableFormatNames lists the format names; the caller holds formatsMu.
func tableFormatNames() []string {
	var out []string
	for _, f := range formats {
		out = append(out, f.name)
	}
	for name := range externalFormats {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// ReadTable reads the table file at path in the given format ("" to detect
// it) for Build.
func ReadTable(path, format string, o TableOptions) (*TableData, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, ioErr(path, err)
	}
	if st.IsDir() {
		return nil, fileErr(path, ErrUnsupported, "is a directory, not a table file")
	}
	if format == "" {
		if format, err = detectFormat(path); err != nil {
			return nil, err
		}
	}
	formatsMu.RLock()
	var read TableReader
	for _, f := range formats {
		if f.name == format {
			read = f.read
		}
	}
	known := tableFormatNames()
	formatsMu.RUnlock()
	if read == nil {
		if _, ok := externalFormats[format]; ok {
			return nil, fileErr(path, ErrUnsupported, fmt.Sprintf("the %s reader is not built in: import _ \"github.com/cleval/cleval/datasets/tabular\"", format))
		}
		return nil, fileErr(path, ErrUnsupported, fmt.Sprintf("unknown table format %q (known: %s, idx)", format, strings.Join(known, ", ")))
	}
	return read(path, o)
}

// OpenSource reads the user data src names: an IDX directory (OpenIDXDir,
// with NumClasses and Shape from the options) or a table validated and split
// by TableData.Build.
func OpenSource(src Source) (Pair, error) {
	if src.Path == "" {
		return Pair{}, fmt.Errorf("datasets: no data path given: %w", ErrNotFound)
	}
	st, err := os.Stat(src.Path)
	if err != nil {
		return Pair{}, ioErr(src.Path, err)
	}
	format := src.Format
	if format == "" && st.IsDir() {
		format = "idx"
		for _, f := range []CIFARFormat{CIFAR10, CIFAR100} {
			if f.cifarStatus(src.Path) == "found" {
				format = f.Name
				break
			}
		}
	}
	if f, ok := CIFARFormatOf(format); ok {
		return openCIFARSource(src, f)
	}
	if format == "idx" {
		return openIDXSource(src)
	}
	t, err := ReadTable(src.Path, src.Format, src.TableOptions)
	if err != nil {
		return Pair{}, err
	}
	return t.Build(src.TableOptions)
}

// openCIFARSource reads a directory of CIFAR files with any number of
// records. The table options do not apply, but for an image shape, which
// must be 3×32×32.
func openCIFARSource(src Source, f CIFARFormat) (Pair, error) {
	o := src.TableOptions
	if o.LabelCol != "" || len(o.FeatureCols) > 0 || o.SplitCol != "" || o.TaskCol != "" || o.TestFraction != 0 || o.NumClasses != 0 || len(o.Shape) > 0 {
		return Pair{}, fileErr(src.Path, ErrUnsupported, "a "+f.Title+" directory has no columns, split or class options (its images are 3x32x32, its files the train and test splits)")
	}
	if len(o.ImageShape) > 0 {
		if err := o.Validate(); err != nil {
			return Pair{}, &FileError{Path: src.Path, Kind: ErrCorrupt, Msg: strings.TrimPrefix(err.Error(), "datasets: ")}
		}
		if !equalInts(o.ImageShape, []int{3, 32, 32}) {
			return Pair{}, fileErr(src.Path, ErrCorrupt, fmt.Sprintf("image_shape %s: %s images are 3x32x32", shapeString(o.ImageShape), f.Title))
		}
	}
	return f.OpenDir(src.Path, false)
}

func openIDXSource(src Source) (Pair, error) {
	o := src.TableOptions
	if err := o.Validate(); err != nil {
		return Pair{}, &FileError{Path: src.Path, Kind: ErrCorrupt, Msg: strings.TrimPrefix(err.Error(), "datasets: ")}
	}
	if o.LabelCol != "" || len(o.FeatureCols) > 0 || o.SplitCol != "" || o.TaskCol != "" || o.TestFraction != 0 {
		return Pair{}, fileErr(src.Path, ErrUnsupported, "an IDX directory has no columns or split options: only the number of classes and the shape apply")
	}
	p, err := OpenIDXDir(src.Path, o.NumClasses)
	if err != nil {
		return Pair{}, err
	}
	if len(o.Shape) > 0 || len(o.ImageShape) > 0 {
		shape, err := o.sampleShape(p.Train.Dim())
		if err != nil {
			return Pair{}, fileErr(src.Path, ErrCorrupt, err.Error())
		}
		p.Train.Shape, p.Test.Shape = slices.Clone(shape), slices.Clone(shape)
	}
	for _, d := range []*Dataset{p.Train, p.Test} {
		counts := d.ClassCounts()
		for c, n := range counts {
			if n == 0 {
				return Pair{}, fileErr(src.Path, ErrCorrupt, fmt.Sprintf("class %d has no samples in %s (classes 0..%d)", c, d.Name, len(counts)-1))
			}
		}
	}
	return p, p.Validate()
}
