package report

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
)

// csvHeader is the one table WriteCSV prints: kind is summary, compare or
// success; values are in the metric's unit (fractions, iterations).
var csvHeader = []string{"kind", "group", "label", "config_group", "vs_group", "variant", "metric", "k", "j", "unit",
	"n", "nulls", "mean", "sd", "ci_low", "ci_high", "t", "p", "criterion", "successes", "ci"}

func num(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// WriteCSV prints one tidy table with a row per metric and group (kind
// summary), per metric and compared pair (kind compare: mean is the mean
// difference A - B) and per criterion and group (kind success: mean is the
// fraction, ci_* its Wilson interval). Undefined values are empty. The last
// column, ci, names the interval: t, bca, percentile or wilson.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	for _, s := range r.Stats {
		cw.Write([]string{"summary", strconv.Itoa(s.Group.ID), s.Group.Label, s.Group.Key, "", s.Variant, s.Name,
			strconv.Itoa(s.K), strconv.Itoa(s.J), Unit(s.Name), strconv.Itoa(s.N), strconv.Itoa(s.Nulls),
			num(s.Mean), num(s.SD), num(s.Low), num(s.High), "", "", "", "", r.CI.String()})
	}
	for _, c := range r.Comparisons {
		for _, cr := range c.Rows {
			cw.Write([]string{"compare", strconv.Itoa(c.A.ID), c.A.Label, c.A.Key, strconv.Itoa(c.B.ID), cr.Variant, cr.Name,
				strconv.Itoa(cr.K), strconv.Itoa(cr.J), Unit(cr.Name), strconv.Itoa(cr.N), "",
				num(cr.MeanDiff), num(cr.SD), num(cr.Low), num(cr.High), num(cr.T), num(cr.P), "", "", r.CI.String()})
		}
	}
	for _, s := range r.Success {
		cw.Write([]string{"success", strconv.Itoa(s.Group.ID), s.Group.Label, s.Group.Key, "", s.Criterion.Variant, s.Criterion.Name,
			strconv.Itoa(s.Criterion.K), strconv.Itoa(s.Criterion.J), "fraction", strconv.Itoa(s.N), strconv.Itoa(s.Nulls),
			num(s.P), "", num(s.Low), num(s.High), "", "", s.Criterion.Text, strconv.Itoa(s.Successes), "wilson"})
	}
	cw.Flush()
	return cw.Error()
}
