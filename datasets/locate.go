package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unicode"
)

// EnvDataDir names the environment variable holding a data directory: one
// with a subdirectory per dataset (mnist/, fashion-mnist/) or the four IDX
// files of one dataset directly.
const EnvDataDir = "CLEVAL_DATA"

// LocateOptions configures Locate and Load. The zero value searches the
// standard places and never touches the network.
type LocateOptions struct {
	// Dir is an explicit data directory (a --data-dir flag), searched first
	// as Dir/<name>, then Dir itself. Empty skips it.
	Dir string
	// Download fetches the files into os.UserCacheDir()/cleval/<name>,
	// verifying their SHA-256, when no place holds the dataset.
	Download bool
	// BaseURL, if set, replaces the dataset's download URLs (a mirror); the
	// file names are appended to it.
	BaseURL string
	// Timeout bounds the download of each file; 0 means 5 minutes.
	// Connecting times out after 10 seconds regardless.
	Timeout time.Duration
}

// Place is one directory Locate looked at, and what it found there.
type Place struct {
	Source string // why it was searched: "--data-dir", "$CLEVAL_DATA", "user cache", ...
	Dir    string // directory; "" when the source was not set
	Status string // "found", or why it was passed over
}

func (p Place) String() string {
	if p.Dir == "" {
		return p.Source + ": " + p.Status
	}
	return p.Source + ": " + p.Dir + ": " + p.Status
}

// LocateError reports a dataset found nowhere. It wraps ErrNotFound, and
// the download error when a download was tried.
type LocateError struct {
	Name        string
	Looked      []Place // every place searched, in order
	Hint        string  // how to get the data
	DownloadErr error   // why the download failed; nil when none was tried
}

func (e *LocateError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "datasets: %s not found; looked in:", e.Name)
	for _, p := range e.Looked {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	if e.DownloadErr != nil {
		b.WriteString("\nand the download failed: ")
		b.WriteString(e.DownloadErr.Error())
	}
	b.WriteString("\n")
	b.WriteString(e.Hint)
	return b.String()
}

func (e *LocateError) Unwrap() []error {
	if e.DownloadErr != nil {
		return []error{ErrNotFound, e.DownloadErr}
	}
	return []error{ErrNotFound}
}

// systemDirs lists the places where operating-system packages install a
// dataset.
var systemDirs = map[string][]Place{
	"fashion-mnist": {{Source: "Debian package dataset-fashion-mnist", Dir: "/usr/share/datasets/fashion-mnist"}},
}

// Locate returns the directory holding the files of the known dataset
// name: the four IDX files of "mnist" and "fashion-mnist", the binary
// files of "cifar10" and "cifar100" (and "cifar100-coarse", which reads
// those of cifar100). It searches, in order, opts.Dir, $CLEVAL_DATA, the
// user cache dir and the places where packages install it (see the
// package documentation). When nothing is found and opts.Download is set,
// it downloads the files of an IDX dataset into the user cache dir (the
// CIFAR datasets cannot be downloaded: the error says where to get them).
// The error, a *LocateError wrapping ErrNotFound, lists every place looked
// at and how to get the data.
func Locate(name string, opts LocateOptions) (string, error) {
	info, err := lookup(name)
	if err != nil {
		return "", err
	}
	looked := make([]Place, 0, 8)
	for _, p := range candidates(info, opts) {
		if p.Dir != "" && p.Status == "" {
			p.Status = checkDir(p.Dir, info)
			if p.Status == "found" {
				return p.Dir, nil
			}
		}
		looked = append(looked, p)
	}
	lerr := &LocateError{Name: name, Looked: looked, Hint: hint(info)}
	if opts.Download {
		if !info.Downloadable {
			lerr.DownloadErr = fmt.Errorf("datasets: %s cannot be downloaded by cleval (get the archive by hand, as said below): %w", name, ErrDownload)
			return "", lerr
		}
		dir, err := Download(name, opts)
		if err == nil {
			return dir, nil
		}
		lerr.DownloadErr = err
	}
	return "", lerr
}

