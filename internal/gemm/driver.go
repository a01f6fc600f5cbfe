package gemm

import (
	"runtime"
	"sync/atomic"

	"github.com/cleval/cleval/internal/par"
)

// Blocking. kc bounds the k extent of packed panels, mc the rows of a
// packed A block (mc×kc, in L2, rounded down to a multiple of mr), nc the
// columns of B swept per A block (kc×nc, in L3). Measured on Zen 4 (1 MiB
// L2, 32 KiB L1d): the AVX-512 kernel stays within a few percent of peak
// for kc from 128 to 1024 and mc from 30 to 900 (its B micro-panel
// streams from L2 fine); the AVX2 kernel, with fewer rows per tile, is
// best with kc = 800 and mc = 60. A large kc also means fewer passes over
// C, and k = 784 (MNIST) in a single block. A small mc keeps the units of
// work between threads small.
const (
	defaultKC = 800
	defaultMC = 60 // rows per A block, also the unit of work between threads
	defaultNC = 4096
	// minFlopsPerThread is the least work (2·m·n·k) worth another thread.
	minFlopsPerThread = 6 << 20
	// dotMaxN is the widest C computed by the dot kernels (A·B and A·Bᵀ),
	// and the widest C computed transposed (Aᵀ·B and Aᵀ·Bᵀ).
	dotMaxN = 12
	// dotUnitRows is the unit of work of the dot kernels.
	dotUnitRows = 64
)

// engine is the native implementation behind a Context: kernels,
// blocking, workspaces and the worker pool. Worker goroutines reference
// the engine, never the Context, so an unreachable Context can be cleaned
// up.
type engine struct {
	threads int
	ks      kernelSet
	kcMax   int
	mcMax   int
	ncMax   int
	// minFlops is the least work (2·m·n·k) per thread; tests lower it to
	// force parallel runs on small shapes.
	minFlops int
	directA  bool // allow reading A stored k×m in place (tuning switch)
	directB  bool // allow reading B stored k×n in place (tuning switch)
	eagerB   bool // pack all of B in a phase of its own (tuning switch)

	pool   *par.Pool
	workFn func(tid int) // e.work, made once so that a phase allocates nothing
	phase  int           // what workers do on the next pool run
	job    job

	bpack []float32   // packed op(B), all k blocks
	apack [][]float32 // per-thread packed A block
	later [][]int     // per-thread B panels put off (see computeBlock)
	tbuf  []float32   // Cᵀ for the transposed path

	// Work units (see claim): thread t owns rows [rowLo[t], rowHi[t])
	// cut into units of unitRows rows, nUnits[t] of them per column block.
	spans        []span
	rowLo, rowHi []int
	nUnits       []int
	unitRows     int
	// bstate[blk*np+jp] tells whether B micro-panel jp of k block blk is
	// packed (panelReady), being packed (panelPacking) or not (0).
	bstate []atomic.Int32
}

const (
	panelPacking = 1
	panelReady   = 2
)

// span is a thread's remaining units [front, back), packed in one word so
// that the owner (taking from the front) and thieves (taking from the
// back) agree with a compare-and-swap. Padded to a cache line.
type span struct {
	v atomic.Uint64
	_ [56]byte
}

const (
	phaseCompute = iota
	phaseDot
	phasePackB
)

// job holds one product's arguments and its partition.
type job struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int

	kc      int  // k block size, a function of k only
	npad    int  // n rounded up to nr
	directA bool // A micro-panels are read in place (A stored k×m)
	directB bool // full B micro-panels are read in place (B stored k×n)
	nt      int  // threads working on this product
	splitN  bool // threads split columns rather than rows
}

func newEngine(threads int, ks kernelSet) *engine {
	e := &engine{threads: threads, ks: ks, kcMax: defaultKC, ncMax: defaultNC, minFlops: minFlopsPerThread, directA: true, directB: true}
	e.mcMax = max(ks.mr, defaultMC/ks.mr*ks.mr)
	e.apack = make([][]float32, threads)
	e.later = make([][]int, threads)
	e.spans = make([]span, threads)
	e.rowLo = make([]int, threads)
	e.rowHi = make([]int, threads)
	e.nUnits = make([]int, threads)
	if threads > 1 {
		e.pool = par.New(threads)
		e.workFn = e.work
	}
	return e
}

func (e *engine) close() {
	e.pool.Close() // nil-safe and idempotent
}

