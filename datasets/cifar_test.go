package datasets

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cifarPixel is the value of pixel j of record i of file k in the test
// files: every record distinct, every channel different.
func cifarPixel(k, i, j int) uint8 { return uint8(k*31 + i*7 + j*13 + j/1024*5) }

// writeCIFARFile writes n records of file k of format f: record i has
// class (k+i) mod NumClasses (CIFAR-100: coarse label fine/5) and the
// cifarPixel pixels. It returns the class of each record.
func writeCIFARFile(t testing.TB, path string, f CIFARFormat, k, n int) []int32 {
	t.Helper()
	labels := make([]uint8, 0, n*f.LabelBytes)
	pixels := make([]uint8, n*CIFARImageBytes)
	classes := make([]int32, n)
	for i := range n {
		fine := (k + i) % f.Classes[len(f.Classes)-1]
		if f.LabelBytes == 2 {
			labels = append(labels, uint8(fine/5), uint8(fine))
			classes[i] = int32([]int{fine / 5, fine}[f.Label])
		} else {
			labels = append(labels, uint8(fine))
			classes[i] = int32(fine)
		}
		for j := range CIFARImageBytes {
			pixels[i*CIFARImageBytes+j] = cifarPixel(k, i, j)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteFile(path, labels, pixels); err != nil {
		t.Fatal(err)
	}
	return classes
}

// writeCIFARDir writes every file of f in dir with counts[k] records in
// file k (Files order), and returns the classes of the training and the
// test records.
func writeCIFARDir(t testing.TB, dir string, f CIFARFormat, counts []int) (train, test []int32) {
	t.Helper()
	for k, name := range f.Files() {
		c := writeCIFARFile(t, filepath.Join(dir, name), f, k, counts[k])
		if k < len(f.TrainFiles) {
			train = append(train, c...)
		} else {
			test = c
		}
	}
	return train, test
}

func TestCIFARFormats(t *testing.T) {
	for _, f := range []CIFARFormat{CIFAR10, CIFAR100, CIFAR100Coarse} {
		if len(f.ClassNames) != f.NumClasses() || len(f.Files()) != len(f.Records()) {
			t.Errorf("%s: %d class names for %d classes", f.Name, len(f.ClassNames), f.NumClasses())
		}
		if g, ok := CIFARFormatOf(f.Name); !ok || g.Name != f.Name {
			t.Errorf("CIFARFormatOf(%q) = %v, %v", f.Name, g.Name, ok)
		}
	}
	if CIFAR10.RecordSize() != 3073 || CIFAR100.RecordSize() != 3074 || CIFAR100.NumClasses() != 100 || CIFAR100Coarse.NumClasses() != 20 {
		t.Error("record sizes or class counts")
	}
	if CIFAR10.ClassNames[9] != "truck" || CIFAR100.ClassNames[99] != "worm" || CIFAR100Coarse.ClassNames[19] != "vehicles_2" {
		t.Error("class names")
	}
	if _, ok := CIFARFormatOf("mnist"); ok {
		t.Error("mnist is not a CIFAR format")
	}
}

// TestCIFAROpenDir reads small files in the exact binary formats: the
// training files are concatenated in order, the pixels are the record's
// 3072 bytes as they are (CHW), the labels the chosen label byte.
func TestCIFAROpenDir(t *testing.T) {
	t.Parallel()
	for _, f := range []CIFARFormat{CIFAR10, CIFAR100, CIFAR100Coarse} {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			counts := []int{3, 2, 4, 1, 2, 3}[6-len(f.Files()):]
			train, test := writeCIFARDir(t, dir, f, counts)
			p, err := f.OpenDir(dir, false)
			if err != nil {
				t.Fatal(err)
			}
			if p.Train.Name != f.Name+"/train" || p.Test.Name != f.Name+"/test" || !slices.Equal(p.Train.Shape, []int{3, 32, 32}) ||
				p.Train.NumClasses != f.NumClasses() || !slices.Equal(p.Train.ClassNames, f.ClassNames) {
				t.Fatalf("datasets %q %q shape %v, %d classes", p.Train.Name, p.Test.Name, p.Train.Shape, p.Train.NumClasses)
			}
			if c, h, w := p.Train.CHW(); c != 3 || h != 32 || w != 32 {
				t.Errorf("CHW %d×%d×%d", c, h, w)
			}
			if !slices.Equal(p.Train.Labels, train) || !slices.Equal(p.Test.Labels, test) {
				t.Errorf("labels %v %v, want %v %v", p.Train.Labels, p.Test.Labels, train, test)
			}
			// Sample s of the training split is record i of file k.
			s := 0
			for k, n := range counts {
				d := p.Train
				if k == len(counts)-1 {
					d, s = p.Test, 0
				}
				for i := range n {
					for _, j := range []int{0, 1, 1023, 1024, 2047, 2048, 3071} {
						if got, want := d.Pixels[s*CIFARImageBytes+j], cifarPixel(k, i, j); got != want {
							t.Fatalf("file %d record %d pixel %d = %d, want %d", k, i, j, got, want)
						}
					}
					s++
				}
			}
			x := make([]float32, 2*3072)
			p.Train.Gather(x, nil, []int32{1, 0})
			if x[3072+5] != PixelValue(cifarPixel(0, 0, 5)) || x[1024] != PixelValue(cifarPixel(0, 1, 1024)) {
				t.Errorf("Gather: %v %v", x[3072+5], x[1024])
			}
		})
	}
}

