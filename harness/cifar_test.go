package harness

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/streams"
)

// writeSmallCIFAR writes a small learnable set of f's files into dir in the exact
// binary format (datasets.CIFARFormat.WriteSynthetic).
func writeSmallCIFAR(t testing.TB, dir string, f datasets.CIFARFormat, perClass int) {
	t.Helper()
	if err := f.WriteSynthetic(dir, perClass); err != nil {
		t.Fatal(err)
	}
}

// smallCIFAR returns a Data whose named CIFAR datasets are small copies in
// the binary format, read by the real reader (any number of records).
func smallCIFAR(t testing.TB) *Data {
	root := t.TempDir()
	writeSmallCIFAR(t, filepath.Join(root, "cifar10"), datasets.CIFAR10, 1)
	writeSmallCIFAR(t, filepath.Join(root, "cifar100"), datasets.CIFAR100, 2)
	return &Data{Load: func(name string, _ datasets.LocateOptions) (datasets.Pair, error) {
		f, ok := datasets.CIFARFormatOf(name)
		if !ok {
			return datasets.Load(name, datasets.LocateOptions{})
		}
		dir := filepath.Join(root, strings.TrimSuffix(name, "-coarse"))
		return f.OpenDir(dir, false)
	}}
}

func TestCIFARBenchmarks(t *testing.T) {
	data := smallCIFAR(t)
	for _, tc := range []struct {
		bench   string
		change  func(*Config)
		n, nc   int
		scen    streams.Scenario
		classes []int32 // of experience 2
	}{
		{"split-cifar10", func(c *Config) {}, 5, 10, streams.ClassIncremental, []int32{2, 3}},
		{"split-cifar10", func(c *Config) { c.Scenario = "task-incremental" }, 5, 10, streams.TaskIncremental, []int32{2, 3}},
		{"split-cifar10", func(c *Config) { c.ClassOrder = []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0} }, 5, 10, streams.ClassIncremental, []int32{6, 7}},
		{"split-cifar100", func(c *Config) {}, 10, 100, streams.ClassIncremental, []int32{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}},
		{"split-cifar100", func(c *Config) { c.Experiences = 20 }, 20, 100, streams.ClassIncremental, []int32{5, 6, 7, 8, 9}},
		{"split-cifar100", func(c *Config) { c.Experiences = 20; c.Scenario = "task-incremental" }, 20, 100, streams.TaskIncremental, []int32{5, 6, 7, 8, 9}},
		{"split-cifar100-coarse", func(c *Config) {}, 5, 20, streams.ClassIncremental, []int32{4, 5, 6, 7}},
	} {
		t.Run(tc.bench+"/"+string(tc.scen), func(t *testing.T) {
			cfg := synthConfig("naive")
			cfg.Benchmark, cfg.Experiences = tc.bench, 0
			tc.change(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			s, err := data.Stream(&cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Experiences) != tc.n || s.NumClasses != tc.nc || s.Scenario != tc.scen {
				t.Fatalf("%d experiences, %d classes, %s; want %d, %d, %s", len(s.Experiences), s.NumClasses, s.Scenario, tc.n, tc.nc, tc.scen)
			}
			if got := s.Experiences[1].Classes; !slices.Equal(got, tc.classes) {
				t.Errorf("experience 2 classes %v, want %v", got, tc.classes)
			}
			if s.InputShape != (streams.Shape{C: 3, H: 32, W: 32}) || s.InputDim != 3072 {
				t.Errorf("input shape %v, dim %d", s.InputShape, s.InputDim)
			}
			// The stream's shape converts to the model's input shape.
			if in := nn.Shape(s.Shape()); in != (nn.Shape{C: 3, H: 32, W: 32}) || in.Dim() != s.InputDim {
				t.Errorf("nn input shape %v", in)
			}
			if m := s.Mask(1); (tc.scen == streams.TaskIncremental) != (m != nil) {
				t.Errorf("task mask %v", m)
			}
		})
	}
	// permute_classes draws the class order from the seed: the same for
	// the same seed, another for another seed.
	order := func(seed uint64) [][]int32 {
		cfg := synthConfig("naive")
		cfg.Benchmark, cfg.Experiences, cfg.PermuteClasses, cfg.Seed = "split-cifar100", 20, true, seed
		s, err := data.Stream(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]int32
		seen := map[int32]bool{}
		for _, e := range s.Experiences {
			if len(e.Classes) != 5 {
				t.Fatalf("seed %d: experience %d has classes %v", seed, e.ID, e.Classes)
			}
			for _, c := range e.Classes {
				seen[c] = true
			}
			out = append(out, e.Classes)
		}
		if len(seen) != 100 {
			t.Fatalf("seed %d: %d distinct classes", seed, len(seen))
		}
		return out
	}
	a, b, c := order(1), order(1), order(2)
	if !slices.EqualFunc(a, b, slices.Equal) || slices.EqualFunc(a, c, slices.Equal) || slices.Equal(a[0], []int32{0, 1, 2, 3, 4}) {
		t.Errorf("permuted class orders: seed 1 %v / %v, seed 2 %v", a[0], b[0], c[0])
	}
}

