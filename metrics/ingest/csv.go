package ingest

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"strings"
)

// csvSource reads a CSV or TSV file with a header row. Fields are untyped
// text; an empty field (after trimming spaces) is a missing value.
type csvSource struct {
	path   string
	cr     *csv.Reader
	closer io.Closer
	count  *countReader
	size   int64
	header []string
	rec    []string
	row    int
	line   int
	e      error
}

func newCSV(path string, r io.Reader, comma rune, closer io.Closer, count *countReader, size int64) (*csvSource, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma = comma
	cr.FieldsPerRecord = -1 // checked here, to name the row
	cr.ReuseRecord = true
	s := &csvSource{path: path, cr: cr, closer: closer, count: count, size: size}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, inputErr(path, position{}, "", "empty file: no header row (the first row names the columns)")
	}
	if err != nil {
		return nil, s.parseErr(err)
	}
	s.header = make([]string, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, inputErr(path, position{Line: 1}, "", "header: column %d has no name", i+1)
		}
		s.header[i] = h
	}
	return s, nil
}

func (s *csvSource) parseErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return inputErr(s.path, position{Row: s.row + 1, Line: pe.Line}, "", "malformed CSV: %v", pe.Err)
	}
	return inputErr(s.path, position{}, "", "reading: %v", err)
}

func (s *csvSource) next() bool {
	if s.e != nil {
		return false
	}
	rec, err := s.cr.Read()
	if errors.Is(err, io.EOF) {
		return false
	}
	if err != nil {
		s.e = s.parseErr(err)
		return false
	}
	s.row++
	s.line, _ = s.cr.FieldPos(0)
	if len(rec) != len(s.header) {
		s.e = inputErr(s.path, s.pos(), "", "%d fields, the header has %d", len(rec), len(s.header))
		return false
	}
	s.rec = rec
	return true
}

func (s *csvSource) err() error      { return s.e }
func (s *csvSource) names() []string { return s.header }
func (s *csvSource) fixed() bool     { return true }
func (s *csvSource) pos() position   { return position{Row: s.row, Line: s.line} }
func (s *csvSource) done() (int64, int64) {
	return s.count.n, s.size
}
func (s *csvSource) close() error { return s.closer.Close() }

func (s *csvSource) value(i int) value {
	f := s.rec[i]
	if strings.TrimSpace(f) == "" {
		return value{k: kNull}
	}
	return value{k: kText, s: f}
}
