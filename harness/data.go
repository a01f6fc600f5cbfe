package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// benchmark is a stream generator applied to a dataset.
type benchmark struct {
	name      string
	generator string // split, permuted, rotated, mnist-fmnist, gaussian, tasks
	dataset   string // mnist, fashion-mnist, cifar10, cifar100, cifar100-coarse, synthetic; "" for the user's data (Config.Data)
	summary   string
}

// defaultExperiences holds the default number of experiences of the
// benchmarks whose default is not their generator's.
var defaultExperiences = map[string]int{"split-cifar100": 10}

var benchmarks = []benchmark{
	{"split-mnist", "split", "mnist", "MNIST classes split into experiences (class-incremental by default)"},
	{"split-fmnist", "split", "fashion-mnist", "Fashion-MNIST classes split into experiences"},
	{"split-synthetic", "split", "synthetic", "Gaussian blobs (synthetic) split into experiences"},
	{"split-cifar10", "split", "cifar10", "CIFAR-10 classes split into experiences (5×2 by default; class-incremental)"},
	{"split-cifar100", "split", "cifar100", "CIFAR-100 classes split into experiences (10×10 by default, 20×5 with 20 experiences; class-incremental)"},
	{"split-cifar100-coarse", "split", "cifar100-coarse", "CIFAR-100's 20 superclasses (coarse labels) split into experiences (5×4 by default)"},
	{"permuted-mnist", "permuted", "mnist", "MNIST under a seeded pixel permutation per experience (domain-incremental by default)"},
	{"permuted-fmnist", "permuted", "fashion-mnist", "Fashion-MNIST under a seeded pixel permutation per experience"},
	{"rotated-mnist", "rotated", "mnist", "MNIST rotated by a given angle per experience (bilinear; domain-incremental by default)"},
	{"rotated-fmnist", "rotated", "fashion-mnist", "Fashion-MNIST rotated by a given angle per experience"},
	{"mnist-fmnist", "mnist-fmnist", "", "MNIST experiences followed by as many Fashion-MNIST experiences (dissimilar tasks)"},
	{"gaussian", "gaussian", "synthetic", "Gaussian blobs whose class means move by synthetic.task_distance between experiences"},
	{"split", "split", "", "the user's data (data.path) split by class"},
	{"permuted", "permuted", "", "the user's data under a seeded feature permutation per experience"},
	{"rotated", "rotated", "", "the user's images (data.image_shape [c, h, w] or data.shape [h, w]) rotated per experience"},
	{"tasks", "tasks", "", "the user's data cut along its task column (data.task_col), one experience per task"},
}

// Benchmarks lists the known stream generators.
var Benchmarks = func() []string {
	out := make([]string, len(benchmarks))
	for i, b := range benchmarks {
		out[i] = b.name
	}
	return out
}()

// BenchmarkSummary returns a one-line description of a benchmark, "" for
// an unknown name.
func BenchmarkSummary(name string) string {
	if b, ok := lookupBenchmark(name); ok {
		return b.summary
	}
	return ""
}

func lookupBenchmark(name string) (benchmark, bool) {
	for _, b := range benchmarks {
		if b.name == name {
			return b, true
		}
	}
	return benchmark{}, false
}

// DataBenchmark returns the benchmark that applies the generator of the
// named benchmark to the user's data ("split-mnist" and "split" give
// "split"); ok is false for benchmarks with no such form (mnist-fmnist,
// gaussian) and unknown names.
func DataBenchmark(name string) (string, bool) {
	b, ok := lookupBenchmark(name)
	if !ok {
		return "", false
	}
	switch b.generator {
	case "split", "permuted", "rotated", "tasks":
		return b.generator, true
	}
	return "", false
}

// scenario returns the configuration's scenario with the benchmark's
// default filled in.
func (c *Config) scenario(b benchmark) streams.Scenario {
	if c.Scenario != "" {
		return streams.Scenario(c.Scenario)
	}
	switch b.generator {
	case "permuted", "rotated", "gaussian", "tasks":
		return streams.DomainIncremental
	}
	return streams.ClassIncremental
}

