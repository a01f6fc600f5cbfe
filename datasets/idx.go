package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"sync"
)

// IDX is the content of an IDX file of unsigned bytes (element type 0x08),
// the format of MNIST and Fashion-MNIST.
type IDX struct {
	Dims []int   // sizes from the header; Dims[0] is the number of items
	Data []uint8 // product(Dims) bytes, row-major
}

// Len returns the number of items, Dims[0].
func (x *IDX) Len() int { return x.Dims[0] }

// ItemShape returns the shape of one item, Dims[1:] (empty for labels).
func (x *IDX) ItemShape() []int { return x.Dims[1:] }

// maxIDXBytes bounds the data size a header may declare: 64 GiB, or what
// fits in an int on 32-bit platforms.
var maxIDXBytes = uint64(min(math.MaxInt, 1<<36))

// idxTypeNames names the element types of the IDX format; only 0x08 is
// supported.
var idxTypeNames = map[byte]string{
	0x08: "unsigned byte",
	0x09: "signed byte",
	0x0B: "int16",
	0x0C: "int32",
	0x0D: "float32",
	0x0E: "float64",
}

// ReadIDX reads an IDX file of unsigned bytes, gzip-compressed or raw (told
// apart by the gzip magic bytes 1f 8b, not by the file name). The header
// must be valid and the data must be exactly as long as the header says.
func ReadIDX(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ioErr(path, err)
	}
	defer f.Close()
	return decodeIDX(f, path, sizeHint(f))
}

// DecodeIDX reads an IDX stream like ReadIDX; name stands for the source in
// error messages.
func DecodeIDX(r io.Reader, name string) (*IDX, error) {
	return decodeIDX(r, name, -1)
}

// ReadIDXImages reads an IDX file of images: at least two dimensions, the
// item count first (MNIST: count, rows, columns).
func ReadIDXImages(path string) (*IDX, error) {
	x, err := ReadIDX(path)
	if err != nil {
		return nil, err
	}
	if len(x.Dims) < 2 {
		return nil, fileErr(path, ErrCorrupt, fmt.Sprintf("not an image file: %d dimension(s) %v, want at least 2 (count, rows, columns)", len(x.Dims), x.Dims))
	}
	return x, nil
}

// ReadIDXLabels reads an IDX file of labels (one dimension) and checks that
// every label is below numClasses (1 to 256). numClasses ≤ 0 accepts any
// byte value.
func ReadIDXLabels(path string, numClasses int) ([]int32, error) {
	x, err := ReadIDX(path)
	if err != nil {
		return nil, err
	}
	return labelsFromIDX(x, path, numClasses)
}

func labelsFromIDX(x *IDX, path string, numClasses int) ([]int32, error) {
	if len(x.Dims) != 1 {
		return nil, fileErr(path, ErrCorrupt, fmt.Sprintf("not a label file: %d dimensions %v, want 1", len(x.Dims), x.Dims))
	}
	labels := make([]int32, len(x.Data))
	for i, b := range x.Data {
		if numClasses > 0 && int(b) >= numClasses {
			return nil, fileErr(path, ErrCorrupt, fmt.Sprintf("label %d at index %d out of range [0, %d)", b, i, numClasses))
		}
		labels[i] = int32(b)
	}
	return labels, nil
}

// sizeHint estimates the decoded size of the file: its size when raw, the
// gzip trailer's ISIZE (size mod 2³²) when gzipped; -1 when unknown. It is
// only a capacity hint, never trusted.
func sizeHint(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return -1
	}
	var head [2]byte
	if _, err := f.ReadAt(head[:], 0); err != nil {
		return -1
	}
	if head[0] != 0x1f || head[1] != 0x8b {
		return st.Size()
	}
	var tail [4]byte
	if st.Size() < 18 {
		return -1
	}
	if _, err := f.ReadAt(tail[:], st.Size()-4); err != nil {
		return -1
	}
	return int64(binary.LittleEndian.Uint32(tail[:]))
}

