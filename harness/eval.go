package harness

import (
	"math/rand/v2"

	"github.com/cleval/cleval/harness/nn"
	"github.com/cleval/cleval/internal/sparse"
	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/streams"
)

// evalChunk is the most rows forwarded at once during evaluation.
const evalChunk = 2048

// evaluator holds the continual-evaluation subsets, gathered as float32
// once (fixed and validation subsets) and laid out experience after
// experience, so that the seen experiences form one contiguous block
// evaluated in as few products as possible. The subsets come from each
// experience's test split, or from its held-out validation samples
// (Experience.Valid) in the validation mode.
type evaluator struct {
	model      *nn.MLP
	stream     *streams.Stream
	subsetKind metrics.Subset
	resample   bool
	n          int // requested subset size
	rng        *rand.Rand
	validation bool      // subsets from Experience.Valid instead of Test
	pos        [][]int32 // subset positions per experience (into the source view)
	off        []int     // experience k's rows are [off[k-1], off[k])
	x          []float32
	y          []int32
	ws         *nn.Workspace
	chunkX     []float32
	chunkY     []int32
	scratch    []int32
	all        [][]int32 // 0..len(Test)-1 per experience, for resampling
	seq        []int32   // 0, 1, 2, ... for whole-split evaluation
	// csr is the sparse form of x when it is sparse enough (fixed
	// subsets): the first layer then runs as a sparse product.
	csr *sparse.CSR
}

func newEvaluator(m *nn.MLP, s *streams.Stream, cfg *EvalConfig, seed uint64) *evaluator {
	ev := &evaluator{model: m, stream: s, n: cfg.Size, rng: streams.NewRand(seed, streams.RandEvalSubset)}
	ev.subsetKind = metrics.SubsetFixed
	switch cfg.Subset {
	case SubsetResampled:
		ev.subsetKind = metrics.SubsetResampled
		ev.resample = true
	case SubsetValidation:
		ev.subsetKind = metrics.SubsetValidation
		ev.validation = true
	}
	T := len(s.Experiences)
	ev.off = make([]int, T+1)
	ev.pos = make([][]int32, T)
	ev.all = make([][]int32, T)
	for i, e := range s.Experiences {
		src := ev.source(e)
		n := min(ev.n, src.Len())
		ev.off[i+1] = ev.off[i] + n
		all := make([]int32, src.Len())
		for j := range all {
			all[j] = int32(j)
		}
		ev.all[i] = all
		ev.pos[i] = make([]int32, n)
	}
	d := s.InputDim
	ev.y = make([]int32, ev.off[T])
	if ev.resample {
		ev.x = make([]float32, ev.off[T]*d)
	} else {
		for i := range s.Experiences {
			ev.draw(i)
		}
		ev.gatherFixed()
	}
	maxTest := 0
	for _, e := range s.Experiences {
		maxTest = max(maxTest, e.Test.Len())
	}
	chunk := min(evalChunk, max(ev.off[T], maxTest))
	ev.ws = m.NewWorkspace(chunk)
	ev.seq = make([]int32, maxTest)
	for i := range ev.seq {
		ev.seq[i] = int32(i)
	}
	ev.chunkX = make([]float32, chunk*d)
	ev.chunkY = make([]int32, chunk)
	return ev
}

// gatherRows is how many rows of the fixed subsets are converted to
// float32 at a time.
const gatherRows = 512

// gatherFixed converts the fixed subsets, chunk by chunk: when the first
// chunk is sparse enough (MNIST-like pixels) the sets are kept only in
// sparse form, for the sparse first layer, and never as one float32
// matrix; otherwise as the float32 matrix x. The choice depends on the
// data only.
func (ev *evaluator) gatherFixed() {
	d := ev.stream.InputDim
	total := ev.off[len(ev.stream.Experiences)]
	buf := make([]float32, min(gatherRows, total)*d)
	decided := false
	for i, e := range ev.stream.Experiences {
		src := ev.source(e)
		pos := ev.pos[i]
		for p0 := 0; p0 < len(pos); p0 += gatherRows {
			p1 := min(p0+gatherRows, len(pos))
			rows, r0 := p1-p0, ev.off[i]+p0
			chunk := buf[:rows*d]
			ev.scratch = src.Gather(chunk, ev.y[r0:r0+rows], pos[p0:p1], ev.scratch)
			if !decided {
				decided = true
				if sparse.ZeroFraction(chunk, rows, d, 1<<16) >= nn.SparseThreshold {
					ev.csr = &sparse.CSR{}
				} else {
					ev.x = make([]float32, total*d)
				}
			}
			if ev.csr != nil {
				ev.csr.AppendDense(chunk, rows, d)
			} else {
				copy(ev.x[r0*d:], chunk)
			}
		}
	}
}

