package datasets

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Info describes a dataset Locate and Load know by name.
type Info struct {
	Name        string   // "mnist", "fashion-mnist", "cifar10", "cifar100", "cifar100-coarse"
	Description string   // one line
	NumClasses  int      // 10
	Shape       []int    // per-sample shape [C, H, W]: [1 28 28], [3 32 32]
	TrainSize   int      // training samples
	TestSize    int      // test samples
	ClassNames  []string // label i is ClassNames[i]
	Homepage    string
	// URLs are the download base URLs, canonical first (IDX datasets); for
	// the CIFAR datasets, the address of the archive of the binary version.
	URLs  []string
	GetIt string // how to install it for offline use
	// Files are the files a directory must hold (without the optional .gz
	// of IDX files).
	Files []string
	// Subdir is the directory the published archive extracts to
	// ("cifar-10-batches-bin"); Locate also searches it inside each place.
	// Empty for IDX datasets.
	Subdir string
	// Archive and ArchiveMD5 are the name and the published MD5 of the
	// archive of the binary version (CIFAR); empty for IDX datasets.
	Archive, ArchiveMD5 string
	// Of names the dataset whose files this one reads, when it is another
	// labelling of them (cifar100-coarse: "cifar100"); "" otherwise.
	Of string
	// Downloadable says whether --download can fetch it (the IDX datasets,
	// whose files have known SHA-256 values).
	Downloadable bool
}

// files returns the dataset's directory name: Of, or Name.
func (i Info) files() string {
	if i.Of != "" {
		return i.Of
	}
	return i.Name
}

// KnownFile is one file of a known dataset as published.
type KnownFile struct {
	Name          string // file name as published, e.g. "train-images-idx3-ubyte.gz"
	Size          int64  // size of the published gzip file in bytes
	SHA256        string // hex SHA-256 of the published gzip file
	ContentSize   int64  // size of the decompressed IDX file in bytes
	ContentSHA256 string // hex SHA-256 of the decompressed IDX file
}

