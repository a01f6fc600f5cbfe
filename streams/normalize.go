package streams

import (
	"fmt"
	"math"
)

// Normalization normalises the values of every channel of a sample when it
// is gathered: channel c's value x becomes (x − Mean[c]) / Std[c], in
// float32 (torchvision's Normalize after ToTensor). Flat samples are one
// channel.
type Normalization struct {
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"`
}

// Validate checks the normalisation for samples of c channels.
func (n *Normalization) Validate(c int) error {
	if len(n.Mean) != c || len(n.Std) != c {
		return fmt.Errorf("streams: normalization has %d means and %d standard deviations for samples of %d channels", len(n.Mean), len(n.Std), c)
	}
	for i := range c {
		m, s := float64(n.Mean[i]), float64(n.Std[i])
		if math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("streams: normalization mean %v of channel %d: must be finite", m, i)
		}
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("streams: normalization std %v of channel %d: must be > 0 and finite", s, i)
		}
	}
	return nil
}

// apply normalises rows of dim values of c channels in place.
func (n *Normalization) apply(rows []float32, dim, c int) {
	plane := dim / c
	for r := 0; r+dim <= len(rows); r += dim {
		for ch := range c {
			m, s := n.Mean[ch], n.Std[ch]
			p := rows[r+ch*plane : r+(ch+1)*plane]
			for i, x := range p {
				p[i] = (x - m) / s
			}
		}
	}
}

// Normalize makes every view of s (training, test and held-out samples of
// every experience) normalise the samples it gathers.
func Normalize(s *Stream, n *Normalization) error {
	sh := s.Shape()
	if err := n.Validate(sh.C); err != nil {
		return err
	}
	for _, e := range s.Experiences {
		e.Train.Norm, e.Test.Norm, e.Valid.Norm = n, n, n
	}
	return nil
}
