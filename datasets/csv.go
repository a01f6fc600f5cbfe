package datasets

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadCSV reads a CSV table (a header row naming the columns, then one row
// per sample; a .tsv file is tab-separated) for Build. Feature values are
// parsed as numbers; an empty field is a missing value.
func ReadCSV(path string, o TableOptions) (*TableData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ioErr(path, err)
	}
	defer f.Close()
	comma := ','
	if strings.EqualFold(filepath.Ext(path), ".tsv") {
		comma = '\t'
	}
	return decodeCSV(f, path, comma, o)
}

// DecodeCSV reads a comma-separated table from r like ReadCSV; name stands
// for the source in error messages.
func DecodeCSV(r io.Reader, name string, o TableOptions) (*TableData, error) {
	return decodeCSV(r, name, ',', o)
}

func decodeCSV(r io.Reader, name string, comma rune, o TableOptions) (*TableData, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	if err := checkText(br, name); err != nil {
		return nil, err
	}
	cr := csv.NewReader(br)
	cr.Comma = comma
	cr.FieldsPerRecord = -1 // checked here, to name the row
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	csvErr := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return &FileError{Path: name, Kind: ErrCorrupt, Msg: fmt.Sprintf("line %d: %v", pe.Line, pe.Err), Cause: err}
		}
		return &FileError{Path: name, Msg: err.Error(), Cause: err}
	}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fileErr(name, ErrCorrupt, "empty file: no header row")
	}
	if err != nil {
		return nil, csvErr(err)
	}
	cols := make([]Column, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, fileErr(name, ErrCorrupt, fmt.Sprintf("header: column %d has no name", i+1))
		}
		cols[i] = Column{Name: h, Kind: KindAny, Type: "text"}
	}
	l, err := ResolveColumns(name, cols, o)
	if err != nil {
		return nil, err
	}
	t := &TableData{Path: name, Layout: l}
	dim := l.Dim()
	text := func(col int) *Values {
		switch col {
		case l.Label:
			return &t.Label
		case l.Split:
			return &t.Split
		case l.Task:
			return &t.Task
		}
		return nil
	}
	for _, c := range []int{l.Label, l.Split, l.Task} {
		if c >= 0 {
			text(c).Str = []string{}
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvErr(err)
		}
		row := t.Rows + 1
		if len(rec) != len(cols) {
			line, _ := cr.FieldPos(0)
			return nil, fileErr(name, ErrCorrupt, fmt.Sprintf("row %d (line %d): %d fields, the header has %d", row, line, len(rec), len(cols)))
		}
		for _, c := range l.Features {
			s := strings.TrimSpace(rec[c])
			if s == "" {
				return nil, TableRowError(name, row, cols[c].Name, "missing value")
			}
			v, err := strconv.ParseFloat(s, 32)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return nil, TableRowError(name, row, cols[c].Name, "%q is not a number", truncate(s, 40))
			}
			if errors.Is(err, strconv.ErrRange) && !math.IsInf(v, 0) {
				v = 0 // underflow to zero
			}
			t.Features = append(t.Features, float32(v))
		}
		for _, c := range []int{l.Label, l.Split, l.Task} {
			if c >= 0 {
				v := text(c)
				v.Str = append(v.Str, strings.Clone(rec[c]))
			}
		}
		t.Rows++
		if t.Rows > maxTableRows(dim) {
			return nil, fileErr(name, ErrUnsupported, fmt.Sprintf("more than %d rows of %d features", maxTableRows(dim), dim))
		}
	}
	return t, nil
}

// maxTableRows bounds the rows read so that the features fit in 16 GiB.
func maxTableRows(dim int) int { return (1 << 32) / max(dim, 1) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// checkText refuses, from the first bytes of r, a file that is not CSV
// text: a Parquet or Arrow file (their magic bytes), binary data (a NUL
// byte), or text whose lines end in carriage returns only (the CSV reader
// would read it as one line).
func checkText(r *bufio.Reader, name string) error {
	head, _ := r.Peek(1 << 16)
	switch {
	case bytes.HasPrefix(head, []byte("PAR1")):
		return fileErr(name, ErrCorrupt, "a Parquet file, not CSV text (it starts with PAR1): give --data-format parquet, or name it .parquet")
	case bytes.HasPrefix(head, []byte("ARROW1")):
		return fileErr(name, ErrCorrupt, "an Arrow IPC file, not CSV text (it starts with ARROW1): give --data-format arrow, or name it .arrow")
	case bytes.IndexByte(head, 0) >= 0:
		return fileErr(name, ErrCorrupt, fmt.Sprintf("binary data, not CSV text (a NUL byte at offset %d)", bytes.IndexByte(head, 0)))
	case bytes.IndexByte(head, '\n') < 0 && bytes.IndexByte(head, '\r') >= 0:
		return fileErr(name, ErrCorrupt, "lines end with carriage returns only (CR, old Mac text): convert them to newlines (e.g. tr '\\r' '\\n')")
	}
	return nil
}