// decodeIDX parses an IDX stream; hint is the expected decoded size or -1.
func decodeIDX(r io.Reader, name string, hint int64) (*IDX, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var src io.Reader = br
	compressed := false
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &FileError{Path: name, Kind: ErrCorrupt, Msg: "bad gzip header: " + err.Error(), Cause: err}
		}
		defer zr.Close()
		src = zr
		compressed = true
	}
	streamErr := func(what string, err error) error {
		if compressed && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return &FileError{Path: name, Kind: ErrCorrupt, Msg: what + ": corrupt gzip stream: " + err.Error(), Cause: err}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			msg := what + ": unexpected end of file"
			if compressed {
				msg = what + ": unexpected end of gzip stream"
			}
			return &FileError{Path: name, Kind: ErrCorrupt, Msg: msg, Cause: err}
		}
		return &FileError{Path: name, Msg: what + ": " + err.Error(), Cause: err}
	}

	var magic [4]byte
	if n, err := io.ReadFull(src, magic[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, fileErr(name, ErrCorrupt, "empty file: no IDX header")
		}
		return nil, streamErr("reading IDX header", err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fileErr(name, ErrCorrupt, fmt.Sprintf("bad magic %#08x: not an IDX file (want 0x0000TTNN: two zero bytes, element type, dimension count)", binary.BigEndian.Uint32(magic[:])))
	}
	typ, ndims := magic[2], int(magic[3])
	if typ != 0x08 {
		tn, ok := idxTypeNames[typ]
		if !ok {
			return nil, fileErr(name, ErrCorrupt, fmt.Sprintf("bad magic %#08x: unknown element type %#02x", binary.BigEndian.Uint32(magic[:]), typ))
		}
		return nil, fileErr(name, ErrUnsupported, fmt.Sprintf("element type %#02x (%s) not supported: only unsigned byte (0x08) IDX files can be read", typ, tn))
	}
	if ndims == 0 {
		return nil, fileErr(name, ErrCorrupt, "header declares 0 dimensions")
	}
	hdr := make([]byte, 4*ndims)
	if _, err := io.ReadFull(src, hdr); err != nil {
		return nil, streamErr(fmt.Sprintf("reading the %d dimension sizes", ndims), err)
	}
	dims := make([]int, ndims)
	total := uint64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(hdr[4*i:])
		if d == 0 {
			return nil, fileErr(name, ErrCorrupt, fmt.Sprintf("dimension %d of %d is zero", i, ndims))
		}
		hi, lo := bits.Mul64(total, uint64(d))
		if hi != 0 || lo > maxIDXBytes {
			return nil, fileErr(name, ErrCorrupt, fmt.Sprintf("dimensions %v declare more than %d bytes", dimsPrefix(hdr, i+1), maxIDXBytes))
		}
		total = lo
		dims[i] = int(d)
	}
	want := int(total)
	itemSize := want / dims[0]

	// Grow the buffer with the data actually read, so a header that lies
	// about a huge size cannot make us allocate it up front.
	capHint := min(want, 64<<10)
	if hint > 0 {
		capHint = int(min(int64(want), max(hint, 4096)))
	}
	data := make([]byte, capHint)
	n := 0
	var readErr error
	for n < want && readErr == nil {
		if n == len(data) {
			data = append(data, make([]byte, min(want, 2*len(data))-len(data))...)
		}
		var m int
		m, readErr = src.Read(data[n:])
		n += m
	}
	if n < want {
		switch {
		case errors.Is(readErr, io.EOF):
			return nil, fileErr(name, ErrCorrupt, fmt.Sprintf("truncated: header says %s, file holds %s", items(dims[0], dims[1:], want), holds(n, itemSize)))
		case compressed && errors.Is(readErr, io.ErrUnexpectedEOF):
			return nil, &FileError{Path: name, Kind: ErrCorrupt, Msg: fmt.Sprintf("truncated gzip stream: header says %s, stream ends after %s", items(dims[0], dims[1:], want), holds(n, itemSize)), Cause: readErr}
		}
		return nil, streamErr("reading data", readErr)
	}
	if readErr != nil && !errors.Is(readErr, io.EOF) {
		return nil, streamErr(fmt.Sprintf("after %d bytes of data", want), readErr)
	}
	// Reading to the end also makes the gzip reader check its CRC.
	extra, err := io.Copy(io.Discard, io.LimitReader(src, 1<<20))
	if err != nil {
		return nil, streamErr(fmt.Sprintf("after %d bytes of data", want), err)
	}
	if extra > 0 {
		more := ""
		if extra == 1<<20 {
			more = "at least "
		}
		return nil, fileErr(name, ErrCorrupt, fmt.Sprintf("trailing data: header says %s, file holds %s%d more bytes", items(dims[0], dims[1:], want), more, extra))
	}
	return &IDX{Dims: dims, Data: data[:want:want]}, nil
}

