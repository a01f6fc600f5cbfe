package strategies

import (
	"math/rand/v2"

	"github.com/cleval/cleval/streams"
)

// Cycler draws mini-batches from the concatenation of the training views
// of some experiences, like a PyTorch DataLoader with shuffle=True over a
// ConcatDataset that is re-created whenever it is exhausted: each epoch is
// a fresh uniformly random permutation of all the samples, cut into
// consecutive batches. With DropLast, a remainder smaller than the batch
// is skipped and a new epoch starts (drop_last=True); otherwise the last
// batch of an epoch holds the remainder.
type Cycler struct {
	// DropLast skips an epoch's incomplete last batch.
	DropLast bool
	exps     []*streams.Experience
	offs     []int // exps[i] holds global positions [offs[i], offs[i+1])
	perm     []int32
	pos      int
	one      [1]int32
	scr      []int32
}

// Reset makes the cycler draw from the training views of exps and starts
// a new epoch at the next batch.
func (c *Cycler) Reset(exps []*streams.Experience) {
	c.exps = append(c.exps[:0], exps...)
	c.offs = append(c.offs[:0], 0)
	total := 0
	for _, e := range exps {
		total += e.Train.Len()
		c.offs = append(c.offs, total)
	}
	if cap(c.perm) < total {
		c.perm = make([]int32, total)
	}
	c.perm = c.perm[:total]
	for i := range c.perm {
		c.perm[i] = int32(i)
	}
	c.pos = total // the first Next shuffles
	if c.scr == nil {
		c.scr = make([]int32, 1)
	}
}

// Len returns the number of samples drawn from.
func (c *Cycler) Len() int { return len(c.perm) }

// Next draws the next batch of up to k samples (exactly k with DropLast,
// which needs k <= Len()) and writes them, as float32 rows of dim values,
// into x, their labels into y, the experience each comes from into exps
// and its position in that experience's training view into pos (exps and
// pos may be nil). It returns the number of samples drawn.
func (c *Cycler) Next(rng *rand.Rand, k int, dim int, x []float32, y []int32, exps []*streams.Experience, pos []int32) int {
	n := len(c.perm)
	if n == 0 || k <= 0 {
		return 0
	}
	if c.pos >= n || (c.DropLast && c.pos+k > n) {
		streams.Shuffle(rng, c.perm)
		c.pos = 0
	}
	end := min(c.pos+k, n)
	rows := end - c.pos
	for r, g := range c.perm[c.pos:end] {
		e := 0
		for int(g) >= c.offs[e+1] {
			e++
		}
		c.one[0] = g - int32(c.offs[e])
		c.scr = c.exps[e].Train.Gather(x[r*dim:(r+1)*dim], y[r:r+1], c.one[:], c.scr)
		if exps != nil {
			exps[r] = c.exps[e]
		}
		if pos != nil {
			pos[r] = c.one[0]
		}
	}
	c.pos = end
	return rows
}

// Shuffle draws a new permutation for the next batch, as if an epoch had
// just ended.
func (c *Cycler) Shuffle() { c.pos = len(c.perm) }
