// Package metrics holds cleval's typed evaluation records and the pure math
// that turns one run's records into metrics. docs/metrics.md defines every
// metric as this package computes it; this comment summarises how the
// inputs are read and the decisions the definitions leave open.
//
// # Inputs
//
// A run produces two kinds of rows per model variant: continual-evaluation
// records ([EvalRecord]: the model after t updates on the evaluation subset of one
// experience) and accuracy-matrix records ([MatrixRecord]: R_{i,j}, the model
// at the end of experience i on the full test set of experience j). [Compute]
// takes one variant's rows, the experience ends e_1..e_m ([EndsFromRecords]
// derives them) and the run [Status], and returns every metric as a [Value].
// Nothing here does I/O; the same rows give the same values, bit for bit,
// whether they come from memory, SQLite or an export.
//
// # Evaluation points and accuracies
//
// The evaluation points S are the distinct Iteration values of the
// continual-evaluation records. A_k(t) is the accuracy of the record
// (Iteration t, Evaluated k); two records for the same (t, k) are an error.
// c(t), the experience being trained at t, is the Training field of the
// records at t (they must agree with each other and with the ends). A record
// is "seen" when Evaluated <= Training. Every metric except LCA uses seen
// records only; LCA also uses the record the harness writes at e_{k-1} for
// experience k before its first update (Evaluated = Training+1), and any
// record an evaluate-all run writes.
//
// # Final values and run status
//
// Continual-evaluation metrics are series over S; the stored value is the
// series at the final point: e_T for a complete run, the last evaluation point
// for a diverged run (NaN loss). A complete run whose records miss the point
// e_T has no final point, and its continual-evaluation values are NULL. An
// interrupted run has no metrics at all: [Compute] returns no values (the
// store keeps the partial series and flags the run), while the series
// functions ([MinACCSeries], [WFSeries], ...) still work on what exists so
// that partial runs can be plotted.
//
// A value that needs data that does not exist is NULL ([Value].Null), never
// 0: min-ACC, forgetting, BWT and FWT of a one-experience run; matrix rows a
// diverged run never reached; stability-gap values of transitions it never
// completed; LCA when no experience has b points.
//
// # Decisions (docs/metrics.md, "Choices")
//
//   - min-ACC_k(t) is the minimum over every point of S in (e_k, t]; if A_k is
//     missing at one of them (which the harness never does) the minimum is
//     not known and min-ACC_k(t) is NULL, as is every mean that needs it. The
//     stability-gap trough follows the same rule on (e_{j-1}, e_j].
//   - Ties: a minimum is reached "first" at the earliest point (time to
//     trough, r90).
//   - WC-ACC(t) = A_1(t) while c(t) = 1, so a one-experience run has a
//     WC-ACC (its last accuracy) but no min-ACC.
//   - WF^w and WP^w: the window holds the last w seen values of A_k in
//     evaluation order, across boundaries. WF^w_k(t) is the running maximum
//     of F_k, so it equals the largest drop A_k(i) - A_k(j) over pairs i < j
//     at most w-1 evaluations apart, floored at 0; the implementation uses
//     that identity with a monotonic deque. WF^w(t) averages WF^w_k(t) over
//     the experiences with at least one seen record at or before t.
//   - LCA^b_k is the mean of A_k over the first b points t >= e_{k-1} at which
//     a record for k exists (seen or not; for k = 1 this includes t = 0). LCA
//     averages the experiences that have b such points (up to the final
//     point) and is NULL when none has.
//   - AAA: Acc_seen(m) = sum of Correct / sum of Total over the seen records
//     at point m. aaa is the plain mean of Acc_seen over points; aaa_iter
//     weights point m by t_m - t_{m-1} with t_{-1} = -1, so the t = 0 point
//     weighs 1, the weights sum to the final t + 1, and aaa = aaa_iter when
//     the evaluation period is 1. A point without seen records (never written
//     by the harness) is skipped by both.
//   - Stability gap, transition into j and earlier k: a = A_k(e_{j-1}) (it
//     exists since ends are always evaluated), trough m over the points of S
//     in (e_{j-1}, e_j]. Depth may be negative and is reported as is; the
//     recovery fraction is 1 when a <= m and may exceed 1. r90 counts
//     s = e_j as qualifying even if rounding put A_k(e_j) a hair below the
//     threshold (mathematically it always qualifies). In the gap area the
//     first point's predecessor is e_{j-1}. Values whose inputs are missing
//     (a, A_k(e_j), the trough) are NULL. The summaries (mean/max depth, mean
//     time to trough, r90, area) run over the (k, j) whose value is defined
//     and are NULL when none is.
//   - Matrix metrics are NULL as soon as one entry R_{i,j} they need is
//     missing; ACC_sw is sum Correct / sum Total over row T.
//
// # Validation
//
// [Compute] and the series functions reject malformed input with an error
// that wraps [ErrInvalidInput] and names the offending record: experience
// indices out of 1..T, Total <= 0, Correct outside 0..Total, negative
// iterations, ends not strictly increasing from e_1 >= 1, a complete run
// with fewer than T ends, records whose Training disagrees with the ends or
// with another record at the same iteration, duplicate (t, k) or (i, j),
// matrix rows of experiences that never ended, and mixed variants.
package metrics
