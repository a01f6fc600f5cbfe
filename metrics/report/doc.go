// Package report aggregates runs across seeds and prints the result for
// people and papers: `cleval report`.
//
// [Load] groups the complete runs of a database by configuration: the
// resolved configuration JSON without "seed" and "preset"
// (metrics.ConfigGroup). Runs that are not complete (running, failed,
// interrupted, diverged) are skipped and listed with the reason; of two
// complete runs with the same configuration and seed only the later one
// counts. [Build] computes, for every metric of every group, n, the mean,
// the sample standard deviation and the 95 % Student-t confidence interval
// (metrics.Summarize; docs/metrics.md, "Across seeds"); paired comparisons of
// two groups over their shared seeds (metrics.PairedT); and the fraction of
// seeds meeting a criterion with its Wilson interval (metrics.Wilson).
// NULL metric values (undefined, e.g. min-ACC of a one-experience run) are
// not samples: they are counted apart and never enter a mean.
//
// A [Report] prints as aligned text, Markdown, CSV, JSON or a LaTeX table
// ([Report.Write]), or as one self-contained HTML page with the tables and
// the SVG figures of package metrics/plot ([Report.WriteHTML]).
package report
