package plot

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cleval/cleval/metrics"
)

// minACCPerExp returns, for k = 1..T-1, the mean over seeds of the final
// min-ACC_k (NaN when no seed has it). Interrupted runs have none.
func minACCPerExp(g Group, T int) []float64 {
	out := make([]float64, T+1)
	for k := 1; k < T; k++ {
		var vals []float64
		for _, r := range g.Runs {
			if r.Input.Status == metrics.StatusInterrupted {
				continue
			}
			vs, err := metrics.Compute(r.Input)
			if err != nil {
				continue
			}
			for _, v := range vs {
				if v.Name == metrics.NameMinACC && v.K == k && !v.Null {
					vals = append(vals, v.Value)
				}
			}
		}
		out[k] = metrics.Summarize(vals).Mean
	}
	return out
}

// ExperienceAccuracy draws A_k(t), the accuracy on each experience k over
// the iterations (from the evaluation just before k starts), as mean ± sd
// over the group's seeds; dotted vertical lines mark the experience
// boundaries e_k and a dashed horizontal line in the colour of k marks its
// final min-ACC_k from e_k to the end.
func ExperienceAccuracy(g Group, opt Options) (*Figure, error) {
	T, err := g.numExp()
	if err != nil {
		return nil, err
	}
	o := opt.withDefaults(8*vg.Inch, 4.5*vg.Inch)
	title := o.Title
	if title == "" {
		title = fmt.Sprintf("Accuracy per experience: %s (%s)", g.Label, seedsNote(g))
	}
	p := newPlot(o, title, "iteration (parameter updates)", "accuracy (%)")
	legend := newLegend(o)
	end := float64(lastT(g))
	ends := sharedEnds(g)
	drawnExp := 0
	for k := 1; k <= T; k++ {
		series := make([][]metrics.Point, 0, len(g.Runs))
		for _, r := range g.Runs {
			s, err := metrics.AccSeries(r.Input, k)
			if err != nil {
				return nil, fmt.Errorf("plot: %s seed %d: %w", g.Label, r.Seed, err)
			}
			series = append(series, s)
		}
		b := aggregate(series, nil, math.Inf(-1), math.Inf(1))
		if thumbs := b.add(p, colorOf(k-1), vg.Points(1.2), nil); thumbs != nil {
			legend.Add(g.expLabel(k), thumbs...)
			drawnExp++
		}
	}
	minK := minACCPerExp(g, T)
	drewMin := false
	for k := 1; k < T && k <= len(ends); k++ {
		if !math.IsNaN(minK[k]) {
			hline(p, float64(ends[k-1]), end, 100*minK[k], colorOf(k-1), dashed)
			drewMin = true
		}
	}
	if drewMin {
		l, _ := plotter.NewLine(plotter.XYs{{}, {}})
		l.LineStyle.Color, l.LineStyle.Width, l.LineStyle.Dashes = gray, vg.Points(1.2), dashed
		legend.Add("min-ACC of exp k", l)
	}
	var boundary *plotter.Line
	for i, e := range ends {
		if i < T-1 {
			boundary = vline(p, float64(e), 0, 100, gray, dotted)
		}
	}
	if boundary != nil {
		legend.Add("experience end", boundary)
	}
	if drawnExp == 0 {
		return nil, fmt.Errorf("plot: %s: %w (no evaluation records)", g.Label, ErrNoData)
	}
	accuracyAxis(p)
	p.X.Min, p.X.Max = 0, end
	return &Figure{Width: o.Width, Height: o.Height, DPI: o.DPI, draw: layout(o, [][]*plot.Plot{{p}}, &legend, "")}, nil
}

// Series names a per-iteration series of package metrics for Compare.
type Series string

const (
	SeriesWCACC   Series = "wc_acc"   // metrics.WCACCSeries
	SeriesAvgAcc  Series = "avg_acc"  // metrics.AvgAccSeries
	SeriesMinACC  Series = "min_acc"  // metrics.MinACCSeries
	SeriesAccSeen Series = "acc_seen" // metrics.AccSeenSeries
	SeriesAAA     Series = "aaa"      // metrics.AAASeries
)

