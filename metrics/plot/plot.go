// Package plot draws the figures of continual-evaluation studies with
// gonum/plot, as PNG or SVG:
//
//   - [ExperienceAccuracy]: the accuracy on every experience over
//     iterations, experience boundaries marked, min-ACC of each experience
//     as a dashed horizontal line, mean ± sd across seeds as a band (the
//     figure of De Lange et al. 2023);
//   - [Compare]: one series (WC-ACC, average accuracy, ...) of several
//     configurations on one axis;
//   - [AccuracyMatrix]: the accuracy matrix R(i, j) as an annotated heat map;
//   - [Zoom]: the first N iterations after each experience boundary, one
//     panel per transition (the stability gap up close).
//
// Figures take their data as metrics.Input values (one per seed), so they
// are pure functions of the stored records; package metrics/report loads
// them from a database. Legends sit beside the axes, never over the data.
package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/cleval/cleval/metrics"
)

// Run is the records of one seed (one model variant).
type Run struct {
	Seed  uint64
	Input metrics.Input
}

// Group is the runs of one configuration, drawn as mean ± sd over seeds.
type Group struct {
	// Label names the configuration in titles and legends.
	Label string
	Runs  []Run
	// ExpLabels optionally name the experiences (index k-1), e.g.
	// "exp 1 {0,1}"; "exp k" otherwise.
	ExpLabels []string
}

func (g Group) expLabel(k int) string {
	if k-1 < len(g.ExpLabels) && g.ExpLabels[k-1] != "" {
		return g.ExpLabels[k-1]
	}
	return fmt.Sprintf("exp %d", k)
}

// numExp returns the common number of experiences of the group's runs.
func (g Group) numExp() (int, error) {
	if len(g.Runs) == 0 {
		return 0, fmt.Errorf("plot: group %q has no runs", g.Label)
	}
	T := g.Runs[0].Input.NumExperiences
	for _, r := range g.Runs {
		if r.Input.NumExperiences != T {
			return 0, fmt.Errorf("plot: group %q mixes runs of %d and %d experiences", g.Label, T, r.Input.NumExperiences)
		}
	}
	if T < 1 {
		return 0, fmt.Errorf("plot: group %q: %d experiences", g.Label, T)
	}
	return T, nil
}

// Options tunes a figure. Zero values are the defaults.
type Options struct {
	// Width and Height of the figure; default 8 × 4.5 inches (Zoom: 3
	// inches per row of panels; AccuracyMatrix: 6.5 × 5).
	Width, Height vg.Length
	// DPI of PNG output; default 150.
	DPI int
	// FontSize of tick labels and legends; titles are 1.2 times larger.
	// Default 10 points.
	FontSize vg.Length
	// Title replaces the default title.
	Title string
}

func (o Options) withDefaults(w, h vg.Length) Options {
	if o.Width == 0 {
		o.Width = w
	}
	if o.Height == 0 {
		o.Height = h
	}
	if o.DPI == 0 {
		o.DPI = 150
	}
	if o.FontSize == 0 {
		o.FontSize = vg.Points(10)
	}
	return o
}

// Figure is a rendered-on-demand figure.
type Figure struct {
	Width, Height vg.Length
	DPI           int
	draw          func(c draw.Canvas)
}

// Formats are the output formats of Write.
var Formats = []string{"png", "svg"}

// MaxPixels bounds the pixels of a PNG figure (width × height at its
// DPI): 100 megapixels, 400 MB of image.
const MaxPixels = 100_000_000

// Pixels returns the width and height of the figure in pixels at its DPI.
func (f *Figure) Pixels() (w, h float64) {
	return float64(f.Width/vg.Inch) * float64(f.DPI), float64(f.Height/vg.Inch) * float64(f.DPI)
}

// Write renders the figure as "png" or "svg".
func (f *Figure) Write(w io.Writer, format string) error {
	switch format {
	case "png":
		if pw, ph := f.Pixels(); !(pw*ph <= MaxPixels) {
			return fmt.Errorf("plot: the figure would be %.0f × %.0f pixels (%.2f × %.2f inches at %d dpi), more than %d megapixels: lower the resolution or the size",
				pw, ph, float64(f.Width/vg.Inch), float64(f.Height/vg.Inch), f.DPI, MaxPixels/1_000_000)
		}
		c := vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(f.DPI), vgimg.UseBackgroundColor(color.White))
		f.draw(draw.New(c))
		_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
		return err
	case "svg":
		c := vgsvg.New(f.Width, f.Height)
		dc := draw.New(c)
		dc.SetColor(color.White)
		dc.Fill(dc.Rectangle.Path())
		f.draw(dc)
		var b bytes.Buffer
		if _, err := c.WriteTo(&b); err != nil {
			return err
		}
		// Fonts are not embedded: let viewers without the Liberation fonts
		// fall back to a metric-compatible sans-serif font.
		_, err := w.Write(bytes.ReplaceAll(b.Bytes(), []byte("font-family:Liberation Sans;"), []byte("font-family:Liberation Sans,Arimo,Arial,Helvetica,sans-serif;")))
		return err
	}
	return fmt.Errorf("plot: format %q: must be png or svg", format)
}