func dimsPrefix(hdr []byte, n int) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(hdr[4*i:])
	}
	return out
}

// items describes the declared data: "10000 items" for labels,
// "10000 items of 28x28 (7840000 bytes)" for images.
func items(n int, shape []int, bytes int) string {
	if len(shape) == 0 {
		return fmt.Sprintf("%d items", n)
	}
	return fmt.Sprintf("%d items of %s (%d bytes)", n, shapeString(shape), bytes)
}

// holds describes the data found: "9999" for labels, "7839999 bytes" else.
func holds(n, itemSize int) string {
	if itemSize == 1 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Standard IDX file names, without the optional .gz suffix.
const (
	TrainImagesFile = "train-images-idx3-ubyte"
	TrainLabelsFile = "train-labels-idx1-ubyte"
	TestImagesFile  = "t10k-images-idx3-ubyte"
	TestLabelsFile  = "t10k-labels-idx1-ubyte"
)

var idxFiles = [4]string{TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile}

// findIDXFile returns dir/base.gz or dir/base, whichever exists (the gzip
// first), or "".
func findIDXFile(dir, base string) string {
	for _, name := range [2]string{base + ".gz", base} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// findIDXFiles returns the paths of the four standard files in dir, and the
// names of those missing.
func findIDXFiles(dir string) (paths [4]string, missing []string) {
	for i, base := range idxFiles {
		paths[i] = findIDXFile(dir, base)
		if paths[i] == "" {
			missing = append(missing, base+"[.gz]")
		}
	}
	return paths, missing
}

// OpenIDXDir reads the four standard IDX files from dir (each .gz or raw):
// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
// and t10k-labels-idx1-ubyte. Labels must be below numClasses; numClasses ≤ 0
// infers it as the largest label plus one. Image and label counts must match
// and both splits must have the same image shape. The datasets are named
// "<base of dir>/train" and "<base of dir>/test".
func OpenIDXDir(dir string, numClasses int) (Pair, error) {
	paths, missing := findIDXFiles(dir)
	if len(missing) > 0 {
		return Pair{}, fileErr(dir, ErrNotFound, fmt.Sprintf("missing %v", missing))
	}
	var (
		images [2]*IDX
		labels [2][]int32
		errs   [4]error
		wg     sync.WaitGroup
	)
	for s := range 2 {
		wg.Go(func() { images[s], errs[2*s] = ReadIDXImages(paths[2*s]) })
		wg.Go(func() { labels[s], errs[2*s+1] = ReadIDXLabels(paths[2*s+1], numClasses) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Pair{}, err
		}
	}
	for s := range 2 {
		if images[s].Len() != len(labels[s]) {
			return Pair{}, fileErr(paths[2*s], ErrCorrupt, fmt.Sprintf("holds %d images but %s holds %d labels", images[s].Len(), paths[2*s+1], len(labels[s])))
		}
	}
	if !equalInts(images[0].ItemShape(), images[1].ItemShape()) {
		return Pair{}, fileErr(paths[2], ErrCorrupt, fmt.Sprintf("images are %s but the training images in %s are %s", shapeString(images[1].ItemShape()), paths[0], shapeString(images[0].ItemShape())))
	}
	if numClasses <= 0 {
		for _, ls := range labels {
			for _, y := range ls {
				numClasses = max(numClasses, int(y)+1)
			}
		}
	}
	base := filepath.Base(filepath.Clean(dir))
	var p Pair
	for s, split := range [2]string{"train", "test"} {
		d := &Dataset{
			Name:       base + "/" + split,
			Shape:      append([]int(nil), images[s].ItemShape()...),
			Pixels:     images[s].Data,
			Labels:     labels[s],
			NumClasses: numClasses,
		}
		if s == 0 {
			p.Train = d
		} else {
			p.Test = d
		}
	}
	return p, nil
}
