package sweep

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/cleval/cleval/harness"
	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

// Runner runs the runs of a plan on a pool of workers, storing them in one
// database through claims (store.NewClaimedRun): complete keys are
// skipped, interrupted ones and those whose process died are redone from
// scratch, and several processes may share the database.
type Runner struct {
	// DB stores the runs; every worker writes through it (one connection,
	// so the workers of a process never contend for the file's lock).
	DB *store.DB
	// Data loads and caches the datasets.
	Data *harness.Data
	// Workers is the number of runs in parallel (<= 0: 1).
	Workers int
	// Threads is the number of threads per run (<= 0: the cores divided
	// by Workers, at least 1). Records do not depend on it.
	Threads int
	// RetryFailed redoes runs whose last attempt failed.
	RetryFailed bool
	// RetryDiverged redoes runs whose last attempt diverged (a diverged
	// run is otherwise a result, like a complete one).
	RetryDiverged bool
	// Fresh runs every run as a new run, whatever runs of its key are
	// stored, without claiming keys (cleval run): nothing is skipped.
	Fresh bool
	// Lease is how long a process on another host that stopped
	// heartbeating still holds its runs (0: store.DefaultLease).
	Lease time.Duration
	// CodeVersion is recorded with every run.
	CodeVersion string
	// Events, when not nil, receives what happens; calls are serialised.
	Events func(Event)
	// Poll is how often keys that another process is running are looked
	// at again (0: 2 s). Run returns when they are finished.
	Poll time.Duration
}

// EventKind says what an Event reports.
type EventKind int

// Kinds of events.
const (
	// EventSkip: the run is not run (done, failed before, or busy in
	// another process); Outcome.State says why.
	EventSkip EventKind = iota
	// EventStart: the run's key was claimed and the run started.
	EventStart
	// EventProgress: the run made an update.
	EventProgress
	// EventEnd: the run ended; Outcome.Status is its stored status.
	EventEnd
)

// Event reports progress.
type Event struct {
	Kind EventKind
	// Outcome is a copy of the run's outcome at the time of the event.
	Outcome Outcome
	// Iteration is the run's number of updates so far (EventProgress).
	Iteration int
	// Progress is the run's progress (EventProgress); its slices are only
	// valid during the call.
	Progress harness.Progress
}

// Outcome is what happened to one run of the plan.
type Outcome struct {
	Run *Run
	// State is the key's state when the runner looked at it.
	State store.KeyState
	// Ran reports whether this runner ran it.
	Ran bool
	// RunID is the stored run: the one run now, or the one that made the
	// key done, failed or busy (0 when none).
	RunID int64
	// Status is the stored status of the run ("" when it was not started:
	// busy elsewhere, or the sweep was stopped first).
	Status metrics.RunStatus
	// Err is the error of a run that did not complete.
	Err      error
	Duration time.Duration
}

// Summary is the result of Runner.Run.
type Summary struct {
	// Outcomes are in the order of the runs given.
	Outcomes []Outcome
}

// Count returns the number of outcomes with a stored status st.
func (s *Summary) Count(st metrics.RunStatus) int {
	n := 0
	for _, o := range s.Outcomes {
		if o.Status == st {
			n++
		}
	}
	return n
}

// recorder passes everything to a RunWriter and keeps its first error, to
// tell storage failures from run failures.
type recorder struct {
	w   *store.RunWriter
	err error
}

func (r *recorder) keep(err error) error {
	if err != nil && r.err == nil {
		r.err = err
	}
	return err
}

func (r *recorder) Begin(info metrics.RunInfo) error { return r.keep(r.w.Begin(info)) }
func (r *recorder) Evaluations(recs []metrics.EvalRecord) error {
	return r.keep(r.w.Evaluations(recs))
}
func (r *recorder) Matrix(recs []metrics.MatrixRecord) error { return r.keep(r.w.Matrix(recs)) }
func (r *recorder) ExperienceEnd(exp, t int) error           { return r.keep(r.w.ExperienceEnd(exp, t)) }
func (r *recorder) End(status metrics.RunStatus, cause error) error {
	return r.keep(r.w.End(status, cause))
}

var _ harness.Recorder = (*recorder)(nil)

// ThreadsPerRun returns the threads each of workers parallel runs gets.
func ThreadsPerRun(workers int) int {
	return max(1, runtime.GOMAXPROCS(0)/max(1, workers))
}

