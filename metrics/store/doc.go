// Package store keeps runs, their raw evaluation records, accuracy matrices
// and metrics in an SQLite database (the SQLite adapter of package metrics;
// the only cleval package that needs cgo).
//
// # Schema (version 3)
//
//	meta(key TEXT PRIMARY KEY, value TEXT)            -- schema_version, ...
//	runs(id INTEGER PRIMARY KEY AUTOINCREMENT, key, preset, benchmark,
//	     strategy, seed, config JSON, code_version, status, error,
//	     num_experiences, eval_subset, variants JSON, iterations, host, pid,
//	     started_at, ended_at,                        -- times in RFC 3339 UTC
//	     claim)                                       -- token of the owner that claimed the key, NULL without a claim
//	owners(token PRIMARY KEY, host, boot_id, pid, proc_start,
//	     started_at, heartbeat_at)                    -- processes that hold claims (sweeps)
//	experiences(run_id, exp, classes JSON, task, train_size, test_size,
//	     eval_size, end_iteration)                    -- end_iteration = e_k, NULL until it ends
//	evaluations(run_id, variant, iteration, training_exp, eval_exp,
//	     correct, total, loss_sum, subset)            -- one row per evaluated experience per point
//	accuracy_matrix(run_id, variant, row_exp, col_exp, correct, total, loss_sum)
//	metrics(run_id, variant, name, k, j, value)       -- value NULL where undefined; k, j = 0 when not per experience
//	run_sources(run_id, file, tables, bytes, sha256,
//	     source_run, options, ingested_at)            -- input files of ingested runs (version 3)
//
// status is one of running, complete, failed, interrupted, diverged. A run
// is marked complete in the same transaction that stores its metrics, so a
// run whose process died stays "running" (never complete), and its partial
// records are kept.
//
// Accuracies are not stored: they are correct/total. loss_sum is the summed
// cross-entropy over the total samples.
//
// A unique index (runs_key_claimed) allows, per key, one claimed run that
// is running, complete or diverged.
//
// Version 2 added runs.claim, the owners table and that index; run ids are
// AUTOINCREMENT in files created with version 2, so the id of a deleted
// run is never reused. Version 3 added run_sources. An older file is
// upgraded in place (in one transaction) when it is opened for writing,
// and read as it is when opened read-only; Merge reads files of version 2
// and later.
//
// # Ingested runs
//
// Runs made by other tools are stored through an Ingest transaction
// (BeginIngest): their records stream in, then each run is finished as a
// complete run with its metrics and key, and its input files are recorded
// in run_sources; nothing is visible before the commit.
//
// # Claims, resume and merging
//
// A sweep claims each key (NewClaimedRun) in the transaction that inserts
// its run: complete and diverged keys are skipped, a key running in a live
// process is left to it, and the partial runs of a key (interrupted, failed
// when retried, or running in a process that is gone) are deleted and the
// key redone from scratch. Liveness: same host and boot id, the pid with
// the recorded start time; other hosts, a heartbeat younger than the lease.
// Every write of a claimed run checks that the run is still its own.
// Merge copies the finished runs of other databases, one per key, and
// fails on two runs of a key with different results (RunData.Digest).
//
// # Ends, dead runs and read-only files
//
// RunWriter.End never leaves a run running: when its last records or its
// metrics cannot be written (a record whose loss is not a finite number is
// refused, as SQLite would store NaN as NULL), the run is stored as failed
// with the reason (ErrStoredFailed); an interrupted run that made no update
// is deleted. Running reports, for every run stored as running, whether its
// process is alive, dead or unknown (a run written without a claim on
// another machine); PruneDead stores the dead ones as interrupted.
//
// A read-only Open of a file that nothing can be written next to (a
// read-only file system, a directory the user cannot write) falls back to
// SQLite's immutable mode and says why (ReadOnlyReason); a write Open there
// fails with ErrReadOnly and the reason. Open refuses an empty path and a
// directory (ErrPath).
//
// The database runs in WAL mode with a busy timeout and immediate
// transactions, so several processes may write one file; within a process
// every writer shares the one connection. A RunWriter writes its buffered
// records at least every FlushInterval, so that readers see a run
// progress.
//
// # Reading only
//
// Options{ReadOnly: true} opens a WAL reader (mode=ro) that never writes
// the file and never blocks its writers; Options.Conns gives it several
// connections for parallel readers. A database on a read-only mount or in
// a directory the process cannot write, with no -wal file next to it, is
// opened with immutable=1 as well (DB.Immutable reports it): it is read as
// it is, and later changes are not seen. See readonly.go.
package store
