package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxBytes encodes an IDX file: magic 00 00 typ ndims, big-endian dims, data.
func idxBytes(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gzipBytes(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func seq(n int, mod int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % mod)
	}
	return b
}

func TestReadIDXRoundTrip(t *testing.T) {
	dir := t.TempDir()
	data := seq(3*4*5, 256)
	raw := idxBytes(8, []uint32{3, 4, 5}, data)
	for _, tc := range []struct {
		name, file string
		b          []byte
	}{
		{"raw", "images", raw},
		{"gzip", "images.gz", gzipBytes(t, raw)},
		{"gzip without .gz suffix", "images-gz-in-disguise", gzipBytes(t, raw)},
		{"raw with .gz suffix", "raw.gz", raw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := ReadIDXImages(writeFile(t, filepath.Join(dir, tc.file), tc.b))
			if err != nil {
				t.Fatal(err)
			}
			if x.Len() != 3 || !equalInts(x.ItemShape(), []int{4, 5}) || !bytes.Equal(x.Data, data) {
				t.Fatalf("got dims %v, %d bytes", x.Dims, len(x.Data))
			}
		})
	}
}

func TestReadIDXErrors(t *testing.T) {
	labels := func(n uint32, data []byte) []byte { return idxBytes(8, []uint32{n}, data) }
	images := func(n uint32, data []byte) []byte { return idxBytes(8, []uint32{n, 2, 2}, data) }
	for _, tc := range []struct {
		name    string
		content []byte
		read    string // "labels" (10 classes), "images" or "idx"
		kind    error
		msg     string
	}{
		{"empty", nil, "idx", ErrCorrupt, "empty file: no IDX header"},
		{"short magic", []byte{0, 0}, "idx", ErrCorrupt, "reading IDX header: unexpected end"},
		{"wrong magic", append([]byte{0x12, 0x34, 8, 1}, 0, 0, 0, 1, 5), "idx", ErrCorrupt, "bad magic 0x12340801: not an IDX file"},
		{"wrong type float32", idxBytes(0x0D, []uint32{1}, make([]byte, 4)), "idx", ErrUnsupported, "element type 0x0d (float32) not supported"},
		{"wrong type int32", idxBytes(0x0C, []uint32{1}, make([]byte, 4)), "labels", ErrUnsupported, "element type 0x0c (int32) not supported"},
		{"unknown type", idxBytes(0x07, []uint32{1}, []byte{1}), "idx", ErrCorrupt, "unknown element type 0x07"},
		{"zero dimensions", []byte{0, 0, 8, 0}, "idx", ErrCorrupt, "header declares 0 dimensions"},
		{"zero-size dimension", idxBytes(8, []uint32{2, 0, 2}, nil), "images", ErrCorrupt, "dimension 1 of 3 is zero"},
		{"zero items", labels(0, nil), "labels", ErrCorrupt, "dimension 0 of 1 is zero"},
		{"truncated dims", []byte{0, 0, 8, 3, 0, 0, 0, 1, 0, 0}, "images", ErrCorrupt, "reading the 3 dimension sizes: unexpected end"},
		{"overflowing dims", idxBytes(8, []uint32{0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, nil), "images", ErrCorrupt, "declare more than"},
		{"truncated labels", labels(10, seq(9, 10)), "labels", ErrCorrupt, "truncated: header says 10 items, file holds 9"},
		{"truncated images", images(3, seq(11, 256)), "images", ErrCorrupt, "truncated: header says 3 items of 2x2 (12 bytes), file holds 11 bytes"},
		{"trailing bytes", append(labels(3, []byte{1, 2, 3}), 0xAA, 0xBB), "labels", ErrCorrupt, "trailing data: header says 3 items, file holds 2 more bytes"},
		{"bad label", labels(4, []byte{1, 9, 10, 2}), "labels", ErrCorrupt, "label 10 at index 2 out of range [0, 10)"},
		{"labels with 3 dims", images(1, seq(4, 4)), "labels", ErrCorrupt, "not a label file: 3 dimensions [1 2 2], want 1"},
		{"images with 1 dim", labels(4, seq(4, 4)), "images", ErrCorrupt, "not an image file: 1 dimension(s) [4]"},
	} {
		for _, gz := range []bool{false, true} {
			name, b, file := tc.name+"/raw", tc.content, "f-idx1-ubyte"
			if gz {
				name, b, file = tc.name+"/gzip", gzipBytes(t, tc.content), "f-idx1-ubyte.gz"
			}
			t.Run(name, func(t *testing.T) {
				path := writeFile(t, filepath.Join(t.TempDir(), file), b)
				var err error
				switch tc.read {
				case "labels":
					_, err = ReadIDXLabels(path, 10)
				case "images":
					_, err = ReadIDXImages(path)
				default:
					_, err = ReadIDX(path)
				}
				checkFileErr(t, err, path, tc.kind, tc.msg)
			})
		}
	}
}

func checkFileErr(t *testing.T, err error, path string, kind error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v mentioning %q", kind, msg)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q is not %v", err, kind)
	}
	prefix := "datasets: " + path + ": "
	if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q, want prefix %q and %q", err, prefix, msg)
	}
	var fe *FileError
	if !errors.As(err, &fe) || fe.Path != path {
		t.Errorf("error %q is not a *FileError for %s", err, path)
	}
}