// TestCIFARBadFiles: a truncated file, a file of the wrong size, labels
// out of range, a missing file: one error naming the file and the problem.
func TestCIFARBadFiles(t *testing.T) {
	t.Parallel()
	type tc struct {
		name      string
		f         CIFARFormat
		published bool
		spoil     func(t *testing.T, dir string) string // returns the file concerned
		kind      error
		want      []string
	}
	appendBytes := func(name string, b []byte) func(*testing.T, string) string {
		return func(t *testing.T, dir string) string {
			p := filepath.Join(dir, name)
			old, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, append(old, b...), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	truncate := func(name string, size int64) func(*testing.T, string) string {
		return func(t *testing.T, dir string) string {
			p := filepath.Join(dir, name)
			if err := os.Truncate(p, size); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	setByte := func(name string, off int64, b byte) func(*testing.T, string) string {
		return func(t *testing.T, dir string) string {
			p := filepath.Join(dir, name)
			fh, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			if _, err := fh.WriteAt([]byte{b}, off); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	for _, c := range []tc{
		{"truncated", CIFAR10, false, truncate("data_batch_3.bin", 3*3073-100), ErrCorrupt,
			[]string{"size 9119 bytes is not a whole number of 3073-byte CIFAR-10 records", "2 records and 2973 bytes", "truncated"}},
		{"trailing byte", CIFAR10, false, appendBytes("test_batch.bin", []byte{0}), ErrCorrupt,
			[]string{"not a whole number of 3073-byte"}},
		{"empty", CIFAR100, false, truncate("test.bin", 0), ErrCorrupt, []string{"empty file"}},
		{"cifar-10 file as cifar-100", CIFAR100, false, func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "train.bin")
			writeCIFARFile(t, p, CIFAR10, 0, 10)
			return p
		}, ErrCorrupt, []string{"size 30730 bytes is not a whole number of 3074-byte CIFAR-100 records", "9 records and 3064 bytes", "not a CIFAR-100 file"}},
		{"label out of range", CIFAR10, false, setByte("data_batch_2.bin", 3073, 10), ErrCorrupt,
			[]string{"record 1 (byte offset 3073): label 10 out of range [0, 10)"}},
		{"coarse label out of range", CIFAR100, false, setByte("train.bin", 2*3074, 20), ErrCorrupt,
			[]string{"record 2 (byte offset 6148): coarse label 20 out of range [0, 20)"}},
		{"fine label out of range", CIFAR100Coarse, false, setByte("test.bin", 3074+1, 255), ErrCorrupt,
			[]string{"record 1 (byte offset 3075): fine label 255 out of range [0, 100)"}},
		{"wrong count", CIFAR10, true, func(t *testing.T, dir string) string { return filepath.Join(dir, "data_batch_1.bin") }, ErrCorrupt,
			[]string{"holds 3 records, want 10000 as published"}},
		{"missing", CIFAR10, false, func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "data_batch_5.bin")
			os.Remove(p)
			return p
		}, ErrNotFound, []string{"no such file"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeCIFARDir(t, dir, c.f, slices.Repeat([]int{3}, len(c.f.Files())))
			path := c.spoil(t, dir)
			_, err := c.f.OpenDir(dir, c.published)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !errors.Is(err, c.kind) || !strings.HasPrefix(msg, "datasets: "+path+": ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line about %s wrapping %v", msg, path, c.kind)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			// ReadFile reports the same problem for the file alone.
			if _, _, err := c.f.ReadFile(path, map[bool]int{true: 10000}[c.published]); err == nil || err.Error() != msg {
				t.Errorf("ReadFile: %v, want %q", err, msg)
			}
		})
	}
}

// TestLocateCIFAR: the places searched for CIFAR, the archive left
// unextracted, --download refused, and Load's check of the published
// record counts.
func TestLocateCIFAR(t *testing.T) {
	cache, _ := isolate(t)
	data := t.TempDir()
	t.Setenv(EnvDataDir, data)

	_, err := Locate("cifar10", LocateOptions{Download: true})
	var lerr *LocateError
	if !errors.As(err, &lerr) || !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrDownload) {
		t.Fatalf("Locate with nothing there: %v", err)
	}
	msg := err.Error()
	for _, w := range []string{
		filepath.Join(data, "cifar10", "cifar-10-batches-bin") + ": does not exist",
		filepath.Join(data, "cifar-10-batches-bin") + ": does not exist",
		data + ": no CIFAR-10 files",
		filepath.Join(cache, "cleval", "cifar10", "cifar-10-batches-bin") + ": does not exist",
		"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530",
		"data_batch_1.bin", "test_batch.bin", "cannot be downloaded by cleval",
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("not-found error lacks %q:\n%s", w, msg)
		}
	}
	if _, err := Download("cifar100", LocateOptions{}); !errors.Is(err, ErrDownload) || !strings.Contains(err.Error(), "cifar-100-binary.tar.gz") {
		t.Errorf("Download(cifar100): %v", err)
	}

	// The archive, not extracted.
	os.WriteFile(filepath.Join(data, "cifar-10-binary.tar.gz"), []byte("x"), 0o644)
	if _, err := Locate("cifar10", LocateOptions{}); err == nil || !strings.Contains(err.Error(), "cifar-10-binary.tar.gz is here but not extracted (tar xzf") {
		t.Errorf("unextracted archive: %v", err)
	}

	// An incomplete directory is passed over, and named.
	sub := filepath.Join(data, "cifar10", "cifar-10-batches-bin")
	writeCIFARFile(t, filepath.Join(sub, "data_batch_1.bin"), CIFAR10, 0, 1)
	if _, err := Locate("cifar10", LocateOptions{}); err == nil || !strings.Contains(err.Error(), sub+": incomplete: missing data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin, test_batch.bin") {
		t.Errorf("incomplete: %v", err)
	}

	// $CLEVAL_DATA/cifar-10-batches-bin.
	direct := filepath.Join(data, "cifar-10-batches-bin")
	writeCIFARDir(t, direct, CIFAR10, []int{1, 1, 1, 1, 1, 2})
	if got, err := Locate("cifar10", LocateOptions{}); err != nil || got != direct {
		t.Errorf("Locate = %q, %v; want %q", got, err, direct)
	}
	// --data-dir comes first: DIR/cifar10/cifar-10-batches-bin.
	flag := t.TempDir()
	nested := filepath.Join(flag, "cifar10", "cifar-10-batches-bin")
	writeCIFARDir(t, nested, CIFAR10, []int{1, 1, 1, 1, 1, 2})
	if got, err := Locate("cifar10", LocateOptions{Dir: flag}); err != nil || got != nested {
		t.Errorf("Locate(--data-dir) = %q, %v; want %q", got, err, nested)
	}
	// Load insists on the published counts and names the first file off.
	if _, err := Load("cifar10", LocateOptions{Dir: flag}); !errors.Is(err, ErrCorrupt) ||
		!strings.Contains(err.Error(), filepath.Join(nested, "data_batch_1.bin")+": holds 1 records, want 10000") {
		t.Errorf("Load with small files: %v", err)
	}

	// cifar100-coarse reads the files of cifar100, in the user cache.
	c100 := filepath.Join(cache, "cleval", "cifar100", "cifar-100-binary")
	writeCIFARDir(t, c100, CIFAR100, []int{5, 2})
	for _, name := range []string{"cifar100", "cifar100-coarse"} {
		if got, err := Locate(name, LocateOptions{}); err != nil || got != c100 {
			t.Errorf("Locate(%s) = %q, %v; want %q", name, got, err, c100)
		}
	}
}

func TestVerifyRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeCIFARDir(t, dir, CIFAR100, []int{4, 3})
	os.Truncate(filepath.Join(dir, "test.bin"), 3*3074-1)
	checks, err := CIFAR100.VerifyRecords(dir)
	if err == nil || len(checks) != 2 {
		t.Fatalf("checks %+v, err %v", checks, err)
	}
	tr, te := checks[0], checks[1]
	if tr.File != "train.bin" || tr.Size != 4*3074 || tr.Records != 4 || tr.Want != 50000 || tr.OK() || !strings.Contains(tr.Err.Error(), "holds 4 records, want 50000") ||
		len(tr.Counts) != 100 || tr.Counts[0] != 1 || tr.Counts[3] != 1 || tr.Counts[4] != 0 {
		t.Errorf("train.bin: %+v", tr)
	}
	if te.Records != 2 || te.Want != 10000 || te.Counts != nil || !strings.Contains(te.Err.Error(), "not a whole number") {
		t.Errorf("test.bin: %+v", te)
	}
	if !strings.Contains(err.Error(), "train.bin") || !strings.Contains(err.Error(), "test.bin") {
		t.Errorf("joined error %v", err)
	}
	// The class counts of a good file.
	writeCIFARFile(t, filepath.Join(dir, "t.bin"), CIFAR10, 0, 12)
	f := CIFAR10
	f.TestFile, f.TestRecords = "t.bin", 12
	f.TrainFiles, f.TrainRecords = nil, nil
	checks, err = f.VerifyRecords(dir)
	if err != nil || !checks[0].OK() || !slices.Equal(checks[0].Counts, []int{2, 2, 1, 1, 1, 1, 1, 1, 1, 1}) {
		t.Errorf("good file: %+v, %v", checks, err)
	}
}

