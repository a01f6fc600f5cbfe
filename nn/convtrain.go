package nn

import (
	"fmt"
	"math"

	"github.com/cleval/cleval/internal/conv"
	"github.com/cleval/cleval/internal/par"
	"github.com/cleval/cleval/internal/vec"
)

// trainBuffers are the buffers of a ConvNet's training passes, for up to
// nbCap blocks.
type trainBuffers struct {
	nbCap int
	x     []float32
	u     []unitBufs
	s     [3][]float32 // gradient scratch, the largest unit's size
	act1  []float32    // a block's a1, the largest unit's size
	// Packed weights: those of the forward passes during Forward, those
	// of the data gradients during Backward (one buffer: a pass needs
	// only its own).
	fwd, bwd []float32

	// Layout of the last pass: groups of rows, each starting a block.
	nb         int
	groups     []rowGroup
	blockValid []int // valid lanes of each block
	blockGroup []int

	// Saved statistics of every batch normalisation (index bnRef.id), per
	// group and channel: mean, 1/√(var+ε), and the affine map a·h + b.
	mean, inv, a, b [][]float32
	// Backward coefficients of the batch normalisation in progress.
	ka, kb, kc []float32
}

type rowGroup struct{ r0, n, b0, nb int }

// unitBufs are a unit's activations: h1 the first convolution's output,
// h2 and hs the second and the shortcut convolutions' outputs (blocks),
// out the unit's output and dout the gradient with respect to it. A
// block's a1 = ReLU(BN(h1)) is not kept: it is made again, in the
// trainBuffers' act1, when the backward pass needs it.
type unitBufs struct {
	h1, h2, hs, out, dout []float32
}

// layout computes the groups of the pass of n rows.
func (m *ConvNet) layout(ws *Workspace, n int) *trainBuffers {
	b := ws.cnn
	sizes := ws.groups
	whole := [1]int{n}
	if len(sizes) == 0 {
		sizes = whole[:]
	}
	nb, sum := 0, 0
	for _, s := range sizes {
		if s < 0 {
			panic(fmt.Sprintf("nn: negative group size %d", s))
		}
		sum += s
		nb += conv.Blocks(s)
	}
	if sum != n {
		panic(fmt.Sprintf("nn: groups of %d rows in all for a pass of %d rows", sum, n))
	}
	if b.tr == nil || b.tr.nbCap < nb {
		// Sized for the blocks of this pass (groups start blocks, so a
		// pass may need more than Cap/16): a pass that needs more
		// allocates once.
		b.tr = m.newTrainBuffers(nb, b.tr)
	}
	tb := b.tr
	tb.nb = nb
	tb.groups = tb.groups[:0]
	tb.blockValid = tb.blockValid[:0]
	tb.blockGroup = tb.blockGroup[:0]
	r0, b0 := 0, 0
	for _, s := range sizes {
		if s == 0 {
			continue
		}
		g := rowGroup{r0: r0, n: s, b0: b0, nb: conv.Blocks(s)}
		for i := range g.nb {
			tb.blockValid = append(tb.blockValid, min(conv.Lanes, s-i*conv.Lanes))
			tb.blockGroup = append(tb.blockGroup, len(tb.groups))
		}
		tb.groups = append(tb.groups, g)
		r0 += s
		b0 += g.nb
	}
	G := len(tb.groups)
	for id, bn := range m.bns {
		if len(tb.mean[id]) < G*bn.c {
			tb.mean[id] = make([]float32, G*bn.c)
			tb.inv[id] = make([]float32, G*bn.c)
			tb.a[id] = make([]float32, G*bn.c)
			tb.b[id] = make([]float32, G*bn.c)
		}
	}
	maxC := 0
	for _, bn := range m.bns {
		maxC = max(maxC, bn.c)
	}
	if len(tb.ka) < G*maxC {
		tb.ka = make([]float32, G*maxC)
		tb.kb = make([]float32, G*maxC)
		tb.kc = make([]float32, G*maxC)
	}
	return tb
}