// numExperiences returns the number of experiences with the benchmark's
// default filled in (0 for "tasks": every task).
func (c *Config) numExperiences(b benchmark) int {
	if c.Experiences > 0 {
		return c.Experiences
	}
	switch {
	case b.generator == "tasks":
		return 0
	case b.generator == "rotated" && len(c.Angles) > 0:
		return len(c.Angles)
	case b.generator == "split" && len(c.ExperienceClasses) > 0:
		return len(c.ExperienceClasses)
	case b.generator == "mnist-fmnist" && c.scenario(b) == streams.DomainIncremental:
		return 2
	case b.generator == "mnist-fmnist":
		return 10
	case defaultExperiences[b.name] > 0:
		return defaultExperiences[b.name]
	}
	return 5
}

// angles returns the rotation of each experience.
func (c *Config) angles(n int) []float64 {
	if len(c.Angles) > 0 {
		return c.Angles
	}
	out := make([]float64, n)
	for k := range out {
		out[k] = float64(k) * 180 / float64(n)
	}
	return out
}

// cloneStreamFields replaces the slices and pointers of the stream fields
// by copies, so that changing them leaves a preset alone.
func (c *Config) cloneStreamFields() {
	c.ExperienceClasses = slices.Clone(c.ExperienceClasses)
	c.Angles = slices.Clone(c.Angles)
	if c.Synthetic != nil {
		s := *c.Synthetic
		c.Synthetic = &s
	}
	if c.Data != nil {
		d := *c.Data
		d.FeatureCols = slices.Clone(d.FeatureCols)
		d.Shape = slices.Clone(d.Shape)
		d.ImageShape = slices.Clone(d.ImageShape)
		c.Data = &d
	}
	if c.Normalize != nil {
		c.Normalize = &streams.Normalization{Mean: slices.Clone(c.Normalize.Mean), Std: slices.Clone(c.Normalize.Std)}
	}
}

