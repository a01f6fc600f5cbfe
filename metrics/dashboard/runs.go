package dashboard

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/report"
	"github.com/cleval/cleval/metrics/store"
)

// KeyMetrics are the run-level metrics of the runs view, in column order.
var KeyMetrics = []string{metrics.NameACC, metrics.NameMinACC, metrics.NameWCACC, metrics.NameForgettingFirst, metrics.NameBWT, metrics.NameGapDepthMean}

// RunJSON is one run of /api/runs.
type RunJSON struct {
	ID             int64  `json:"id"`
	Status         string `json:"status"`
	Preset         string `json:"preset"`
	Benchmark      string `json:"benchmark"`
	Strategy       string `json:"strategy"`
	Seed           uint64 `json:"seed"`
	Iterations     int    `json:"iterations"`
	NumExperiences int    `json:"num_experiences"`
	// Experience is the experience being trained (running runs) or the
	// last one reached.
	Experience int `json:"experience"`
	// TotalIterations is the run's length: exact when it ended, else
	// estimated from its configuration and the experiences that ended
	// (null when unknown).
	TotalIterations *int `json:"total_iterations"`
	// ETASeconds is the estimated time left of a running run.
	ETASeconds *float64 `json:"eta_seconds"`
	// ProcessGone is set for a run stored as running whose process (on
	// this host) no longer exists.
	ProcessGone bool   `json:"process_gone"`
	StartedAt   string `json:"started_at"`
	EndedAt     string `json:"ended_at,omitempty"`
	// Seconds is the run's duration, or the time since it started.
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
	// ConfigGroup is the configuration hash (metrics.ConfigGroup); Group
	// the number of the report group of complete runs with it (0: none).
	ConfigGroup string              `json:"config_group"`
	Group       int                 `json:"group"`
	Variants    []string            `json:"variants"`
	Metrics     map[string]*float64 `json:"metrics"`
}

// GroupJSON is one group of /api/runs, as cleval report forms them.
type GroupJSON struct {
	ID        int      `json:"id"`
	Key       string   `json:"config_group"`
	Label     string   `json:"label"`
	Strategy  string   `json:"strategy"`
	Benchmark string   `json:"benchmark"`
	Presets   []string `json:"presets"`
	Seeds     []uint64 `json:"seeds"`
	RunIDs    []int64  `json:"runs"`
	Variants  []string `json:"variants"`
}

// RunsJSON is the answer of /api/runs.
type RunsJSON struct {
	Runs       []RunJSON        `json:"runs"`
	Groups     []GroupJSON      `json:"groups"`
	Skipped    []report.Skipped `json:"skipped"`
	Duplicates []report.Skipped `json:"duplicates"`
	// Metrics names the keys of RunJSON.Metrics in column order.
	Metrics []string `json:"metrics"`
}

// runsState is what /api/runs reads from the database, kept while the
// runs table does not change.
type runsState struct {
	runs    []store.Run
	set     *report.Set
	exps    map[int64][]expRow
	metrics map[int64]map[string]*float64
}

type expRow struct {
	exp, trainSize, end int // end -1 until the experience ends
}

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	if _, err := newParams(r); err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.runsJSON(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, out)
}

