package export

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/cleval/cleval/metrics"
)

// Typed appenders; column types are fixed by Schema.

func (t *table) i64(i int, v int64)   { t.col(i).(*array.Int64Builder).Append(v) }
func (t *table) i32(i int, v int)     { t.col(i).(*array.Int32Builder).Append(int32(v)) }
func (t *table) u64(i int, v uint64)  { t.col(i).(*array.Uint64Builder).Append(v) }
func (t *table) f64(i int, v float64) { t.col(i).(*array.Float64Builder).Append(v) }
func (t *table) str(i int, v string)  { t.col(i).(*array.StringBuilder).Append(v) }
func (t *table) boolean(i int, v bool) {
	t.col(i).(*array.BooleanBuilder).Append(v)
}
func (t *table) null(i int) { t.col(i).AppendNull() }

func (t *table) ts(i int, v time.Time) {
	t.col(i).(*array.TimestampBuilder).Append(arrow.Timestamp(v.UnixMicro()))
}

func (t *table) i32s(i int, vs []int32) {
	lb := t.col(i).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.Int32Builder).AppendValues(vs, nil)
}

func (t *table) strs(i int, vs []string) {
	lb := t.col(i).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.StringBuilder).AppendValues(vs, nil)
}

func optF64(t *table, i int, v *float64) {
	if v == nil {
		t.null(i)
	} else {
		t.f64(i, *v)
	}
}

func optI32(t *table, i int, v *int32) {
	if v == nil {
		t.null(i)
	} else {
		t.i32(i, int(*v))
	}
}

func optStr(t *table, i int, v *string) {
	if v == nil {
		t.null(i)
	} else {
		t.str(i, *v)
	}
}

func optBool(t *table, i int, v *bool, absent bool) {
	if v == nil {
		v = &absent
	}
	t.boolean(i, *v)
}

func (x *exporter) runsTable(ctx context.Context, t *table) error {
	for _, r := range x.runs {
		if err := ctx.Err(); err != nil {
			return err
		}
		group, _, err := metrics.ConfigGroup(r.Config)
		if err != nil {
			return fmt.Errorf("run %d: %w", r.ID, err)
		}
		var cc configColumns
		if err := json.Unmarshal(r.Config, &cc); err != nil {
			return fmt.Errorf("run %d: configuration: %w", r.ID, err)
		}
		t.i64(0, r.ID)
		t.str(1, r.Key)
		t.str(2, group)
		t.str(3, r.Preset)
		t.str(4, r.Benchmark)
		t.str(5, r.Strategy)
		t.u64(6, r.Seed)
		t.str(7, string(r.Status))
		if r.Error == "" {
			t.null(8)
		} else {
			t.str(8, r.Error)
		}
		t.i32(9, r.NumExperiences)
		t.str(10, string(r.EvalSubset))
		t.strs(11, r.Variants)
		t.i64(12, int64(r.Iterations))
		t.str(13, r.CodeVersion)
		t.str(14, r.Host)
		t.i64(15, int64(r.PID))
		t.ts(16, r.StartedAt)
		if r.EndedAt.IsZero() {
			t.null(17)
		} else {
			t.ts(17, r.EndedAt)
		}
		if cc.Hidden == nil {
			t.null(18)
		} else {
			t.i32s(18, cc.Hidden)
		}
		t.i32s(19, cc.ClassOrder) // omitted when empty: the default order
		optBool(t, 20, cc.PermuteClasses, false)
		if o := cc.Optimizer; o != nil {
			optF64(t, 21, o.LR)
			optF64(t, 22, o.Momentum)
			optF64(t, 23, o.WeightDecay)
			optBool(t, 24, o.Nesterov, false)
		} else {
			for i := 21; i <= 24; i++ {
				t.null(i)
			}
		}
		optI32(t, 25, cc.Epochs)
		optI32(t, 26, cc.BatchSize)
		if e := cc.Eval; e != nil {
			optI32(t, 27, e.Every)
			optI32(t, 28, e.Size)
			optStr(t, 29, e.Experiences)
		} else {
			t.null(27)
			t.null(28)
			t.null(29)
		}
		if len(cc.StrategyParams) == 0 {
			t.null(30)
		} else {
			t.str(30, string(cc.StrategyParams))
		}
		t.str(31, string(r.Config))
		if err := t.endRow(); err != nil {
			return err
		}
	}
	return nil
}

