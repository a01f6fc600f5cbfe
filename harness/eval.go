package harness

import (
	"math/rand/v2"
	"slices"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/streams"
)

// evaluator holds the continual-evaluation subsets, gathered as float32
// once (fixed and validation subsets) and laid out experience after
// experience, so that the seen experiences form one contiguous block
// evaluated in as few products as possible. The subsets come from each
// experience's test split, or from its held-out validation samples
// (Experience.Valid) in the validation mode.
type evaluator struct {
	stream     *streams.Stream
	subsetKind metrics.Subset
	resample   bool
	n          int // requested subset size
	rng        *rand.Rand
	validation bool      // subsets from Experience.Valid instead of Test
	pos        [][]int32 // subset positions per experience (into the source view)
	off        []int     // experience k's rows are [off[k-1], off[k])
	x          []float32 // resampled subsets, gathered again at every point
	in         *nn.Inputs
	y          []int32
	scratch    []int32
	all        [][]int32 // 0..len(Test)-1 per experience, for resampling
	// test[k-1] are the positions in experience k's test split that the
	// accuracy matrix evaluates: all of them, or a seeded subset
	// (EvalConfig.TestSize), in increasing order.
	test [][]int32
}

// newEvaluator draws the subsets; fixed ones are stored as model m's
// first layer reads them fastest (nn.Inputs), or dense when m is nil
// (models of several architectures read them).
func newEvaluator(s *streams.Stream, cfg *EvalConfig, seed uint64, m nn.Model) *evaluator {
	ev := &evaluator{stream: s, n: cfg.Size, rng: streams.NewRand(seed, streams.RandEvalSubset)}
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
		ev.gatherFixed(m)
	}
	rng := streams.NewRand(seed, randTestSubset)
	for _, e := range s.Experiences {
		n := e.Test.Len()
		pos := make([]int32, n)
		for j := range pos {
			pos[j] = int32(j)
		}
		if k := cfg.TestSize; k > 0 && k < n {
			for j := range k {
				r := j + rng.IntN(n-j)
				pos[j], pos[r] = pos[r], pos[j]
			}
			pos = pos[:k]
			slices.Sort(pos)
		}
		ev.test = append(ev.test, pos)
	}
	return ev
}

// randTestSubset is the random stream of the accuracy matrix's test
// subsets (EvalConfig.TestSize); the harness's own streams are numbered
// from 100, apart from those of package streams.
const randTestSubset uint64 = 100

// gatherRows is how many rows of the fixed subsets are converted to
// float32 at a time.
const gatherRows = 512

// gatherFixed converts the fixed subsets to float32, chunk by chunk, into
// an input set of model m (which keeps MNIST-like pixels in sparse form
// for an MLP's sparse first layer, never as one float32 matrix).
func (ev *evaluator) gatherFixed(m nn.Model) {
	d := ev.stream.InputDim
	total := ev.off[len(ev.stream.Experiences)]
	buf := make([]float32, min(gatherRows, total)*d)
	if m != nil {
		ev.in = m.NewInputs()
	} else {
		ev.in = nn.NewDenseInputs(d)
	}
	ev.in.Grow(total)
	for i, e := range ev.stream.Experiences {
		src := ev.source(e)
		pos := ev.pos[i]
		for p0 := 0; p0 < len(pos); p0 += gatherRows {
			p1 := min(p0+gatherRows, len(pos))
			rows, r0 := p1-p0, ev.off[i]+p0
			chunk := buf[:rows*d]
			ev.scratch = src.Gather(chunk, ev.y[r0:r0+rows], pos[p0:p1], ev.scratch)
			ev.in.Append(chunk, rows)
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

// taskRows is the most rows an evaluation task forwards. Tasks never mix
// experiences, and their boundaries depend on the data only, so the
// summed losses (added task after task) do not depend on which thread ran
// which task.
const taskRows = 256

// evalTask is one piece of an evaluation: rows r0..r1-1 of the
// continual-evaluation block (a point) or positions r0..r1-1 of experience
// k's test split (full, the accuracy matrix), with parameter arena v.
type evalTask struct {
	v, k   int
	r0, r1 int
	full   bool
}

type taskResult struct {
	correct int
	loss    float64
}

// pointTasks appends the tasks of a point over experiences lo..hi for
// nv parameter arenas, arena by arena, experience by experience.
func (ev *evaluator) pointTasks(dst []evalTask, nv, lo, hi int) []evalTask {
	for v := range nv {
		for k := lo; k <= hi; k++ {
			for r0 := ev.off[k-1]; r0 < ev.off[k]; r0 += taskRows {
				dst = append(dst, evalTask{v: v, k: k, r0: r0, r1: min(r0+taskRows, ev.off[k])})
			}
		}
	}
	return dst
}

// matrixTasks appends the tasks of a row of the accuracy matrix: every
// experience's test split (or its seeded subset), for nv arenas.
func (ev *evaluator) matrixTasks(dst []evalTask, nv int) []evalTask {
	for v := range nv {
		for _, e := range ev.stream.Experiences {
			n := len(ev.test[e.ID-1])
			for p0 := 0; p0 < n; p0 += taskRows {
				dst = append(dst, evalTask{v: v, k: e.ID, r0: p0, r1: min(p0+taskRows, n), full: true})
			}
		}
	}
	return dst
}

// evalUnit is what one thread needs to run evaluation tasks: a model of
// every evaluated architecture (their engines decide the thread count) and
// its own buffers.
type evalUnit struct {
	models  []nn.Model // models[a] has architecture a (0: the live model's)
	ws      []*nn.Workspace
	x       []float32
	y       []int32
	scratch []int32
}

func newEvalUnit(models ...nn.Model) *evalUnit {
	u := &evalUnit{models: models, x: make([]float32, taskRows*models[0].InputDim()), y: make([]int32, taskRows)}
	for _, m := range models {
		u.ws = append(u.ws, m.NewWorkspace(taskRows))
	}
	return u
}

// runTask computes one task with unit u.
func (ev *evaluator) runTask(u *evalUnit, a arenas, tk evalTask) taskResult {
	d := ev.stream.InputDim
	m, ws := u.models[a.arch], u.ws[a.arch]
	params, state := a.params, a.state
	C := m.OutputDim()
	n := tk.r1 - tk.r0
	e := ev.stream.Experiences[tk.k-1]
	mask := ev.stream.Mask(e.Task)
	var logits []float32
	var y []int32
	switch {
	case tk.full:
		u.scratch = e.Test.Gather(u.x[:n*d], u.y[:n], ev.test[tk.k-1][tk.r0:tk.r1], u.scratch)
		logits = m.Infer(params, state, ws, u.x[:n*d], n)
		y = u.y[:n]
	case ev.in != nil:
		logits = m.InferInputs(params, state, ws, ev.in, tk.r0, n)
		y = ev.y[tk.r0:tk.r1]
	default:
		logits = m.Infer(params, state, ws, ev.x[tk.r0*d:tk.r1*d], n)
		y = ev.y[tk.r0:tk.r1]
	}
	loss, correct := nn.SoftmaxCE(logits, n, C, y, nn.SoftmaxMask{Mask: mask}, 0, nil)
	return taskResult{correct: correct, loss: loss}
}
