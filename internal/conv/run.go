package conv

import (
	"github.com/cleval/cleval/internal/par"
)

// Forward computes the convolution of nb blocks of in (geometry l.In)
// into out (geometry l.Out), with the weights packed by PackForward:
//
//	out = relu(conv(in) + bias + res)
//
// bias (Cout values) and res (a tensor of geometry l.Out, which may be
// out itself: then the convolution is added to it) may be nil; relu
// clamps negative values to zero. Only interior pixels of out are
// written. Blocks, output-channel tiles and output rows are divided
// between the Runner's threads; every value is computed the same
// way whatever the division.
func (l *Layer) Forward(r *Runner, packed, in, out []float32, nb int, bias, res []float32, relu bool) {
	l.checkForward(packed, in, out, nb, bias, res)
	j := job{l: l, phase: phaseForward, packed: packed, in: in, out: out, nb: nb, bias: bias, res: res, relu: relu}
	j.units = nb * len(l.fwdTiles) * l.Out.H
	if l.wf != nil {
		j.phase, j.w, j.units = phaseWino, l.wf, nb*l.wf.th*l.wf.nc
	}
	run(r, &j)
}

// ForwardBlock is Forward on one block, on the calling goroutine, with
// sc as working memory.
func (l *Layer) ForwardBlock(packed, in, out []float32, bias, res []float32, relu bool, sc *Scratch) {
	l.checkForward(packed, in, out, 1, bias, res)
	j := job{l: l, packed: packed, in: in, out: out, nb: 1, bias: bias, res: res, relu: relu}
	if l.wf != nil {
		j.w = l.wf
		j.winoRows(0, l.wf.th*l.wf.nc, sc)
		return
	}
	j.forward(0, len(l.fwdTiles)*l.Out.H)
}

func (l *Layer) checkForward(packed, in, out []float32, nb int, bias, res []float32) {
	if nb < 1 || nb > maxBlocks || len(packed) < l.PackedLen() || len(in) < l.In.Len(nb) || len(out) < l.Out.Len(nb) ||
		(bias != nil && len(bias) < l.Cout) || (res != nil && len(res) < l.Out.Len(nb)) {
		panic("conv: Forward: short slices or bad block count")
	}
}

// BackwardData computes the gradient with respect to the input, for nb
// blocks, from the gradient dOut with respect to the output (geometry
// l.Out, zero border) and the weights packed by PackBackward:
//
//	dIn = convᵀ(dOut) + res
//
// res (geometry l.In, may be dIn itself, or nil) adds another gradient.
// Only interior pixels of dIn are written.
func (l *Layer) BackwardData(r *Runner, packed, dOut, dIn []float32, nb int, res []float32) {
	if nb < 1 || nb > maxBlocks || len(packed) < l.BackwardLen() || len(dOut) < l.Out.Len(nb) || len(dIn) < l.In.Len(nb) ||
		(res != nil && len(res) < l.In.Len(nb)) {
		panic("conv: BackwardData: short slices or bad block count")
	}
	j := job{l: l, phase: phaseBackwardData, packed: packed, in: dOut, out: dIn, nb: nb, res: res}
	per := 0
	for _, c := range l.classes {
		per += c.ny
	}
	j.units = nb * per * len(l.bwdTiles)
	if l.wb != nil {
		j.phase, j.w, j.units = phaseWino, l.wb, nb*l.wb.th*l.wb.nc
	}
	run(r, &j)
}

// BackwardWeights adds to dw (OIHW) the gradient of the weights from nb
// blocks of the input in and of the output gradient dOut. The sum over
// the samples and pixels runs in chunks of whole blocks (a number that
// depends on the output size only), each chunk's sum added to dw in
// order; tiles of dw are divided between the Runner's threads.
func (l *Layer) BackwardWeights(r *Runner, in, dOut []float32, nb int, dw []float32) {
	if nb < 1 || nb > maxBlocks || len(in) < l.In.Len(nb) || len(dOut) < l.Out.Len(nb) || len(dw) < l.WeightLen() {
		panic("conv: BackwardWeights: short slices or bad block count")
	}
	j := job{l: l, phase: phaseBackwardWeights, in: in, out: dOut, dw: dw, nb: nb}
	j.units = len(l.wgRT) * len(l.wgQT)
	run(r, &j)
}

const (
	phaseForward = iota
	phaseBackwardData
	phaseBackwardWeights
	phaseWino
)

// job is one pass over units of work [0, units).
type job struct {
	l               *Layer
	phase           int
	packed, in, out []float32
	bias, res, dw   []float32
	nb, units       int
	relu            bool
	threads         int
	w               *wino
}

// Runner runs the passes of layers on a pool of threads. It belongs to
// one goroutine at a time; a nil Runner runs every pass on the calling
// goroutine.
type Runner struct {
	pool    *par.Pool
	j       job
	fn      func(tid int)
	scratch []Scratch // per thread
}

// NewRunner returns a Runner on pool (nil: the calling goroutine alone).
func NewRunner(pool *par.Pool) *Runner {
	r := &Runner{pool: pool, scratch: make([]Scratch, pool.Threads())}
	r.fn = r.work
	return r
}