// Run runs the runs (a plan or a shard of one) and returns what happened
// to each. Cancelling ctx stops the runs in progress between iterations
// (they are stored as interrupted) and starts no more; Run then returns
// the summary and ctx's error. An error of the database stops the sweep
// the same way and is returned.
func (r *Runner) Run(ctx context.Context, runs []Run) (*Summary, error) {
	if r.DB == nil || r.Data == nil {
		return nil, errors.New("sweep: Runner needs a DB and a Data")
	}
	// No more workers than runs: each worker holds a goroutine and, while
	// it runs, a model and its buffers.
	workers := min(max(1, r.Workers), max(1, len(runs)))
	threads := r.Threads
	if threads <= 0 {
		threads = ThreadsPerRun(workers)
	}
	var owner *store.Owner
	states := map[string]store.KeyState{}
	if !r.Fresh {
		var err error
		owner, err = r.DB.RegisterOwner(ctx)
		if err != nil {
			return nil, err
		}
		defer r.DB.ReleaseOwner(context.Background(), owner)
		hbDone := make(chan struct{})
		defer close(hbDone)
		go func() {
			t := time.NewTicker(store.HeartbeatEvery)
			defer t.Stop()
			for {
				select {
				case <-hbDone:
					return
				case <-t.C:
					r.DB.Heartbeat(context.Background(), owner)
				}
			}
		}()
		keys := make([]string, len(runs))
		for i := range runs {
			keys[i] = runs[i].Key
		}
		if states, err = r.DB.KeyStates(ctx, keys, r.Lease); err != nil {
			return nil, err
		}
	}
	sum := &Summary{Outcomes: make([]Outcome, len(runs))}
	var mu sync.Mutex
	emit := func(kind EventKind, o *Outcome, p *harness.Progress) {
		if r.Events != nil {
			mu.Lock()
			defer mu.Unlock()
			e := Event{Kind: kind, Outcome: *o}
			if p != nil {
				e.Iteration, e.Progress = p.Iteration, *p
			}
			r.Events(e)
		}
	}
	// Runs to do first, keys busy elsewhere last (their process may die or
	// finish meanwhile: they are looked at again when their turn comes).
	// Keys done before are reported at once.
	var queue, later []int
	for i := range runs {
		o := &sum.Outcomes[i]
		o.Run = &runs[i]
		o.State = states[runs[i].Key]
		o.RunID = o.State.RunID
		switch {
		case r.Fresh || r.toRun(o.State):
			queue = append(queue, i)
		case o.State.State == store.StateBusy:
			later = append(later, i)
		default:
			o.Status = o.State.Status
			emit(EventSkip, o, nil)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		resMu sync.Mutex
		fatal error
		busy  []int
	)
	type job struct {
		i    int
		done func()
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				isBusy, err := r.one(ctx, owner, threads, &sum.Outcomes[j.i], emit)
				resMu.Lock()
				if err != nil && fatal == nil {
					fatal = err
					cancel()
				}
				if isBusy {
					busy = append(busy, j.i)
				}
				resMu.Unlock()
				j.done()
			}
		}()
	}
	// Rounds: every pending run, then, after a pause, the keys another
	// process was running, until none is left: a sweep that returns
	// without error leaves every key of its runs finished. A key whose
	// process died is redone once it is judged dead (at once on this host;
	// after the lease elsewhere).
	pending := append(queue, later...)
	for len(pending) > 0 && ctx.Err() == nil {
		var round sync.WaitGroup
	feed:
		for _, i := range pending {
			round.Add(1)
			select {
			case jobs <- job{i, round.Done}:
			case <-ctx.Done():
				round.Done()
				break feed
			}
		}
		round.Wait()
		resMu.Lock()
		pending, busy = busy, nil
		resMu.Unlock()
		slices.Sort(pending)
		if len(pending) > 0 {
			select {
			case <-time.After(r.pollEvery()):
			case <-ctx.Done():
			}
		}
	}
	close(jobs)
	wg.Wait()
	if fatal != nil {
		return sum, fatal
	}
	return sum, ctx.Err()
}

// toRun reports whether a key in state st is to be run.
func (r *Runner) toRun(st store.KeyState) bool {
	return st.ToRun(r.RetryFailed) || r.RetryDiverged && st.State == store.StateDone && st.Status == metrics.RunDiverged
}

// pollEvery is how often a runner looks again at keys another process is
// running.
func (r *Runner) pollEvery() time.Duration {
	if r.Poll > 0 {
		return r.Poll
	}
	return 2 * time.Second
}

