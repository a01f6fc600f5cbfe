// Package store keeps runs, their raw evaluation records, accuracy matrices
// and metrics in an SQLite database (the SQLite adapter of package metrics;
// the only cleval package that needs cgo).
//
// # Schema (version 1)
//
//	meta(key TEXT PRIMARY KEY, value TEXT)            -- schema_version, ...
//	runs(id INTEGER PRIMARY KEY, key, preset, benchmark, strategy, seed,
//	     config JSON, code_version, status, error, num_experiences,
//	     eval_subset, variants JSON, iterations, host, pid,
//	     started_at, ended_at)                        -- times in RFC 3339 UTC
//	experiences(run_id, exp, classes JSON, task, train_size, test_size,
//	     eval_size, end_iteration)                    -- end_iteration = e_k, NULL until it ends
//	evaluations(run_id, variant, iteration, training_exp, eval_exp,
//	     correct, total, loss_sum, subset)            -- one row per evaluated experience per point
//	accuracy_matrix(run_id, variant, row_exp, col_exp, correct, total, loss_sum)
//	metrics(run_id, variant, name, k, j, value)       -- value NULL where undefined; k, j = 0 when not per experience
//
// status is one of running, complete, failed, interrupted, diverged. A run
// is marked complete in the same transaction that stores its metrics, so a
// run whose process died stays "running" (never complete), and its partial
// records are kept.
//
// Accuracies are not stored: they are correct/total. loss_sum is the summed
// cross-entropy over the total samples.
//
// The database runs in WAL mode with a busy timeout, so several processes
// may write one file.
package store
