package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// schemaV3 is what version 3 added: where the records of an ingested run
// (a run made by another tool and stored with cleval ingest) came from.
// One row per run and input file: the file as it was named, the tables it
// held for that run, its size and SHA-256, the run's name in the input,
// and the options the records were read with (JSON). Native runs have no
// rows.
const schemaV3 = `
CREATE TABLE IF NOT EXISTS run_sources (
	run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	file        TEXT NOT NULL,
	tables      TEXT NOT NULL,
	bytes       INTEGER NOT NULL,
	sha256      TEXT NOT NULL,
	source_run  TEXT NOT NULL,
	options     TEXT NOT NULL,
	ingested_at TEXT NOT NULL,
	PRIMARY KEY (run_id, file)
) WITHOUT ROWID;
`

// migrateV2 upgrades a version 2 database to version 3.
const migrateV2 = schemaV3

// Source is one input file of an ingested run.
type Source struct {
	// File is the path the file was given as.
	File string
	// Tables lists the tables of the format the file held for this run,
	// comma-separated (e.g. "evaluations,accuracy_matrix").
	Tables string
	Bytes  int64
	// SHA256 is the hex SHA-256 of the file's content.
	SHA256 string
	// SourceRun is the run's name (or number) in the input.
	SourceRun string
	// Options are the reading options (column mapping, experience base)
	// as a JSON object.
	Options    string
	IngestedAt time.Time
}

// RunSources returns the input files of an ingested run, ordered by file
// name; nil for a native run or a file older than schema version 3.
func (d *DB) RunSources(ctx context.Context, runID int64) ([]Source, error) {
	if d.version < 3 {
		return nil, nil
	}
	out, err := runSources(ctx, d.db, runID)
	return out, d.wrap("run sources", err)
}

// IngestedRuns returns the ids of the runs that have sources (runs stored
// by cleval ingest); empty for a file older than schema version 3.
func (d *DB) IngestedRuns(ctx context.Context) (map[int64]bool, error) {
	out := map[int64]bool{}
	if d.version < 3 {
		return out, nil
	}
	rows, err := d.db.QueryContext(ctx, `SELECT DISTINCT run_id FROM run_sources`)
	if err != nil {
		return nil, d.wrap("ingested runs", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, d.wrap("ingested runs", err)
		}
		out[id] = true
	}
	return out, d.wrap("ingested runs", rows.Err())
}

func runSources(ctx context.Context, q queryer, runID int64) ([]Source, error) {
	rows, err := q.QueryContext(ctx, `SELECT file, tables, bytes, sha256, source_run, options, ingested_at FROM run_sources WHERE run_id = ? ORDER BY file`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		var (
			s  Source
			at string
		)
		if err := rows.Scan(&s.File, &s.Tables, &s.Bytes, &s.SHA256, &s.SourceRun, &s.Options, &at); err != nil {
			return nil, err
		}
		s.IngestedAt, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, s)
	}
	return out, rows.Err()
}

// insertSources stores the sources of run id.
func insertSources(ctx context.Context, tx *sql.Tx, id int64, srcs []Source) error {
	for _, s := range srcs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO run_sources(run_id, file, tables, bytes, sha256, source_run, options, ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			id, s.File, s.Tables, s.Bytes, s.SHA256, s.SourceRun, s.Options, timestamp(s.IngestedAt)); err != nil {
			return fmt.Errorf("run sources: %w", err)
		}
	}
	return nil
}

// copySources copies the sources of run from (in the input database in)
// to run to of the output transaction (Merge).
func copySources(ctx context.Context, in *DB, from int64, tx *sql.Tx, to int64) error {
	srcs, err := in.RunSources(ctx, from)
	if err != nil {
		return err
	}
	return insertSources(ctx, tx, to, srcs)
}