// loadRuns reads the runs and their experiences; the report groups and
// the metrics, which change only when a run's status does, are read again
// only then.
func (s *Server) loadRuns(ctx context.Context) (*runsState, error) {
	st := &runsState{exps: map[int64][]expRow{}}
	var err error
	if st.runs, err = s.db.Runs(ctx); err != nil {
		return nil, err
	}
	var sig strings.Builder
	for _, r := range st.runs {
		fmt.Fprintf(&sig, "%d:%s,", r.ID, r.Status)
	}
	db := s.db.SQL()
	rows, err := db.QueryContext(ctx, `SELECT run_id, exp, train_size, coalesce(end_iteration, -1) FROM experiences ORDER BY run_id, exp`)
	if err != nil {
		return nil, fmt.Errorf("dashboard: experiences: %w", err)
	}
	for rows.Next() {
		var id int64
		var e expRow
		if err := rows.Scan(&id, &e.exp, &e.trainSize, &e.end); err != nil {
			rows.Close()
			return nil, fmt.Errorf("dashboard: experiences: %w", err)
		}
		st.exps[id] = append(st.exps[id], e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dashboard: experiences: %w", err)
	}

	s.runsMu.Lock()
	defer s.runsMu.Unlock()
	if s.runsSet != nil && sig.String() == s.runsSig {
		st.set, st.metrics = s.runsSet.set, s.runsSet.metrics
		return st, nil
	}
	if st.set, err = report.Load(ctx, s.db, store.RunFilter{}); err != nil {
		return nil, err
	}
	st.metrics = map[int64]map[string]*float64{}
	q := `SELECT run_id, name, value FROM metrics WHERE variant = 'live' AND k = 0 AND j = 0 AND name IN ('` + strings.Join(KeyMetrics, "','") + `')`
	rows, err = db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("dashboard: metrics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		var v sql.NullFloat64
		if err := rows.Scan(&id, &name, &v); err != nil {
			return nil, fmt.Errorf("dashboard: metrics: %w", err)
		}
		if st.metrics[id] == nil {
			st.metrics[id] = map[string]*float64{}
		}
		if v.Valid {
			x := v.Float64
			st.metrics[id][name] = &x
		} else {
			st.metrics[id][name] = nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dashboard: metrics: %w", err)
	}
	s.runsSig, s.runsSet = sig.String(), st
	return st, nil
}

func (s *Server) runsJSON(ctx context.Context) (*RunsJSON, error) {
	st, err := s.loadRuns(ctx)
	if err != nil {
		return nil, err
	}
	out := &RunsJSON{Runs: []RunJSON{}, Groups: []GroupJSON{}, Skipped: st.set.Skipped, Duplicates: st.set.Duplicates, Metrics: KeyMetrics}
	if out.Skipped == nil {
		out.Skipped = []report.Skipped{}
	}
	if out.Duplicates == nil {
		out.Duplicates = []report.Skipped{}
	}
	byKey := map[string]int{}
	for _, g := range st.set.Groups {
		byKey[g.Key] = g.ID
		out.Groups = append(out.Groups, groupJSON(g))
	}
	now := s.opt.now()
	for _, r := range st.runs {
		out.Runs = append(out.Runs, s.runJSON(r, st.exps[r.ID], st.metrics[r.ID], byKey, now))
	}
	return out, nil
}

func groupJSON(g *report.Group) GroupJSON {
	presets := g.Presets
	if presets == nil {
		presets = []string{}
	}
	return GroupJSON{ID: g.ID, Key: g.Key, Label: g.Label, Strategy: g.Strategy, Benchmark: g.Benchmark, Presets: presets,
		Seeds: g.Seeds(), RunIDs: g.RunIDs(), Variants: g.Variants}
}

func (s *Server) runJSON(r store.Run, exps []expRow, ms map[string]*float64, groups map[string]int, now time.Time) RunJSON {
	j := RunJSON{ID: r.ID, Status: string(r.Status), Preset: r.Preset, Benchmark: r.Benchmark, Strategy: r.Strategy, Seed: r.Seed,
		Iterations: r.Iterations, NumExperiences: r.NumExperiences, StartedAt: r.StartedAt.UTC().Format(time.RFC3339),
		Error: r.Error, Variants: r.Variants, Metrics: map[string]*float64{}}
	if j.Variants == nil {
		j.Variants = []string{}
	}
	for _, n := range KeyMetrics {
		j.Metrics[n] = ms[n]
	}
	if key, _, err := metrics.ConfigGroup(r.Config); err == nil {
		j.ConfigGroup, j.Group = key, groups[key]
	}
	ended := 0
	for _, e := range exps {
		if e.end >= 0 {
			ended++
		}
	}
	j.Experience = min(ended+1, max(r.NumExperiences, 1))
	if !r.EndedAt.IsZero() {
		j.EndedAt = r.EndedAt.UTC().Format(time.RFC3339)
		j.Seconds = r.EndedAt.Sub(r.StartedAt).Seconds()
	} else {
		j.Seconds = now.Sub(r.StartedAt).Seconds()
	}
	switch r.Status {
	case metrics.RunComplete:
		j.Experience = r.NumExperiences
		it := r.Iterations
		j.TotalIterations = &it
	case metrics.RunRunning:
		j.ProcessGone = s.processGone(r)
		if total, ok := estimateTotal(r.Config, exps); ok {
			j.TotalIterations = &total
			if r.Iterations > 0 && j.Seconds > 0 && !j.ProcessGone {
				eta := math.Max(0, float64(total-r.Iterations)*j.Seconds/float64(r.Iterations))
				j.ETASeconds = &eta
			}
		}
	}
	return j
}

// estimateTotal estimates the iterations of a run: the actual length of
// the experiences that ended, and for the others the configuration's
// iterations, or epochs × ⌈train samples / batch size⌉ × repeat (the
// schedule of the harness without blur, which keeps the same segments).
func estimateTotal(config json.RawMessage, exps []expRow) (int, bool) {
	var cfg struct {
		Epochs     int `json:"epochs"`
		BatchSize  int `json:"batch_size"`
		Iterations int `json:"iterations"`
		Repeat     int `json:"repeat"`
	}
	if err := json.Unmarshal(config, &cfg); err != nil || len(exps) == 0 {
		return 0, false
	}
	total, prev := 0, 0
	for _, e := range exps {
		switch {
		case e.end >= 0:
			total += e.end - prev
			prev = e.end
			continue
		case cfg.Iterations > 0:
			total += cfg.Iterations
		case cfg.Epochs > 0 && cfg.BatchSize > 0:
			total += cfg.Epochs * ((e.trainSize + cfg.BatchSize - 1) / cfg.BatchSize) * max(cfg.Repeat, 1)
		default:
			return 0, false
		}
	}
	return total, true
}

// processGone reports whether a running run's process is known to be gone:
// it ran on this host and its pid is not alive.
func (s *Server) processGone(r store.Run) bool {
	if s.host == "" || r.Host != s.host || r.PID <= 0 {
		return false
	}
	err := syscall.Kill(r.PID, 0)
	return errors.Is(err, syscall.ESRCH)
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