// validateStream checks the stream fields: benchmark, scenario, class
// split, transformations, synthetic and user data.
func (c *Config) validateStream() error {
	b, ok := lookupBenchmark(c.Benchmark)
	if !ok {
		return invalid("benchmark %q: must be one of %s", c.Benchmark, strings.Join(Benchmarks, ", "))
	}
	if c.Experiences < 0 {
		return invalid("experiences %d: must be >= 1 (0 for the benchmark's default)", c.Experiences)
	}
	switch streams.Scenario(c.Scenario) {
	case "", streams.ClassIncremental, streams.TaskIncremental, streams.DomainIncremental:
	default:
		return invalid("scenario %q: must be class-incremental, task-incremental or domain-incremental", c.Scenario)
	}
	only := func(field string, set bool, generators ...string) error {
		if set && !slices.Contains(generators, b.generator) {
			return invalid("%s: not used by benchmark %s (only by %s benchmarks)", field, c.Benchmark, strings.Join(generators, ", "))
		}
		return nil
	}
	for _, err := range []error{
		only("class_order", len(c.ClassOrder) > 0, "split"),
		only("permute_classes", c.PermuteClasses, "split", "mnist-fmnist"),
		only("experience_classes", len(c.ExperienceClasses) > 0, "split"),
		only("angles", len(c.Angles) > 0, "rotated"),
		only("identity_first", c.IdentityFirst, "permuted"),
	} {
		if err != nil {
			return err
		}
	}
	if c.Synthetic != nil && b.dataset != "synthetic" {
		return invalid("synthetic: not used by benchmark %s (only by split-synthetic and gaussian)", c.Benchmark)
	}
	if len(c.ClassOrder) > 0 && c.PermuteClasses {
		return invalid("class_order and permute_classes are exclusive")
	}
	n := c.numExperiences(b)
	if len(c.ExperienceClasses) > 0 {
		if len(c.ExperienceClasses) != n {
			return invalid("experience_classes %v: %d sizes for %d experiences", c.ExperienceClasses, len(c.ExperienceClasses), n)
		}
		for _, k := range c.ExperienceClasses {
			if k < 1 {
				return invalid("experience_classes %v: every experience needs at least one class", c.ExperienceClasses)
			}
		}
	}
	if len(c.Angles) > 0 && len(c.Angles) != n {
		return invalid("angles %v: %d angles for %d experiences", c.Angles, len(c.Angles), n)
	}
	for _, a := range c.Angles {
		if math.IsNaN(a) || math.IsInf(a, 0) {
			return invalid("angles %v: must be finite", c.Angles)
		}
	}
	if b.generator == "mnist-fmnist" && n%2 != 0 {
		return invalid("experiences %d: mnist-fmnist needs an even number (half MNIST, then half Fashion-MNIST)", n)
	}
	if c.Synthetic != nil {
		sc := c.Synthetic.datasetConfig("", 1)
		if err := sc.Validate(); err != nil {
			return invalid("synthetic: %s", strings.TrimPrefix(err.Error(), "datasets: SyntheticConfig."))
		}
		if c.Synthetic.TaskDistance != 0 && b.generator != "gaussian" {
			return invalid("synthetic.task_distance: only for benchmark gaussian")
		}
		if !(c.Synthetic.TaskDistance >= 0 && c.Synthetic.TaskDistance <= 1) {
			return invalid("synthetic.task_distance %v: must be in [0, 1]", c.Synthetic.TaskDistance)
		}
	}
	if b.dataset == "" && b.generator != "mnist-fmnist" {
		if c.Data == nil || c.Data.Path == "" {
			return invalid("benchmark %s runs on your own data: set data.path (--data FILE)", c.Benchmark)
		}
	} else if c.Data != nil {
		alt, ok := DataBenchmark(c.Benchmark)
		if ok {
			return invalid("data: benchmark %s uses its own dataset; on your data use benchmark %s", c.Benchmark, alt)
		}
		return invalid("data: benchmark %s uses its own datasets; on your data use split, permuted, rotated or tasks", c.Benchmark)
	}
	if c.Data != nil {
		switch c.Data.Format {
		case "", "csv", "parquet", "arrow", "idx", "cifar10", "cifar100", "cifar100-coarse":
		default:
			return invalid("data.format %q: must be csv, parquet, arrow, idx, cifar10, cifar100 or cifar100-coarse (empty: from the file)", c.Data.Format)
		}
		if err := c.Data.TableOptions.Validate(); err != nil {
			return invalid("data: %s", strings.TrimPrefix(err.Error(), "datasets: "))
		}
		if b.generator == "tasks" && c.Data.TaskCol == "" {
			return invalid("benchmark tasks needs a task column: set data.task_col (--task-col)")
		}
	}
	return nil
}

// Data locates and caches the datasets runs are built from, so that the
// runs of a sweep load each dataset once. It is safe for concurrent use.
type Data struct {
	// Locate says where to look for datasets (explicit directory, optional
	// download).
	Locate datasets.LocateOptions
	// Load, when not nil, replaces datasets.Load for the named datasets of
	// the benchmarks ("mnist", "fashion-mnist", "cifar10", "cifar100",
	// "cifar100-coarse"): a program embedding the harness, or a test
	// running split-cifar10 on a smaller copy of CIFAR-10, supplies its own.
	Load func(name string, o datasets.LocateOptions) (datasets.Pair, error)

	mu    sync.Mutex
	cache map[string][]datasets.Pair
}

// usageErr marks a data error caused by the configuration (a format that
// is not built in, for instance) as ErrInvalid without changing its
// message.
type usageErr struct{ err error }

func (e usageErr) Error() string   { return e.err.Error() }
func (e usageErr) Unwrap() []error { return []error{ErrInvalid, e.err} }

// load returns the cached pairs under key, or builds them with fn.
func (d *Data) load(key string, fn func() ([]datasets.Pair, error)) ([]datasets.Pair, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.cache[key]; ok {
		return p, nil
	}
	ps, err := fn()
	if err != nil {
		if errors.Is(err, datasets.ErrUnsupported) {
			err = usageErr{err}
		}
		return nil, err
	}
	if d.cache == nil {
		d.cache = map[string][]datasets.Pair{}
	}
	d.cache[key] = ps
	return ps, nil
}