func hint(info Info) string {
	if info.Subdir != "" {
		return fmt.Sprintf("To get %s (cleval cannot download it): %s. $%s/%s/%s, $%s/%s and $%s itself are searched too.",
			info.Name, info.GetIt, EnvDataDir, info.files(), info.Subdir, EnvDataDir, info.Subdir, EnvDataDir)
	}
	files := make([]string, len(idxFiles))
	for i, f := range idxFiles {
		files[i] = f + ".gz"
	}
	return fmt.Sprintf("To get %s: %s; or put the four IDX files (%s, gzipped or not) in one of the directories above, e.g. in $%s/%s; or let cleval download them (--download) from %s.",
		info.Name, info.GetIt, strings.Join(files, ", "), EnvDataDir, info.Name, info.URLs[0])
}

// candidates lists the places to search for the dataset, in order. Places
// with a Status already set were not searchable (source unset).
func candidates(info Info, opts LocateOptions) []Place {
	name := info.files()
	var ps []Place
	ps = appendDataDir(ps, "--data-dir", opts.Dir, name, info.Subdir)
	ps = appendDataDir(ps, "$"+EnvDataDir, os.Getenv(EnvDataDir), name, info.Subdir)
	if d, err := userCacheDir(); err == nil {
		if info.Subdir != "" {
			ps = append(ps, Place{Source: "user cache", Dir: filepath.Join(d, name, info.Subdir)})
		}
		ps = append(ps, Place{Source: "user cache", Dir: filepath.Join(d, name)})
	} else {
		ps = append(ps, Place{Source: "user cache", Status: "unavailable: " + err.Error()})
	}
	if name == "mnist" {
		ps = append(ps, goModuleDirs()...)
	}
	ps = append(ps, systemDirs[name]...)
	return ps
}

// appendDataDir appends the places of a data directory: dir/name, then dir
// itself; with a subdir (the directory an archive extracts to), first
// dir/name/subdir, then dir/name, dir/subdir and dir.
func appendDataDir(ps []Place, source, dir, name, subdir string) []Place {
	if dir == "" {
		return append(ps, Place{Source: source, Status: "not set"})
	}
	if subdir != "" {
		ps = append(ps, Place{Source: source, Dir: filepath.Join(dir, name, subdir)})
	}
	ps = append(ps, Place{Source: source, Dir: filepath.Join(dir, name)})
	if subdir != "" {
		ps = append(ps, Place{Source: source, Dir: filepath.Join(dir, subdir)})
	}
	return append(ps, Place{Source: source, Dir: dir})
}

// userCacheDir returns os.UserCacheDir()/cleval.
func userCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "cleval"), nil
}

// checkDir returns "found" when dir holds the files of the dataset, else
// why not.
func checkDir(dir string, info Info) string {
	st, err := os.Stat(dir)
	switch {
	case os.IsNotExist(err):
		return "does not exist"
	case err != nil:
		return err.Error()
	case !st.IsDir():
		return "not a directory"
	}
	if f, ok := CIFARFormatOf(info.Name); ok {
		status := f.cifarStatus(dir)
		if status != "found" && info.Archive != "" {
			if st, err := os.Stat(filepath.Join(dir, info.Archive)); err == nil && !st.IsDir() {
				status += "; " + info.Archive + " is here but not extracted (tar xzf " + filepath.Join(dir, info.Archive) + " -C " + dir + ")"
			}
		}
		return status
	}
	name := info.Name
	paths, missing := findIDXFiles(dir)
	if len(missing) == len(idxFiles) {
		return "no IDX files"
	}
	if len(missing) > 0 {
		return "incomplete: missing " + strings.Join(missing, ", ")
	}
	if other := identify(paths[3]); other != "" && other != name {
		return "holds " + other + ", not " + name
	}
	return "found"
}

// identify returns the known dataset whose test labels have the content of
// the file at path, or "" when none has. The file is small (10 kB), so this
// cheaply tells MNIST from Fashion-MNIST, which use the same file names.
func identify(path string) string {
	_, sum, _, err := hashFile(path)
	if err != nil {
		return ""
	}
	for _, k := range known {
		for _, kf := range KnownFiles[k.Name] {
			if trimGz(kf.Name) == TestLabelsFile && kf.ContentSHA256 == sum {
				return k.Name
			}
		}
	}
	return ""
}

