package harness

import (
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// EpochSizer is implemented by strategies whose updates during experience
// k draw from more data than experience k's training set (joint trains on
// the union of experiences 1..k). When a run's length is set by epochs
// (not Iterations), the driver gives experience k
// Epochs·⌈EpochSize(s, k)/BatchSize⌉ updates (times Repeat) instead of the
// count its own training set gives; the updates made are recorded as
// every run's are (e_k in the experiences table, the iterations of the
// run). The driver's mini-batches of experience k keep coming from
// experience k, cycling through it, and set the pace.
type EpochSizer interface {
	// EpochSize returns the number of samples one epoch of experience k
	// (1-based) covers, >= 1.
	EpochSize(s *streams.Stream, k int) int
}

// epochSizes returns the epoch sizes strat asks for on s, or nil when it
// asks for none.
func epochSizes(strat strategies.Strategy, s *streams.Stream) []int {
	es, ok := strat.(EpochSizer)
	if !ok {
		return nil
	}
	out := make([]int, len(s.Experiences))
	for i := range out {
		out[i] = es.EpochSize(s, i+1)
	}
	return out
}

// strategyOf builds the strategy cfg names, for the schedule of a
// configuration without a run (nil when it does not resolve: Validate
// reports that).
func strategyOf(cfg *Config) strategies.Strategy {
	r, err := strategies.Resolve(cfg.Strategy, cfg.StrategyParams)
	if err != nil {
		return nil
	}
	return r.Strategy
}