func (m *ConvNet) newTrainBuffers(nb int, old *trainBuffers) *trainBuffers {
	tb := &trainBuffers{nbCap: nb}
	tb.x = make([]float32, m.input.Len(nb))
	size := 0
	for _, u := range m.units {
		ub := unitBufs{out: make([]float32, u.out.Len(nb)), dout: make([]float32, u.out.Len(nb))}
		size = max(size, u.out.Len(nb))
		switch u.kind {
		case unitConv:
			if u.b1 != nil {
				ub.h1 = make([]float32, u.out.Len(nb))
			}
		case unitBlock:
			ub.h1 = make([]float32, u.mid.Len(nb))
			ub.h2 = make([]float32, u.out.Len(nb))
			if u.cs != nil {
				ub.hs = make([]float32, u.out.Len(nb))
			}
			size = max(size, u.mid.Len(nb))
		}
		tb.u = append(tb.u, ub)
	}
	for i := range tb.s {
		tb.s[i] = make([]float32, size)
	}
	tb.act1 = make([]float32, size)
	packed := make([]float32, max(m.packLen, m.bwdLen))
	tb.fwd, tb.bwd = packed[:m.packLen], packed[:m.bwdLen]
	n := len(m.bns)
	tb.mean, tb.inv, tb.a, tb.b = make([][]float32, n), make([][]float32, n), make([][]float32, n), make([][]float32, n)
	if old != nil {
		tb.groups, tb.blockValid, tb.blockGroup = old.groups[:0], old.blockValid[:0], old.blockGroup[:0]
	}
	return tb
}

// Forward implements Model: a training pass with batch statistics per
// group of rows (Workspace.SetGroups), which updates the running
// statistics in State once per group, in order.
func (m *ConvNet) Forward(ws *Workspace, x []float32, n int) []float32 {
	b := m.check(m.params, ws, n)
	if len(x) < n*m.InputDim() {
		panic("nn: Forward: short input")
	}
	if n == 0 {
		// Nothing to normalise: no statistics, no update.
		ws.n, b.noBackward, b.featGrad = 0, true, false
		return b.logits[:0]
	}
	tb := m.layout(ws, n)
	ws.n, b.noBackward, b.featGrad = n, false, false
	for _, cr := range m.convs {
		cr.l.PackForward(tb.fwd[cr.pack:], m.params[cr.w:], nil)
	}
	nb := tb.nb
	xb := tb.x[:m.input.Len(nb)]
	clear(xb)
	d := m.InputDim()
	for _, g := range tb.groups {
		for i := range g.n {
			m.input.Scatter(xb, g.b0+i/conv.Lanes, i%conv.Lanes, x[(g.r0+i)*d:(g.r0+i+1)*d])
		}
	}
	in := xb
	for k, u := range m.units {
		ub := &tb.u[k]
		m.forwardUnit(tb, u, ub, in)
		in = ub.out
	}
	for _, g := range tb.groups {
		for i := range g.nb {
			blk := g.b0 + i
			poolBlock(m.last, in, blk, m.winY, m.winX, b.features[(g.r0+i*conv.Lanes)*m.feat:], m.feat, tb.blockValid[blk])
		}
	}
	return m.headForward(m.params, b, n)
}

func (m *ConvNet) convForward(tb *trainBuffers, cr *convRef, in, out []float32, res []float32, relu bool) {
	l := cr.l
	var bias []float32
	if cr.b >= 0 {
		bias = m.params[cr.b : cr.b+l.Cout]
	}
	l.Forward(m.runner, tb.fwd[cr.pack:cr.pack+l.PackedLen()], in, out, tb.nb, bias, res, relu)
}

