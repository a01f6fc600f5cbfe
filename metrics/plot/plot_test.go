package plot

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/internal/testdb"
	"github.com/cleval/cleval/metrics/store"
)

var plotDir = flag.String("plots", "", "also save the test figures as PNG and SVG in this directory, to look at them")

// groups writes two configurations of three seeds and returns them as plot
// groups (live variant).
func groups(t *testing.T) []Group {
	t.Helper()
	path := filepath.Join(t.TempDir(), "runs.db")
	var runs []testdb.Run
	for seed := range uint64(3) {
		runs = append(runs,
			testdb.Run{Strategy: "naive", Seed: seed, Experiences: 4, ItersPerExp: 20},
			testdb.Run{Strategy: "er", Seed: seed, Experiences: 4, ItersPerExp: 20, Quality: 0.05})
	}
	ids, err := testdb.Write(path, runs...)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	gs := []Group{{Label: "naive"}, {Label: "er"}}
	for i, id := range ids {
		r, err := db.Run(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		in, err := db.Input(context.Background(), r, metrics.VariantLive)
		if err != nil {
			t.Fatal(err)
		}
		gs[i%2].Runs = append(gs[i%2].Runs, Run{Seed: r.Seed, Input: in})
	}
	return gs
}

// checkPNG decodes a PNG and checks its size and that it holds the
// colours of the data, not only white, grey and black.
func checkPNG(t *testing.T, name string, b []byte, w, h int, want ...color.RGBA) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got := img.Bounds().Size(); got != (image.Point{w, h}) {
		t.Errorf("%s: %v pixels, want %dx%d", name, got, w, h)
	}
	for _, c := range want {
		if !hasColor(img, c) {
			t.Errorf("%s: no pixel of colour %v", name, c)
		}
	}
}

func hasColor(img image.Image, c color.RGBA) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near8(r, c.R) && near8(g, c.G) && near8(bl, c.B) {
				return true
			}
		}
	}
	return false
}

func near8(v uint32, c uint8) bool {
	d := int(v>>8) - int(c)
	return d >= -3 && d <= 3
}

