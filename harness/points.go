package harness

import (
	"fmt"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// points is the continual evaluation of a run: the evaluation sets, the
// units that evaluate them, the arenas of the live model and the variants,
// and the point in flight. Pipelined, a point is evaluated on copies of
// the arenas while the next update trains, and its records are stored
// when the next point starts (or at once at an experience end), always in
// order.
type points struct {
	stream *streams.Stream
	eval   *EvalConfig
	rec    Recorder
	ev     *evaluator
	runner *evalRunner
	model  nn.Model
	vp     strategies.VariantProvider
	// variantArch[i] is the architecture of variant i (an index into the
	// evaluation units' models).
	variantArch []int
	pipelined   bool // points are evaluated while the next update trains
	// onRecords stores one point's records (the driver updates its
	// progress first).
	onRecords func([]metrics.EvalRecord) error

	tasks    []evalTask
	arenas   []arenas    // the arenas of the tasks in flight
	snap     [][]float32 // pipelined: copies of the live and variant arenas
	names    []string    // variant names of the tasks in flight
	recs     []metrics.EvalRecord
	mrecs    []metrics.MatrixRecord
	inflight struct {
		t, c, lo, hi int
		pending      bool
	}
}

// point runs the continual evaluation at iteration t while experience c is
// trained; end marks the evaluation at an experience end. Pipelined, it
// starts the point on copies of the parameters and returns; the records
// are stored when the next point starts (or at once at an experience end),
// always in order.
func (p *points) point(t, c int, end bool) error {
	if err := p.collect(); err != nil {
		return err
	}
	T := len(p.stream.Experiences)
	lo, hi := 1, c
	switch {
	case p.eval.Experiences == EvalAll:
		hi = T
	case end && c < T:
		hi = c + 1
	}
	p.ev.prepare(lo, hi)
	p.setArenas(p.pipelined)
	p.tasks = p.ev.pointTasks(p.tasks[:0], len(p.arenas), lo, hi)
	p.inflight.t, p.inflight.c, p.inflight.lo, p.inflight.hi = t, c, lo, hi
	p.inflight.pending = true
	p.runner.start(p.arenas, p.tasks)
	if !p.pipelined || end {
		return p.collect()
	}
	return nil
}

// setArenas sets p.arenas (and p.names) to the live model's arenas and
// every variant's: the arenas themselves, or copies when the evaluation
// runs while training goes on.
func (p *points) setArenas(copies bool) {
	p.names = append(p.names[:0], metrics.VariantLive)
	p.arenas = append(p.arenas[:0], arenas{params: p.model.Params(), state: p.model.State()})
	if p.vp != nil {
		for i, v := range p.vp.Variants() {
			p.names = append(p.names, v.Name)
			p.arenas = append(p.arenas, arenas{params: v.Params, state: v.State, arch: p.variantArch[i]})
		}
	}
	if !copies {
		return
	}
	for len(p.snap) < 2*len(p.arenas) {
		p.snap = append(p.snap, nil)
	}
	for i, a := range p.arenas {
		p.snap[2*i] = append(p.snap[2*i][:0], a.params...)
		p.snap[2*i+1] = append(p.snap[2*i+1][:0], a.state...)
		p.arenas[i] = arenas{params: p.snap[2*i], state: p.snap[2*i+1], arch: a.arch}
	}
}

// collect finishes the point in flight, if any, and stores its records.
func (p *points) collect() error {
	if !p.inflight.pending {
		return nil
	}
	p.inflight.pending = false
	res := p.runner.finish()
	t, c, lo, hi := p.inflight.t, p.inflight.c, p.inflight.lo, p.inflight.hi
	per := hi - lo + 1
	p.recs = p.recs[:0]
	for _, name := range p.names {
		for k := lo; k <= hi; k++ {
			p.recs = append(p.recs, metrics.EvalRecord{Iteration: t, Training: c, Evaluated: k, Variant: name, Subset: p.ev.subsetKind})
		}
	}
	for i, tk := range p.tasks {
		r := &p.recs[tk.v*per+tk.k-lo]
		r.Correct += res[i].correct
		r.Total += tk.r1 - tk.r0
		r.LossSum += res[i].loss
	}
	for _, r := range p.recs {
		if !strategies.Finite(r.LossSum) {
			// The parameters are not finite: the run diverged after the
			// update before t. The point is not stored (its loss cannot
			// be).
			return fmt.Errorf("harness: evaluation at iteration %d: loss on experience %d (%s) is %v: %w", t, r.Evaluated, r.Variant, r.LossSum, ErrDiverged)
		}
	}
	return p.onRecords(p.recs)
}

// matrix evaluates row i of the accuracy matrix, on every unit.
func (p *points) matrix(i int) error {
	if err := p.collect(); err != nil {
		return err
	}
	p.setArenas(false)
	p.tasks = p.ev.matrixTasks(p.tasks[:0], len(p.arenas))
	p.runner.start(p.arenas, p.tasks)
	res := p.runner.finish()
	T := len(p.stream.Experiences)
	p.mrecs = p.mrecs[:0]
	for _, name := range p.names {
		for _, e := range p.stream.Experiences {
			p.mrecs = append(p.mrecs, metrics.MatrixRecord{Row: i, Col: e.ID, Variant: name})
		}
	}
	for j, tk := range p.tasks {
		r := &p.mrecs[tk.v*T+tk.k-1]
		r.Correct += res[j].correct
		r.Total += tk.r1 - tk.r0
		r.LossSum += res[j].loss
	}
	for _, r := range p.mrecs {
		if !strategies.Finite(r.LossSum) {
			return fmt.Errorf("harness: accuracy matrix row %d: loss on experience %d (%s) is %v: %w", i, r.Col, r.Variant, r.LossSum, ErrDiverged)
		}
	}
	return p.rec.Matrix(p.mrecs)
}