// TestCIFARRun trains an MLP on split-cifar10 (small files in the CIFAR
// format) for a few updates: the 3×32×32 samples flow through the run.
func TestCIFARRun(t *testing.T) {
	data := smallCIFAR(t)
	cfg := synthConfig("naive")
	cfg.Benchmark, cfg.Experiences, cfg.Hidden = "split-cifar10", 2, []int{8}
	cfg.Iterations, cfg.BatchSize, cfg.Eval.Size = 2, 4, 3
	strat, err := cfg.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	s, err := data.Stream(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &memRecorder{}
	if _, err := Run(context.Background(), Spec{Config: cfg, Strategy: strat, Stream: s}, rec); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec.ends, []int{2, 4}) || len(rec.evals) == 0 || len(rec.matrix) == 0 {
		t.Errorf("ends %v, %d evaluations, %d matrix entries", rec.ends, len(rec.evals), len(rec.matrix))
	}
}

// TestCIFARBadFilesInRun: a truncated CIFAR file or files of the wrong size in
// the located directory is one error naming the file (ErrCorrupt, which
// the command reports with exit status 2); so is a missing dataset
// (ErrNotFound).
func TestCIFARBadFilesInRun(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "cifar-10-batches-bin")
	writeSmallCIFAR(t, sub, datasets.CIFAR10, 1)
	cfg := synthConfig("naive")
	cfg.Benchmark = "split-cifar10"
	cfg.Experiences = 0
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// Small files: not the published record counts.
	_, err := (&Data{Locate: datasets.LocateOptions{Dir: dir}}).Stream(&cfg)
	if !errors.Is(err, datasets.ErrCorrupt) || !strings.Contains(err.Error(), filepath.Join(sub, "data_batch_1.bin")+": holds 10 records, want 10000") {
		t.Errorf("small files: %v", err)
	}
	if err := os.Truncate(filepath.Join(sub, "data_batch_4.bin"), 3073*3+7); err != nil {
		t.Fatal(err)
	}
	_, err = (&Data{Locate: datasets.LocateOptions{Dir: dir}}).Stream(&cfg)
	if !errors.Is(err, datasets.ErrCorrupt) || !strings.Contains(err.Error(), filepath.Join(sub, "data_batch_4.bin")+": size 9226 bytes is not a whole number") {
		t.Errorf("truncated file: %v", err)
	}
	_, err = (&Data{Locate: datasets.LocateOptions{Dir: t.TempDir()}}).Stream(&Config{Benchmark: "split-cifar100"})
	if !errors.Is(err, datasets.ErrNotFound) || !strings.Contains(err.Error(), "cifar-100-binary.tar.gz") {
		t.Errorf("missing: %v", err)
	}
}

func TestCIFARDataConfig(t *testing.T) {
	dir := t.TempDir()
	writeSmallCIFAR(t, dir, datasets.CIFAR10, 2)
	cfg := synthConfig("naive")
	cfg.Benchmark, cfg.Experiences = "split", 5
	cfg.Data = &datasets.Source{Path: dir, Format: "cifar10"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := (&Data{}).Stream(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.InputShape != (streams.Shape{C: 3, H: 32, W: 32}) || len(s.Experiences) != 5 {
		t.Errorf("shape %v, %d experiences", s.InputShape, len(s.Experiences))
	}
	cfg.Data.Format = "cifar"
	if err := cfg.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `data.format "cifar"`) {
		t.Errorf("bad format: %v", err)
	}
	cfg.Data = &datasets.Source{Path: dir, TableOptions: datasets.TableOptions{ImageShape: []int{3, 32}}}
	if err := cfg.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "image_shape [3 32]: want three sizes") {
		t.Errorf("bad image shape: %v", err)
	}
}
