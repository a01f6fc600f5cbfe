package harness

import (
	"encoding/json"
	"slices"
	"testing"

	_ "github.com/cleval/cleval/strategies/joint"
)

// TestJointEpochsOverUnion: joint's experience k gets the configured epochs
// over the union of experiences 1..k (an EpochSizer), unless epochs_over
// is "experience" or iterations fixes the count; the recorded ends are the
// updates made.
func TestJointEpochsOverUnion(t *testing.T) {
	t.Parallel()
	cfg := synthConfig("joint")
	cfg.Experiences = 3
	cfg.Epochs, cfg.BatchSize = 2, 64
	cfg.Eval.Every = 50
	// split-synthetic: 10 classes in experiences of 4, 3 and 3 classes of
	// 200 training samples: 800, 600 and 600 samples; the unions hold 800,
	// 1400 and 2000: 2·⌈800/64⌉ = 26, 2·⌈1400/64⌉ = 44, 2·⌈2000/64⌉ = 64.
	rec, s := runStream(t, cfg)
	if want := []int{26, 70, 134}; !slices.Equal(rec.ends, want) {
		t.Errorf("union: ends %v, want %v", rec.ends, want)
	}
	if got := Iterations(&cfg, s); !slices.Equal(got, []int{26, 44, 64}) {
		t.Errorf("union: Iterations %v, want [26 44 64]", got)
	}

	cfg.StrategyParams = json.RawMessage(`{"epochs_over":"experience"}`)
	rec, _ = runStream(t, cfg)
	if want := []int{26, 46, 66}; !slices.Equal(rec.ends, want) {
		t.Errorf("experience: ends %v, want %v", rec.ends, want)
	}

	cfg.StrategyParams = nil
	cfg.Iterations = 30
	rec, _ = runStream(t, cfg)
	if want := []int{30, 60, 90}; !slices.Equal(rec.ends, want) {
		t.Errorf("iterations 30: ends %v, want %v", rec.ends, want)
	}
}
