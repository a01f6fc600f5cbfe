// Package docs holds cleval's documentation, Markdown files written for
// people: metrics.md (every metric as the code computes it), configs.md
// (the configuration reference, strategies, presets, experiment files,
// command-line flags) and architecture.md (packages, layering, data flow,
// decisions, extension points, the store schema).
//
// The package has no code. Its tests keep the documents true to the code:
// the generated sections (between <!-- generated:NAME --> and
// <!-- end:NAME --> markers: the strategies and their parameters, the
// presets, the layer table and its rules) must equal what the registry,
// the presets and internal/archtest give, and `go test ./docs -update`
// rewrites them; every configuration key and every metric name must be
// documented, and nothing documented may be unknown; links must resolve;
// and no file of the repository may refer to a file outside it or to an
// issue number.
package docs