func render(t *testing.T, name string, f *Figure, err error) (pngBytes, svg []byte) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var p, s bytes.Buffer
	if err := f.Write(&p, "png"); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(&s, "svg"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(s.Bytes(), []byte("<svg")) || !bytes.Contains(s.Bytes(), []byte("</svg>")) {
		t.Errorf("%s: SVG output is not an SVG document", name)
	}
	if *plotDir != "" {
		for _, ext := range []string{".png", ".svg"} {
			if err := f.Save(filepath.Join(*plotDir, name+ext)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return p.Bytes(), s.Bytes()
}

func TestFigures(t *testing.T) {
	gs := groups(t)
	// 8 x 4.5 inches at 150 dpi.
	f, err := ExperienceAccuracy(gs[0], Options{})
	p, svg := render(t, "accuracy", f, err)
	checkPNG(t, "accuracy", p, 1200, 675, colorOf(0), colorOf(1), colorOf(2), colorOf(3))
	for _, s := range []string{"exp 1", "exp 4", "min-ACC of exp k", "experience end", "mean ± sd over 3 seeds"} {
		if !bytes.Contains(svg, []byte(s)) {
			t.Errorf("accuracy: SVG lacks the text %q", s)
		}
	}

	f, err = Compare(gs, SeriesWCACC, Options{})
	p, svg = render(t, "compare-wc_acc", f, err)
	checkPNG(t, "compare", p, 1200, 675, colorOf(0), colorOf(1))
	for _, s := range []string{"naive (n=3)", "er (n=3)", "WC-ACC"} {
		if !bytes.Contains(svg, []byte(s)) {
			t.Errorf("compare: SVG lacks the text %q", s)
		}
	}
	for _, s := range SeriesNames {
		f, err := Compare(gs, s, Options{Width: 400, Height: 300})
		render(t, "compare-"+string(s), f, err)
	}

	f, err = AccuracyMatrix(gs[1], Options{})
	p, svg = render(t, "matrix", f, err)
	// The fixture's accuracies are high: the cells of R(i, i) are dark.
	checkPNG(t, "matrix", p, 975, 750, blues(256).Colors()[216].(color.RGBA))
	if !bytes.Contains(svg, []byte("init")) {
		t.Error("matrix: no row for the initial model")
	}

	f, err = Zoom(gs[0], 10, Options{})
	p, svg = render(t, "zoom", f, err)
	// Three transitions: a 2 x 2 grid, 2 x 3 + 0.4 inches high.
	checkPNG(t, "zoom", p, 1200, 960, colorOf(0), colorOf(1), colorOf(2))
	for _, s := range []string{"into exp 2", "into exp 4", "first 10 iterations"} {
		if !bytes.Contains(svg, []byte(s)) {
			t.Errorf("zoom: SVG lacks the text %q", s)
		}
	}
}

func TestBadInput(t *testing.T) {
	gs := groups(t)
	if _, err := ExperienceAccuracy(Group{Label: "empty"}, Options{}); err == nil || !strings.Contains(err.Error(), "no runs") {
		t.Errorf("empty group: %v", err)
	}
	if _, err := Compare(gs, "nope", Options{}); err == nil {
		t.Error("unknown series: no error")
	}
	if _, err := Zoom(gs[0], -1, Options{}); err == nil {
		t.Error("negative zoom: no error")
	}
	one := Group{Label: "one", Runs: []Run{{Input: metrics.Input{NumExperiences: 1, Ends: []int{3}, Evals: []metrics.EvalRecord{
		{Iteration: 0, Training: 1, Evaluated: 1, Variant: "live", Correct: 1, Total: 2},
		{Iteration: 3, Training: 1, Evaluated: 1, Variant: "live", Correct: 2, Total: 2},
	}}}}}
	if _, err := Zoom(one, 0, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("zoom of one experience: %v, want ErrNoData", err)
	}
	if _, err := AccuracyMatrix(one, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("matrix without records: %v, want ErrNoData", err)
	}
	if f, err := ExperienceAccuracy(one, Options{}); err != nil {
		t.Errorf("accuracy of one experience: %v", err)
	} else if err := f.Write(&bytes.Buffer{}, "pdf"); err == nil {
		t.Error("format pdf: no error")
	} else if err := f.Save(filepath.Join(t.TempDir(), "x.jpg")); err == nil {
		t.Error("extension .jpg: no error")
	}
	mixed := Group{Label: "mixed", Runs: append(append([]Run{}, gs[0].Runs...), one.Runs...)}
	if _, err := ExperienceAccuracy(mixed, Options{}); err == nil || !strings.Contains(err.Error(), "mixes") {
		t.Errorf("mixed experiences: %v", err)
	}
}

func TestSaveLeavesNoTemporaryFile(t *testing.T) {
	gs := groups(t)
	f, err := ExperienceAccuracy(gs[0], Options{Width: 300, Height: 200})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := f.Save(filepath.Join(dir, "a.png")); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(filepath.Join(dir, "missing", "a.png")); err == nil {
		t.Error("save into a missing directory: no error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "a.png" {
		t.Errorf("directory holds %v", entries)
	}
}

// TestZoomTitleSaysWhatItShows: with experiences of 20 iterations, a zoom
// of 50 shows the 20 iterations to the next boundary, and the title says
// so instead of "first 50 iterations".
func TestZoomTitleSaysWhatItShows(t *testing.T) {
	gs := groups(t)
	f, err := Zoom(gs[0], 50, Options{})
	if err != nil {
		t.Fatal(err)
	}
	svg, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(svg, []byte("first 50 iterations")) || !bytes.Contains(svg, []byte("iterations from each boundary to the next (at most 20)")) {
		t.Errorf("zoom of 50 on experiences of 20 iterations: the title does not say what it shows")
	}
}

// TestTooManyPixelsIsAnError: a PNG larger than MaxPixels is refused
// before the image is allocated.
func TestTooManyPixelsIsAnError(t *testing.T) {
	gs := groups(t)
	f, err := ExperienceAccuracy(gs[0], Options{Width: 50 * vg.Inch, Height: 50 * vg.Inch, DPI: 1200})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Write(&bytes.Buffer{}, "png"); err == nil || !strings.Contains(err.Error(), "megapixels") {
		t.Errorf("a 60000 × 60000 pixel PNG: %v", err)
	}
}
