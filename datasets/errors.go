package datasets

import (
	"errors"
	"io/fs"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNotFound reports a missing file or a dataset found nowhere.
	ErrNotFound = errors.New("datasets: not found")
	// ErrCorrupt reports a file whose content contradicts its format: bad
	// magic, truncated or trailing data, labels out of range, a broken
	// gzip stream, image and label counts that differ.
	ErrCorrupt = errors.New("datasets: corrupt data")
	// ErrUnsupported reports a well-formed file this package cannot read,
	// such as an IDX file of float32 elements.
	ErrUnsupported = errors.New("datasets: unsupported format")
	// ErrChecksum reports a file whose SHA-256 differs from the known value.
	ErrChecksum = errors.New("datasets: checksum mismatch")
	// ErrUnknownDataset reports a dataset name not listed by Known.
	ErrUnknownDataset = errors.New("datasets: unknown dataset")
	// ErrDownload reports a failed download (no network, HTTP error).
	ErrDownload = errors.New("datasets: download failed")
)

// FileError is an error about one file. Its message is
// "datasets: <path>: <problem>".
type FileError struct {
	Path  string // file (or directory) concerned
	Kind  error  // one of the sentinel errors, or nil
	Msg   string // the problem, without the path
	Cause error  // underlying error (I/O, gzip), or nil
}

func (e *FileError) Error() string { return "datasets: " + e.Path + ": " + e.Msg }

// Unwrap returns Kind and Cause, so errors.Is works with both the sentinels
// and errors such as fs.ErrNotExist.
func (e *FileError) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

func fileErr(path string, kind error, msg string) *FileError {
	return &FileError{Path: path, Kind: kind, Msg: msg}
}

// ioErr converts an error from the os package about path into a FileError
// without repeating the path in the message.
func ioErr(path string, err error) *FileError {
	fe := &FileError{Path: path, Msg: err.Error(), Cause: err}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		fe.Msg = pe.Op + ": " + pe.Err.Error()
	}
	if errors.Is(err, fs.ErrNotExist) {
		fe.Kind = ErrNotFound
	}
	return fe
}