// kcFor splits k into equal blocks of at most kcMax (rounded up to a
// multiple of 4, the kernels' unroll). It depends on k alone so that every
// element sees the same blocking whatever the thread count.
func (e *engine) kcFor(k int) int {
	nb := (k + e.kcMax - 1) / e.kcMax
	kc := (k + nb - 1) / nb
	return min(k, (kc+3)&^3)
}

// threadsFor is the number of threads worth using for flops of work.
func (e *engine) threadsFor(flops int) int {
	if e.minFlops <= 0 {
		return e.threads
	}
	return min(e.threads, max(1, flops/e.minFlops))
}

// sgemm chooses the path for one product. The choice depends on the
// shape and layout only, never on the thread count, so every element of
// C is computed the same way whatever the Context.
func (e *engine) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	switch {
	case n <= dotMaxN && !transA && n < len(e.ks.dot):
		e.sgemmDot(transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	case n <= dotMaxN && transA && m > n:
		e.sgemmTransposed(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	default:
		e.run(job{
			transA: transA, transB: transB, m: m, n: n, k: k,
			alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc,
		})
	}
	e.job = job{} // drop references to the caller's slices
}

// sgemmDot computes a narrow C (n ≤ dotMaxN) with A row-major by dot
// products along k (see dotKernelFunc): A is read in place.
func (e *engine) sgemmDot(transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	j := &e.job
	*j = job{transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc}
	j.nt = min(e.threadsFor(2*m*n*k), m)
	if need := dotPackedLen(k, n, e.ks.dotChunk); len(e.bpack) < need {
		e.bpack = alignedFloats(need)
	}
	packDot(e.bpack, transB, b, ldb, n, k, e.ks.dotChunk)
	e.setUnits(dotUnitRows, 1)
	e.runPhase(phaseDot)
}

// sgemmTransposed computes a narrow C (n ≤ dotMaxN) with A stored k×m as
// Cᵀ = op(B)ᵀ·op(A)ᵀ, so that the kernels' 16 lanes run along m and A is
// read in place, then C = alpha*(Cᵀ)ᵀ + beta*C.
func (e *engine) sgemmTransposed(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if len(e.tbuf) < n*m {
		e.tbuf = alignedFloats(n * m)
	}
	t := e.tbuf[:n*m]
	e.run(job{
		transA: !transB, transB: !transA, m: n, n: m, k: k,
		alpha: 1, beta: 0, a: b, lda: ldb, b: a, ldb: lda, c: t, ldc: m,
	})
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			for jj := range row {
				row[jj] = alpha * t[jj*m+i]
			}
			continue
		}
		for jj := range row {
			row[jj] = beta*row[jj] + alpha*t[jj*m+i]
		}
	}
}

// run computes one product with the packed micro-kernels.
func (e *engine) run(jb job) {
	j := &e.job
	*j = jb
	j.kc = e.kcFor(j.k)
	j.npad = (j.n + nr - 1) / nr * nr

	// Threads: enough work each, and at least one tile row or column each.
	mTiles := (j.m + e.ks.mr - 1) / e.ks.mr
	nPanels := j.npad / nr
	nt := e.threadsFor(2 * j.m * j.n * j.k)
	if mTiles < nt && nPanels > mTiles {
		j.splitN = true
		nt = min(nt, nPanels)
	} else {
		nt = min(nt, mTiles)
	}
	j.nt = nt
	// B stored k×n already has the layout of packed micro-panels, with
	// row stride ldb instead of nr: the kernel reads its full panels in
	// place (as fast on Zen 4, and it saves a pass and a phase). Strides
	// that are multiples of 512 bytes would map the kc rows of a panel to
	// few cache sets, so such B is packed unless it is used only once.
	j.directB = !j.transB && e.directB && (mTiles == 1 || j.ldb%128 != 0)
	// Likewise A stored k×m holds op(A)'s micro-panels with step lda.
	j.directA = j.transA && e.directA && (nPanels == 1 || j.lda%128 != 0)

	if need := e.bpanel(j.k, 0, j.npad/nr); len(e.bpack) < need {
		e.bpack = alignedFloats(need)
	}
	for tid := 0; tid < nt; tid++ {
		if need := e.mcMax * j.kc; len(e.apack[tid]) < need {
			e.apack[tid] = alignedFloats(need)
		}
		if cap(e.later[tid]) < nPanels {
			e.later[tid] = make([]int, 0, nPanels)
		}
	}
	switch {
	case !j.directB:
		// Panels are packed on first use by whichever thread needs them
		// (see panel): no separate phase, no barrier.
		nb := (j.k + j.kc - 1) / j.kc * nPanels
		if len(e.bstate) < nb {
			e.bstate = make([]atomic.Int32, nb)
		}
		for i := range e.bstate[:nb] {
			e.bstate[i].Store(0)
		}
		if e.eagerB {
			e.runPhase(phasePackB)
		}
	case j.n%nr != 0:
		// Just the partial last panel of each k block.
		for pc := 0; pc < j.k; pc += j.kc {
			e.packPanel(pc, nPanels-1)
		}
	}
	if j.splitN {
		// Few rows: thread t owns one unit, its share of the columns.
		for t := 0; t < j.nt; t++ {
			e.nUnits[t] = 1
			e.spans[t].v.Store(1)
		}
	} else {
		e.setUnits(e.mcMax, (j.npad+e.ncMax-1)/e.ncMax)
	}
	e.runPhase(phaseCompute)
}

