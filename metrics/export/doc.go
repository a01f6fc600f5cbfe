// Package export writes the runs of a cleval database as tidy tables for
// notebooks and data-frame libraries (polars, pandas, DuckDB, R arrow): one
// file per table, in Parquet (zstd-compressed) or the Arrow IPC file format
// (Feather v2, uncompressed so that every Arrow reader can open it). It is
// the Arrow adapter of package metrics that writes (metrics/ingest reads
// Arrow and Parquet back).
//
// [Export] streams: it reads one run's rows at a time from SQLite and
// writes record batches of Options.BatchRows rows (a Parquet row group per
// batch), so memory does not grow with the database. Every file is written
// under a temporary name in the output directory and renamed when all
// tables are complete; a failed export removes its temporary files and
// leaves the directory as it was.
//
// # Tables
//
// Accuracies are fractions in [0, 1] and iterations count parameter
// updates, as in the database (see package metrics/store). Experiences are
// numbered from 1. Columns marked nullable hold null where the value is
// undefined (a NULL metric, an experience that never ended). The exact
// Arrow schemas are in testdata/schema.golden.
//
// runs (runs.parquet / runs.arrow), one row per run:
//
//	run_id int64, key string, config_group string, preset string,
//	benchmark string, strategy string, seed uint64, status string,
//	error string (nullable), num_experiences int32, eval_subset string,
//	variants list<string>, iterations int64, code_version string,
//	host string, pid int64, started_at timestamp[us, UTC],
//	ended_at timestamp[us, UTC] (nullable),
//	-- typed configuration fields (null when the configuration lacks them;
//	-- absent booleans are false and an absent class_order is empty, as
//	-- the configuration JSON omits them):
//	hidden list<int32>, class_order list<int32>, permute_classes bool,
//	lr float64, momentum float64, weight_decay float64, nesterov bool,
//	epochs int32, batch_size int32, eval_every int32, eval_size int32,
//	eval_experiences string, strategy_params string (JSON object),
//	config string (the whole resolved configuration, JSON)
//
// config_group identifies the configuration apart from the seed (see
// metrics.ConfigGroup): runs with the same config_group are seeds of one
// experiment, which is what `cleval report` aggregates.
//
// experiences, one row per experience of a run:
//
//	run_id int64, exp int32, classes list<int32>, task int32,
//	train_size int64, test_size int64, eval_size int64,
//	start_iteration int64 (nullable; e_{exp-1}, 0 for the first),
//	end_iteration int64 (nullable; e_exp, null until the experience ends)
//
// evaluations, one row per evaluated experience per evaluation point (the
// continual-evaluation records):
//
//	run_id int64, variant string, iteration int64, training_exp int32,
//	eval_exp int32, seen bool (eval_exp <= training_exp), correct int64,
//	total int64, accuracy float64 (correct/total), loss_sum float64,
//	loss float64 (loss_sum/total, the mean cross-entropy), subset string
//
// accuracy_matrix, one row per entry R(row_exp, col_exp):
//
//	run_id int64, variant string, row_exp int32 (0 = initial model),
//	col_exp int32, correct int64, total int64, accuracy float64,
//	loss_sum float64
//
// metrics, one row per stored metric value (long form):
//
//	run_id int64, variant string, metric string, k int32, j int32,
//	value float64 (nullable)
//
// k and j are the experience indices of per-experience (min_acc) and
// per-transition (gap_*) values, 0 for run-level values.
//
// gap_events, one row per transition into experience to_exp >= 2 and
// earlier experience exp < to_exp, for the transitions that completed in
// runs with metrics (complete and diverged runs; the stability gap,
// docs/metrics.md):
//
//	run_id int64, variant string, to_exp int32, exp int32,
//	boundary_iteration int64 (e_{to_exp-1}), end_iteration int64 (e_to_exp),
//	acc_before float64 (A_exp at the boundary), trough float64 (the lowest
//	A_exp in (boundary, end]), trough_iteration int64, acc_end float64
//	(A_exp at end_iteration), depth float64, time_to_trough float64,
//	recovery float64, r90 float64, area float64 -- all nullable
//
// depth .. area are the stored gap_depth, gap_time_to_trough,
// gap_recovery, gap_r90 and gap_area metrics; trough_iteration is
// boundary_iteration + time_to_trough.
package export
