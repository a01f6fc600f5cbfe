package store

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Reading a database without writing to it.
//
// A read-only open (Options.ReadOnly) uses SQLite's mode=ro: the file is
// never written, and in WAL mode the reader sees every transaction that a
// writer commits, without blocking it. A WAL reader still needs the
// -shm file next to the database (SQLite creates it when it is missing),
// so a database on a read-only mount or in a directory the user cannot
// write is opened with immutable=1 as well, when no -wal file is there:
// SQLite then reads the file as it is, with no locks and no -shm, and does
// not see changes made later (Immutable reports it, so that the command
// can say so). When a -wal file is there, a process has the database open
// for writing (or died with it open): its committed transactions may be in
// the -wal file only, which an immutable reader would silently miss, so
// the database is opened with mode=ro alone, which SQLite can read from an
// existing -shm file even when it cannot write it. When a read-only open
// fails all the same because nothing can be written next to the file
// (SQLite could not create the -shm file), Open falls back to an immutable
// open if the -wal file is empty, and otherwise refuses with the reason
// (readOnlyFallback).

// readOnlyMode decides how a read-only open reads the file at abs: it
// returns immutable, and sets mode=ro (and immutable=1) in q.
func readOnlyMode(abs string, q url.Values) (immutable bool) {
	q.Set("mode", "ro")
	if writable(abs) && writable(filepath.Dir(abs)) {
		return false
	}
	if _, err := os.Stat(abs + "-wal"); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	q.Set("immutable", "1")
	return true
}

// writable reports whether this process may write path (permissions and
// read-only mounts both count).
func writable(path string) bool {
	return unix.Access(path, unix.W_OK) == nil
}

// Immutable reports that the database was opened read-only with SQLite's
// immutable flag, because neither the file nor its directory can be
// written: what is read is the file as it was when it was read, and
// changes made to it later, by a process that can write it, are not seen.
func (d *DB) Immutable() bool { return d.immutable }

// ErrPath is returned (wrapped) by Open for a path that cannot be a
// database: empty, or a directory.
var ErrPath = errors.New("not a database file")

// checkPath refuses an empty path and a directory.
func checkPath(path string) error {
	if path == "" {
		return fmt.Errorf("store: %w: the database path is empty", ErrPath)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("store: %s: %w: it is a directory (give a file, e.g. %s)", path, ErrPath, filepath.Join(path, "cleval.db"))
	}
	return nil
}

// writeProblem says why the database at path cannot be written, or ""
// when nothing prevents it: a read-only file system, or no permission to
// write the file or its directory (SQLite writes its journal next to the
// file).
func writeProblem(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	dir := filepath.Dir(abs)
	if err := unix.Access(dir, unix.W_OK); err != nil {
		if errors.Is(err, unix.EROFS) {
			return dir + " is on a read-only file system"
		}
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return "no permission to write the directory " + dir + " (the database's journal is written next to it)"
		}
	}
	if _, err := os.Stat(abs); err == nil {
		if err := unix.Access(abs, unix.W_OK); err != nil {
			if errors.Is(err, unix.EROFS) {
				return abs + " is on a read-only file system"
			}
			return "no permission to write " + abs
		}
	}
	return ""
}

// readOnlyFallback opens path as an immutable database (SQLite's
// immutable=1: no journal, no lock, no shared memory) when a read-only
// open failed because nothing can be written next to the file (a
// read-only mount, a directory the user cannot write). It returns nil,
// nil when that is not the cause.
func readOnlyFallback(path string, opts Options, cause error) (*DB, error) {
	why := writeProblem(path)
	if why == "" {
		return nil, nil
	}
	wal := path + "-wal"
	if fi, err := os.Stat(wal); err == nil && fi.Size() > 0 {
		return nil, fmt.Errorf("store: %s: %w: %s, and %s holds changes not yet in the database, which cannot be read without writing (copy both files to a writable directory): %v",
			path, ErrReadOnly, why, wal, cause)
	}
	db, err := open(path, opts, map[string]string{"immutable": "1"})
	if err != nil {
		return nil, err
	}
	db.immutable, db.readOnlyWhy = true, why
	return db, nil
}

// ReadOnlyReason says why the database was opened immutable (a read-only
// file system, an unwritable directory), or "" when it was opened
// normally. An immutable database is read as it is on disk: a process
// writing it meanwhile is not seen.
func (d *DB) ReadOnlyReason() string { return d.readOnlyWhy }