// SeriesNames lists the series Compare draws.
var SeriesNames = []Series{SeriesWCACC, SeriesAvgAcc, SeriesMinACC, SeriesAccSeen, SeriesAAA}

func (s Series) describe() (func(metrics.Input) ([]metrics.Point, error), string, error) {
	switch s {
	case SeriesWCACC:
		return metrics.WCACCSeries, "WC-ACC, the worst-case accuracy,", nil
	case SeriesAvgAcc:
		return metrics.AvgAccSeries, "average accuracy over seen experiences", nil
	case SeriesMinACC:
		return metrics.MinACCSeries, "min-ACC, mean over the finished experiences,", nil
	case SeriesAccSeen:
		return metrics.AccSeenSeries, "accuracy on the union of seen experiences", nil
	case SeriesAAA:
		return metrics.AAASeries, "running average anytime accuracy", nil
	}
	return nil, "", fmt.Errorf("plot: series %q: must be one of %v", s, SeriesNames)
}

// Compare draws one series for several groups on one axis, each as mean ±
// sd over its seeds, with the experience boundaries when all runs share
// them.
func Compare(groups []Group, s Series, opt Options) (*Figure, error) {
	fn, what, err := s.describe()
	if err != nil {
		return nil, err
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("plot: compare: %w (no groups)", ErrNoData)
	}
	o := opt.withDefaults(8*vg.Inch, 4.5*vg.Inch)
	title := o.Title
	if title == "" {
		title = what + " (mean ± sd over seeds)"
		title = strings.Replace(title, ", (", " (", 1)
	}
	p := newPlot(o, title, "iteration (parameter updates)", string(s)+" (%)")
	legend := newLegend(o)
	for i, g := range groups {
		if _, err := g.numExp(); err != nil {
			return nil, err
		}
		series := make([][]metrics.Point, 0, len(g.Runs))
		for _, r := range g.Runs {
			pts, err := fn(r.Input)
			if err != nil {
				return nil, fmt.Errorf("plot: %s seed %d: %w", g.Label, r.Seed, err)
			}
			series = append(series, pts)
		}
		b := aggregate(series, nil, math.Inf(-1), math.Inf(1))
		if thumbs := b.add(p, colorOf(i), vg.Points(1.4), nil); thumbs != nil {
			legend.Add(fmt.Sprintf("%s (n=%d)", g.Label, len(g.Runs)), thumbs...)
		}
	}
	if ends := sharedEnds(groups...); len(ends) > 1 {
		var l *plotter.Line
		for _, e := range ends[:len(ends)-1] {
			l = vline(p, float64(e), 0, 100, gray, dotted)
		}
		legend.Add("experience end", l)
	}
	accuracyAxis(p)
	p.X.Min, p.X.Max = 0, float64(lastT(groups...))
	return &Figure{Width: o.Width, Height: o.Height, DPI: o.DPI, draw: layout(o, [][]*plot.Plot{{p}}, &legend, "")}, nil
}

// matrixGrid is the mean accuracy matrix as a heat-map grid: column c is
// experience c+1, row r is R's row T-r (so row 0, the initial model, is at
// the top).
type matrixGrid struct {
	T int
	R [][]float64 // R[i][j-1], NaN when missing
}

func (m matrixGrid) Dims() (c, r int)   { return m.T, m.T + 1 }
func (m matrixGrid) Z(c, r int) float64 { return m.R[m.T-r][c] }
func (m matrixGrid) X(c int) float64    { return float64(c + 1) }
func (m matrixGrid) Y(r int) float64    { return float64(r) }

