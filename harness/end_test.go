package harness

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// saboteur is naive fine-tuning that, at update `at`, does what its mode
// says: "nan-params" sets the parameters to NaN but reports finite losses
// then and after (only the evaluation finds the divergence), "panic-step" panics,
// "panic-setup" panics in Setup, "panic-before" panics when experience 2
// starts.
type saboteur struct {
	strategies.Strategy
	mode string
	at   int
	n    int
}

func (s *saboteur) Setup(ctx *strategies.Context) error {
	if s.mode == "panic-setup" {
		panic("setup went wrong")
	}
	return s.Strategy.Setup(ctx)
}

func (s *saboteur) BeforeExperience(ctx *strategies.Context, e *streams.Experience) error {
	if s.mode == "panic-before" && e.ID == 2 {
		panic("before experience 2")
	}
	return s.Strategy.BeforeExperience(ctx, e)
}

func (s *saboteur) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	s.n++
	if s.mode == "nan-params" && s.n > s.at {
		// Updates that report a finite loss: only the evaluation can
		// tell that the parameters are gone.
		return strategies.StepResult{Loss: 1}, nil
	}
	if s.n == s.at {
		switch s.mode {
		case "nan-params":
			res, err := s.Strategy.Step(ctx, b)
			p := ctx.Model.Params()
			for i := range p {
				p[i] = float32(math.NaN())
			}
			return res, err
		case "panic-step":
			var a []int
			_ = a[s.n] // index out of range
		}
	}
	return s.Strategy.Step(ctx, b)
}

// runSabotaged runs the synthetic configuration with a saboteur around
// naive.
func runSabotaged(t *testing.T, ctx context.Context, mode string, at int, rec Recorder) (Result, error) {
	t.Helper()
	cfg := synthConfig("naive")
	inner, err := cfg.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	s, err := testData.Stream(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	return Run(ctx, Spec{Config: cfg, Strategy: &saboteur{Strategy: inner, mode: mode, at: at}, Stream: s, Threads: 2}, rec)
}

// finiteRecorder is a memRecorder that refuses non-finite losses, as
// SQLite's NOT NULL columns do.
type finiteRecorder struct{ memRecorder }

func (f *finiteRecorder) Evaluations(r []metrics.EvalRecord) error {
	for _, x := range r {
		if math.IsNaN(x.LossSum) || math.IsInf(x.LossSum, 0) {
			return errors.New("a non-finite loss reached the recorder")
		}
	}
	return f.memRecorder.Evaluations(r)
}

func (f *finiteRecorder) Matrix(r []metrics.MatrixRecord) error {
	for _, x := range r {
		if math.IsNaN(x.LossSum) || math.IsInf(x.LossSum, 0) {
			return errors.New("a non-finite loss reached the recorder")
		}
	}
	return f.memRecorder.Matrix(r)
}

// TestNonFiniteEvaluationEndsTheRunDiverged: parameters that become NaN
// without a NaN training loss end the run as diverged at the first
// evaluation that sees them; the records before it are kept, none with a
// non-finite loss is handed on, and End gets the diverged status.
func TestNonFiniteEvaluationEndsTheRunDiverged(t *testing.T) {
	rec := &finiteRecorder{}
	res, err := runSabotaged(t, context.Background(), "nan-params", 20, rec)
	if !errors.Is(err, ErrDiverged) || res.Status != metrics.RunDiverged {
		t.Fatalf("status %s, error %v: want diverged", res.Status, err)
	}
	if rec.status != metrics.RunDiverged || rec.ended != 1 || !errors.Is(rec.cause, ErrDiverged) {
		t.Errorf("End(%s, %v) called %d times", rec.status, rec.cause, rec.ended)
	}
	last := 0
	for _, r := range rec.evals {
		last = max(last, r.Iteration)
	}
	if last != 19 || len(rec.ends) != 1 {
		t.Errorf("records up to iteration %d and %d experience ends kept, want 19 and 1", last, len(rec.ends))
	}
}

// TestStrategyPanicsFailTheRun: a panic in Step, BeforeExperience or
// Setup fails the run with a *PanicError holding the message and the
// stack, and the run is ended (End called once, status failed).
func TestStrategyPanicsFailTheRun(t *testing.T) {
	for _, tc := range []struct{ mode, want string }{
		{"panic-step", "index out of range"},
		{"panic-before", "before experience 2"},
		{"panic-setup", "setup went wrong"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			rec := &memRecorder{}
			res, err := runSabotaged(t, context.Background(), tc.mode, 5, rec)
			var pe *PanicError
			if !errors.As(err, &pe) || res.Status != metrics.RunFailed {
				t.Fatalf("status %s, error %v: want failed with a PanicError", res.Status, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(string(pe.Stack), "saboteur") {
				t.Errorf("error %q lacks %q or the stack", err, tc.want)
			}
			if rec.ended != 1 || rec.status != metrics.RunFailed || !strings.Contains(rec.cause.Error(), "goroutine") {
				t.Errorf("End(%s, %v) called %d times: want failed with the stack", rec.status, rec.cause, rec.ended)
			}
		})
	}
}

// TestCancelledBeforeStartStoresNothing: a run whose context is cancelled
// before it starts does not begin (nothing is recorded).
func TestCancelledBeforeStartStoresNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := &memRecorder{}
	res, err := runSabotaged(t, ctx, "", 0, rec)
	if !errors.Is(err, context.Canceled) || res.Status != metrics.RunInterrupted {
		t.Fatalf("status %s, error %v", res.Status, err)
	}
	if rec.info.Key != "" || rec.ended != 0 || len(rec.evals) != 0 {
		t.Errorf("recorded a run that did not start: key %q, End called %d times, %d records", rec.info.Key, rec.ended, len(rec.evals))
	}
}

// failingEnd fails End.
type failingEnd struct{ memRecorder }

func (f *failingEnd) End(s metrics.RunStatus, cause error) error {
	f.memRecorder.End(s, cause)
	return errors.New("disk full")
}

// TestEndErrorsAreJoined: an error of End is returned together with the
// run's own error, never dropped, and a run whose end could not be stored
// is not reported complete.
func TestEndErrorsAreJoined(t *testing.T) {
	rec := &failingEnd{}
	res, err := runSabotaged(t, context.Background(), "panic-step", 3, rec)
	var pe *PanicError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("error %v: want the panic and the End error", err)
	}
	rec2 := &failingEnd{}
	res, err = runSabotaged(t, context.Background(), "", 0, rec2)
	if err == nil || !strings.Contains(err.Error(), "disk full") || res.Status != metrics.RunFailed {
		t.Errorf("complete run whose End failed: status %s, error %v", res.Status, err)
	}
}
