package report

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

// ErrReference marks a reference group that does not fit: unknown, or of
// another number of experiences.
var ErrReference = errors.New("bad reference group")

// AddReference computes the gap measures relative to a reference group
// (metrics.ReferenceGaps: the stability, plasticity and continual-knowledge
// gaps of Harun & Kanan) for every run of every other group, each against
// the reference group's run of the same seed, and adds them to the runs'
// metrics as ref_stability_gap, ref_plasticity_gap and ref_ck_gap (for
// every variant of the run, each against the reference's live model), so
// that they are summarised over seeds, compared and tested like every
// metric. A run whose seed the reference lacks gets no values (counted as
// NULL). ref names the group as Find does. The reference's runs must have
// the same number of experiences.
func (s *Set) AddReference(ctx context.Context, db *store.DB, ref string) error {
	g, err := s.Find(ref)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrReference, err)
	}
	bySeed := map[uint64]Run{}
	for _, r := range g.Runs {
		bySeed[r.Seed] = r
	}
	matrices := map[int64][]metrics.MatrixRecord{}
	for _, h := range s.Groups {
		if h == g {
			continue
		}
		for i := range h.Runs {
			run := &h.Runs[i]
			rr, ok := bySeed[run.Seed]
			if !ok {
				continue
			}
			if rr.NumExperiences != run.NumExperiences {
				return fmt.Errorf("%w: report: --reference %s: group %s has %d experiences, the reference %d",
					ErrReference, ref, h.Name(), run.NumExperiences, rr.NumExperiences)
			}
			m, ok := matrices[rr.ID]
			if !ok {
				if m, err = db.Matrix(ctx, rr.ID, metrics.VariantLive); err != nil {
					return err
				}
				matrices[rr.ID] = m
			}
			for _, v := range run.Variants {
				evals, err := db.Evaluations(ctx, run.ID, v)
				if err != nil {
					return err
				}
				gaps := metrics.ReferenceGaps(evals, m, run.NumExperiences)
				for j, val := range []float64{gaps.Stability, gaps.Plasticity, gaps.CK} {
					sm := store.Metric{Variant: v, Name: metrics.RefGapNames[j], Value: val}
					if val != val { // NaN: undefined
						sm = store.Metric{Variant: v, Name: metrics.RefGapNames[j], Null: true}
					}
					run.Metrics = append(run.Metrics, sm)
				}
			}
		}
	}
	s.Reference = g
	for _, n := range metrics.RefGapNames {
		if !slices.Contains(s.Extra, n) {
			s.Extra = append(s.Extra, n)
		}
	}
	return nil
}

// names returns the run-level metric names the set has: every stored one,
// then the extra ones (AddReference).
func (s *Set) names() []string {
	return append(metrics.Names(), s.Extra...)
}