// AccuracyMatrix draws the accuracy matrix R(i, j) (mean over seeds; the
// row after experience i, the column the test set of experience j; row 0
// the initial model) as a heat map with each cell's value in %.
func AccuracyMatrix(g Group, opt Options) (*Figure, error) {
	T, err := g.numExp()
	if err != nil {
		return nil, err
	}
	o := opt.withDefaults(6.5*vg.Inch, 5*vg.Inch)
	sums := make([][][]float64, T+1)
	for i := range sums {
		sums[i] = make([][]float64, T)
	}
	any := false
	for _, r := range g.Runs {
		for _, m := range r.Input.Matrix {
			if m.Row >= 0 && m.Row <= T && m.Col >= 1 && m.Col <= T && m.Total > 0 {
				sums[m.Row][m.Col-1] = append(sums[m.Row][m.Col-1], m.Accuracy())
				any = true
			}
		}
	}
	if !any {
		return nil, fmt.Errorf("plot: %s: %w (no accuracy-matrix records)", g.Label, ErrNoData)
	}
	grid := matrixGrid{T: T, R: make([][]float64, T+1)}
	for i := range grid.R {
		grid.R[i] = make([]float64, T)
		for j := range grid.R[i] {
			grid.R[i][j] = metrics.Summarize(sums[i][j]).Mean
		}
	}
	title := o.Title
	if title == "" {
		title = fmt.Sprintf("Accuracy matrix: %s (%%, %s)", g.Label, meanNote(g))
	}
	p := styledPlot(o, title, "evaluated on the test set of", "model at the end of")
	hm := plotter.NewHeatMap(grid, blues(256))
	hm.Min, hm.Max = 0, 1
	hm.NaN = color.RGBA{0xee, 0xee, 0xee, 0xff}
	p.Add(hm)
	var xy plotter.XYs
	var labels []string
	var styles []text.Style
	for r := 0; r <= T; r++ {
		for c := 0; c < T; c++ {
			v := grid.Z(c, r)
			xy = append(xy, plotter.XY{X: grid.X(c), Y: grid.Y(r)})
			sty := text.Style{Font: sans(o.FontSize), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler, Color: color.Black}
			if math.IsNaN(v) {
				labels = append(labels, "–")
			} else {
				labels = append(labels, fmt.Sprintf("%.1f", 100*v))
				if v > 0.6 { // dark cells of the colour map
					sty.Color = color.White
				}
			}
			styles = append(styles, sty)
		}
	}
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: labels})
	if err != nil {
		return nil, err
	}
	lb.TextStyle = styles
	p.Add(lb)
	var xt, yt []plot.Tick
	for c := 0; c < T; c++ {
		xt = append(xt, plot.Tick{Value: grid.X(c), Label: g.expLabel(c + 1)})
	}
	for r := 0; r <= T; r++ {
		i := T - r
		label := "init"
		if i > 0 {
			label = g.expLabel(i)
		}
		yt = append(yt, plot.Tick{Value: grid.Y(r), Label: label})
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(xt), plot.ConstantTicks(yt)
	p.X.Min, p.X.Max = 0.5, float64(T)+0.5
	p.Y.Min, p.Y.Max = -0.5, float64(T)+0.5
	return &Figure{Width: o.Width, Height: o.Height, DPI: o.DPI, draw: layout(o, [][]*plot.Plot{{p}}, nil, "")}, nil
}

func meanNote(g Group) string {
	if len(g.Runs) == 1 {
		return fmt.Sprintf("seed %d", g.Runs[0].Seed)
	}
	return fmt.Sprintf("mean over %d seeds", len(g.Runs))
}

// DefaultZoom is the number of iterations after each boundary Zoom shows
// when n is 0.
const DefaultZoom = 50