func (x *exporter) experiencesTable(ctx context.Context, t *table) error {
	for _, r := range x.runs {
		if err := ctx.Err(); err != nil {
			return err
		}
		infos, ends, err := x.db.Experiences(ctx, r.ID)
		if err != nil {
			return err
		}
		for i, e := range infos {
			t.i64(0, r.ID)
			t.i32(1, e.ID)
			t.i32s(2, e.Classes)
			t.i32(3, e.Task)
			t.i64(4, int64(e.TrainSize))
			t.i64(5, int64(e.TestSize))
			t.i64(6, int64(e.EvalSize))
			switch {
			case i == 0:
				t.i64(7, 0)
			case ends[i-1] >= 0:
				t.i64(7, int64(ends[i-1]))
			default:
				t.null(7)
			}
			if ends[i] >= 0 {
				t.i64(8, int64(ends[i]))
			} else {
				t.null(8)
			}
			if err := t.endRow(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *exporter) evaluationsTable(ctx context.Context, t *table) error {
	for _, r := range x.runs {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := x.db.EachEvaluation(ctx, r.ID, func(e metrics.EvalRecord) error {
			t.i64(0, r.ID)
			t.str(1, e.Variant)
			t.i64(2, int64(e.Iteration))
			t.i32(3, e.Training)
			t.i32(4, e.Evaluated)
			t.boolean(5, e.Evaluated <= e.Training)
			t.i64(6, int64(e.Correct))
			t.i64(7, int64(e.Total))
			t.f64(8, e.Accuracy())
			t.f64(9, e.LossSum)
			t.f64(10, e.LossSum/float64(e.Total))
			t.str(11, string(e.Subset))
			return t.endRow()
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *exporter) matrixTable(ctx context.Context, t *table) error {
	for _, r := range x.runs {
		if err := ctx.Err(); err != nil {
			return err
		}
		recs, err := x.db.Matrix(ctx, r.ID, "")
		if err != nil {
			return err
		}
		for _, m := range recs {
			t.i64(0, r.ID)
			t.str(1, m.Variant)
			t.i32(2, m.Row)
			t.i32(3, m.Col)
			t.i64(4, int64(m.Correct))
			t.i64(5, int64(m.Total))
			t.f64(6, m.Accuracy())
			t.f64(7, m.LossSum)
			if err := t.endRow(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *exporter) metricsTable(ctx context.Context, t *table) error {
	for _, r := range x.runs {
		if err := ctx.Err(); err != nil {
			return err
		}
		ms, err := x.db.Metrics(ctx, r.ID)
		if err != nil {
			return err
		}
		for _, m := range ms {
			t.i64(0, r.ID)
			t.str(1, m.Variant)
			t.str(2, m.Name)
			t.i32(3, m.K)
			t.i32(4, m.J)
			if m.Null {
				t.null(5)
			} else {
				t.f64(5, m.Value)
			}
			if err := t.endRow(); err != nil {
				return err
			}
		}
	}
	return nil
}

// gapKey identifies a gap event.
type gapKey struct {
	variant string
	j, k    int
}

// gapRow holds the stored gap metrics of one event (nil when NULL).
type gapRow struct {
	depth, ttt, recovery, r90, area *float64
}

func (x *exporter) gapTable(ctx context.Context, t *table) error {
	for _, r := range x.runs {
		if err := ctx.Err(); err != nil {
			return err
		}
		ms, err := x.db.Metrics(ctx, r.ID)
		if err != nil {
			return err
		}
		events := map[gapKey]*gapRow{}
		for _, m := range ms {
			if m.K == 0 || m.J == 0 {
				continue
			}
			key := gapKey{m.Variant, m.J, m.K}
			g := events[key]
			if g == nil {
				g = &gapRow{}
				events[key] = g
			}
			var v *float64
			if !m.Null {
				v = new(m.Value)
			}
			switch m.Name {
			case metrics.NameGapDepth:
				g.depth = v
			case metrics.NameGapTimeToTrough:
				g.ttt = v
			case metrics.NameGapRecovery:
				g.recovery = v
			case metrics.NameGapR90:
				g.r90 = v
			case metrics.NameGapArea:
				g.area = v
			}
		}
		if len(events) == 0 {
			continue
		}
		ends, err := x.db.Ends(ctx, r.ID)
		if err != nil {
			return err
		}
		end := func(j int) int { // e_j, e_0 = 0, -1 when unknown
			if j == 0 {
				return 0
			}
			if j <= len(ends) {
				return ends[j-1]
			}
			return -1
		}
		keys := make([]gapKey, 0, len(events))
		its := slices.Clone(ends)
		for key, g := range events {
			keys = append(keys, key)
			if g.ttt != nil && end(key.j-1) >= 0 {
				its = append(its, end(key.j-1)+int(*g.ttt))
			}
		}
		slices.SortFunc(keys, func(a, b gapKey) int {
			return cmp.Or(cmp.Compare(a.variant, b.variant), cmp.Compare(a.j, b.j), cmp.Compare(a.k, b.k))
		})
		slices.Sort(its)
		recs, err := x.db.EvaluationsAt(ctx, r.ID, slices.Compact(its))
		if err != nil {
			return err
		}
		type at struct {
			variant string
			t, k    int
		}
		acc := make(map[at]float64, len(recs))
		for _, e := range recs {
			acc[at{e.Variant, e.Iteration, e.Evaluated}] = e.Accuracy()
		}
		accAt := func(i int, variant string, it, k int) {
			if v, ok := acc[at{variant, it, k}]; ok && it >= 0 {
				t.f64(i, v)
			} else {
				t.null(i)
			}
		}
		for _, key := range keys {
			g := events[key]
			b, e := end(key.j-1), end(key.j)
			if b < 0 || e < 0 {
				continue // the transition never completed: no gap event
			}
			t.i64(0, r.ID)
			t.str(1, key.variant)
			t.i32(2, key.j)
			t.i32(3, key.k)
			t.i64(4, int64(b))
			t.i64(5, int64(e))
			accAt(6, key.variant, b, key.k)
			if g.ttt != nil {
				accAt(7, key.variant, b+int(*g.ttt), key.k)
				t.i64(8, int64(b+int(*g.ttt)))
			} else {
				t.null(7)
				t.null(8)
			}
			accAt(9, key.variant, e, key.k)
			optF64(t, 10, g.depth)
			optF64(t, 11, g.ttt)
			optF64(t, 12, g.recovery)
			optF64(t, 13, g.r90)
			optF64(t, 14, g.area)
			if err := t.endRow(); err != nil {
				return err
			}
		}
	}
	return nil
}