func FuzzCIFARFile(f *testing.F) {
	rec := make([]byte, CIFAR100.RecordSize())
	f.Add(rec)
	f.Add(append(slices.Clone(rec), rec...))
	f.Add(rec[:100])
	bad := slices.Clone(rec)
	bad[1] = 100
	f.Add(bad)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "f.bin")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, format := range []CIFARFormat{CIFAR10, CIFAR100} {
			px, ls, err := format.ReadFile(path, 0)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("%s: error %v", format.Name, err)
				}
				continue
			}
			n := len(b) / format.RecordSize()
			if n == 0 || len(b)%format.RecordSize() != 0 || len(ls) != n || len(px) != n*CIFARImageBytes {
				t.Fatalf("%s: %d bytes read as %d records", format.Name, len(b), len(ls))
			}
			for i, y := range ls {
				if int(y) >= format.NumClasses() || b[i*format.RecordSize()+format.Label] != byte(y) {
					t.Fatalf("%s: record %d label %d", format.Name, i, y)
				}
			}
		}
	})
}

// TestCIFARSource reads a directory in a CIFAR format as the user's own
// data: told from its files, any number of records.
func TestCIFARSource(t *testing.T) {
	t.Parallel()
	dir10, dir100 := t.TempDir(), t.TempDir()
	writeCIFARDir(t, dir10, CIFAR10, []int{2, 2, 2, 2, 2, 3})
	writeCIFARDir(t, dir100, CIFAR100, []int{7, 3})
	for _, c := range []struct {
		src           Source
		name          string
		train, test   int
		classes       int
		firstTrainCls int32
	}{
		{Source{Path: dir10}, "cifar10", 10, 3, 10, 0},
		{Source{Path: dir10, Format: "cifar10"}, "cifar10", 10, 3, 10, 0},
		{Source{Path: dir100}, "cifar100", 7, 3, 100, 0},
		{Source{Path: dir100, Format: "cifar100-coarse", TableOptions: TableOptions{ImageShape: []int{3, 32, 32}}}, "cifar100-coarse", 7, 3, 20, 0},
	} {
		p, err := OpenSource(c.src)
		if err != nil {
			t.Fatalf("%+v: %v", c.src, err)
		}
		if p.Train.Name != c.name+"/train" || p.Train.Len() != c.train || p.Test.Len() != c.test || p.Train.NumClasses != c.classes {
			t.Errorf("%+v: %s %d+%d samples, %d classes", c.src, p.Train.Name, p.Train.Len(), p.Test.Len(), p.Train.NumClasses)
		}
	}
	if _, err := OpenSource(Source{Path: dir10, Format: "cifar10", TableOptions: TableOptions{ImageShape: []int{3, 16, 64}}}); !errors.Is(err, ErrCorrupt) ||
		!strings.Contains(err.Error(), dir10+": image_shape 3x16x64: CIFAR-10 images are 3x32x32") {
		t.Errorf("image shape: %v", err)
	}
	if _, err := OpenSource(Source{Path: dir10, Format: "cifar10", TableOptions: TableOptions{LabelCol: "y"}}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("label column: %v", err)
	}
	if _, err := OpenSource(Source{Path: dir100, Format: "cifar10"}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "data_batch_1.bin") {
		t.Errorf("wrong format: %v", err)
	}
}

