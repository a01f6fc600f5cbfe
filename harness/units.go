package harness

import (
	"reflect"
	"slices"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// newPoints builds the continual evaluation of a run whose live model is
// model: the evaluation sets, and the units that evaluate them — in line
// (one thread), the live model itself; pipelined (threads >= 2), one
// single-threaded model per evaluation worker (threads/2 of them) and one
// for the driver, which helps once its update is done. Each unit has a
// model of every evaluated architecture (variants may have their own,
// Variant.Spec). It returns the names of the evaluated variants, live
// first. newModel builds a model on a Compute of the given threads.
func newPoints(cfg *Config, s *streams.Stream, model nn.Model, strat strategies.Strategy, threads, trainThreads int,
	newModel func(nn.Spec, int) (nn.Model, error)) (*points, []string, error) {
	pipelined := threads >= 2
	variants := []string{metrics.VariantLive}
	vp, _ := strat.(strategies.VariantProvider)
	archs := []nn.Spec{model.Spec()} // the architectures evaluated
	var variantArch []int
	if vp != nil {
		for _, v := range vp.Variants() {
			variants = append(variants, v.Name)
			a := 0
			if v.Spec != nil {
				a = slices.IndexFunc(archs, func(sp nn.Spec) bool { return reflect.DeepEqual(sp, *v.Spec) })
				if a < 0 {
					a = len(archs)
					archs = append(archs, *v.Spec)
				}
			}
			variantArch = append(variantArch, a)
		}
	}
	// Evaluation units: in line, the live model itself; pipelined, one
	// single-threaded model per evaluation worker (threads/2 of them) and
	// one for the driver, which helps once its update is done. Each unit
	// has a model of every evaluated architecture.
	unit := func(live nn.Model, threads int) (*evalUnit, error) {
		models := []nn.Model{live}
		for _, spec := range archs[1:] {
			m, err := newModel(spec, threads)
			if err != nil {
				return nil, err
			}
			models = append(models, m)
		}
		return newEvalUnit(models...), nil
	}
	caller, workers := model, []*evalUnit(nil)
	callerThreads := trainThreads
	if pipelined {
		callerThreads = 1
		if trainThreads > 1 {
			var err error
			if caller, err = newModel(archs[0], 1); err != nil {
				return nil, nil, err
			}
		}
		for range threads / 2 {
			m, err := newModel(archs[0], 1)
			if err != nil {
				return nil, nil, err
			}
			u, err := unit(m, 1)
			if err != nil {
				return nil, nil, err
			}
			workers = append(workers, u)
		}
	}
	callerUnit, err := unit(caller, callerThreads)
	if err != nil {
		return nil, nil, err
	}
	inputsOf := model
	if len(archs) > 1 {
		inputsOf = nil // dense rows, read by every architecture
	}
	ev := newEvaluator(s, &cfg.Eval, cfg.Seed, inputsOf)
	p := &points{stream: s, eval: &cfg.Eval, ev: ev, runner: newEvalRunner(ev, callerUnit, workers),
		model: model, vp: vp, variantArch: variantArch, pipelined: pipelined}
	return p, variants, nil
}