// source returns the view the continual-evaluation subset of e is drawn
// from.
func (ev *evaluator) source(e *streams.Experience) streams.View {
	if ev.validation {
		return e.Valid
	}
	return e.Test
}

// size returns the subset size of experience id.
func (ev *evaluator) size(id int) int { return ev.off[id] - ev.off[id-1] }

// draw picks experience i's subset: a uniformly random n-subset of its
// source view, or the whole view when it has at most n samples (then in
// order).
func (ev *evaluator) draw(i int) {
	all := ev.all[i]
	n := len(ev.pos[i])
	if n == len(all) {
		copy(ev.pos[i], all)
		return
	}
	for j := range n {
		r := j + ev.rng.IntN(len(all)-j)
		all[j], all[r] = all[r], all[j]
	}
	copy(ev.pos[i], all[:n])
}

// prepare redraws and gathers the subsets of experiences lo..hi when
// subsets are resampled at every evaluation point.
func (ev *evaluator) prepare(lo, hi int) {
	if !ev.resample {
		return
	}
	d := ev.stream.InputDim
	for k := lo; k <= hi; k++ {
		i := k - 1
		ev.draw(i)
		ev.scratch = ev.source(ev.stream.Experiences[i]).Gather(ev.x[ev.off[i]*d:ev.off[i+1]*d], ev.y[ev.off[i]:ev.off[i+1]], ev.pos[i], ev.scratch)
	}
}

// run evaluates params on the subsets of experiences lo..hi, filling
// Correct, Total and LossSum of out[k-lo].
func (ev *evaluator) run(params []float32, lo, hi int, out []metrics.EvalRecord) {
	d := ev.stream.InputDim
	C := ev.model.OutputDim()
	for i := range out {
		out[i].Correct, out[i].Total, out[i].LossSum = 0, 0, 0
	}
	start, end := ev.off[lo-1], ev.off[hi]
	chunk := ev.ws.Cap()
	for r0 := start; r0 < end; r0 += chunk {
		r1 := min(r0+chunk, end)
		var logits []float32
		if ev.csr != nil {
			logits = ev.model.ForwardSparse(params, ev.ws, ev.csr, r0, r1-r0)
		} else {
			logits = ev.model.ForwardWith(params, ev.ws, ev.x[r0*d:r1*d], r1-r0)
		}
		// Attribute the chunk's rows to experiences.
		for k := lo; k <= hi; k++ {
			a, b := max(r0, ev.off[k-1]), min(r1, ev.off[k])
			if a >= b {
				continue
			}
			mask := ev.stream.Mask(ev.stream.Experiences[k-1].Task)
			loss, correct := nn.SoftmaxCE(logits[(a-r0)*C:(b-r0)*C], b-a, C, ev.y[a:b], mask, 0, nil)
			o := &out[k-lo]
			o.Correct += correct
			o.Total += b - a
			o.LossSum += loss
		}
	}
}

// full evaluates params on the whole test split of e.
func (ev *evaluator) full(params []float32, e *streams.Experience) (correct, total int, lossSum float64) {
	d := ev.stream.InputDim
	C := ev.model.OutputDim()
	chunk := ev.ws.Cap()
	n := e.Test.Len()
	for p0 := 0; p0 < n; p0 += chunk {
		p1 := min(p0+chunk, n)
		m := p1 - p0
		ev.scratch = e.Test.Gather(ev.chunkX[:m*d], ev.chunkY[:m], ev.seq[p0:p1], ev.scratch)
		logits := ev.model.ForwardWith(params, ev.ws, ev.chunkX[:m*d], m)
		loss, c := nn.SoftmaxCE(logits, m, C, ev.chunkY[:m], ev.stream.Mask(e.Task), 0, nil)
		correct += c
		total += m
		lossSum += loss
	}
	return correct, total, lossSum
}
