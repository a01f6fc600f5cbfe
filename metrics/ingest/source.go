package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Format is the file format of an input.
type Format string

// The formats Ingest reads.
const (
	FormatCSV     Format = "csv"     // comma-separated, a header row (.csv)
	FormatTSV     Format = "tsv"     // tab-separated, a header row (.tsv)
	FormatJSONL   Format = "jsonl"   // JSON Lines: one object per line (.jsonl, .ndjson, .json)
	FormatParquet Format = "parquet" // Apache Parquet (.parquet, .pq)
	FormatArrow   Format = "arrow"   // Arrow IPC file (Feather v2) or stream (.arrow, .feather, .ipc, .arrows)
)

// Formats lists the formats in the order the documentation gives them.
var Formats = []Format{FormatCSV, FormatTSV, FormatJSONL, FormatParquet, FormatArrow}

var extFormats = map[string]Format{
	".csv": FormatCSV, ".tsv": FormatTSV, ".jsonl": FormatJSONL, ".ndjson": FormatJSONL, ".json": FormatJSONL,
	".parquet": FormatParquet, ".pq": FormatParquet, ".arrow": FormatArrow, ".feather": FormatArrow, ".ipc": FormatArrow, ".arrows": FormatArrow,
}

// splitName returns the stem of a file name, its format extension and
// whether it ends in .gz: "evaluations.csv.gz" gives "evaluations", ".csv",
// true.
func splitName(path string) (stem, ext string, gz bool) {
	base := filepath.Base(path)
	if strings.EqualFold(filepath.Ext(base), ".gz") {
		gz = true
		base = base[:len(base)-3]
	}
	ext = strings.ToLower(filepath.Ext(base))
	return strings.TrimSuffix(base, filepath.Ext(base)), ext, gz
}

// detectFormat returns the format of the file at path: forced when not
// empty, else from its extension, else from its first bytes (the Parquet
// and Arrow magic numbers, a JSON object). A text file with another
// extension is refused: its dialect cannot be told for sure.
func detectFormat(path string, forced Format) (Format, bool, error) {
	_, ext, gz := splitName(path)
	if forced != "" {
		for _, f := range Formats {
			if f == forced {
				return f, gz, nil
			}
		}
		return "", false, invalidf("format %q: must be one of %s", forced, joinFormats())
	}
	if f, ok := extFormats[ext]; ok {
		if gz && (f == FormatParquet || f == FormatArrow) {
			return "", false, inputErr(path, position{}, "", "unknown format: gzip-compressed %s (Parquet and Arrow files compress inside; unzip it)", f)
		}
		return f, gz, nil
	}
	head := make([]byte, 8)
	fh, err := os.Open(path)
	if err != nil {
		return "", false, openErr(path, err)
	}
	n, _ := io.ReadFull(fh, head)
	fh.Close()
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PAR1")):
		return FormatParquet, false, nil
	case bytes.HasPrefix(head, []byte("ARROW1")), bytes.HasPrefix(head, []byte{0xff, 0xff, 0xff, 0xff}):
		return FormatArrow, false, nil
	case bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte("{")) && !gz:
		return FormatJSONL, false, nil
	}
	shown := ext
	if shown == "" {
		shown = "none"
	}
	return "", false, inputErr(path, position{}, "", "unknown format (extension %s): name it .csv, .tsv, .jsonl, .parquet or .arrow (text files may be .gz), or give --format", shown)
}

func joinFormats() string {
	s := make([]string, len(Formats))
	for i, f := range Formats {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

func openErr(path string, err error) error {
	if os.IsNotExist(err) {
		return inputErr(path, position{}, "", "no such file")
	}
	return inputErr(path, position{}, "", "%v", unwrapPath(err))
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// source reads the rows of one input file.
type source interface {
	// next advances to the next row; false at the end or on an error
	// (err).
	next() bool
	err() error
	// names are the field names of the current row. For sources with a
	// header (fixed) they are the same for every row and are known
	// before the first next.
	names() []string
	fixed() bool
	// value returns field i of the current row.
	value(i int) value
	pos() position
	// done returns the bytes (text formats) or rows read so far and the
	// total, for progress.
	done() (n, total int64)
	close() error
}

// openSource opens path in format f.
func openSource(path string, f Format, gz bool) (source, error) {
	switch f {
	case FormatCSV, FormatTSV, FormatJSONL:
		fh, err := os.Open(path)
		if err != nil {
			return nil, openErr(path, err)
		}
		st, err := fh.Stat()
		if err != nil {
			fh.Close()
			return nil, openErr(path, err)
		}
		cr := &countReader{r: fh}
		var r io.Reader = cr
		if gz {
			zr, err := gzip.NewReader(bufio.NewReaderSize(cr, 1<<16))
			if err != nil {
				fh.Close()
				return nil, inputErr(path, position{}, "", "not a readable gzip file: %v", err)
			}
			r = zr
		}
		var (
			s    source
			err2 error
		)
		if f == FormatJSONL {
			s, err2 = newJSONL(path, r, fh, cr, st.Size())
		} else {
			comma := ','
			if f == FormatTSV {
				comma = '\t'
			}
			s, err2 = newCSV(path, r, comma, fh, cr, st.Size())
		}
		if err2 != nil {
			fh.Close()
			return nil, err2
		}
		return s, nil
	case FormatParquet:
		return newParquet(path)
	case FormatArrow:
		return newArrow(path)
	}
	return nil, invalidf("format %q: must be one of %s", f, joinFormats())
}

// countReader counts the bytes read through it (progress).
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
