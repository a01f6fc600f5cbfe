package store

import (
	"errors"
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
// existing -shm file even when it cannot write it.

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
