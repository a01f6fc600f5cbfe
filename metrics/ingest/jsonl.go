package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// jsonlSource reads JSON Lines: one JSON object per line, blank lines
// skipped. Each line has its own keys. Strings, numbers, booleans and null
// are cells of their type; objects and arrays are raw JSON cells.
type jsonlSource struct {
	path   string
	br     *bufio.Reader
	closer io.Closer
	count  *countReader
	size   int64
	line   int
	e      error
	obj    flatObject
}

// maxLine bounds a line of JSON Lines (a guard against reading a binary
// file as one line).
const maxLine = 64 << 20

func newJSONL(path string, r io.Reader, closer io.Closer, count *countReader, size int64) (*jsonlSource, error) {
	return &jsonlSource{path: path, br: bufio.NewReaderSize(r, 1<<16), closer: closer, count: count, size: size, obj: flatObject{keys: map[string]string{}}}, nil
}

func (s *jsonlSource) next() bool {
	for s.e == nil {
		line, err := s.readLine()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.e = err
			}
			return false
		}
		s.line++
		line = bytes.TrimSpace(line)
		if s.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(line) == 0 {
			continue
		}
		if err := s.obj.parse(line); err != nil {
			s.e = inputErr(s.path, s.pos(), "", "%v", err)
			return false
		}
		return true
	}
	return false
}

// readLine returns the next line without its end; io.EOF at the end.
func (s *jsonlSource) readLine() ([]byte, error) {
	line, err := s.br.ReadSlice('\n')
	if err == nil || (errors.Is(err, io.EOF) && len(line) > 0) {
		return line, nil
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		buf := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(buf) > maxLine {
				return nil, inputErr(s.path, position{Line: s.line + 1}, "", "line longer than %d MiB: not JSON Lines", maxLine>>20)
			}
			line, err = s.br.ReadSlice('\n')
			buf = append(buf, line...)
		}
		if err == nil || errors.Is(err, io.EOF) {
			return buf, nil
		}
	}
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	return nil, inputErr(s.path, position{Line: s.line + 1}, "", "reading: %v", err)
}

func (s *jsonlSource) err() error      { return s.e }
func (s *jsonlSource) names() []string { return s.obj.names }
func (s *jsonlSource) fixed() bool     { return false }
func (s *jsonlSource) value(i int) value {
	return s.obj.vals[i]
}
func (s *jsonlSource) pos() position { return position{Row: s.line, Line: s.line} }
func (s *jsonlSource) done() (int64, int64) {
	return s.count.n, s.size
}
func (s *jsonlSource) close() error { return s.closer.Close() }

// flatObject is one parsed JSON object: its members in order. Keys are
// interned (the same few keys repeat on every line).
type flatObject struct {
	names []string
	vals  []value
	keys  map[string]string
	// utf8 is set when the line is valid UTF-8; otherwise every string
	// goes through encoding/json, which replaces invalid bytes.
	utf8 bool
}

// parse reads one JSON object. It checks the whole line with json.Valid
// first, so the scanner below only ever sees valid JSON.
func (o *flatObject) parse(b []byte) error {
	o.names, o.vals = o.names[:0], o.vals[:0]
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, err)
		}
		return fmt.Errorf("not valid JSON: %v", err)
	}
	o.utf8 = utf8.Valid(b)
	if b[0] != '{' {
		return errors.New("not a JSON object: each line must be one object {\"name\": value, ...}")
	}
	i := skipSpace(b, 1)
	if b[i] == '}' {
		return nil
	}
	for {
		i = skipSpace(b, i)
		key, j, err := o.str(b, i, true)
		if err != nil {
			return err
		}
		for _, n := range o.names {
			if n == key {
				return fmt.Errorf("key %q appears twice", key)
			}
		}
		i = skipSpace(b, j)
		i = skipSpace(b, i+1) // the colon
		v, j, err := o.val(b, i)
		if err != nil {
			return err
		}
		o.names = append(o.names, key)
		o.vals = append(o.vals, v)
		i = skipSpace(b, j)
		if b[i] == '}' {
			return nil
		}
		i++ // the comma
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// str reads the string starting at b[i] (a quote) and returns it and the
// index after it. Keys are interned.
func (o *flatObject) str(b []byte, i int, intern bool) (string, int, error) {
	j := i + 1
	escaped := false
	for b[j] != '"' {
		if b[j] == '\\' {
			escaped = true
			j++
		}
		j++
	}
	raw := b[i+1 : j]
	if !escaped && o.utf8 {
		if intern {
			if k, ok := o.keys[string(raw)]; ok {
				return k, j + 1, nil
			}
			k := string(raw)
			if len(o.keys) < 1024 {
				o.keys[k] = k
			}
			return k, j + 1, nil
		}
		return string(raw), j + 1, nil
	}
	var s string
	if err := json.Unmarshal(b[i:j+1], &s); err != nil {
		return "", 0, err
	}
	return s, j + 1, nil
}

// val reads the value starting at b[i].
func (o *flatObject) val(b []byte, i int) (value, int, error) {
	switch c := b[i]; {
	case c == '"':
		s, j, err := o.str(b, i, false)
		return value{k: kString, s: s}, j, err
	case c == 't':
		return value{k: kBool, b: true}, i + 4, nil
	case c == 'f':
		return value{k: kBool, b: false}, i + 5, nil
	case c == 'n':
		return value{k: kNull}, i + 4, nil
	case c == '{' || c == '[':
		j := skipComposite(b, i)
		return value{k: kJSON, raw: bytes.Clone(b[i:j])}, j, nil
	default:
		j := i
		integral := true
		for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || b[j] >= '0' && b[j] <= '9') {
			if b[j] == '.' || b[j] == 'e' || b[j] == 'E' {
				integral = false
			}
			j++
		}
		num := b[i:j]
		if integral {
			if n, ok := parseInt(num); ok {
				return value{k: kInt, i: n}, j, nil
			}
		}
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil && !isRangeErr(err) {
			return value{}, 0, fmt.Errorf("number %s: %v", num, err)
		}
		return value{k: kFloat, f: f}, j, nil
	}
}

// parseInt parses a decimal integer that fits in int64 without
// allocating; false when it does not fit (the caller parses a float).
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// skipComposite returns the index after the object or array that starts
// at b[i] (valid JSON).
func skipComposite(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			j++
			for b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(b)
}