func TestReadIDXGzipCorruption(t *testing.T) {
	raw := idxBytes(8, []uint32{100}, seq(100, 10))
	gz := gzipBytes(t, raw)
	dir := t.TempDir()

	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-8] ^= 0xFF // CRC-32 in the trailer
	path := writeFile(t, filepath.Join(dir, "crc.gz"), badCRC)
	_, err := ReadIDXLabels(path, 10)
	checkFileErr(t, err, path, ErrCorrupt, "corrupt gzip stream")

	cut := gz[:len(gz)-6]
	path = writeFile(t, filepath.Join(dir, "cut.gz"), cut)
	_, err = ReadIDXLabels(path, 10)
	checkFileErr(t, err, path, ErrCorrupt, "unexpected end of gzip stream")

	garbage := append(bytes.Clone(gz), "this is not a gzip member"...)
	path = writeFile(t, filepath.Join(dir, "garbage.gz"), garbage)
	_, err = ReadIDXLabels(path, 10)
	checkFileErr(t, err, path, ErrCorrupt, "after 100 bytes of data: corrupt gzip stream")

	path = writeFile(t, filepath.Join(dir, "header.gz"), []byte{0x1f, 0x8b, 0x99})
	_, err = ReadIDX(path)
	checkFileErr(t, err, path, ErrCorrupt, "bad gzip header")
}

func TestReadIDXMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.gz")
	_, err := ReadIDX(path)
	checkFileErr(t, err, path, ErrNotFound, "no such file")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v is not fs.ErrNotExist", err)
	}
}

// writeIDXDir writes a small dataset in the four standard files.
func writeIDXDir(t *testing.T, dir string, gz bool, nTrain, nTrainLabels, nTest int) {
	t.Helper()
	put := func(name string, b []byte) {
		if gz {
			writeFile(t, filepath.Join(dir, name+".gz"), gzipBytes(t, b))
		} else {
			writeFile(t, filepath.Join(dir, name), b)
		}
	}
	put(TrainImagesFile, idxBytes(8, []uint32{uint32(nTrain), 3, 2}, seq(nTrain*6, 256)))
	put(TrainLabelsFile, idxBytes(8, []uint32{uint32(nTrainLabels)}, seq(nTrainLabels, 3)))
	put(TestImagesFile, idxBytes(8, []uint32{uint32(nTest), 3, 2}, seq(nTest*6, 7)))
	put(TestLabelsFile, idxBytes(8, []uint32{uint32(nTest)}, seq(nTest, 3)))
}

func TestOpenIDXDir(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "tiny")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeIDXDir(t, dir, gz, 7, 7, 4)
		p, err := OpenIDXDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		if p.Train.Name != "tiny/train" || p.Test.Name != "tiny/test" || p.Train.Len() != 7 || p.Test.Len() != 4 ||
			!equalInts(p.Train.Shape, []int{3, 2}) || p.Train.NumClasses != 3 || p.Train.Labels[4] != 1 {
			t.Fatalf("gz=%v: got %+v / %+v", gz, *p.Train, *p.Test)
		}
		if _, err := OpenIDXDir(dir, 2); err == nil || !strings.Contains(err.Error(), "label 2 at index 2 out of range [0, 2)") {
			t.Fatalf("numClasses 2: %v", err)
		}
	}
}