// runPhase runs a phase on job.nt threads: inline when there is one.
func (e *engine) runPhase(phase int) {
	if e.job.nt == 1 {
		e.do(phase, 0)
		return
	}
	e.phase = phase
	e.pool.Run(e.workFn)
}

// work is the pool's per-thread entry point.
func (e *engine) work(tid int) {
	if tid < e.job.nt {
		e.do(e.phase, tid)
	}
}

func (e *engine) do(phase, tid int) {
	switch phase {
	case phasePackB:
		j := &e.job
		np := j.npad / nr
		for pc := 0; pc < j.k; pc += j.kc {
			kb := min(j.kc, j.k-pc)
			for q := 0; q < np; q++ {
				e.panel(pc, kb, (q+tid*np/j.nt)%np, true)
			}
		}
	case phaseCompute:
		e.compute(tid)
	case phaseDot:
		e.computeDot(tid)
	}
}

// setUnits gives thread t the rows [t*m/nt, (t+1)*m/nt) in units of
// rows rows, repeated for nJC column blocks. Any split point works: the
// kernels take any row count and compute an element the same way whatever
// its tile.
func (e *engine) setUnits(rows, nJC int) {
	j := &e.job
	e.unitRows = rows
	for t := 0; t < j.nt; t++ {
		lo, hi := t*j.m/j.nt, (t+1)*j.m/j.nt
		e.rowLo[t], e.rowHi[t] = lo, hi
		e.nUnits[t] = (hi - lo + rows - 1) / rows
		e.spans[t].v.Store(uint64(e.nUnits[t] * nJC))
	}
}

// claim returns a unit of work for thread tid: the next of its own, else
// the last of another thread's (so a thread slowed down by other load
// does not hold up the product). ok is false when no work is left.
func (e *engine) claim(tid int) (owner, u int, ok bool) {
	for {
		x := e.spans[tid].v.Load()
		f, b := x>>32, x&0xffffffff
		if f >= b {
			break
		}
		if e.spans[tid].v.CompareAndSwap(x, (f+1)<<32|b) {
			return tid, int(f), true
		}
	}
	nt := e.job.nt
	for d := 1; d < nt; d++ {
		o := (tid + d) % nt
		for {
			x := e.spans[o].v.Load()
			f, b := x>>32, x&0xffffffff
			if f >= b {
				break
			}
			if e.spans[o].v.CompareAndSwap(x, f<<32|(b-1)) {
				return o, int(b - 1), true
			}
		}
	}
	return 0, 0, false
}

// unit returns the rows [i0, i1) and column block jb of unit u of owner.
func (e *engine) unit(owner, u int) (i0, i1, jb int) {
	n := e.nUnits[owner]
	jb, u = u/n, u%n
	i0 = e.rowLo[owner] + u*e.unitRows
	return i0, min(i0+e.unitRows, e.rowHi[owner]), jb
}

// bpanel is the offset in bpack of B micro-panel jp of the k block at pc:
// blocks follow each other (kc×npad floats each), panels within a block
// too (kb×nr floats each). When B is read in place only the partial last
// panel of each block is packed, at pc*nr.
func (e *engine) bpanel(pc, kb, jp int) int {
	j := &e.job
	if j.directB {
		return pc * nr
	}
	return pc*j.npad + jp*kb*nr
}

