// Package dashboard serves a live web dashboard of a cleval database
// (`cleval serve`): the runs with their status and progress, one run's
// accuracy and loss on every experience over the iterations with the
// experience boundaries, min-ACC lines and the trough of every transition,
// the accuracy matrix, and a comparison of configuration groups over their
// seeds with the report's confidence intervals and paired tests.
//
// The server only reads. It is meant for a database opened with
// store.Options{ReadOnly: true}: a WAL reader that never blocks the runs
// writing into the file. Every answer is to GET or HEAD; every asset (the
// page, its script and style, and the uPlot charting library, vendored in
// assets/uplot with its licence and version) is embedded in the binary, so
// nothing is fetched from elsewhere; the Content-Security-Policy allows
// the page's own scripts only. Without a token only requests whose Host is
// a loopback name are served (against DNS rebinding); with Options.Token
// every request must carry it.
//
// # Endpoints (JSON unless said)
//
//	/api/info                      database path, immutable flag, poll intervals
//	/api/runs                      every run (status, progress, ETA, key metrics, group) and the groups of cleval report
//	/api/run?id=N                  one run: configuration, experiences and boundaries, accuracy matrices,
//	                               stored gap metrics placed on the curves (trough iteration and value), final min-ACC_k
//	/api/series?id=N&variants=live,ema0.99&from=A&to=B&width=W
//	                               accuracy and mean loss of every experience, downsampled to W pixel columns over [A, B]
//	/api/series?id=N&after=T       the raw points after iteration T (what a live page appends)
//	/api/compare?groups=1,2&series=wc_acc|avg_acc|acc[&exp=K]&a=1&b=2
//	                               mean ± sd over seeds per group, and the report (cleval report --format json)
//	/export?runs=1-3&format=parquet|arrow   the export of those runs, as a zip archive
//	/report?runs=1-3[&a=G&b=H]     the HTML report of those runs (cleval report --html)
//
// Bad parameters (unknown, repeated, out of range, a run or variant that is
// not there) get status 400 with {"error": "..."}; an unknown run 404.
//
// # Downsampling
//
// See Downsample: per pixel column the first, minimum, maximum and last
// point are kept, never an average, so that a trough of one evaluation
// point is drawn at every zoom level.
package dashboard