// moduleCacheDir returns $GOMODCACHE, else the first $GOPATH entry's
// pkg/mod, else $HOME/go/pkg/mod, as the go command does (a GOMODCACHE set
// with `go env -w` only is not seen).
func moduleCacheDir() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if gp := filepath.SplitList(os.Getenv("GOPATH")); len(gp) > 0 && gp[0] != "" {
		return filepath.Join(gp[0], "pkg", "mod")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}

// escapeModule applies the module cache's case encoding: each upper-case
// letter becomes '!' followed by its lower-case form.
func escapeModule(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// readBuildInfo is debug.ReadBuildInfo; tests replace it, since test
// binaries record no dependencies.
var readBuildInfo = debug.ReadBuildInfo

// goModuleDirs returns the data/ folders of the GoMNIST module: first the
// version this binary was built with (from its build info), then any other
// version in the module cache, newest first.
func goModuleDirs() []Place {
	const source = "Go module " + goMNISTPath
	cache := moduleCacheDir()
	var ps []Place
	if bi, ok := readBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path != goMNISTPath {
				continue
			}
			if r := m.Replace; r != nil {
				if r.Version == "" { // replaced by a local directory
					ps = append(ps, Place{Source: source + " (replaced by " + r.Path + ")", Dir: filepath.Join(r.Path, "data")})
					break
				}
				m = r
			}
			if cache != "" {
				ps = append(ps, Place{Source: source + "@" + m.Version + " (build info)",
					Dir: filepath.Join(cache, filepath.FromSlash(escapeModule(m.Path)+"@"+escapeModule(m.Version)), "data")})
			}
		}
	}
	if cache == "" {
		return append(ps, Place{Source: source, Status: "no module cache: $GOMODCACHE, $GOPATH and $HOME unset"})
	}
	pattern := filepath.Join(cache, filepath.FromSlash(escapeModule(goMNISTPath)+"@*"), "data")
	matches, _ := filepath.Glob(pattern)
	slices.Sort(matches)
	slices.Reverse(matches)
	for _, m := range matches {
		if !slices.ContainsFunc(ps, func(p Place) bool { return p.Dir == m }) {
			ps = append(ps, Place{Source: source + " (module cache)", Dir: m})
		}
	}
	if len(ps) == 0 {
		ps = append(ps, Place{Source: source, Dir: pattern, Status: "no version in the module cache"})
	}
	return ps
}

// Load locates the known dataset name (see Locate) and reads it. The
// datasets are named "<name>/train" and "<name>/test", carry the dataset's
// class names and have its shape [C, H, W] (MNIST and Fashion-MNIST
// [1, 28, 28], CIFAR [3, 32, 32]). CIFAR files must hold their published
// number of records (CIFARFormat.OpenDir).
func Load(name string, o LocateOptions) (Pair, error) {
	info, err := lookup(name)
	if err != nil {
		return Pair{}, err
	}
	dir, err := Locate(name, o)
	if err != nil {
		return Pair{}, err
	}
	if f, ok := CIFARFormatOf(name); ok {
		return f.OpenDir(dir, true)
	}
	p, err := OpenIDXDir(dir, info.NumClasses)
	if err != nil {
		return Pair{}, err
	}
	c, h, w := p.Train.CHW()
	if !equalInts([]int{c, h, w}, info.Shape) {
		return Pair{}, fileErr(dir, ErrCorrupt, fmt.Sprintf("images are %s, but %s images are %s", shapeString(p.Train.Shape), name, shapeString(info.Shape)))
	}
	p.Train.Shape, p.Test.Shape = slices.Clone(info.Shape), slices.Clone(info.Shape)
	p.Train.Name, p.Test.Name = name+"/train", name+"/test"
	p.Train.ClassNames, p.Test.ClassNames = slices.Clone(info.ClassNames), slices.Clone(info.ClassNames)
	return p, nil
}
