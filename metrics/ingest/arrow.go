package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// batchRows is the number of rows read per record batch from Parquet.
const batchRows = 64 * 1024

// arrowSource reads the record batches of a Parquet file or an Arrow IPC
// file or stream one at a time, so memory holds one batch (one Parquet
// row group is decoded at a time).
type arrowSource struct {
	path   string
	kind   string // "Parquet" or "Arrow IPC"
	f      *os.File
	names_ []string
	total  int64
	// next batch: one of these.
	rr    array.RecordReader // Parquet, IPC stream
	fr    *ipc.FileReader    // IPC file
	pf    *file.Reader
	batch int // next batch index (IPC file)

	rec  arrow.RecordBatch
	cols []arrow.Array
	i    int // row within rec
	row  int // rows before rec
	e    error
}

func newParquet(path string) (_ *arrowSource, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, openErr(path, err)
	}
	s := &arrowSource{path: path, kind: "Parquet", f: f}
	defer func() {
		if r := recover(); r != nil {
			err = inputErr(path, position{}, "", "not a readable Parquet file: %v", r)
		}
		if err != nil {
			s.close()
		}
	}()
	s.pf, err = file.NewParquetReader(f)
	if err != nil {
		return nil, inputErr(path, position{}, "", "not a readable Parquet file: %v", err)
	}
	fr, err := pqarrow.NewFileReader(s.pf, pqarrow.ArrowReadProperties{BatchSize: batchRows}, memory.DefaultAllocator)
	if err != nil {
		return nil, inputErr(path, position{}, "", "Parquet schema: %v", err)
	}
	s.total = s.pf.NumRows()
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, inputErr(path, position{}, "", "reading Parquet: %v", err)
	}
	s.rr = rr
	s.setSchema(rr.Schema())
	return s, nil
}

func newArrow(path string) (_ *arrowSource, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, openErr(path, err)
	}
	s := &arrowSource{path: path, kind: "Arrow IPC", f: f}
	defer func() {
		if r := recover(); r != nil {
			err = inputErr(path, position{}, "", "not a readable Arrow IPC file: %v", r)
		}
		if err != nil {
			s.close()
		}
	}()
	head := make([]byte, 6)
	n, _ := io.ReadFull(f, head)
	if bytes.Equal(head[:n], []byte("ARROW1")) {
		s.fr, err = ipc.NewFileReader(f)
		if err != nil {
			return nil, inputErr(path, position{}, "", "not a readable Arrow IPC file: %v", err)
		}
		s.setSchema(s.fr.Schema())
		return s, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, openErr(path, err)
	}
	r, err := ipc.NewReader(f)
	if err != nil {
		return nil, inputErr(path, position{}, "", "not an Arrow IPC file or stream: %v", err)
	}
	s.rr = r
	s.setSchema(r.Schema())
	return s, nil
}

func (s *arrowSource) setSchema(sc *arrow.Schema) {
	s.names_ = make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		s.names_[i] = f.Name
	}
}

// nextBatch loads the next non-empty record batch; false at the end.
func (s *arrowSource) nextBatch() (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.e = inputErr(s.path, position{Row: s.row + 1}, "", "corrupt %s data: %v", s.kind, r)
			ok = false
		}
	}()
	for {
		if s.rec != nil {
			s.row += int(s.rec.NumRows())
			s.rec.Release()
			s.rec = nil
		}
		switch {
		case s.fr != nil:
			if s.batch >= s.fr.NumRecords() {
				return false
			}
			rec, err := s.fr.RecordBatchAt(s.batch)
			if err != nil {
				s.e = inputErr(s.path, position{Row: s.row + 1}, "", "Arrow IPC record batch %d: %v", s.batch, err)
				return false
			}
			s.batch++
			s.rec = rec // ours to release
		default:
			if !s.rr.Next() {
				if err := s.rr.Err(); err != nil && err != io.EOF {
					s.e = inputErr(s.path, position{Row: s.row + 1}, "", "reading %s: %v", s.kind, err)
				}
				return false
			}
			rec := s.rr.RecordBatch()
			rec.Retain()
			s.rec = rec
		}
		if s.rec.NumRows() > 0 {
			s.cols = s.rec.Columns()
			s.i = -1
			return true
		}
	}
}

func (s *arrowSource) next() bool {
	if s.e != nil {
		return false
	}
	if s.rec != nil && s.i+1 < int(s.rec.NumRows()) {
		s.i++
		return true
	}
	if !s.nextBatch() {
		return false
	}
	s.i = 0
	return true
}

func (s *arrowSource) err() error      { return s.e }
func (s *arrowSource) names() []string { return s.names_ }
func (s *arrowSource) fixed() bool     { return true }
func (s *arrowSource) pos() position   { return position{Row: s.row + s.i + 1} }
func (s *arrowSource) done() (int64, int64) {
	n := int64(s.row)
	if s.rec != nil {
		n += int64(s.i + 1)
	}
	return n, s.total
}

func (s *arrowSource) close() error {
	if s.rec != nil {
		s.rec.Release()
		s.rec = nil
	}
	if s.rr != nil {
		s.rr.Release()
		s.rr = nil
	}
	if s.fr != nil {
		s.fr.Close()
		s.fr = nil
	}
	if s.pf != nil {
		s.pf.Close()
		s.pf = nil
	}
	return s.f.Close()
}

func (s *arrowSource) value(c int) value {
	return cell(s.cols[c], s.i)
}

// cell converts value i of an Arrow array.
func cell(a arrow.Array, i int) value {
	if a.IsNull(i) {
		return value{k: kNull}
	}
	switch a := a.(type) {
	case *array.Int64:
		return value{k: kInt, i: a.Value(i)}
	case *array.Int32:
		return value{k: kInt, i: int64(a.Value(i))}
	case *array.Int16:
		return value{k: kInt, i: int64(a.Value(i))}
	case *array.Int8:
		return value{k: kInt, i: int64(a.Value(i))}
	case *array.Uint64:
		v := a.Value(i)
		if v > 1<<63-1 {
			return value{k: kFloat, f: float64(v)}
		}
		return value{k: kInt, i: int64(v)}
	case *array.Uint32:
		return value{k: kInt, i: int64(a.Value(i))}
	case *array.Uint16:
		return value{k: kInt, i: int64(a.Value(i))}
	case *array.Uint8:
		return value{k: kInt, i: int64(a.Value(i))}
	case *array.Float64:
		return value{k: kFloat, f: a.Value(i)}
	case *array.Float32:
		return value{k: kFloat, f: float64(a.Value(i))}
	case *array.Float16:
		return value{k: kFloat, f: float64(a.Value(i).Float32())}
	case *array.String:
		return value{k: kString, s: a.Value(i)}
	case *array.LargeString:
		return value{k: kString, s: a.Value(i)}
	case *array.StringView:
		return value{k: kString, s: a.Value(i)}
	case *array.Boolean:
		return value{k: kBool, b: a.Value(i)}
	case *array.Dictionary:
		return cell(a.Dictionary(), a.GetValueIndex(i))
	}
	// Lists, structs, timestamps, ...: their JSON form.
	b, err := json.Marshal(a.GetOneForMarshal(i))
	if err != nil {
		return value{k: kString, s: fmt.Sprint(a.ValueStr(i))}
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) == nil {
			return value{k: kString, s: s}
		}
	}
	return value{k: kJSON, raw: b}
}