func (m *ConvNet) forwardUnit(tb *trainBuffers, u *unit, ub *unitBufs, in []float32) {
	switch u.kind {
	case unitConv:
		if u.b1 == nil {
			m.convForward(tb, u.c1, in, ub.out, nil, u.relu)
			return
		}
		m.convForward(tb, u.c1, in, ub.h1, nil, false)
		m.bnStats(tb, u.b1, u.out, ub.h1)
		m.bnApply(tb, u.b1, u.out, ub.out, ub.h1, nil, nil, u.relu)
	case unitBlock:
		m.convForward(tb, u.c1, in, ub.h1, nil, false)
		m.bnStats(tb, u.b1, u.mid, ub.h1)
		a1 := tb.act1[:u.mid.Len(tb.nb)]
		conv.ClearBorder(u.mid, a1, tb.nb) // the buffer held other geometries
		m.bnApply(tb, u.b1, u.mid, a1, ub.h1, nil, nil, true)
		m.convForward(tb, u.c2, a1, ub.h2, nil, false)
		m.bnStats(tb, u.b2, u.out, ub.h2)
		if u.cs != nil {
			m.convForward(tb, u.cs, in, ub.hs, nil, false)
			m.bnStats(tb, u.bs, u.out, ub.hs)
			m.bnApply(tb, u.b2, u.out, ub.out, ub.h2, ub.hs, u.bs, true)
		} else {
			m.bnApply(tb, u.b2, u.out, ub.out, ub.h2, in, nil, true)
		}
	}
}

// FeatureGrad implements FeatureGradients: the buffer of the gradient
// with respect to the pooled features (the head's input), to which
// Backward adds the gradient flowing back from the logits.
func (m *ConvNet) FeatureGrad(ws *Workspace) []float32 {
	b := ws.cnn
	if b == nil || b.net != m {
		panic("nn: a ConvNet given a workspace of another model")
	}
	if b.noBackward {
		panic("nn: FeatureGrad after an evaluation pass")
	}
	if b.dfeatures == nil {
		b.dfeatures = make([]float32, len(b.features))
	}
	g := b.dfeatures[:ws.n*m.feat]
	if !b.featGrad {
		clear(g)
		b.featGrad = true
	}
	return g
}

// Backward implements Model, adding the features' gradient when
// FeatureGrad was called since the forward pass.
func (m *ConvNet) Backward(ws *Workspace) {
	b := ws.cnn
	if b == nil || b.net != m {
		panic("nn: a ConvNet given a workspace of another model")
	}
	if b.noBackward || b.tr == nil {
		panic("nn: Backward after an evaluation pass")
	}
	if b.dlogits == nil {
		panic("nn: Backward without a loss gradient in LogitGrad")
	}
	tb := b.tr
	n := ws.n
	h := m.head
	dl := b.dlogits[:n*h.Out]
	feat := b.features[:n*h.In]
	if b.dfeatures == nil {
		b.dfeatures = make([]float32, len(b.features))
	}
	df := b.dfeatures[:n*h.In]
	// The features' gradient: that of the logits through the head, added
	// to the loss's own (FeatureGrad) when there is one.
	var beta float32
	if b.featGrad {
		beta = 1
	}
	b.featGrad = false
	if n > 0 {
		m.eng.Sgemm(true, false, h.In, h.Out, n, 1, feat, h.In, dl, h.Out, 1, m.grads[h.W:h.W+h.In*h.Out], h.Out)
		vec.AddColSums(m.grads[h.B:h.B+h.Out], dl, h.Out, n)
		m.eng.Sgemm(false, true, n, h.In, h.Out, 1, dl, h.Out, m.params[h.W:h.W+h.In*h.Out], h.Out, beta, df, h.In)
	}
	last := len(m.units) - 1
	dout := tb.u[last].dout
	for _, g := range tb.groups {
		for i := range g.nb {
			blk := g.b0 + i
			poolBackward(m.last, dout, blk, m.winY, m.winX, df[(g.r0+i*conv.Lanes)*h.In:], h.In, tb.blockValid[blk])
		}
	}
	for _, cr := range m.convs {
		cr.l.PackBackward(tb.bwd[cr.bpack:], m.params[cr.w:])
	}
	for k := last; k >= 0; k-- {
		var in, din []float32
		if k > 0 {
			in, din = tb.u[k-1].out, tb.u[k-1].dout
		} else {
			in = tb.x
		}
		m.backwardUnit(tb, m.units[k], &tb.u[k], in, din)
	}
}

func (m *ConvNet) convBackward(tb *trainBuffers, cr *convRef, in, dout, din, res []float32) {
	l := cr.l
	nb := tb.nb
	l.BackwardWeights(m.runner, in, dout, nb, m.grads[cr.w:cr.w+l.WeightLen()])
	if cr.b >= 0 {
		m.job = cnnJob{op: opBiasGrad, tb: tb, t: l.Out, g: dout, off: cr.b, units: l.Cout}
		m.runJob(0)
	}
	if din != nil {
		l.BackwardData(m.runner, tb.bwd[cr.bpack:cr.bpack+l.BackwardLen()], dout, din, nb, res)
	}
}