func (d *Data) named(name string) (datasets.Pair, error) {
	ps, err := d.load(name, func() ([]datasets.Pair, error) {
		load := d.Load
		if load == nil {
			load = datasets.Load
		}
		p, err := load(name, d.Locate)
		return []datasets.Pair{p}, err
	})
	if err != nil {
		return datasets.Pair{}, err
	}
	return ps[0], nil
}

// base returns the dataset a single-dataset benchmark runs on.
func (d *Data) base(cfg *Config, b benchmark) (datasets.Pair, error) {
	switch b.dataset {
	case "mnist", "fashion-mnist", "cifar10", "cifar100", "cifar100-coarse":
		return d.named(b.dataset)
	case "synthetic":
		sc := cfg.Synthetic.datasetConfig("synthetic", 40)
		key, _ := json.Marshal(sc)
		ps, err := d.load("synthetic:"+string(key), func() ([]datasets.Pair, error) {
			p, err := datasets.Synthetic(sc)
			return []datasets.Pair{p}, err
		})
		if err != nil {
			return datasets.Pair{}, invalid("synthetic: %v", err)
		}
		return ps[0], nil
	}
	if cfg.Data == nil {
		return datasets.Pair{}, invalid("benchmark %s needs data.path", cfg.Benchmark)
	}
	key, _ := json.Marshal(cfg.Data)
	ps, err := d.load("data:"+string(key), func() ([]datasets.Pair, error) {
		p, err := datasets.OpenSource(*cfg.Data)
		return []datasets.Pair{p}, err
	})
	if err != nil {
		return datasets.Pair{}, err
	}
	return ps[0], nil
}

