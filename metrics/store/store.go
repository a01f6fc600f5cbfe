package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
)

// SchemaVersion is the version of the schema this package writes.
// Version 2 added runs.claim, the owners table and the unique index of
// claimed keys (see doc.go); version 3 the run_sources table of ingested
// runs (schema_v3.go). An older file is upgraded in place when it is
// opened for writing and read as it is when opened read-only.
const SchemaVersion = 3

// schema creates a database of the current version. Run ids are
// AUTOINCREMENT so that the id of a deleted run (a resumed sweep deletes
// the partial runs it redoes) is never given to another run.
const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	key             TEXT NOT NULL,
	preset          TEXT NOT NULL,
	benchmark       TEXT NOT NULL,
	strategy        TEXT NOT NULL,
	seed            INTEGER NOT NULL,
	config          TEXT NOT NULL,
	code_version    TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('running','complete','failed','interrupted','diverged')),
	error           TEXT,
	num_experiences INTEGER NOT NULL,
	eval_subset     TEXT NOT NULL,
	variants        TEXT NOT NULL,
	iterations      INTEGER NOT NULL DEFAULT 0,
	host            TEXT NOT NULL,
	pid             INTEGER NOT NULL,
	started_at      TEXT NOT NULL,
	ended_at        TEXT,
	claim           TEXT
);
CREATE INDEX IF NOT EXISTS runs_key ON runs(key);
CREATE TABLE IF NOT EXISTS experiences (
	run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	exp           INTEGER NOT NULL,
	classes       TEXT NOT NULL,
	task          INTEGER NOT NULL,
	train_size    INTEGER NOT NULL,
	test_size     INTEGER NOT NULL,
	eval_size     INTEGER NOT NULL,
	end_iteration INTEGER,
	PRIMARY KEY (run_id, exp)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS evaluations (
	run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	variant      TEXT NOT NULL,
	iteration    INTEGER NOT NULL,
	eval_exp     INTEGER NOT NULL,
	training_exp INTEGER NOT NULL,
	correct      INTEGER NOT NULL,
	total        INTEGER NOT NULL,
	loss_sum     REAL NOT NULL,
	subset       TEXT NOT NULL,
	PRIMARY KEY (run_id, variant, iteration, eval_exp)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS accuracy_matrix (
	run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	variant  TEXT NOT NULL,
	row_exp  INTEGER NOT NULL,
	col_exp  INTEGER NOT NULL,
	correct  INTEGER NOT NULL,
	total    INTEGER NOT NULL,
	loss_sum REAL NOT NULL,
	PRIMARY KEY (run_id, variant, row_exp, col_exp)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metrics (
	run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	variant TEXT NOT NULL,
	name    TEXT NOT NULL,
	k       INTEGER NOT NULL DEFAULT 0,
	j       INTEGER NOT NULL DEFAULT 0,
	value   REAL,
	PRIMARY KEY (run_id, variant, name, k, j)
) WITHOUT ROWID;
` + schemaV2 + schemaV3

// schemaV2 holds what version 2 added besides the runs.claim column: the
// processes that claim runs, and the rule that a claimed key has at most
// one run that is running, complete or diverged.
const schemaV2 = `
CREATE TABLE IF NOT EXISTS owners (
	token        TEXT PRIMARY KEY,
	host         TEXT NOT NULL,
	boot_id      TEXT NOT NULL,
	pid          INTEGER NOT NULL,
	proc_start   INTEGER NOT NULL,
	started_at   TEXT NOT NULL,
	heartbeat_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_key_claimed ON runs(key)
	WHERE claim IS NOT NULL AND status IN ('running', 'complete', 'diverged');
`

// migrateV1 upgrades a version 1 database to version 2.
const migrateV1 = `ALTER TABLE runs ADD COLUMN claim TEXT;` + schemaV2

// Errors callers branch on.
var (
	ErrNotFound    = errors.New("not found")
	ErrSchema      = errors.New("unsupported schema version")
	ErrNotDatabase = errors.New("not a cleval database")
	ErrReadOnly    = errors.New("database is read-only")
	ErrLocked      = errors.New("database is locked")
)

// DB is an open cleval database.
type DB struct {
	db   *sql.DB
	path string
	// version is the schema version of the file: SchemaVersion, or that
	// of an older file opened read-only.
	version int
	// immutable is set when a read-only open had to use SQLite's
	// immutable flag (see readonly.go); readOnlyWhy says why.
	immutable   bool
	readOnlyWhy string
}

// Options tunes Open.
type Options struct {
	// ReadOnly opens an existing database without writing to it.
	ReadOnly bool
	// BusyTimeout is how long a writer waits for a lock; zero means 30 s.
	BusyTimeout time.Duration
	// Conns is the number of connections of a read-only database, so that
	// several readers (the requests of a web server) read in parallel;
	// zero means 1. A writable database always has one.
	Conns int
}

// Open opens (creating when needed, unless ReadOnly) the database at path
// and checks its schema version. A read-only open of a file on a
// read-only file system or in a directory the user cannot write falls
// back to an immutable open (ReadOnlyReason says so); a write open there
// fails with ErrReadOnly and the reason.
func Open(path string, opts Options) (*DB, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	d, err := open(path, opts, nil)
	if err != nil && opts.ReadOnly && !errors.Is(err, ErrNotDatabase) && !errors.Is(err, ErrSchema) && !errors.Is(err, fs.ErrNotExist) {
		if fd, ferr := readOnlyFallback(path, opts, err); fd != nil || ferr != nil {
			return fd, ferr
		}
	}
	return d, err
}

// open opens the database with extra DSN parameters.
func open(path string, opts Options, extra map[string]string) (*DB, error) {
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("store: %s: %w", path, err)
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	bt := opts.BusyTimeout
	if bt == 0 {
		bt = 30 * time.Second
	}
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(bt.Milliseconds(), 10))
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")
	immutable := false
	if opts.ReadOnly {
		immutable = readOnlyMode(abs, q)
	} else {
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "NORMAL")
	}
	for k, v := range extra {
		q.Set(k, v)
	}
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
	sdb, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	conns := 1
	if opts.ReadOnly && opts.Conns > 1 {
		conns = opts.Conns
	}
	sdb.SetMaxOpenConns(conns)
	sdb.SetMaxIdleConns(conns)
	d := &DB{db: sdb, path: path, immutable: immutable}
	if immutable {
		d.readOnlyWhy = writeProblem(path)
	}
	if err := d.init(opts.ReadOnly); err != nil {
		sdb.Close()
		return nil, err
	}
	return d, nil
}

// Path returns the path the database was opened with.
func (d *DB) Path() string { return d.path }

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// SQL returns the underlying handle (for read queries by adapters).
func (d *DB) SQL() *sql.DB { return d.db }

func (d *DB) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrReadonly, sqlite3.ErrCantOpen, sqlite3.ErrPerm:
			if why := writeProblem(d.path); why != "" {
				return fmt.Errorf("store: %s: %s: %w: %s", d.path, op, ErrReadOnly, why)
			}
			if se.Code == sqlite3.ErrCantOpen {
				return fmt.Errorf("store: %s: %s: cannot open (missing directory or no permission): %v", d.path, op, err)
			}
			return fmt.Errorf("store: %s: %s: %w (check the file and directory permissions): %v", d.path, op, ErrReadOnly, err)
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return fmt.Errorf("store: %s: %s: %w by another process: %v", d.path, op, ErrLocked, err)
		case sqlite3.ErrNotADB, sqlite3.ErrCorrupt:
			return fmt.Errorf("store: %s: %s: %w (not SQLite or corrupt): %v", d.path, op, ErrNotDatabase, err)
		}
	}
	return fmt.Errorf("store: %s: %s: %w", d.path, op, err)
}

func (d *DB) init(readOnly bool) error {
	ctx := context.Background()
	var tables int
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type='table'`).Scan(&tables); err != nil {
		return d.wrap("open", err)
	}
	if tables > 0 {
		n, err := d.readVersion(ctx, d.db)
		if err != nil {
			return err
		}
		switch {
		case n == SchemaVersion:
		case n >= 1 && n < SchemaVersion && readOnly:
			// The read API works on older files (version 1 lacks only
			// what claims need, version 2 the sources of ingested runs).
		case n >= 1 && n < SchemaVersion:
			return d.migrate(ctx)
		default:
			return fmt.Errorf("store: %s: %w %d (this cleval reads versions 1 to %d)", d.path, ErrSchema, n, SchemaVersion)
		}
		d.version = n
		if !readOnly {
			// Take the write lock once, so that a read-only file or
			// directory is reported now, before any work is done.
			tx, err := d.db.BeginTx(ctx, nil)
			if err != nil {
				return d.wrap("open for writing", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = value WHERE key = 'schema_version'`); err != nil {
				tx.Rollback()
				return d.wrap("open for writing", err)
			}
			return d.wrap("open for writing", tx.Rollback())
		}
		return nil
	}
	if readOnly {
		return fmt.Errorf("store: %s: %w (empty database)", d.path, ErrNotDatabase)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return d.wrap("create schema", err)
	}
	defer tx.Rollback()
	// Another process may have created the schema since the count above.
	var now int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'`).Scan(&now); err != nil {
		return d.wrap("create schema", err)
	}
	if now > 0 {
		tx.Rollback()
		return d.init(readOnly)
	}
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return d.wrap("create schema", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?), ('created_by', 'cleval')`, strconv.Itoa(SchemaVersion)); err != nil {
		return d.wrap("create schema", err)
	}
	d.version = SchemaVersion
	return d.wrap("create schema", tx.Commit())
}

// readVersion returns the schema version stored in meta.
func (d *DB) readVersion(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (int, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='schema_version'`).Scan(&v)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") || errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("store: %s: %w (it holds other tables)", d.path, ErrNotDatabase)
		}
		return 0, d.wrap("read schema version", err)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w %q (this cleval reads versions 1 to %d)", d.path, ErrSchema, v, SchemaVersion)
	}
	return n, nil
}

// migrate upgrades an older file in one transaction (another process may
// be doing the same: the version is read again under the write lock).
func (d *DB) migrate(ctx context.Context) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return d.wrap("upgrade schema", err)
	}
	defer tx.Rollback()
	n, err := d.readVersion(ctx, tx)
	if err != nil {
		return err
	}
	op := fmt.Sprintf("upgrade schema from version %d", n)
	switch {
	case n == SchemaVersion:
	case n >= 1 && n < SchemaVersion:
		if n == 1 {
			if _, err := tx.ExecContext(ctx, migrateV1); err != nil {
				return d.wrap(op, err)
			}
		}
		if _, err := tx.ExecContext(ctx, migrateV2); err != nil {
			return d.wrap(op, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'schema_version'`, strconv.Itoa(SchemaVersion)); err != nil {
			return d.wrap(op, err)
		}
	default:
		return fmt.Errorf("store: %s: %w %d (this cleval reads versions 1 to %d)", d.path, ErrSchema, n, SchemaVersion)
	}
	d.version = SchemaVersion
	return d.wrap(op, tx.Commit())
}

// Version returns the schema version of the open file: SchemaVersion, or
// an older version for a file opened read-only.
func (d *DB) Version() int { return d.version }