// Zoom draws, for each transition into experience j >= 2, the accuracy of
// the earlier experiences k < j during the first n iterations after the
// boundary e_{j-1} (x = iterations since the boundary; 0 is the last
// evaluation before the switch), as mean ± sd over seeds, one panel per
// transition. n = 0 means DefaultZoom; the window stops at e_j.
func Zoom(g Group, n int, opt Options) (*Figure, error) {
	T, err := g.numExp()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("plot: zoom of %d iterations: must be >= 1", n)
	}
	if n == 0 {
		n = DefaultZoom
	}
	if T < 2 {
		return nil, fmt.Errorf("plot: %s: %w (one experience has no boundary to zoom on)", g.Label, ErrNoData)
	}
	panels := T - 1
	cols := int(math.Ceil(math.Sqrt(float64(panels))))
	rows := (panels + cols - 1) / cols
	o := opt.withDefaults(8*vg.Inch, vg.Length(rows)*3*vg.Inch+0.4*vg.Inch)
	legend := newLegend(o)
	added := map[int]bool{}
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	drawn, widest, cut := 0, 0, false
	for j := 2; j <= T; j++ {
		p := newPlot(o, fmt.Sprintf("into %s", g.expLabel(j)), "iterations since the boundary", "accuracy (%)")
		shift := make([]int, len(g.Runs))
		span := n
		ok := true
		for i, r := range g.Runs {
			if len(r.Input.Ends) < j-1 {
				ok = false // the run never reached this boundary
				break
			}
			shift[i] = r.Input.Ends[j-2]
			if len(r.Input.Ends) >= j {
				span = min(span, r.Input.Ends[j-1]-r.Input.Ends[j-2])
			}
		}
		if ok {
			for k := 1; k < j; k++ {
				series := make([][]metrics.Point, len(g.Runs))
				for i, r := range g.Runs {
					if series[i], err = metrics.AccSeries(r.Input, k); err != nil {
						return nil, fmt.Errorf("plot: %s seed %d: %w", g.Label, r.Seed, err)
					}
				}
				b := aggregate(series, shift, 0, float64(span))
				thumbs := b.add(p, colorOf(k-1), vg.Points(1.4), nil)
				if thumbs != nil && !added[k] {
					legend.Add(g.expLabel(k), thumbs...)
					added[k] = true
				}
			}
			drawn++
			widest = max(widest, span)
			cut = cut || span < n
		}
		accuracyAxis(p)
		p.X.Min, p.X.Max = 0, float64(span)
		grid[(j-2)/cols][(j-2)%cols] = p
	}
	if drawn == 0 {
		return nil, fmt.Errorf("plot: %s: %w (no run reached an experience boundary)", g.Label, ErrNoData)
	}
	title := o.Title
	if title == "" {
		// Say what the panels show: a window ends at the next boundary,
		// so experiences shorter than n show fewer iterations.
		what := fmt.Sprintf("first %d iterations after each boundary", widest)
		if cut && widest == n {
			what += " (or up to the next one)"
		} else if cut {
			what = fmt.Sprintf("iterations from each boundary to the next (at most %d)", widest)
		}
		title = fmt.Sprintf("Stability gap, %s: %s (%s)", what, g.Label, seedsNote(g))
	}
	return &Figure{Width: o.Width, Height: o.Height, DPI: o.DPI, draw: layout(o, grid, &legend, title)}, nil
}

// brewerBlues is ColorBrewer's sequential "Blues" (9 classes), light to
// dark.
var brewerBlues = []color.RGBA{
	{0xf7, 0xfb, 0xff, 0xff}, {0xde, 0xeb, 0xf7, 0xff}, {0xc6, 0xdb, 0xef, 0xff}, {0x9e, 0xca, 0xe1, 0xff},
	{0x6b, 0xae, 0xd6, 0xff}, {0x42, 0x92, 0xc6, 0xff}, {0x21, 0x71, 0xb5, 0xff}, {0x08, 0x51, 0x9c, 0xff},
	{0x08, 0x30, 0x6b, 0xff},
}

// bluesPalette interpolates brewerBlues linearly into n colours: accuracy 0
// is near white, 1 dark blue.
type bluesPalette []color.Color

func (p bluesPalette) Colors() []color.Color { return p }

func blues(n int) palette.Palette {
	out := make(bluesPalette, n)
	for i := range out {
		x := float64(i) / float64(n-1) * float64(len(brewerBlues)-1)
		lo := min(int(x), len(brewerBlues)-2)
		f := x - float64(lo)
		a, b := brewerBlues[lo], brewerBlues[lo+1]
		mix := func(u, v uint8) uint8 { return uint8(math.Round(float64(u)*(1-f) + float64(v)*f)) }
		out[i] = color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff}
	}
	return out
}
