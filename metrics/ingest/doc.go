// Package ingest reads evaluation records made by other tools (a PyTorch
// loop, Avalanche, cleval's own export) and stores them as complete runs
// with every metric: `cleval ingest`. It is an adapter of package metrics,
// like metrics/export, and with it the only metrics package that imports
// Apache Arrow.
//
// # Format
//
// Four tables, documented for users in docs/ingest.md: evaluations (run,
// iteration, training_exp, eval_exp, correct or accuracy, total; variant,
// loss or loss_sum, subset), accuracy_matrix (run, row_exp, col_exp,
// correct or accuracy, total, ...), runs (run metadata: seed, strategy,
// benchmark, configuration keys, or a whole config object) and experiences
// (exp, end_iteration, classes, sizes). Files are CSV or TSV (optionally
// gzipped), JSON Lines (whose lines may name their table in a "table"
// field), Parquet, or Arrow IPC (file or stream). Options.Map renames
// columns; Options.ZeroBased shifts 0-based experience indices to cleval's
// numbering from 1.
//
// # Two passes, one transaction
//
// [Prepare] checks every input without a database: it exists, has a known
// format, a header with the columns its table needs, and at least one row;
// it is hashed (SHA-256). [Plan.Run] then works inside one
// store.Ingest transaction. Pass one streams every file: each row is
// decoded and checked (types, ranges, correct <= total, iteration order per
// run and variant) and written at once (a run gets a placeholder row when
// first seen); duplicates are caught by the tables' keys. Memory holds one
// record batch or line, a small state per run (its id and the last
// iteration of each variant) and, per file, the set of runs it touched.
// Pass two takes each run in turn: it reads back what arrived (summaries,
// the matrix, then one variant's records at a time), derives what the
// input leaves out (the number of experiences, the experience ends e_k as
// the last iteration logged with training_exp k, the evaluation-set
// sizes), checks the run as a whole (every evaluation point evaluates
// experiences 1..c, iterations lie in their experience, the matrix has no
// row of an experience that never ended, a seed is given), computes the
// metrics with metrics.Compute, and finishes the run. Any error rolls the
// transaction back: nothing is stored.
//
// # Errors
//
// Every error about the input wraps [ErrInvalid] and, when it concerns a
// place, is an [*InputError] naming the file, the row (and line) and the
// column. Errors found in pass two (a duplicate, an incomplete evaluation
// point) locate their row by reading the files again, which only happens
// on that path.
package ingest
