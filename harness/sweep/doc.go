// Package sweep runs grids of cleval runs: it reads experiment files
// (YAML), expands them into validated runs with stable keys, partitions
// them into shards for job arrays, and runs them on a pool of workers into
// one SQLite database with exact resume.
//
// # Experiment files
//
//	name: lr-study                  # optional
//	preset: delange-smnist-er       # the base configuration (cleval presets)
//	base:                           # fields laid over the preset (JSON names
//	  epochs: 1                     # of the run configuration; dotted paths
//	  optimizer.lr: 0.05            # allowed)
//	seeds: 0-4                      # a list [0, 1, 2], or ranges "0-4,7";
//	                                # default: the preset's seeds, else 0
//	grid:                           # crossed: every combination, the first
//	  strategy_params.mem_size: [500, 2000]   # axis varying slowest
//	  hidden: [[100], [400, 400]]
//	zip:                            # varied together (equal lengths), crossed
//	  optimizer.lr: [0.01, 0.1]     # with the grid; a list of such mappings
//	  epochs: [2, 1]                # gives several zip groups
//
// Several experiments go in one file under experiments:, a list of blocks
// with the same keys (name, preset, base, seeds, grid, zip); the top-level
// keys are defaults for every block (top-level base and axes apply to all
// blocks, and a block's axes may not repeat them). preset may also be an
// axis (grid: {preset: [a, b]}). Seeds vary innermost.
//
// A run's configuration is the preset's, then base, then the axis values,
// merged field by field; a strategy different from the preset's starts
// from its own default parameters (the preset's strategy_params are
// dropped, those the file sets are kept). The result is decoded into
// harness.Config with unknown fields rejected, then validated (Validate,
// and the stream is built by Plan.Prepare); the YAML is never decoded into
// Go types directly, so fields added to harness.Config are supported as
// they appear. Every error names the file, the line and column, the field,
// and the run (its axis values and seed).
//
// # Identity and resume
//
// A run's key is harness.Config.Key (resolved configuration without the
// preset name, seed, and version.Metric). Identical keys in one expansion
// are run once (Plan.Duplicates). Runner claims each key in the database
// (store.DB.NewClaimedRun) in the transaction that inserts the run, so a
// key that is complete is skipped, one interrupted or left running by a
// dead process is deleted and redone from scratch, and two processes (or
// workers) never run one key at once.
//
// # Shards
//
// Plan.Shard(Shard{I, N}) keeps the runs whose Index is I modulo N: a
// deterministic partition computed by every task of a job array from the
// file alone. Each shard writes its own database; store.DB.Merge combines
// them.
package sweep
