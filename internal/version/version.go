// Package version holds cleval's version strings.
package version

// Version is cleval's release version, recorded with every run.
const Version = "0.1.0-dev"

// Metric is the version of everything that changes stored records or
// metrics for a given configuration and seed (the training and evaluation
// arithmetic, the random streams, the metric definitions). It is part of a
// run's identity key: runs stored under another Metric version are not
// reused.
const Metric = "1"
