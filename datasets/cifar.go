package datasets

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// CIFARImageBytes is the number of pixel bytes of a CIFAR record: a 32×32
// image of 3 channels, the 1024 red values first, then the green, then the
// blue, each row by row (the CHW layout).
const CIFARImageBytes = 3 * 32 * 32

// CIFARFormat describes the binary version of CIFAR-10 or CIFAR-100 (the
// files of cifar-10-binary.tar.gz and cifar-100-binary.tar.gz) and which of
// its labels are the classes.
//
// A CIFAR-10 file is a sequence of 3073-byte records: the label (0–9), then
// the 3072 pixel bytes. A CIFAR-100 file has 3074-byte records: the coarse
// label (0–19), the fine label (0–99), then the pixels. There is no header,
// so the file size must be a whole number of records.
type CIFARFormat struct {
	// Name is the dataset's name: "cifar10", "cifar100" (fine labels) or
	// "cifar100-coarse" (the same files, coarse labels).
	Name string
	// Title names the format in messages: "CIFAR-10", "CIFAR-100".
	Title string
	// LabelBytes is the number of label bytes before the pixels of a
	// record: 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine).
	LabelBytes int
	// Classes is the number of values each label byte may take, in record
	// order: [10], or [20, 100] for CIFAR-100's coarse and fine labels.
	Classes []int
	// Label is the index of the label byte used as the class: 0 for
	// CIFAR-10, 1 (fine) or 0 (coarse) for CIFAR-100.
	Label int
	// TrainFiles and TestFile are the file names.
	TrainFiles []string
	TestFile   string
	// TrainRecords are the published numbers of records of each training
	// file; TestRecords that of the test file.
	TrainRecords []int
	TestRecords  int
	// ClassNames name the classes.
	ClassNames []string
}

// RecordSize returns the size of one record in bytes: the label bytes and
// the 3072 pixel bytes.
func (f CIFARFormat) RecordSize() int { return f.LabelBytes + CIFARImageBytes }

// NumClasses returns the number of classes, Classes[Label].
func (f CIFARFormat) NumClasses() int { return f.Classes[f.Label] }

// Files returns the training files followed by the test file.
func (f CIFARFormat) Files() []string { return append(slices.Clone(f.TrainFiles), f.TestFile) }

// Records returns the published number of records of each file of Files.
func (f CIFARFormat) Records() []int { return append(slices.Clone(f.TrainRecords), f.TestRecords) }

var cifar10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

var cifar100Fine = []string{
	"apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
	"bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
	"chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
	"dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
	"lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
	"mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
	"plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
	"rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
	"squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
	"train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
}

var cifar100Coarse = []string{
	"aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
	"household_electrical_devices", "household_furniture", "insects", "large_carnivores", "large_man-made_outdoor_things",
	"large_natural_outdoor_scenes", "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
	"reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
}

// The binary versions of CIFAR-10 and CIFAR-100.
var (
	CIFAR10 = CIFARFormat{
		Name: "cifar10", Title: "CIFAR-10", LabelBytes: 1, Classes: []int{10}, Label: 0,
		TrainFiles:   []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"},
		TestFile:     "test_batch.bin",
		TrainRecords: []int{10000, 10000, 10000, 10000, 10000}, TestRecords: 10000,
		ClassNames: cifar10Classes,
	}
	CIFAR100 = CIFARFormat{
		Name: "cifar100", Title: "CIFAR-100", LabelBytes: 2, Classes: []int{20, 100}, Label: 1,
		TrainFiles: []string{"train.bin"}, TestFile: "test.bin",
		TrainRecords: []int{50000}, TestRecords: 10000,
		ClassNames: cifar100Fine,
	}
	CIFAR100Coarse = func() CIFARFormat {
		f := CIFAR100
		f.Name, f.Label, f.ClassNames = "cifar100-coarse", 0, cifar100Coarse
		return f
	}()
)

// CIFARFormatOf returns the format of the dataset name: "cifar10",
// "cifar100" or "cifar100-coarse".
func CIFARFormatOf(name string) (CIFARFormat, bool) {
	for _, f := range []CIFARFormat{CIFAR10, CIFAR100, CIFAR100Coarse} {
		if f.Name == name {
			return f, true
		}
	}
	return CIFARFormat{}, false
}