// packPanel packs B micro-panel jp of the k block at pc.
func (e *engine) packPanel(pc, jp int) {
	j := &e.job
	kb := min(j.kc, j.k-pc)
	off := e.bpanel(pc, kb, jp)
	packB(&e.ks, e.bpack[off:off+kb*nr], j.transB, j.b, j.ldb, j.n, pc, kb, jp*nr)
}

// panel returns packed B micro-panel jp of the k block at pc, packing it
// first if no thread has yet. If another thread is packing it and wait is
// false, it returns nil.
func (e *engine) panel(pc, kb, jp int, wait bool) *float32 {
	j := &e.job
	off := e.bpanel(pc, kb, jp)
	if j.directB {
		return &e.bpack[off] // packed before the compute phase
	}
	s := &e.bstate[pc/j.kc*(j.npad/nr)+jp]
	if s.Load() != panelReady {
		if s.CompareAndSwap(0, panelPacking) {
			e.packPanel(pc, jp)
			s.Store(panelReady)
		} else {
			if !wait {
				return nil
			}
			for spin := 0; s.Load() != panelReady; spin++ {
				if spin > 64 {
					runtime.Gosched()
				}
			}
		}
	}
	return &e.bpack[off]
}

// compute runs the macro-kernel on units of C until none is left.
func (e *engine) compute(tid int) {
	j := &e.job
	for {
		owner, u, ok := e.claim(tid)
		if !ok {
			return
		}
		if j.splitN {
			np := j.npad / nr
			e.computeBlock(tid, 0, j.m, owner*np/j.nt*nr, (owner+1)*np/j.nt*nr)
			continue
		}
		i0, i1, jb := e.unit(owner, u)
		e.computeBlock(tid, i0, i1, jb*e.ncMax, min((jb+1)*e.ncMax, j.npad))
	}
}

// computeBlock computes rows [i0, i1) × columns [j0, j1) of C with thread
// tid's A workspace.
func (e *engine) computeBlock(tid, i0, i1, j0, j1 int) {
	j := &e.job
	mr := e.ks.mr
	ap := e.apack[tid]
	fns := e.ks.fns
	for ic := i0; ic < i1; ic += e.mcMax {
		mb := min(e.mcMax, i1-ic)
		for pc := 0; pc < j.k; pc += j.kc {
			kb := min(j.kc, j.k-pc)
			if !j.directA {
				packA(&e.ks, ap, j.transA, j.a, j.lda, ic, mb, pc, kb, mr)
			}
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			// Threads sweep the panels from different starting points,
			// so that at first they pack different panels, and put off
			// a panel that another thread is packing (the order of the
			// panels does not change any element's arithmetic).
			np := (j1 - j0) / nr
			first := tid * np / max(1, j.nt)
			later := e.later[tid][:0]
			for q := 0; q < np+len(later); q++ {
				var jr int
				if q < np {
					jr = j0 + (first+q)%np*nr
				} else {
					jr = later[q-np]
				}
				cols := min(nr, j.n-jr)
				var bp *float32
				rsb := nr
				if j.directB && cols == nr {
					bp, rsb = &j.b[pc*j.ldb+jr], j.ldb
				} else if bp = e.panel(pc, kb, jr/nr, q >= np); bp == nil {
					later = append(later, jr)
					continue
				}
				for ir := 0; ir < mb; ir += mr {
					r := min(mr, mb-ir)
					a, rsa := &ap[ir*kb], r
					if j.directA {
						a, rsa = &j.a[pc*j.lda+ic+ir], j.lda
					}
					fns[r](kb, a, rsa, bp, rsb, &j.c[(ic+ir)*j.ldc+jr], j.ldc, j.alpha, beta, cols)
				}
			}
		}
	}
}

// computeDot runs the dot kernel on units of rows of C until none is left.
func (e *engine) computeDot(tid int) {
	j := &e.job
	for {
		owner, u, ok := e.claim(tid)
		if !ok {
			return
		}
		i0, i1, _ := e.unit(owner, u)
		e.ks.dot[j.n](j.k, &j.a[i0*j.lda], j.lda, i1-i0, &e.bpack[0], &j.c[i0*j.ldc], j.ldc, j.alpha, j.beta)
	}
}

// scaleC sets C = beta*C, or C = 0 when beta == 0 (NaN in C does not
// propagate).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}