// Threads returns the number of threads.
func (r *Runner) Threads() int {
	if r == nil {
		return 1
	}
	return r.pool.Threads()
}

// oneScratch is the working memory of passes run without a Runner.
var oneScratch Scratch

func run(r *Runner, j *job) {
	threads := r.Threads()
	if threads == 1 || j.units <= 1 {
		sc := &oneScratch
		if r != nil {
			sc = &r.scratch[0]
		}
		j.do(sc, 0, j.units)
		return
	}
	r.j = *j
	r.j.threads = threads
	r.pool.Run(r.fn)
	r.j = job{}
}

func (r *Runner) work(tid int) {
	lo, hi := par.Split(r.j.units, r.j.threads, tid, 1)
	if lo < hi {
		r.j.do(&r.scratch[tid], lo, hi)
	}
}

func (j *job) do(sc *Scratch, u0, u1 int) {
	switch j.phase {
	case phaseWino:
		j.winoRows(u0, u1, sc)
	case phaseForward:
		j.forward(u0, u1)
	case phaseBackwardData:
		j.backwardData(u0, u1)
	case phaseBackwardWeights:
		j.backwardWeights(u0, u1)
	}
}

// forward runs units u0..u1-1: (block, tile, output row), row fastest.
func (j *job) forward(u0, u1 int) {
	l := j.l
	H := l.Out.H
	nt := len(l.fwdTiles)
	k := l.kdim
	relu := 0
	if j.relu {
		relu = 1
	}
	for u := u0; u < u1; u++ {
		b, rest := u/(nt*H), u%(nt*H)
		t, oy := l.fwdTiles[rest/H], rest%H
		o := b*l.Out.Block() + t.c0*l.Out.Plane() + l.Out.Pixel(oy, 0)
		var bias, res *float32
		if j.bias != nil {
			bias = &j.bias[t.c0]
		}
		if j.res != nil {
			res = &j.res[o]
		}
		l.ks.fwd[t.n](k, &l.fwdOffs[0], &j.packed[t.c0*k], &j.in[b*l.In.Block()+l.inCorner(oy, 0)],
			l.Out.W, l.Stride*Lanes, &j.out[o], Lanes, l.Out.Plane(), bias, res, relu)
	}
}

// backwardData runs units u0..u1-1: (block, class, input-channel tile,
// row of the class).
func (j *job) backwardData(u0, u1 int) {
	l := j.l
	s := l.Stride
	nt := len(l.bwdTiles)
	per := 0
	for _, c := range l.classes {
		per += c.ny * nt
	}
	for u := u0; u < u1; u++ {
		b, rest := u/per, u%per
		ci := 0
		for rest >= l.classes[ci].ny*nt {
			rest -= l.classes[ci].ny * nt
			ci++
		}
		c := &l.classes[ci]
		t, row := l.bwdTiles[rest/c.ny], rest%c.ny
		iy := c.y0 + row*s
		qy, qx := (iy+l.Pad-c.cy)/s, (c.x0+l.Pad-c.cx)/s
		o := b*l.In.Block() + t.c0*l.In.Plane() + l.In.Pixel(iy, c.x0)
		var res, w *float32
		var offp *int32
		if j.res != nil {
			res = &j.res[o]
		}
		if c.k > 0 {
			offp = &c.offs[0]
			w = &j.packed[c.pack+t.c0*c.k]
		}
		l.ks.fwd[t.n](c.k, offp, w, &j.in[b*l.Out.Block()+l.Out.Pixel(qy, qx)],
			c.nx, Lanes, &j.out[o], s*Lanes, l.In.Plane(), nil, res, 0)
	}
}

// backwardWeights runs units u0..u1-1 (tiles of dw: output-channel tile,
// k tile), chunk by chunk.
func (j *job) backwardWeights(u0, u1 int) {
	l := j.l
	nq := len(l.wgQT)
	steps := l.Out.H * l.Out.W
	outBlock, outPlane, inBlock := l.Out.Block(), l.Out.Plane(), l.In.Block()
	wg, offs, fwdOffs := l.ks.wg, &l.wgSteps[0], l.fwdOffs
	for b0 := 0; b0 < j.nb; b0 += l.wgChunk {
		nb := min(l.wgChunk, j.nb-b0)
		dy, x := j.out[b0*outBlock:], &j.in[b0*inBlock]
		for u := u0; u < u1; u++ {
			rt, qt := l.wgRT[u/nq], l.wgQT[u%nq]
			wg[rt.n][qt.n](steps, offs, nb, &dy[rt.c0*outPlane], outBlock, outPlane,
				x, inBlock, &fwdOffs[qt.c0], &j.dw[rt.c0*l.kdim+qt.c0], l.kdim)
		}
	}
}

// winoRows runs units u0..u1-1 of a Winograd pass: (block, tile row,
// chunk).
func (j *job) winoRows(u0, u1 int, sc *Scratch) {
	w := j.w
	per := w.th * w.nc
	for u := u0; u < u1; u++ {
		b, rest := u/per, u%per
		w.chunk(j.packed, j.in, j.out, b, rest/w.nc, rest%w.nc, j.bias, j.res, j.relu, sc)
	}
}