// cifarSize returns the number of records of the file at path, checking
// that its size is a whole, non-zero number of records.
func (f CIFARFormat) cifarSize(path string) (int, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, ioErr(path, err)
	}
	if st.IsDir() {
		return 0, fileErr(path, ErrCorrupt, "is a directory, not a "+f.Title+" file")
	}
	rec := int64(f.RecordSize())
	switch size := st.Size(); {
	case size == 0:
		return 0, fileErr(path, ErrCorrupt, "empty file: no "+f.Title+" records")
	case size%rec != 0:
		return 0, fileErr(path, ErrCorrupt, fmt.Sprintf("size %d bytes is not a whole number of %d-byte %s records (%s + 3072 pixel bytes): %d records and %d bytes; truncated, or not a %s file",
			size, rec, f.Title, f.labelWords(), size/rec, size%rec, f.Title))
	default:
		return int(size / rec), nil
	}
}

func (f CIFARFormat) labelWords() string {
	if f.LabelBytes == 1 {
		return "1 label byte"
	}
	return "coarse and fine label bytes"
}

// labelName names label byte j of a record in messages.
func (f CIFARFormat) labelName(j int) string {
	if f.LabelBytes == 1 {
		return "label"
	}
	return [2]string{"coarse label", "fine label"}[j]
}

// readInto reads the n records of the file at path into pixels (n×3072)
// and labels (n), checking every label byte.
func (f CIFARFormat) readInto(path string, n int, pixels []uint8, labels []int32) error {
	fh, err := os.Open(path)
	if err != nil {
		return ioErr(path, err)
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, 1<<20)
	var head [2]byte
	lb := head[:f.LabelBytes]
	for i := range n {
		_, err := io.ReadFull(br, lb)
		if err == nil {
			_, err = io.ReadFull(br, pixels[i*CIFARImageBytes:(i+1)*CIFARImageBytes])
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fileErr(path, ErrCorrupt, fmt.Sprintf("unexpected end of file in record %d of %d (the file shrank while being read)", i, n))
			}
			return ioErr(path, err)
		}
		for j, b := range lb {
			if int(b) >= f.Classes[j] {
				return fileErr(path, ErrCorrupt, fmt.Sprintf("record %d (byte offset %d): %s %d out of range [0, %d)", i, int64(i)*int64(f.RecordSize())+int64(j), f.labelName(j), b, f.Classes[j]))
			}
		}
		labels[i] = int32(lb[f.Label])
	}
	return nil
}

// ReadFile reads one CIFAR file: its pixels (records × 3072 bytes, CHW)
// and its labels (Label's byte of each record). The size must be a whole
// number of records and every label byte in range; want > 0 also requires
// exactly want records. Errors name the file and the problem and wrap
// ErrCorrupt (or ErrNotFound).
func (f CIFARFormat) ReadFile(path string, want int) (pixels []uint8, labels []int32, err error) {
	n, err := f.cifarSize(path)
	if err != nil {
		return nil, nil, err
	}
	pixels, labels = make([]uint8, n*CIFARImageBytes), make([]int32, n)
	if err := f.readInto(path, n, pixels, labels); err != nil {
		return nil, nil, err
	}
	if err := f.checkCount(path, n, want); err != nil {
		return nil, nil, err
	}
	return pixels, labels, nil
}

func (f CIFARFormat) checkCount(path string, n, want int) error {
	if want > 0 && n != want {
		return fileErr(path, ErrCorrupt, fmt.Sprintf("holds %d records, want %d as published", n, want))
	}
	return nil
}