// KnownFiles lists the published files of each known dataset with their
// SHA-256, indexed by dataset name.
//
// The gzip hashes are those of the files at the canonical URLs (for MNIST
// also those of the GoMNIST module's data/ folder, whose MD5s match the ones
// torchvision checks). Debian's dataset-fashion-mnist package ships the same
// data in gzip files whose header was normalised (file name and time stamp
// removed by strip-nondeterminism), so their own hash differs while the
// decompressed content hashes match: Verify accepts either.
var KnownFiles = map[string][]KnownFile{
	"mnist": {
		{"train-images-idx3-ubyte.gz", 9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
		{"train-labels-idx1-ubyte.gz", 28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
		{"t10k-images-idx3-ubyte.gz", 1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
		{"t10k-labels-idx1-ubyte.gz", 4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
	},
	"fashion-mnist": {
		{"train-images-idx3-ubyte.gz", 26421880, "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc", 47040016, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
		{"train-labels-idx1-ubyte.gz", 29515, "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc", 60008, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
		{"t10k-images-idx3-ubyte.gz", 4422102, "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229", 7840016, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
		{"t10k-labels-idx1-ubyte.gz", 5148, "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf", 10008, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"},
	},
}

// cifarGetIt says how to get a CIFAR dataset: where the archive is and
// where to extract it.
func cifarGetIt(title, archive, md5, url, subdir, name string, f CIFARFormat) string {
	return fmt.Sprintf("download the binary version of %s, %s (MD5 %s), and extract it into a data directory, e.g. "+
		"mkdir -p ~/.cache/cleval/%s && tar xzf %s -C ~/.cache/cleval/%s, which gives %s/ holding %s",
		title, url, md5, name, archive, name, subdir, strings.Join(f.Files(), ", "))
}

var known = []Info{
	{
		Name:        "cifar10",
		Description: "tiny colour images, 3x32x32, 10 classes (Krizhevsky 2009), binary version",
		NumClasses:  10,
		Shape:       []int{3, 32, 32},
		TrainSize:   50000,
		TestSize:    10000,
		ClassNames:  cifar10Classes,
		Homepage:    "https://www.cs.toronto.edu/~kriz/cifar.html",
		URLs:        []string{"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"},
		GetIt: cifarGetIt("CIFAR-10", "cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530",
			"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", "cifar-10-batches-bin", "cifar10", CIFAR10),
		Files:      CIFAR10.Files(),
		Subdir:     "cifar-10-batches-bin",
		Archive:    "cifar-10-binary.tar.gz",
		ArchiveMD5: "c32a1d4ab5d03f1284b67883e8d87530",
	},
	{
		Name:        "cifar100",
		Description: "tiny colour images, 3x32x32, 100 classes (fine labels; Krizhevsky 2009), binary version",
		NumClasses:  100,
		Shape:       []int{3, 32, 32},
		TrainSize:   50000,
		TestSize:    10000,
		ClassNames:  cifar100Fine,
		Homepage:    "https://www.cs.toronto.edu/~kriz/cifar.html",
		URLs:        []string{"https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"},
		GetIt: cifarGetIt("CIFAR-100", "cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8",
			"https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz", "cifar-100-binary", "cifar100", CIFAR100),
		Files:      CIFAR100.Files(),
		Subdir:     "cifar-100-binary",
		Archive:    "cifar-100-binary.tar.gz",
		ArchiveMD5: "03b5dce01913d631647c71ecec9e9cb8",
	},
	{
		Name:        "cifar100-coarse",
		Description: "CIFAR-100 with its 20 coarse labels (superclasses): the files of cifar100",
		NumClasses:  20,
		Shape:       []int{3, 32, 32},
		TrainSize:   50000,
		TestSize:    10000,
		ClassNames:  cifar100Coarse,
		Homepage:    "https://www.cs.toronto.edu/~kriz/cifar.html",
		URLs:        []string{"https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"},
		GetIt: cifarGetIt("CIFAR-100", "cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8",
			"https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz", "cifar-100-binary", "cifar100", CIFAR100),
		Files:      CIFAR100.Files(),
		Subdir:     "cifar-100-binary",
		Archive:    "cifar-100-binary.tar.gz",
		ArchiveMD5: "03b5dce01913d631647c71ecec9e9cb8",
		Of:         "cifar100",
	},
	{
		Name:        "fashion-mnist",
		Description: "Zalando article images, 28x28 grayscale, 10 classes (Xiao, Rasul & Vollgraf 2017)",
		NumClasses:  10,
		Shape:       []int{1, 28, 28},
		TrainSize:   60000,
		TestSize:    10000,
		ClassNames:  []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
		Homepage:    "https://github.com/zalandoresearch/fashion-mnist",
		URLs: []string{
			"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
			"https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
		},
		GetIt:        "apt-get install dataset-fashion-mnist (installs /usr/share/datasets/fashion-mnist)",
		Files:        idxFiles[:],
		Downloadable: true,
	},
	{
		Name:        "mnist",
		Description: "handwritten digits, 28x28 grayscale, 10 classes (LeCun, Cortes & Burges 1998)",
		NumClasses:  10,
		Shape:       []int{1, 28, 28},
		TrainSize:   60000,
		TestSize:    10000,
		ClassNames:  []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		Homepage:    "http://yann.lecun.com/exdb/mnist/",
		URLs: []string{
			"http://yann.lecun.com/exdb/mnist/",
			"https://ossci-datasets.s3.amazonaws.com/mnist/",
		},
		GetIt:        "go mod download " + goMNISTPath + " (brings its data/ folder into the Go module cache)",
		Files:        idxFiles[:],
		Downloadable: true,
	},
}

// Known returns the datasets Locate and Load know, sorted by name. The
// result is a copy the caller may modify.
func Known() []Info {
	out := make([]Info, len(known))
	for i, k := range known {
		k.Shape = slices.Clone(k.Shape)
		k.ClassNames = slices.Clone(k.ClassNames)
		k.URLs = slices.Clone(k.URLs)
		k.Files = slices.Clone(k.Files)
		out[i] = k
	}
	return out
}

func lookup(name string) (Info, error) {
	for _, k := range known {
		if k.Name == name {
			return k, nil
		}
	}
	names := make([]string, len(known))
	for i, k := range known {
		names[i] = k.Name
	}
	return Info{}, fmt.Errorf("datasets: %q: %w (known: %v)", name, ErrUnknownDataset, names)
}

// Match says how a file matched its known hash.
type Match int

const (
	NoMatch      Match = iota // the file is missing or differs
	FileMatch                 // the file is byte-identical to the published one
	ContentMatch              // the decompressed (or raw) IDX content is identical; the gzip bytes differ
)

func (m Match) String() string {
	switch m {
	case FileMatch:
		return "file"
	case ContentMatch:
		return "content"
	}
	return "none"
}

// FileCheck is the result of checking one file of a dataset.
type FileCheck struct {
	File   string // published name, e.g. "train-images-idx3-ubyte.gz"
	Path   string // file checked: dir/File, or dir/File without .gz for a raw copy; "" when neither exists
	SHA256 string // hex SHA-256 of the file at Path
	Want   string // hex SHA-256 of the published file
	Match  Match  // how it matched; NoMatch when it did not
	Err    error  // why it did not match (ErrNotFound, ErrChecksum, ErrCorrupt, I/O), nil when it did
}

// OK reports whether the file matched.
func (c FileCheck) OK() bool { return c.Match != NoMatch }

// Verify hashes the files of the known dataset name in dir. A gzip file
// matches when its SHA-256 is the published one or, failing that, when its
// decompressed content has the published content's SHA-256 (as for Debian's
// re-headered gzip files); a raw file must have the content's SHA-256. The
// error is nil when every file matched, else it joins the per-file errors,
// which wrap ErrNotFound or ErrChecksum.
func Verify(name, dir string) ([]FileCheck, error) {
	files, ok := KnownFiles[name]
	if !ok {
		_, err := lookup(name)
		return nil, err
	}
	checks := make([]FileCheck, len(files))
	var errs []error
	for i, kf := range files {
		checks[i] = verifyFile(dir, kf)
		if checks[i].Err != nil {
			errs = append(errs, checks[i].Err)
		}
	}
	return checks, errors.Join(errs...)
}

func verifyFile(dir string, kf KnownFile) FileCheck {
	c := FileCheck{File: kf.Name, Want: kf.SHA256}
	base := trimGz(kf.Name)
	c.Path = findIDXFile(dir, base)
	if c.Path == "" {
		c.Err = fileErr(filepath.Join(dir, kf.Name), ErrNotFound, "missing (neither "+kf.Name+" nor "+base+" exists)")
		return c
	}
	fileSum, contentSum, contentSize, err := hashFile(c.Path)
	c.SHA256 = fileSum
	if err != nil {
		c.Err = err
		return c
	}
	switch {
	case fileSum == kf.SHA256:
		c.Match = FileMatch
	case contentSum == kf.ContentSHA256:
		c.Match = ContentMatch
	default:
		c.Err = fileErr(c.Path, ErrChecksum, fmt.Sprintf("SHA-256 %s (content %s, %d bytes) matches neither the published file %s nor its content %s (%d bytes)",
			fileSum, contentSum, contentSize, kf.SHA256, kf.ContentSHA256, kf.ContentSize))
	}
	return c
}

func trimGz(name string) string {
	if filepath.Ext(name) == ".gz" {
		return name[:len(name)-3]
	}
	return name
}

// hashFile returns the SHA-256 of the file and of its content (decompressed
// when the file is gzipped, the same as the file's otherwise).
func hashFile(path string) (fileSum, contentSum string, contentSize int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", 0, ioErr(path, err)
	}
	defer f.Close()
	fh := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(f, fh), 1<<20)
	head, _ := br.Peek(2)
	if len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b {
		n, err := io.Copy(io.Discard, br)
		if err != nil {
			return "", "", 0, ioErr(path, err)
		}
		sum := hex.EncodeToString(fh.Sum(nil))
		return sum, sum, n, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return "", "", 0, &FileError{Path: path, Kind: ErrCorrupt, Msg: "bad gzip header: " + err.Error(), Cause: err}
	}
	ch := sha256.New()
	n, err := io.Copy(ch, zr)
	if err != nil {
		return "", "", 0, &FileError{Path: path, Kind: ErrCorrupt, Msg: "corrupt gzip stream: " + err.Error(), Cause: err}
	}
	// Hash any bytes the gzip reader left unread, so the file hash covers the whole file.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return "", "", 0, ioErr(path, err)
	}
	return hex.EncodeToString(fh.Sum(nil)), hex.EncodeToString(ch.Sum(nil)), n, nil
}
