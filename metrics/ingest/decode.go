package ingest

import (
	"encoding/json"
	"math"
	"slices"
	"strings"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

// decoder turns rows into records, checking every value.
type decoder struct {
	r         *resolver
	file      string
	offset    int    // added to experience indices: 1 - base
	run       string // the run of rows without a run column
	zeroBased bool
}

// rowErr is an error about field f of the current row.
func (d *decoder) rowErr(src source, field, format string, args ...any) error {
	col := ""
	if field != "" {
		col = d.r.label(field)
	}
	return inputErr(d.file, src.pos(), col, format, args...)
}

func (d *decoder) expIndex(src source, field string, v value, min int) (int, error) {
	n, msg := v.integer()
	if msg != "" {
		return 0, d.rowErr(src, field, "%s", msg)
	}
	k := n + int64(d.offset)
	if k < int64(min) || k > 1<<30 {
		base := "from 1 (declare 0-based numbering with --exp-base 0)"
		if d.zeroBased {
			base = "from 0 (--exp-base 0)"
		}
		lowest := min - d.offset
		return 0, d.rowErr(src, field, "%d: must be >= %d (experiences are numbered %s)", n, lowest, base)
	}
	return int(k), nil
}

func (d *decoder) count(src source, field string, v value, min int64) (int, error) {
	n, msg := v.integer()
	if msg != "" {
		return 0, d.rowErr(src, field, "%s", msg)
	}
	if n < min || n > 1<<52 {
		return 0, d.rowErr(src, field, "%d: must be >= %d", n, min)
	}
	return int(n), nil
}

func (d *decoder) finite(src source, field string, v value) (float64, error) {
	f, msg := v.float()
	if msg != "" {
		return 0, d.rowErr(src, field, "%s", msg)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, d.rowErr(src, field, "%v: must be finite", f)
	}
	return f, nil
}

func (d *decoder) name(src source, field string, v value) (string, error) {
	s, msg := v.text()
	if msg != "" {
		return "", d.rowErr(src, field, "%s", msg)
	}
	if s == "" {
		return "", d.rowErr(src, field, "empty name")
	}
	return s, nil
}

// scores gathers the columns the evaluations and the matrix share: the
// counts (correct or accuracy, and total) and the loss (mean or sum).
type scores struct {
	correct, total                                     int
	acc, loss, lossSum                                 float64
	haveCorrect, haveAcc, haveTotal, haveLoss, haveSum bool
	fCorrect, fAcc                                     string // the columns' names in the file
}

func newScores() scores { return scores{fCorrect: "correct", fAcc: "accuracy"} }

// column decodes v into s when c is one of the shared columns, and
// reports whether it was.
func (d *decoder) column(src source, f string, c col, v value, s *scores) (bool, error) {
	var err error
	switch c {
	case colCorrect:
		s.correct, err = d.count(src, f, v, 0)
		s.haveCorrect, s.fCorrect = true, f
	case colTotal:
		s.total, err = d.count(src, f, v, 1)
		s.haveTotal = true
	case colAccuracy:
		s.acc, err = d.finite(src, f, v)
		s.haveAcc, s.fAcc = true, f
	case colLoss:
		s.loss, err = d.finite(src, f, v)
		s.haveLoss = true
	case colLossSum:
		s.lossSum, err = d.finite(src, f, v)
		s.haveSum = true
	default:
		return false, nil
	}
	return true, err
}

// finish checks correct (or accuracy) against total and returns correct
// and the loss sum (the mean loss times total when only the mean is
// given).
func (d *decoder) finish(src source, s *scores) (int, float64, error) {
	if s.haveLoss && !s.haveSum {
		s.lossSum = s.loss * float64(s.total)
	}
	correct, total, acc := s.correct, s.total, s.acc
	correctF, accF := s.fCorrect, s.fAcc
	haveCorrect := s.haveCorrect
	if s.haveAcc {
		if acc < 0 || acc > 1 {
			hint := ""
			if acc > 1 && acc <= 100 {
				hint = " (accuracies are fractions: divide percentages by 100)"
			}
			return 0, 0, d.rowErr(src, accF, "%v: must be in [0, 1]%s", acc, hint)
		}
		n := math.Round(acc * float64(total))
		if !haveCorrect {
			if math.Abs(acc*float64(total)-n) > 1e-6*math.Max(1, float64(total)) {
				return 0, 0, d.rowErr(src, accF, "%v × total %d = %v is not a whole number of samples: give correct, or accuracies with more digits", acc, total, acc*float64(total))
			}
			correct = int(n)
		} else if math.Abs(acc-float64(correct)/float64(total)) > 1e-9 {
			return 0, 0, d.rowErr(src, accF, "%v, but correct/total = %d/%d = %v", acc, correct, total, float64(correct)/float64(total))
		}
	}
	if correct > total {
		return 0, 0, d.rowErr(src, correctF, "%d > total %d", correct, total)
	}
	return correct, s.lossSum, nil
}

// evalRow is one decoded row of the evaluations table.
type evalRow struct {
	run string
	metrics.EvalRecord
}

func (d *decoder) evalRow(src source, fields []string, cols []col, out *evalRow) error {
	*out = evalRow{run: d.run, EvalRecord: metrics.EvalRecord{Variant: metrics.VariantLive}}
	var (
		err                           error
		haveIter, haveTrain, haveEval bool
		sc                            = newScores()
	)
	for i, c := range cols {
		v := src.value(i)
		f := fields[i]
		if v.k == kNull {
			if c == colRun || c == colIteration || c == colTraining || c == colEval || c == colTotal {
				return d.rowErr(src, f, "missing value")
			}
			continue
		}
		if ok, err := d.column(src, f, c, v, &sc); ok {
			if err != nil {
				return err
			}
			continue
		}
		switch c {
		case colRun:
			out.run, err = d.name(src, f, v)
		case colVariant:
			out.Variant, err = d.name(src, f, v)
		case colIteration:
			var n int
			n, err = d.count(src, f, v, 0)
			out.Iteration, haveIter = n, true
		case colTraining:
			out.Training, err = d.expIndex(src, f, v, 1)
			haveTrain = true
		case colEval:
			out.Evaluated, err = d.expIndex(src, f, v, 1)
			haveEval = true
		case colSubset:
			var s string
			s, err = d.name(src, f, v)
			if err == nil {
				out.Subset, err = d.subset(src, f, s)
			}
		}
		if err != nil {
			return err
		}
	}
	for _, need := range []struct {
		ok   bool
		name string
	}{{haveIter, "iteration"}, {haveTrain, "training_exp"}, {haveEval, "eval_exp"}, {sc.haveTotal, "total"}, {sc.haveCorrect || sc.haveAcc, "correct or accuracy"}} {
		if !need.ok {
			return inputErr(d.file, src.pos(), need.name, "missing (table evaluations needs %s)", strings.Join(requiredNames(TableEvaluations), ", "))
		}
	}
	out.Total = sc.total
	out.Correct, out.LossSum, err = d.finish(src, &sc)
	return err
}

func (d *decoder) subset(src source, f, s string) (metrics.Subset, error) {
	switch sub := metrics.Subset(s); sub {
	case metrics.SubsetFixed, metrics.SubsetResampled, metrics.SubsetValidation:
		return sub, nil
	}
	return "", d.rowErr(src, f, "%q: must be fixed, resampled or validation", s)
}

// matrixRow is one decoded row of the accuracy_matrix table.
type matrixRow struct {
	run string
	metrics.MatrixRecord
}

func (d *decoder) matrixRow(src source, fields []string, cols []col, out *matrixRow) error {
	*out = matrixRow{run: d.run, MatrixRecord: metrics.MatrixRecord{Variant: metrics.VariantLive}}
	var (
		err              error
		haveRow, haveCol bool
		sc               = newScores()
	)
	for i, c := range cols {
		v := src.value(i)
		f := fields[i]
		if v.k == kNull {
			if c == colRun || c == colRow || c == colCol || c == colTotal {
				return d.rowErr(src, f, "missing value")
			}
			continue
		}
		if ok, err := d.column(src, f, c, v, &sc); ok {
			if err != nil {
				return err
			}
			continue
		}
		switch c {
		case colRun:
			out.run, err = d.name(src, f, v)
		case colVariant:
			out.Variant, err = d.name(src, f, v)
		case colRow:
			out.Row, err = d.expIndex(src, f, v, 0)
			haveRow = true
		case colCol:
			out.Col, err = d.expIndex(src, f, v, 1)
			haveCol = true
		}
		if err != nil {
			return err
		}
	}
	for _, need := range []struct {
		ok   bool
		name string
	}{{haveRow, "row_exp"}, {haveCol, "col_exp"}, {sc.haveTotal, "total"}, {sc.haveCorrect || sc.haveAcc, "correct or accuracy"}} {
		if !need.ok {
			return inputErr(d.file, src.pos(), need.name, "missing (table accuracy_matrix needs %s)", strings.Join(requiredNames(TableMatrix), ", "))
		}
	}
	out.Total = sc.total
	out.Correct, out.LossSum, err = d.finish(src, &sc)
	return err
}

// expRow is one decoded row of the experiences table.
type expRow struct {
	run string
	store.ExperienceRow
}

func (d *decoder) expRow(src source, fields []string, cols []col, out *expRow) error {
	*out = expRow{run: d.run}
	haveExp := false
	var err error
	opt := func(f string, v value, min int64) (*int, error) {
		n, err := d.count(src, f, v, min)
		return &n, err
	}
	for i, c := range cols {
		v := src.value(i)
		f := fields[i]
		if v.k == kNull {
			if c == colRun || c == colExp {
				return d.rowErr(src, f, "missing value")
			}
			continue
		}
		switch c {
		case colRun:
			out.run, err = d.name(src, f, v)
		case colExp:
			out.Exp, err = d.expIndex(src, f, v, 1)
			haveExp = true
		case colEnd:
			out.End, err = opt(f, v, 1)
		case colClasses:
			var msg string
			if out.Classes, msg = v.ints(); msg != "" {
				err = d.rowErr(src, f, "%s", msg)
			}
		case colTask:
			var n int
			n, err = d.count(src, f, v, 0)
			out.Task = n
		case colTrainSize:
			out.TrainSize, err = opt(f, v, 0)
		case colTestSize:
			out.TestSize, err = opt(f, v, 0)
		case colEvalSize:
			out.EvalSize, err = opt(f, v, 0)
		}
		if err != nil {
			return err
		}
	}
	if !haveExp {
		return inputErr(d.file, src.pos(), "exp", "missing (table experiences needs exp)")
	}
	return nil
}

// metaRow is one decoded row of the runs table: the run and its metadata
// as a JSON object (the format's names for the known columns, the others
// as configuration keys).
type metaRow struct {
	run  string
	meta map[string]json.RawMessage
}

func (d *decoder) metaRow(src source, fields []string, cols []col, out *metaRow) error {
	*out = metaRow{run: d.run, meta: map[string]json.RawMessage{}}
	for i, c := range cols {
		v := src.value(i)
		f := fields[i]
		switch c {
		case colDrop, colTable:
			continue
		case colRun:
			if v.k == kNull {
				return d.rowErr(src, f, "missing value")
			}
			var err error
			if out.run, err = d.name(src, f, v); err != nil {
				return err
			}
			continue
		}
		if v.k == kNull {
			continue
		}
		name, _ := d.r.name(f)
		out.meta[name] = v.json()
	}
	return nil
}

// tableOf returns the table of a JSON Lines row from its "table" field;
// without one, the file's table (fileTable, an error when that is
// TableAuto).
func (d *decoder) tableOf(src source, fields []string, fileTable Table) (Table, error) {
	for i, f := range fields {
		if name, _ := d.r.name(f); name == "table" {
			s, msg := src.value(i).text()
			if msg != "" {
				return 0, d.rowErr(src, f, "%s", msg)
			}
			t, ok := ParseTable(s)
			if !ok {
				return 0, d.rowErr(src, f, "%q: must be evaluations, accuracy_matrix, runs or experiences", s)
			}
			return t, nil
		}
	}
	if fileTable != TableAuto {
		return fileTable, nil
	}
	return 0, inputErr(d.file, src.pos(), "table", "missing: the file name does not say which table the file holds, so every line needs \"table\": \"evaluations\" (or accuracy_matrix, runs, experiences)")
}

// sortedVariants orders variants live first, then by name.
func sortedVariants(vs []string) []string {
	out := slices.Clone(vs)
	slices.SortFunc(out, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == metrics.VariantLive:
			return -1
		case b == metrics.VariantLive:
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}