// OpenDir reads the training files and the test file from dir. With
// published set, every file must hold its published number of records
// (TrainRecords, TestRecords); otherwise any whole number does (a smaller
// data set in the same format). The checks run in this order, and the
// first failing file (in Files order) is reported: each file's size is a
// whole number of records, every label byte is in range, then the counts.
// The datasets are named "<Name>/train" and "<Name>/test", have shape
// [3, 32, 32] and keep their pixels as uint8.
func (f CIFARFormat) OpenDir(dir string, published bool) (Pair, error) {
	files, want := f.Files(), f.Records()
	paths := make([]string, len(files))
	counts := make([]int, len(files))
	for i, name := range files {
		paths[i] = filepath.Join(dir, name)
		n, err := f.cifarSize(paths[i])
		if err != nil {
			return Pair{}, err
		}
		counts[i] = n
	}
	nt := len(f.TrainFiles)
	trainN := 0
	for _, n := range counts[:nt] {
		trainN += n
	}
	train := &Dataset{Name: f.Name + "/train", Shape: []int{3, 32, 32}, NumClasses: f.NumClasses(), ClassNames: slices.Clone(f.ClassNames),
		Pixels: make([]uint8, trainN*CIFARImageBytes), Labels: make([]int32, trainN)}
	test := &Dataset{Name: f.Name + "/test", Shape: []int{3, 32, 32}, NumClasses: f.NumClasses(), ClassNames: slices.Clone(f.ClassNames),
		Pixels: make([]uint8, counts[nt]*CIFARImageBytes), Labels: make([]int32, counts[nt])}
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	at := 0
	for i := range files {
		d, from := train, at
		if i == nt {
			d, from = test, 0
		} else {
			at += counts[i]
		}
		px := d.Pixels[from*CIFARImageBytes : (from+counts[i])*CIFARImageBytes]
		ls := d.Labels[from : from+counts[i]]
		wg.Go(func() { errs[i] = f.readInto(paths[i], counts[i], px, ls) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Pair{}, err
		}
	}
	if published {
		for i := range files {
			if err := f.checkCount(paths[i], counts[i], want[i]); err != nil {
				return Pair{}, err
			}
		}
	}
	p := Pair{Train: train, Test: test}
	return p, p.Validate()
}

// RecordCheck is the result of checking one CIFAR file (VerifyRecords).
type RecordCheck struct {
	File    string // file name, e.g. "data_batch_1.bin"
	Path    string // the file checked
	Size    int64  // its size in bytes; -1 when it is missing
	Records int    // whole records it holds (Size / RecordSize)
	Want    int    // published number of records
	// Counts holds the number of records of each class (Label's byte);
	// nil when the file could not be read (or a label is out of range).
	Counts []int
	Err    error // nil when the file is as published
}

// OK reports whether the file passed every check.
func (c RecordCheck) OK() bool { return c.Err == nil }

// VerifyRecords checks every file of the format in dir: present, a whole
// number of records, the published number of records, every label byte in
// range. The error joins the per-file errors (nil when every file passed).
func (f CIFARFormat) VerifyRecords(dir string) ([]RecordCheck, error) {
	files, want := f.Files(), f.Records()
	checks := make([]RecordCheck, len(files))
	var errs []error
	for i, name := range files {
		c := RecordCheck{File: name, Path: filepath.Join(dir, name), Size: -1, Want: want[i]}
		if st, err := os.Stat(c.Path); err == nil {
			c.Size = st.Size()
			c.Records = int(st.Size() / int64(f.RecordSize()))
		}
		_, labels, err := f.ReadFile(c.Path, 0)
		if err == nil {
			c.Counts = make([]int, f.NumClasses())
			for _, y := range labels {
				c.Counts[y]++
			}
			err = f.checkCount(c.Path, len(labels), want[i])
		}
		c.Err = err
		if err != nil {
			errs = append(errs, err)
		}
		checks[i] = c
	}
	return checks, errors.Join(errs...)
}

// cifarStatus returns "found" when dir holds every file of the format,
// else why not.
func (f CIFARFormat) cifarStatus(dir string) string {
	var missing []string
	for _, name := range f.Files() {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.IsDir() {
			missing = append(missing, name)
		}
	}
	switch {
	case len(missing) == 0:
		return "found"
	case len(missing) < len(f.Files()):
		return "incomplete: missing " + strings.Join(missing, ", ")
	}
	return "no " + f.Title + " files"
}

// WriteFile writes records in the format to path: record i has the label
// bytes labels[i*LabelBytes:(i+1)*LabelBytes] (for CIFAR-100 the coarse,
// then the fine label) and the pixels pixels[i*3072:(i+1)*3072]. It writes
// the bytes as given, without checking the label ranges (a smaller data
// set in the CIFAR format, or a corrupt one for a test).
func (f CIFARFormat) WriteFile(path string, labels, pixels []uint8) error {
	n := len(labels) / f.LabelBytes
	if len(labels) != n*f.LabelBytes || len(pixels) != n*CIFARImageBytes {
		return fmt.Errorf("datasets: CIFARFormat.WriteFile: %d label bytes and %d pixel bytes do not make whole %s records", len(labels), len(pixels), f.Title)
	}
	buf := make([]byte, 0, n*f.RecordSize())
	for i := range n {
		buf = append(buf, labels[i*f.LabelBytes:(i+1)*f.LabelBytes]...)
		buf = append(buf, pixels[i*CIFARImageBytes:(i+1)*CIFARImageBytes]...)
	}
	return os.WriteFile(path, buf, 0o644)
}

// WriteSynthetic writes every file of the format into dir (created if
// needed) with perClass records of each class per file: a small, learnable
// stand-in in the exact binary format (labels cycle through the classes,
// CIFAR-100's coarse label is fine/5; a pixel of class c is (20·c + a
// pattern below 16) mod 256), for tests and for trying the CIFAR
// benchmarks where the real files cannot be downloaded.
func (f CIFARFormat) WriteSynthetic(dir string, perClass int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	classes := f.Classes[len(f.Classes)-1]
	n := perClass * classes
	for k, name := range f.Files() {
		labels := make([]uint8, 0, n*f.LabelBytes)
		pixels := make([]uint8, n*CIFARImageBytes)
		for i := range n {
			fine := i % classes
			if f.LabelBytes == 2 {
				labels = append(labels, uint8(fine/5))
			}
			labels = append(labels, uint8(fine))
			for j := range CIFARImageBytes {
				pixels[i*CIFARImageBytes+j] = uint8(fine*20 + (i+j+k)%16)
			}
		}
		if err := f.WriteFile(filepath.Join(dir, name), labels, pixels); err != nil {
			return err
		}
	}
	return nil
}

// ArchiveCheck is the result of checking the published archive of a
// dataset (VerifyArchive).
type ArchiveCheck struct {
	Path string // the archive checked; "" when none was found
	MD5  string // its MD5, hex
	Want string // the published MD5, hex
	Err  error  // nil when it matches (or none was found)
}

// VerifyArchive looks for the published archive of the known dataset name
// (Info.Archive, e.g. cifar-10-binary.tar.gz) in dir and in its parent
// (where it usually stays after being extracted into dir), and checks its
// MD5 against the value published with it (Info.ArchiveMD5). It returns
// a check with an empty Path when neither holds the archive or the dataset
// has none. The error, wrapping ErrChecksum, is the check's Err.
func VerifyArchive(name, dir string) (ArchiveCheck, error) {
	info, err := lookup(name)
	if err != nil {
		return ArchiveCheck{}, err
	}
	c := ArchiveCheck{Want: info.ArchiveMD5}
	if info.Archive == "" {
		return c, nil
	}
	for _, d := range []string{dir, filepath.Dir(filepath.Clean(dir))} {
		p := filepath.Join(d, info.Archive)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			c.Path = p
			break
		}
	}
	if c.Path == "" {
		return c, nil
	}
	fh, err := os.Open(c.Path)
	if err != nil {
		c.Err = ioErr(c.Path, err)
		return c, c.Err
	}
	defer fh.Close()
	h := md5.New()
	if _, err := io.Copy(h, fh); err != nil {
		c.Err = ioErr(c.Path, err)
		return c, c.Err
	}
	c.MD5 = hex.EncodeToString(h.Sum(nil))
	if c.MD5 != c.Want {
		c.Err = fileErr(c.Path, ErrChecksum, fmt.Sprintf("MD5 %s, but the published %s has MD5 %s", c.MD5, info.Archive, c.Want))
	}
	return c, c.Err
}
