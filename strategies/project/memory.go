package project

import (
	"fmt"
	"math/rand/v2"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// Memory selections.
const (
	SelectFirst  = "first"
	SelectRandom = "random"
)

func validSelection(s string) error {
	switch s {
	case SelectFirst, SelectRandom:
		return nil
	}
	return fmt.Errorf("selection %q: must be %q or %q", s, SelectFirst, SelectRandom)
}

// episodic is a per-experience episodic memory of references to training
// samples, with buffers to gather them and compute gradients on them.
type episodic struct {
	perExp    int
	selection string
	exps      []*streams.Experience
	pos       [][]int32 // pos[i]: positions stored of exps[i]
	// Gathering buffers, sized for cap rows.
	x     []float32
	y     []int32
	masks [][]bool
	scr   []int32
	sel   []int32
	ws    *nn.Workspace
	dim   int
	// all holds (experience index, position) of every stored sample, for
	// samples drawn from the union.
	all  [][2]int32
	perm []int
}

func newEpisodic(ctx *strategies.Context, perExp int, selection string, rows int) *episodic {
	m := &episodic{perExp: perExp, selection: selection, dim: ctx.Stream.InputDim}
	m.x = make([]float32, rows*m.dim)
	m.y = make([]int32, rows)
	m.masks = make([][]bool, rows)
	m.sel = make([]int32, 0, rows)
	m.scr = make([]int32, rows)
	m.ws = ctx.Model.NewWorkspace(rows)
	return m
}

// add stores perExp samples of exp: the first ones of its training view
// ("first", in loader order without shuffling, as GEM's code) or a
// uniformly random subset ("random").
func (m *episodic) add(rng *rand.Rand, exp *streams.Experience) {
	n := exp.Train.Len()
	k := min(m.perExp, n)
	var pos []int32
	if m.selection == SelectFirst {
		pos = make([]int32, k)
		for i := range pos {
			pos[i] = int32(i)
		}
	} else {
		all := make([]int32, n)
		for i := range all {
			all[i] = int32(i)
		}
		for i := range k {
			j := i + rng.IntN(n-i)
			all[i], all[j] = all[j], all[i]
		}
		pos = all[:k:k]
	}
	m.exps = append(m.exps, exp)
	m.pos = append(m.pos, pos)
	for _, p := range pos {
		m.all = append(m.all, [2]int32{int32(len(m.exps) - 1), p})
	}
}

// gatherExp gathers up to k samples of stored experience i (all when k is
// 0 or exceeds what is stored; a uniformly random subset otherwise) and
// returns the number gathered.
func (m *episodic) gatherExp(ctx *strategies.Context, rng *rand.Rand, i, k int) int {
	pos := m.pos[i]
	if k > 0 && k < len(pos) {
		m.sel = m.sel[:0]
		// Partial Fisher–Yates on a copy of the positions.
		m.sel = append(m.sel, pos...)
		for j := range k {
			r := j + rng.IntN(len(m.sel)-j)
			m.sel[j], m.sel[r] = m.sel[r], m.sel[j]
		}
		pos = m.sel[:k]
	}
	e := m.exps[i]
	m.scr = e.Train.Gather(m.x[:len(pos)*m.dim], m.y[:len(pos)], pos, m.scr)
	return len(pos)
}

// sampleUnion gathers a uniformly random subset of k stored samples (all
// when fewer are stored) from every experience stored, with their task
// masks, and returns the number gathered.
func (m *episodic) sampleUnion(ctx *strategies.Context, rng *rand.Rand, k int) int {
	L := len(m.all)
	k = min(k, L)
	if len(m.perm) != L {
		m.perm = m.perm[:0]
		for i := range L {
			m.perm = append(m.perm, i)
		}
	}
	var one [1]int32
	for j := range k {
		r := j + rng.IntN(L-j)
		m.perm[j], m.perm[r] = m.perm[r], m.perm[j]
		ref := m.all[m.perm[j]]
		e := m.exps[ref[0]]
		one[0] = ref[1]
		m.scr = e.Train.Gather(m.x[j*m.dim:(j+1)*m.dim], m.y[j:j+1], one[:], m.scr)
		m.masks[j] = ctx.Stream.Mask(e.Task)
	}
	return k
}

// stored returns the number of samples stored.
func (m *episodic) stored() int { return len(m.all) }
