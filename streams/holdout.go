package streams

import (
	"fmt"
	"math"
)

// HoldOut moves a fraction of each experience's training samples into its
// Valid view, the continual-evaluation set of the "validation" protocol
// (the online CL survey of Soutif-Cormerais et al. holds out 5 % of the
// training data). The hold-out is stratified: of the n_c training samples of
// class c in an experience, round(fraction·n_c) are drawn uniformly with
// NewRand(seed, RandValidation), experience after experience. Both views
// keep dataset order. fraction must be in (0, 1); an experience left with
// no validation or no training sample is an error.
func HoldOut(s *Stream, fraction float64, seed uint64) error {
	if !(fraction > 0 && fraction < 1) {
		return fmt.Errorf("streams: validation fraction %v: must be in (0, 1)", fraction)
	}
	rng := NewRand(seed, RandValidation)
	for _, e := range s.Experiences {
		byClass := make([][]int32, s.NumClasses)
		for p := range int32(e.Train.Len()) {
			y := e.Train.Label(p)
			byClass[y] = append(byClass[y], p)
		}
		held := make([]bool, e.Train.Len())
		total := 0
		for _, pos := range byClass {
			k := int(math.Round(fraction * float64(len(pos))))
			for i := range k {
				j := i + rng.IntN(len(pos)-i)
				pos[i], pos[j] = pos[j], pos[i]
				held[pos[i]] = true
			}
			total += k
		}
		if total == 0 || total == e.Train.Len() {
			return fmt.Errorf("streams: %s: experience %d: holding out %v of %d training samples leaves %d for validation and %d for training", s.Name, e.ID, fraction, e.Train.Len(), total, e.Train.Len()-total)
		}
		train := make([]int32, 0, e.Train.Len()-total)
		valid := make([]int32, 0, total)
		for p, idx := range e.Train.Index {
			if held[p] {
				valid = append(valid, idx)
			} else {
				train = append(train, idx)
			}
		}
		e.Valid = e.Train
		e.Valid.Index = valid
		e.Train.Index = train
	}
	return nil
}