func (m *ConvNet) backwardUnit(tb *trainBuffers, u *unit, ub *unitBufs, in, din []float32) {
	nb := tb.nb
	g := ub.dout
	switch u.kind {
	case unitConv:
		dh := g
		if u.b1 != nil {
			var act []float32
			if u.relu {
				act = ub.out
			}
			dh = tb.s[0][:u.out.Len(nb)]
			conv.ClearBorder(u.out, dh, nb)
			m.bnBackward(tb, u.b1, u.out, dh, ub.h1, g, act)
		} else if u.relu {
			m.reluMask(tb, u.out, g, ub.out)
		}
		m.convBackward(tb, u.c1, in, dh, din, nil)
	case unitBlock:
		// The ReLU's mask is applied to g (in place) by the first batch
		// normalisation's pass; the shortcut's and the identity read
		// the masked g.
		dh2 := tb.s[0][:u.out.Len(nb)]
		conv.ClearBorder(u.out, dh2, nb)
		m.bnBackward(tb, u.b2, u.out, dh2, ub.h2, g, ub.out)
		var dhs []float32
		if u.cs != nil {
			dhs = tb.s[1][:u.out.Len(nb)]
			conv.ClearBorder(u.out, dhs, nb)
			m.bnBackward(tb, u.bs, u.out, dhs, ub.hs, g, nil)
		}
		// a1 again, from h1 and the statistics of the forward pass.
		a1 := tb.act1[:u.mid.Len(nb)]
		conv.ClearBorder(u.mid, a1, nb)
		m.bnApply(tb, u.b1, u.mid, a1, ub.h1, nil, nil, true)
		da1 := tb.s[2][:u.mid.Len(nb)]
		m.convBackward(tb, u.c2, a1, dh2, da1, nil)
		dh1 := tb.s[0][:u.mid.Len(nb)]
		conv.ClearBorder(u.mid, dh1, nb)
		m.bnBackward(tb, u.b1, u.mid, dh1, ub.h1, da1, a1)
		if u.cs != nil {
			m.convBackward(tb, u.cs, in, dhs, din, nil)
			m.convBackward(tb, u.c1, in, dh1, din, din)
		} else {
			m.convBackward(tb, u.c1, in, dh1, din, g)
		}
	}
}

// Batch normalisation in training passes.

// bnStats computes the batch statistics of h (geometry t) per group and
// channel, saves them and updates the running statistics in State, group
// after group.
func (m *ConvNet) bnStats(tb *trainBuffers, bn *bnRef, t conv.Tensor, h []float32) {
	m.job = cnnJob{op: opBNStats, tb: tb, bn: bn, t: t, h: h, units: bn.c}
	m.runJob(0)
}

func (m *ConvNet) bnStatsRange(c0, c1 int) {
	j := &m.job
	tb, bn, t := j.tb, j.bn, j.t
	C := bn.c
	hw := t.H * t.W
	for c := c0; c < c1; c++ {
		for gi, g := range tb.groups {
			var s [conv.Lanes]float32
			sum := 0.0
			for blk := g.b0; blk < g.b0+g.nb; blk++ {
				s = [conv.Lanes]float32{}
				conv.PlaneSum(&s, t, j.h, blk*t.Block()+c*t.Plane())
				for _, v := range s[:tb.blockValid[blk]] {
					sum += float64(v)
				}
			}
			cnt := float64(g.n * hw)
			mean := sum / cnt
			mean32 := float32(mean)
			sq := 0.0
			for blk := g.b0; blk < g.b0+g.nb; blk++ {
				s = [conv.Lanes]float32{}
				conv.PlaneSqDev(&s, t, j.h, blk*t.Block()+c*t.Plane(), mean32)
				for _, v := range s[:tb.blockValid[blk]] {
					sq += float64(v)
				}
			}
			// The squares are about mean32, not mean: correct for the
			// difference (exactly zero when mean is representable).
			dm := float64(mean32) - mean
			variance := max(sq/cnt-dm*dm, 0)
			inv := 1 / math.Sqrt(variance+bnEps)
			gamma, beta := float64(m.params[bn.gamma+c]), float64(m.params[bn.beta+c])
			i := gi*C + c
			tb.mean[bn.id][i] = mean32
			tb.inv[bn.id][i] = float32(inv)
			tb.a[bn.id][i] = float32(gamma * inv)
			tb.b[bn.id][i] = float32(beta - mean*gamma*inv)
			unbiased := variance
			if cnt > 1 {
				unbiased = variance * cnt / (cnt - 1)
			}
			rm, rv := &m.state[bn.mean+c], &m.state[bn.vari+c]
			*rm = float32((1-bnMomentum)*float64(*rm) + bnMomentum*mean)
			*rv = float32((1-bnMomentum)*float64(*rv) + bnMomentum*unbiased)
		}
	}
}

