package streams

import (
	"fmt"
	"math"
)

// ScheduleConfig says how a stream is walked: mini-batch size, length of
// each experience, repeated updates (online streams) and blurry
// boundaries.
type ScheduleConfig struct {
	// BatchSize is the number of samples per mini-batch, >= 1.
	BatchSize int
	// Epochs is the number of passes over each experience's training data
	// (used when Iterations is 0), >= 1.
	Epochs int
	// Iterations, when not 0, fixes the number of updates per experience
	// instead (a multiple of Repeat).
	Iterations int
	// Repeat is the number of consecutive updates made on each mini-batch
	// (the online protocol's r); 0 means 1.
	Repeat int
	// Blur is the width of the transition between consecutive experiences
	// as a fraction of the shorter of the two, in [0, 1]; 0 means sharp
	// boundaries.
	Blur float64
	// EpochSizes, when not nil, gives for each experience the number of
	// samples one epoch covers (EpochSizes[k-1] for experience k, each
	// >= 1) instead of the size of its training set: a strategy that
	// trains experience k on the union of experiences 1..k (joint) gets
	// Epochs passes over the union. Not used with Iterations.
	EpochSizes []int
}

func (c ScheduleConfig) repeat() int { return max(c.Repeat, 1) }

// Validate reports the first field out of range.
func (c ScheduleConfig) Validate() error {
	switch {
	case c.BatchSize < 1:
		return fmt.Errorf("streams: batch size %d: must be >= 1", c.BatchSize)
	case c.Repeat < 0:
		return fmt.Errorf("streams: repeat %d: must be >= 1 (0 for 1)", c.Repeat)
	case c.Iterations < 0:
		return fmt.Errorf("streams: iterations %d: must be >= 0 (0 for epochs)", c.Iterations)
	case c.Iterations == 0 && c.Epochs < 1:
		return fmt.Errorf("streams: epochs %d: must be >= 1", c.Epochs)
	case c.Iterations%c.repeat() != 0:
		return fmt.Errorf("streams: iterations %d: must be a multiple of repeat %d", c.Iterations, c.repeat())
	case !(c.Blur >= 0 && c.Blur <= 1):
		return fmt.Errorf("streams: blur %v: must be in [0, 1]", c.Blur)
	}
	return nil
}

// Schedule is the sequence of mini-batches and updates of a run.
//
// Experience k is trained for Batches[k-1] mini-batches of BatchSize
// samples, each used for Repeat consecutive updates, so it spans
// Updates(k) iterations; e_k, the end of its segment (Ends), is the sum of
// the updates of experiences 1..k. The harness evaluates at every e_k, and
// c(t) = k for t in (e_{k-1}, e_k].
//
// With sharp boundaries (Blur 0) every sample of a segment's mini-batches
// comes from its experience; the last mini-batch of an epoch may be short.
//
// With blurry boundaries the schedule keeps the same segments, but the
// mini-batches within a window of W = round(Blur·min(B_k, B_{k+1}))
// mini-batches around each boundary e_k (the last ⌊W/2⌋ of segment k and
// the first ⌈W/2⌉ of segment k+1) mix the two experiences along a linear
// ramp: the first i mini-batches of the window (i = 0..W) hold
// C(i) = round(b·i²/(2W)) samples of experience k+1 in all (b =
// BatchSize), so mini-batch i holds C(i+1) − C(i) ≈ b·(i+½)/W of them and
// the rest of experience k. The share of the next experience rises
// linearly from about 0 to about 1 across the window, and the window as a
// whole holds exactly half of each (b·W/2 samples, rounded). Windows never
// overlap, so a
// mini-batch mixes at most two experiences, and every mini-batch is full
// (the loaders go on into the next epoch). c(t) is still the segment's
// experience: just before e_k the learner already sees samples of
// experience k+1 (still counted unseen, so its LCA start at e_k is not a
// zero-shot value), and just after it still sees samples of experience k.
type Schedule struct {
	BatchSize int
	Repeat    int
	// Batches[k-1] is the number of mini-batches of experience k.
	Batches []int
	// Windows[k-1] is the width in mini-batches of the transition between
	// experiences k and k+1 (len T-1; all 0 with sharp boundaries).
	Windows []int
}

// NewSchedule returns the schedule of c on s.
func NewSchedule(s *Stream, c ScheduleConfig) (*Schedule, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	T := len(s.Experiences)
	sc := &Schedule{BatchSize: c.BatchSize, Repeat: c.repeat(), Batches: make([]int, T), Windows: make([]int, max(T-1, 0))}
	if c.EpochSizes != nil && len(c.EpochSizes) != T {
		return nil, fmt.Errorf("streams: %d epoch sizes for %d experiences", len(c.EpochSizes), T)
	}
	for i, e := range s.Experiences {
		n := e.Train.Len()
		if c.EpochSizes != nil {
			if c.EpochSizes[i] < 1 {
				return nil, fmt.Errorf("streams: epoch size %d of experience %d: must be >= 1", c.EpochSizes[i], i+1)
			}
			n = c.EpochSizes[i]
		}
		if c.Iterations > 0 {
			sc.Batches[i] = c.Iterations / sc.Repeat
		} else {
			sc.Batches[i] = c.Epochs * ((n + c.BatchSize - 1) / c.BatchSize)
		}
	}
	for i := range sc.Windows {
		sc.Windows[i] = int(math.Round(c.Blur * float64(min(sc.Batches[i], sc.Batches[i+1]))))
	}
	return sc, nil
}

// Blurry reports whether some transition mixes two experiences.
func (sc *Schedule) Blurry() bool {
	for _, w := range sc.Windows {
		if w > 0 {
			return true
		}
	}
	return false
}

// Updates returns the number of updates (iterations) of experience k.
func (sc *Schedule) Updates(k int) int { return sc.Batches[k-1] * sc.Repeat }

// Ends returns e_1..e_T.
func (sc *Schedule) Ends() []int {
	out := make([]int, len(sc.Batches))
	t := 0
	for i := range sc.Batches {
		t += sc.Updates(i + 1)
		out[i] = t
	}
	return out
}

// Total returns the number of updates of the whole stream.
func (sc *Schedule) Total() int {
	t := 0
	for i := range sc.Batches {
		t += sc.Updates(i + 1)
	}
	return t
}

// nextShare returns how many of BatchSize samples of mini-batch i of a
// window of width w come from the later experience: C(i+1) − C(i) with
// C(i) = round(b·i²/(2w)), the rounded integral of the linear ramp b·x/w
// over the first i mini-batches.
func (sc *Schedule) nextShare(i, w int) int {
	c := func(i int) int { return (sc.BatchSize*i*i + w) / (2 * w) }
	return c(i+1) - c(i)
}

// Mix returns how many of the BatchSize samples of mini-batch j (from 0) of
// experience k's segment come from experience k-1 (prev) and from
// experience k+1 (next); the others come from experience k. At most one of
// them is non-zero.
func (sc *Schedule) Mix(k, j int) (prev, next int) {
	B := sc.Batches[k-1]
	if k < len(sc.Batches) {
		if w := sc.Windows[k-1]; w > 0 {
			if h := w / 2; j >= B-h {
				next = sc.nextShare(j-(B-h), w)
			}
		}
	}
	if k > 1 {
		if w := sc.Windows[k-2]; w > 0 {
			if h := w / 2; j < w-h {
				prev = sc.BatchSize - sc.nextShare(h+j, w)
			}
		}
	}
	return prev, next
}