// SVG returns the figure as SVG text.
func (f *Figure) SVG() ([]byte, error) {
	var b bytes.Buffer
	err := f.Write(&b, "svg")
	return b.Bytes(), err
}

// Save writes the figure to path in the format its extension names
// (.png or .svg), through a temporary file renamed at the end.
func (f *Figure) Save(path string) (err error) {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if !slices.Contains(Formats, format) {
		return fmt.Errorf("plot: %s: the extension must be .png or .svg", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := f.Write(tmp, format); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// palette10 is the Tableau 10 palette (matplotlib's default cycle).
var palette10 = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
}

// colorOf returns the i-th (0-based) colour of the cycle.
func colorOf(i int) color.RGBA { return palette10[i%len(palette10)] }

func withAlpha(c color.RGBA, a uint8) color.NRGBA { return color.NRGBA{c.R, c.G, c.B, a} }

var (
	gray  = color.RGBA{0x70, 0x70, 0x70, 0xff}
	light = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
)

func sans(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// newPlot returns a plot with readable sans-serif text and a light grid.
func newPlot(o Options, title, xlabel, ylabel string) *plot.Plot {
	p := styledPlot(o, title, xlabel, ylabel)
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = light, light
	grid.Vertical.Width, grid.Horizontal.Width = vg.Points(0.5), vg.Points(0.5)
	p.Add(grid)
	return p
}

// styledPlot returns a plot with readable sans-serif text.
func styledPlot(o Options, title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(o.FontSize * 1.2)
	p.Title.Padding = o.FontSize / 2
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(o.FontSize * 1.1)
		a.Tick.Label.Font = sans(o.FontSize)
		a.Padding = 0
	}
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	return p
}

func newLegend(o Options) plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font = sans(o.FontSize)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = vg.Points(22)
	l.Padding = o.FontSize * 0.3
	return l
}

// layout draws plots (a grid of panels, nil entries left empty) with the
// legend in a strip on the right of the axes, and an optional super-title
// above the panels.
func layout(o Options, panels [][]*plot.Plot, legend *plot.Legend, suptitle string) func(c draw.Canvas) {
	return func(c draw.Canvas) {
		pad := o.FontSize
		area := draw.Crop(c, pad/2, -pad/2, pad/2, -pad/2)
		if legend != nil {
			r := legend.Rectangle(area)
			w := r.Max.X - r.Min.X + pad
			lc := draw.Crop(area, area.Max.X-area.Min.X-w+pad/2, 0, 0, -2*pad)
			legend.Draw(lc)
			area = draw.Crop(area, 0, -w, 0, 0)
		}
		if suptitle != "" {
			sty := draw.TextStyle{Color: color.Black, Font: sans(o.FontSize * 1.25), XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
			area.FillText(sty, vg.Point{X: (area.Min.X + area.Max.X) / 2, Y: area.Max.Y}, suptitle)
			area = draw.Crop(area, 0, 0, 0, -sty.Height(suptitle)-pad/2)
		}
		rows, cols := len(panels), 0
		for _, r := range panels {
			cols = max(cols, len(r))
		}
		if rows == 1 && cols == 1 {
			panels[0][0].Draw(area)
			return
		}
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: pad, PadY: pad}
		canvases := plot.Align(panels, tiles, area)
		for i, r := range panels {
			for j, p := range r {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
	}
}

// band is a series aggregated over seeds at each x.
type band struct {
	x, mean, lo, hi []float64
	n               []int // seeds with a defined value at x
}

// aggregate averages series of points (one per seed) at equal T; shift[i]
// is subtracted from the T of series i (nil: no shift). Points outside
// [xmin, xmax] after the shift are dropped.
func aggregate(series [][]metrics.Point, shift []int, xmin, xmax float64) band {
	vals := map[int][]float64{}
	for i, s := range series {
		d := 0
		if shift != nil {
			d = shift[i]
		}
		for _, p := range s {
			x := p.T - d
			if float64(x) < xmin || float64(x) > xmax {
				continue
			}
			if _, ok := vals[x]; !ok {
				vals[x] = nil
			}
			if !p.Null {
				vals[x] = append(vals[x], p.Value)
			}
		}
	}
	xs := make([]int, 0, len(vals))
	for x := range vals {
		xs = append(xs, x)
	}
	sort.Ints(xs)
	var b band
	for _, x := range xs {
		s := metrics.Summarize(vals[x])
		sd := s.SD
		if math.IsNaN(sd) {
			sd = 0
		}
		b.x = append(b.x, float64(x))
		b.mean = append(b.mean, 100*s.Mean)
		// Accuracies live in [0, 100]: clip the band, not the mean.
		b.lo = append(b.lo, math.Max(0, 100*(s.Mean-sd)))
		b.hi = append(b.hi, math.Min(100, 100*(s.Mean+sd)))
		b.n = append(b.n, s.N)
	}
	return b
}

// add draws the band: a translucent polygon for ± sd and the mean line,
// broken where no seed has a value. It returns the thumbnails for a legend
// entry (nil when nothing was drawn).
func (b band) add(p *plot.Plot, c color.RGBA, width vg.Length, dashes []vg.Length) []plot.Thumbnailer {
	var thumbs []plot.Thumbnailer
	start := -1
	flush := func(end int) { // segment [start, end)
		if start < 0 || end-start < 1 {
			start = -1
			return
		}
		line := make(plotter.XYs, 0, end-start)
		poly := make(plotter.XYs, 0, 2*(end-start))
		spread := false
		for i := start; i < end; i++ {
			line = append(line, plotter.XY{X: b.x[i], Y: b.mean[i]})
			poly = append(poly, plotter.XY{X: b.x[i], Y: b.hi[i]})
			spread = spread || b.n[i] > 1 && b.hi[i] > b.lo[i]
		}
		for i := end - 1; i >= start; i-- {
			poly = append(poly, plotter.XY{X: b.x[i], Y: b.lo[i]})
		}
		if spread {
			pg, err := plotter.NewPolygon(poly)
			if err == nil {
				pg.Color = withAlpha(c, 0x40)
				pg.LineStyle.Width = 0
				p.Add(pg)
				if thumbs == nil {
					thumbs = append(thumbs, pg)
				}
			}
		}
		l, err := plotter.NewLine(line)
		if err == nil {
			l.LineStyle.Color = c
			l.LineStyle.Width = width
			l.LineStyle.Dashes = dashes
			p.Add(l)
			if len(thumbs) < 2 {
				thumbs = append(thumbs, l)
			}
		}
		start = -1
	}
	for i := range b.x {
		if b.n[i] == 0 {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
		}
	}
	flush(len(b.x))
	return thumbs
}

func vline(p *plot.Plot, x, y0, y1 float64, c color.Color, dashes []vg.Length) *plotter.Line {
	l, _ := plotter.NewLine(plotter.XYs{{X: x, Y: y0}, {X: x, Y: y1}})
	l.LineStyle.Color = c
	l.LineStyle.Width = vg.Points(0.8)
	l.LineStyle.Dashes = dashes
	p.Add(l)
	return l
}

func hline(p *plot.Plot, x0, x1, y float64, c color.Color, dashes []vg.Length) *plotter.Line {
	l, _ := plotter.NewLine(plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}})
	l.LineStyle.Color = c
	l.LineStyle.Width = vg.Points(1.2)
	l.LineStyle.Dashes = dashes
	p.Add(l)
	return l
}

var (
	dashed = []vg.Length{vg.Points(5), vg.Points(3)}
	dotted = []vg.Length{vg.Points(1.5), vg.Points(2.5)}
)

// sharedEnds returns the experience ends common to every run, or nil when
// they differ.
func sharedEnds(groups ...Group) []int {
	var ends []int
	for gi, g := range groups {
		for ri, r := range g.Runs {
			if gi == 0 && ri == 0 {
				ends = r.Input.Ends
				continue
			}
			if !slices.Equal(ends, r.Input.Ends) {
				return nil
			}
		}
	}
	return ends
}

// lastT returns the largest evaluation iteration of the group's runs.
func lastT(gs ...Group) int {
	t := 0
	for _, g := range gs {
		for _, r := range g.Runs {
			for _, e := range r.Input.Evals {
				t = max(t, e.Iteration)
			}
		}
	}
	return t
}

func seedsNote(g Group) string {
	if len(g.Runs) == 1 {
		return fmt.Sprintf("seed %d", g.Runs[0].Seed)
	}
	return fmt.Sprintf("mean ± sd over %d seeds", len(g.Runs))
}

// accuracyAxis fixes the y axis to 0..100 with labels every 20 %. Call it
// after adding the plotters (Add widens the axes to the data).
func accuracyAxis(p *plot.Plot) {
	p.Y.Min, p.Y.Max = 0, 100
	var ticks []plot.Tick
	for v := 0; v <= 100; v += 10 {
		t := plot.Tick{Value: float64(v)}
		if v%20 == 0 {
			t.Label = fmt.Sprint(v)
		}
		ticks = append(ticks, t)
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
}

// ErrNoData is returned (wrapped) when a figure would be empty.
var ErrNoData = errors.New("nothing to plot")