func TestOpenIDXDirCountMismatch(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		writeIDXDir(t, dir, gz, 7, 6, 4)
		_, err := OpenIDXDir(dir, 3)
		images := filepath.Join(dir, TrainImagesFile)
		if gz {
			images += ".gz"
		}
		checkFileErr(t, err, images, ErrCorrupt, "holds 7 images but "+filepath.Join(dir, TrainLabelsFile))
		if err != nil && !strings.Contains(err.Error(), "holds 6 labels") {
			t.Errorf("error %q does not give the label count", err)
		}
	}
}

func TestOpenIDXDirShapeMismatch(t *testing.T) {
	dir := t.TempDir()
	writeIDXDir(t, dir, false, 2, 2, 2)
	writeFile(t, filepath.Join(dir, TestImagesFile), idxBytes(8, []uint32{2, 2, 3}, seq(12, 5)))
	_, err := OpenIDXDir(dir, 3)
	checkFileErr(t, err, filepath.Join(dir, TestImagesFile), ErrCorrupt, "images are 2x3 but the training images")
}

func TestOpenIDXDirMissing(t *testing.T) {
	dir := t.TempDir()
	writeIDXDir(t, dir, true, 2, 2, 2)
	os.Remove(filepath.Join(dir, TestLabelsFile+".gz"))
	_, err := OpenIDXDir(dir, 3)
	checkFileErr(t, err, dir, ErrNotFound, "missing [t10k-labels-idx1-ubyte[.gz]]")
}

// FuzzReadIDX checks that the parser never panics and that whatever it
// accepts is self-consistent: the dimensions are positive, their product is
// the data length, and re-encoding gives back the input (raw) or a stream
// that decompresses to it (gzip).
func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(8, []uint32{3}, []byte{1, 2, 3}))
	f.Add(idxBytes(8, []uint32{2, 2, 2}, seq(8, 256)))
	f.Add(gzipBytes(f, idxBytes(8, []uint32{2, 3}, seq(6, 256))))
	f.Add(idxBytes(8, []uint32{2, 3}, seq(5, 256)))
	f.Add(append(idxBytes(8, []uint32{1}, []byte{1}), 0))
	f.Add(idxBytes(0x0D, []uint32{1}, []byte{0, 0, 0, 0}))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, in []byte) {
		x, err := DecodeIDX(bytes.NewReader(in), "fuzz")
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || fe.Kind == nil || !strings.HasPrefix(err.Error(), "datasets: fuzz: ") {
				t.Fatalf("error %q (%T) is not a *FileError with a kind", err, err)
			}
			if x != nil {
				t.Fatal("non-nil IDX with an error")
			}
			return
		}
		n := 1
		for _, d := range x.Dims {
			if d <= 0 {
				t.Fatalf("accepted dims %v", x.Dims)
			}
			n *= d
		}
		if n != len(x.Data) || len(x.Dims) == 0 || len(x.Dims) > 255 {
			t.Fatalf("dims %v but %d bytes", x.Dims, len(x.Data))
		}
		dims := make([]uint32, len(x.Dims))
		for i, d := range x.Dims {
			dims[i] = uint32(d)
		}
		enc := idxBytes(8, dims, x.Data)
		if len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b {
			zr, err := gzip.NewReader(bytes.NewReader(in))
			if err != nil {
				t.Fatalf("accepted a gzip stream gzip rejects: %v", err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(plain, enc) {
				t.Fatalf("accepted gzip stream does not decompress to the re-encoding (%v)", err)
			}
		} else if !bytes.Equal(enc, in) {
			t.Fatalf("accepted input is not its own re-encoding")
		}
		if len(x.Dims) == 1 {
			if ls, err := labelsFromIDX(x, "fuzz", 10); err == nil {
				for _, l := range ls {
					if l < 0 || l >= 10 {
						t.Fatalf("label %d accepted", l)
					}
				}
			}
		}
	})
}