// Stream builds the stream a configuration describes. Errors caused by the
// configuration wrap ErrInvalid; a missing or malformed dataset gives the
// datasets error (ErrNotFound, ErrCorrupt) naming the file, row and column.
func (d *Data) Stream(cfg *Config) (*streams.Stream, error) {
	b, ok := lookupBenchmark(cfg.Benchmark)
	if !ok {
		return nil, invalid("benchmark %q: unknown", cfg.Benchmark)
	}
	scen := cfg.scenario(b)
	n := cfg.numExperiences(b)
	var (
		s   *streams.Stream
		err error
	)
	switch b.generator {
	case "split":
		p, lerr := d.base(cfg, b)
		if lerr != nil {
			return nil, lerr
		}
		s, err = streams.SplitClasses(p, streams.SplitConfig{
			Name:           cfg.Benchmark,
			NumExperiences: n,
			Sizes:          cfg.ExperienceClasses,
			ClassOrder:     cfg.ClassOrder,
			PermuteClasses: cfg.PermuteClasses,
			Seed:           cfg.Seed,
			Scenario:       scen,
		})
	case "permuted":
		p, lerr := d.base(cfg, b)
		if lerr != nil {
			return nil, lerr
		}
		s, err = streams.Permuted(p, streams.PermutedConfig{Name: cfg.Benchmark, NumExperiences: n,
			IdentityFirst: cfg.IdentityFirst, Seed: cfg.Seed, Scenario: scen})
	case "rotated":
		p, lerr := d.base(cfg, b)
		if lerr != nil {
			return nil, lerr
		}
		s, err = streams.Rotated(p, cfg.Benchmark, cfg.angles(n), scen)
	case "tasks":
		p, lerr := d.base(cfg, b)
		if lerr != nil {
			return nil, lerr
		}
		s, err = streams.ByTask(p, streams.ByTaskConfig{Name: cfg.Benchmark, NumExperiences: n, Scenario: scen})
	case "mnist-fmnist":
		s, err = d.mnistFMNIST(cfg, n, scen)
	case "gaussian":
		s, err = d.gaussian(cfg, n, scen)
	default:
		return nil, invalid("benchmark %q: unknown generator", cfg.Benchmark)
	}
	if err != nil {
		if errors.Is(err, ErrInvalid) || errors.Is(err, datasets.ErrNotFound) || errors.Is(err, datasets.ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if cfg.Eval.Subset == SubsetValidation {
		f := cfg.Eval.ValidationFraction
		if f == 0 {
			f = DefaultValidationFraction
		}
		if err := streams.HoldOut(s, f, cfg.Seed); err != nil {
			return nil, fmt.Errorf("%w: eval.validation_fraction: %v", ErrInvalid, err)
		}
	}
	if cfg.Normalize != nil {
		if err := streams.Normalize(s, cfg.Normalize); err != nil {
			return nil, invalid("normalize: %s", strings.TrimPrefix(err.Error(), "streams: "))
		}
	}
	if err := cfg.checkStream(s); err != nil {
		return nil, err
	}
	return s, nil
}

// checkStream checks what the configuration asks of the stream's samples:
// augmentation needs images, and the model must fit them.
func (c *Config) checkStream(s *streams.Stream) error {
	sh := s.Shape()
	if c.Augment != "" && (sh.H < 2 || sh.W < 2) {
		return invalid("augment %s: needs image samples, and the samples of benchmark %s are %dx%dx%d", c.Augment, c.Benchmark, sh.C, sh.H, sh.W)
	}
	spec := c.ModelSpec(s)
	if _, err := nn.Check(spec); err != nil {
		return invalid("model %s: %v", c.ModelName(), strings.TrimPrefix(err.Error(), "nn: "))
	}
	r, err := strategies.Resolve(c.Strategy, c.StrategyParams)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if mc, ok := r.Strategy.(strategies.ModelChecker); ok {
		if err := mc.CheckModel(spec); err != nil {
			return invalid("strategy %s: %v", c.Strategy, err)
		}
	}
	return nil
}

// mnistFMNIST splits MNIST into n/2 experiences followed by Fashion-MNIST
// into n/2. Class- and task-incremental streams have 20 classes
// (Fashion-MNIST's labels offset by 10); a domain-incremental one relabels
// the classes of each experience 0, 1, ... (with n = 2: digits, then
// articles, on the same 10 outputs).
func (d *Data) mnistFMNIST(cfg *Config, n int, scen streams.Scenario) (*streams.Stream, error) {
	inner := streams.ClassIncremental
	if scen == streams.DomainIncremental {
		inner = streams.DomainIncremental
	}
	var parts []*streams.Stream
	for i, name := range []string{"mnist", "fashion-mnist"} {
		p, err := d.named(name)
		if err != nil {
			return nil, err
		}
		part, err := streams.SplitClasses(p, streams.SplitConfig{Name: name, NumExperiences: n / 2,
			PermuteClasses: cfg.PermuteClasses, Seed: cfg.Seed + uint64(i)<<32, Scenario: inner})
		if err != nil {
			return nil, err
		}
		for _, e := range part.Experiences {
			e.Name = name + " " + e.Name
		}
		parts = append(parts, part)
	}
	return streams.Concat(cfg.Benchmark, scen, parts...)
}

// gaussian builds the synthetic domain stream with the configured task
// distance.
func (d *Data) gaussian(cfg *Config, n int, scen streams.Scenario) (*streams.Stream, error) {
	sc := cfg.Synthetic.datasetConfig("gaussian", 6)
	dist := 0.0
	if cfg.Synthetic != nil {
		dist = cfg.Synthetic.TaskDistance
	}
	key, _ := json.Marshal(sc)
	ps, err := d.load(fmt.Sprintf("gaussian:%s:%d:%v", key, n, dist), func() ([]datasets.Pair, error) {
		return datasets.SyntheticDomains(sc, n, dist)
	})
	if err != nil {
		return nil, invalid("synthetic: %v", err)
	}
	doms := make([]streams.Domain, n)
	for k, p := range ps {
		doms[k] = streams.Domain{Name: fmt.Sprintf("domain %d", k+1), Data: p}
	}
	return streams.Domains(cfg.Benchmark, scen, doms)
}