// one runs one run; it reports whether another live process holds the
// key (the run is to be looked at again later), and returns an error only
// for a failure of the database, which stops the sweep.
func (r *Runner) one(ctx context.Context, owner *store.Owner, threads int, o *Outcome, emit func(EventKind, *Outcome, *harness.Progress)) (busy bool, err error) {
	if ctx.Err() != nil {
		return false, nil
	}
	if !r.Fresh {
		// Look again: another process may have run the key meanwhile.
		st, err := r.DB.KeyStates(ctx, []string{o.Run.Key}, r.Lease)
		if err != nil {
			if ctx.Err() != nil {
				return false, nil
			}
			return false, err
		}
		o.State = st[o.Run.Key]
		o.RunID = o.State.RunID
		if o.State.State == store.StateBusy {
			return true, nil
		}
		if !r.toRun(o.State) {
			o.Status = o.State.Status
			emit(EventSkip, o, nil)
			return false, nil
		}
	}
	cfg := o.Run.Config
	strat, err := cfg.Resolve()
	if err != nil {
		o.Err = err
		o.Status = metrics.RunFailed
		emit(EventEnd, o, nil)
		return false, nil
	}
	stream, err := r.Data.Stream(&cfg)
	if err != nil {
		o.Err = err
		o.Status = metrics.RunFailed
		emit(EventEnd, o, nil)
		return false, nil
	}
	w := r.DB.NewRun()
	if !r.Fresh {
		w = r.DB.NewClaimedRun(store.ClaimOptions{Owner: owner, RetryFailed: r.RetryFailed, RetryDiverged: r.RetryDiverged, Lease: r.Lease})
	}
	rec := &recorder{w: w}
	start := time.Now()
	spec := harness.Spec{
		Config:      cfg,
		Strategy:    strat,
		Stream:      stream,
		Threads:     threads,
		CodeVersion: r.CodeVersion,
		Progress: func(p harness.Progress) {
			emit(EventProgress, o, &p)
		},
	}
	began := &beginHook{recorder: rec, onBegin: func() {
		o.Ran = true
		o.RunID = rec.w.ID()
		emit(EventStart, o, nil)
	}}
	res, runErr := harness.Run(ctx, spec, began)
	o.Duration = time.Since(start)
	var ce *store.ClaimError
	switch {
	case errors.As(rec.err, &ce):
		// Another process claimed the key between the look and the claim.
		o.State = ce.State
		o.RunID = ce.State.RunID
		if ce.State.State == store.StateBusy {
			return true, nil
		}
		o.Status = ce.State.Status
		emit(EventSkip, o, nil)
		return false, nil
	case errors.Is(rec.err, store.ErrClaimLost):
		// Another process judged this one dead and took the key over.
		o.Status, o.Err = "", rec.err
		o.State.State = store.StateBusy
		emit(EventEnd, o, nil)
		return true, nil
	case errors.Is(rec.err, store.ErrStoredFailed):
		// The run could not be ended with its status and was stored as
		// failed: the database works, the sweep goes on.
		o.Status, o.Err = metrics.RunFailed, runErr
		emit(EventEnd, o, nil)
		return false, nil
	case rec.err != nil:
		o.Status, o.Err = metrics.RunFailed, rec.err
		if !o.Ran {
			o.Status = ""
		}
		emit(EventEnd, o, nil)
		if ctx.Err() != nil {
			return false, nil
		}
		return false, fmt.Errorf("sweep: run %s: %w", o.Run.Label, rec.err)
	}
	o.Status = res.Status
	switch {
	case o.Ran && rec.w.ID() == 0:
		// Interrupted before its first update: the writer deleted it.
		o.Ran, o.RunID, o.Status = false, 0, ""
	case !o.Ran && ctx.Err() != nil:
		// Stopped before it began (a cancelled sweep): nothing stored.
		o.Status = ""
	case res.Status == "" || res.Status == metrics.RunRunning:
		o.Status = metrics.RunFailed
	}
	o.Err = runErr
	emit(EventEnd, o, nil)
	return false, nil
}

// beginHook calls onBegin after a successful Begin.
type beginHook struct {
	*recorder
	onBegin func()
}

func (b *beginHook) Begin(info metrics.RunInfo) error {
	if err := b.recorder.Begin(info); err != nil {
		return err
	}
	b.onBegin()
	return nil
}