// bnApply writes dst = relu(a·h + b [+ r]) with the saved statistics of
// bn: r is added as it is when rbn is nil, normalised by rbn otherwise.
func (m *ConvNet) bnApply(tb *trainBuffers, bn *bnRef, t conv.Tensor, dst, h, r []float32, rbn *bnRef, relu bool) {
	m.job = cnnJob{op: opBNApply, tb: tb, bn: bn, t: t, dst: dst, h: h, r: r, rbn: rbn, relu: relu, units: tb.nb * bn.c}
	m.runJob(0)
}

func (m *ConvNet) bnApplyRange(u0, u1 int) {
	j := &m.job
	tb, bn, t := j.tb, j.bn, j.t
	C := bn.c
	for u := u0; u < u1; u++ {
		blk, c := u/C, u%C
		i := tb.blockGroup[blk]*C + c
		var ra, rb float32
		if j.rbn != nil {
			ra, rb = tb.a[j.rbn.id][i], tb.b[j.rbn.id][i]
		}
		conv.PlaneAffine(t, j.dst, j.h, blk*t.Block()+c*t.Plane(), tb.a[bn.id][i], tb.b[bn.id][i], j.r, j.rbn != nil, ra, rb, j.relu, tb.blockValid[blk])
	}
}

// reluMask zeroes g (geometry t) wherever act ≤ 0.
func (m *ConvNet) reluMask(tb *trainBuffers, t conv.Tensor, g, act []float32) {
	m.job = cnnJob{op: opReLUMask, tb: tb, t: t, g: g, h: act, units: tb.nb * t.C}
	m.runJob(0)
}

// bnBackward writes into dh the gradient with respect to h of the batch
// normalisation bn (training mode, statistics per group) given the
// gradient g with respect to its output, and adds the gradients of γ and
// β to Grads. With xhat = (h − mean)·inv, per group of m values:
//
//	dh = γ·inv·(g − Σg/m − xhat·Σ(g·xhat)/m)
//
// With act not nil, g is first zeroed in place wherever act ≤ 0 (the
// backward pass of a ReLU whose output was act).
func (m *ConvNet) bnBackward(tb *trainBuffers, bn *bnRef, t conv.Tensor, dh, h, g, act []float32) {
	m.job = cnnJob{op: opBNBackSums, tb: tb, bn: bn, t: t, h: h, g: g, r: act, units: bn.c}
	m.runJob(0)
	m.job = cnnJob{op: opBNBackApply, tb: tb, bn: bn, t: t, dst: dh, h: h, g: g, units: tb.nb * bn.c}
	m.runJob(0)
}

