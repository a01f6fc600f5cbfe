package ingest

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error about the input: a file that is
// missing, empty, in an unknown format or malformed, a value out of range,
// records that contradict each other. Callers test it with errors.Is (the
// cleval command exits with status 2).
var ErrInvalid = errors.New("invalid input")

// position is a place in an input file. Row counts data rows from 1 (the
// header of a CSV file is not a row); Line is the line in a text file (0
// for Parquet and Arrow, where rows have no lines).
type position struct {
	Row, Line int
}

func (p position) String() string {
	switch {
	case p.Row == 0 && p.Line == 0:
		return ""
	case p.Line == 0:
		return fmt.Sprintf("row %d", p.Row)
	case p.Row == p.Line:
		return fmt.Sprintf("line %d", p.Line)
	}
	return fmt.Sprintf("row %d (line %d)", p.Row, p.Line)
}

// InputError is an error about one place of one input file. Its message is
// one line: "ingest: FILE: row R, column C: problem".
type InputError struct {
	File string
	// Row and Line locate the row (both 0 when the error is about the
	// file as a whole, such as an empty file); see position.
	Row, Line int
	// Header is set when the error is about the file's columns (the
	// header row of a CSV file, the schema of a Parquet or Arrow file).
	Header bool
	// Column is the column (after --map renaming, as the format names it)
	// the problem is in; empty when it is not about one column.
	Column string
	Msg    string
}

func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString("ingest: ")
	b.WriteString(e.File)
	where := position{e.Row, e.Line}.String()
	if e.Header && where == "" {
		where = "header"
	}
	if where != "" || e.Column != "" {
		b.WriteString(": ")
		b.WriteString(where)
		if e.Column != "" {
			if where != "" {
				b.WriteString(", ")
			}
			b.WriteString("column ")
			b.WriteString(e.Column)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns ErrInvalid.
func (e *InputError) Unwrap() error { return ErrInvalid }

func inputErr(file string, p position, col, format string, args ...any) *InputError {
	return &InputError{File: file, Row: p.Row, Line: p.Line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// invalidf returns an error about the input as a whole (no file).
func invalidf(format string, args ...any) error {
	return fmt.Errorf("ingest: %w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