func TestVerifyArchive(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "cifar-10-batches-bin")
	os.Mkdir(dir, 0o755)
	if c, err := VerifyArchive("cifar10", dir); err != nil || c.Path != "" || c.Want != "c32a1d4ab5d03f1284b67883e8d87530" {
		t.Errorf("no archive: %+v, %v", c, err)
	}
	// An archive next to the extracted directory, not the published one.
	archive := filepath.Join(root, "cifar-10-binary.tar.gz")
	os.WriteFile(archive, []byte("not the archive"), 0o644)
	c, err := VerifyArchive("cifar10", dir)
	sum := md5.Sum([]byte("not the archive"))
	if !errors.Is(err, ErrChecksum) || c.Path != archive || c.MD5 != hex.EncodeToString(sum[:]) ||
		!strings.Contains(err.Error(), archive+": MD5 "+c.MD5+", but the published cifar-10-binary.tar.gz has MD5 c32a1d4ab5d03f1284b67883e8d87530") {
		t.Errorf("wrong archive: %+v, %v", c, err)
	}
	if c, err := VerifyArchive("mnist", dir); err != nil || c.Path != "" {
		t.Errorf("mnist has no archive: %+v, %v", c, err)
	}
}

// TestCIFARFileShrinks: a file shorter than its size said when it was
// checked (it shrank while being read) is reported, not read as zeros.
func TestCIFARFileShrinks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test_batch.bin")
	writeCIFARFile(t, path, CIFAR10, 0, 3)
	px, ls := make([]uint8, 4*CIFARImageBytes), make([]int32, 4)
	err := CIFAR10.readInto(path, 4, px, ls)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path+": unexpected end of file in record 3 of 4") {
		t.Errorf("shrunk file: %v", err)
	}
}

// TestCIFARWriteSynthetic: the synthetic files read back through OpenDir
// with perClass samples of every class per file, labels cycling through
// the classes.
func TestCIFARWriteSynthetic(t *testing.T) {
	t.Parallel()
	for _, f := range []CIFARFormat{CIFAR10, CIFAR100} {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "new")
			if err := f.WriteSynthetic(dir, 2); err != nil {
				t.Fatal(err)
			}
			p, err := f.OpenDir(dir, false)
			if err != nil {
				t.Fatal(err)
			}
			classes := f.NumClasses()
			files := len(f.Files())
			if got, want := len(p.Train.Labels), 2*classes*(files-1); got != want {
				t.Fatalf("%d training samples, want %d", got, want)
			}
			if got := len(p.Test.Labels); got != 2*classes {
				t.Fatalf("%d test samples, want %d", got, 2*classes)
			}
			for i, y := range p.Test.Labels {
				if int(y) != i%classes {
					t.Fatalf("test sample %d has label %d, want %d", i, y, i%classes)
				}
			}
		})
	}
}