func (m *ConvNet) bnBackSumsRange(c0, c1 int) {
	j := &m.job
	tb, bn, t := j.tb, j.bn, j.t
	C := bn.c
	hw := t.H * t.W
	for c := c0; c < c1; c++ {
		gamma := float64(m.params[bn.gamma+c])
		var dgamma, dbeta float64
		for gi, grp := range tb.groups {
			i := gi*C + c
			mean := tb.mean[bn.id][i]
			var sg, sgd [conv.Lanes]float32
			var Sg, Sgd float64
			for blk := grp.b0; blk < grp.b0+grp.nb; blk++ {
				sg, sgd = [conv.Lanes]float32{}, [conv.Lanes]float32{}
				if j.r != nil {
					conv.PlaneBNSumsMasked(&sg, &sgd, t, j.g, j.r, j.h, blk*t.Block()+c*t.Plane(), mean)
				} else {
					conv.PlaneBNSums(&sg, &sgd, t, j.g, j.h, blk*t.Block()+c*t.Plane(), mean)
				}
				for l := range tb.blockValid[blk] {
					Sg += float64(sg[l])
					Sgd += float64(sgd[l])
				}
			}
			inv := float64(tb.inv[bn.id][i])
			cnt := float64(grp.n * hw)
			dbeta += Sg
			dgamma += inv * Sgd
			tb.ka[i] = float32(gamma * inv)
			tb.kb[i] = float32(-gamma * inv * inv * inv * Sgd / cnt)
			tb.kc[i] = float32(-gamma * inv * Sg / cnt)
		}
		m.grads[bn.gamma+c] += float32(dgamma)
		m.grads[bn.beta+c] += float32(dbeta)
	}
}

func (m *ConvNet) bnBackApplyRange(u0, u1 int) {
	j := &m.job
	tb, bn, t := j.tb, j.bn, j.t
	C := bn.c
	for u := u0; u < u1; u++ {
		blk, c := u/C, u%C
		i := tb.blockGroup[blk]*C + c
		conv.PlaneBNBackward(t, j.dst, j.g, j.h, blk*t.Block()+c*t.Plane(), tb.ka[i], tb.kb[i], tb.kc[i], tb.mean[bn.id][i], tb.blockValid[blk])
	}
}

// The parallel phases of a ConvNet.
const (
	opInferBlocks = iota
	opBNStats
	opBNApply
	opReLUMask
	opBNBackSums
	opBNBackApply
	opBiasGrad
)

// cnnJob describes the phase in progress; units [0, units) are divided
// between the threads, each unit's arithmetic independent of the
// division.
type cnnJob struct {
	op        int
	units     int
	threads   int
	b         *cnnBuffers
	tb        *trainBuffers
	params, x []float32
	n         int
	bn, rbn   *bnRef
	t         conv.Tensor
	h, g, dst []float32
	r         []float32
	relu      bool
	off       int
}

// runJob runs m.job on at most limit threads (0: all).
func (m *ConvNet) runJob(limit int) {
	j := &m.job
	threads := 1
	if m.pool != nil {
		threads = m.pool.Threads()
	}
	if limit > 0 {
		threads = min(threads, limit)
	}
	threads = min(threads, j.units)
	if threads <= 1 {
		m.doRange(0, 0, j.units)
		return
	}
	j.threads = threads
	m.pool.Run(m.phaseFn)
}

func (m *ConvNet) phase(tid int) {
	j := &m.job
	if tid >= j.threads {
		return
	}
	lo, hi := par.Split(j.units, j.threads, tid, 1)
	if lo < hi {
		m.doRange(tid, lo, hi)
	}
}

func (m *ConvNet) doRange(tid, lo, hi int) {
	switch m.job.op {
	case opInferBlocks:
		m.inferBlocks(tid, lo, hi)
	case opBNStats:
		m.bnStatsRange(lo, hi)
	case opBNApply:
		m.bnApplyRange(lo, hi)
	case opReLUMask:
		j := &m.job
		t := j.t
		for u := lo; u < hi; u++ {
			conv.PlaneReLUMask(t, j.g, j.h, (u/t.C)*t.Block()+(u%t.C)*t.Plane())
		}
	case opBNBackSums:
		m.bnBackSumsRange(lo, hi)
	case opBNBackApply:
		m.bnBackApplyRange(lo, hi)
	case opBiasGrad:
		j := &m.job
		t := j.t
		for c := lo; c < hi; c++ {
			sum := 0.0
			for blk := range j.tb.nb {
				var s [conv.Lanes]float32
				conv.PlaneSum(&s, t, j.g, blk*t.Block()+c*t.Plane())
				for _, v := range s[:j.tb.blockValid[blk]] {
					sum += float64(v)
				}
			}
			m.grads[j.off+c] += float32(sum)
		}
	}
}
