package harness

import (
	"fmt"
	"math"
	"strconv"

	"github.com/cleval/cleval/streams"
)

// Range is the allowed values of a numeric configuration field (and of
// the command-line flag that sets it). Integer fields have Integer set and
// integral bounds. A field whose zero value means a default allows 0 even
// when Min is above it (Zero names that default).
type Range struct {
	Min, Max         float64
	MinOpen, MaxOpen bool // the bound itself is excluded
	Integer          bool
	// Zero, when not "", is what 0 means for a field whose range starts
	// above 0 (e.g. "the benchmark's default").
	Zero string
	// Name, when not "", says what the field is in words (messages add it
	// to the field's path).
	Name string
}

// Contains reports whether v is allowed.
func (r Range) Contains(v float64) bool {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return false
	case v == 0 && r.Zero != "":
		return true
	case r.Integer && v != math.Trunc(v):
		return false
	case v < r.Min || r.MinOpen && v == r.Min:
		return false
	case v > r.Max || r.MaxOpen && v == r.Max:
		return false
	}
	return true
}

// String describes the range for messages and help texts, e.g. "an
// integer from 1 to 1000000" or "a number in [0, 1)".
func (r Range) String() string {
	var s string
	switch {
	case r.Min <= -math.MaxFloat64 && r.Max >= math.MaxFloat64:
		s = "a finite number"
	case r.Integer && r.Max >= math.MaxInt64:
		s = "an integer >= " + num(r.Min)
	case r.Integer:
		s = "an integer from " + num(r.Min) + " to " + num(r.Max)
	case r.Max >= math.MaxFloat64 && r.MinOpen:
		s = "a finite number > " + num(r.Min)
	case r.Max >= math.MaxFloat64:
		s = "a finite number >= " + num(r.Min)
	default:
		lo, hi := "[", "]"
		if r.MinOpen {
			lo = "("
		}
		if r.MaxOpen {
			hi = ")"
		}
		s = "a number in " + lo + num(r.Min) + ", " + num(r.Max) + hi
	}
	if r.Zero != "" {
		s += ", or 0 for " + r.Zero
	}
	return s
}

// num formats a bound or a value: integers in full, others as Go does.
func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Check returns an error naming name, v and the range when v is outside
// it.
func (r Range) Check(name string, v float64) error {
	return r.check(name, v, num(v))
}

// CheckInt is Check for an integer value (printed exactly).
func (r Range) CheckInt(name string, v int64) error {
	return r.check(name, float64(v), strconv.FormatInt(v, 10))
}

func (r Range) check(name string, v float64, text string) error {
	if r.Contains(v) {
		return nil
	}
	what := ""
	if r.Name != "" {
		what = " (" + r.Name + ")"
	}
	return invalid("%s %s%s: must be %s", name, text, what, r)
}

// Limits of a run. They keep every count a run derives from its
// configuration (updates, rows, bytes) far from integer overflow.
const (
	// MaxSize bounds batch sizes, layer widths, evaluation subsets and
	// other sample counts.
	MaxSize = 1 << 24
	// MaxExperiences bounds the number of experiences of a stream.
	MaxExperiences = 10000
	// MaxEpochs bounds the passes over each experience.
	MaxEpochs = 1000000
	// MaxRepeat bounds the updates made on one mini-batch.
	MaxRepeat = 1000000
	// MaxUpdates bounds the updates of a whole run (every experience).
	MaxUpdates = math.MaxInt32
	// MaxClasses bounds class numbers and counts.
	MaxClasses = 1 << 16
)

var (
	sizeRange = func(min float64) Range { return Range{Min: min, Max: MaxSize, Integer: true} }
	fraction  = Range{Min: 0, Max: 1}
	finite    = Range{Min: -math.MaxFloat64, Max: math.MaxFloat64}
	// fieldRanges holds the range of every numeric field of Config by its
	// JSON path; list fields ([]int, []float64) by the path of the list.
	fieldRanges = map[string]Range{
		"experiences":                       {Min: 1, Max: MaxExperiences, Integer: true, Zero: "the benchmark's default"},
		"class_order":                       {Min: 0, Max: MaxClasses - 1, Integer: true},
		"experience_classes":                {Min: 1, Max: MaxClasses, Integer: true},
		"angles":                            finite,
		"synthetic.classes":                 {Min: 1, Max: 1000, Integer: true, Zero: "10"},
		"synthetic.dim":                     {Min: 1, Max: 1 << 20, Integer: true, Zero: "64"},
		"synthetic.train_per_class":         {Min: 1, Max: MaxSize, Integer: true, Zero: "200"},
		"synthetic.test_per_class":          {Min: 1, Max: MaxSize, Integer: true, Zero: "50"},
		"synthetic.noise":                   {Min: 0, Max: 128, MinOpen: true, Zero: "32"},
		"synthetic.separation":              {Min: 0, Max: 100, MinOpen: true, Zero: "the benchmark's default"},
		"synthetic.task_distance":           fraction,
		"data.num_classes":                  {Min: 1, Max: MaxClasses, Integer: true, Zero: "the number in the data"},
		"data.test_fraction":                {Min: 0, Max: 1, MinOpen: true, MaxOpen: true, Zero: "0.2", Name: "test fraction"},
		"data.shape":                        sizeRange(1),
		"hidden":                            sizeRange(1),
		"nf":                                {Min: 1, Max: 4096, Integer: true, Zero: "20 for the resnet18r models", Name: "width"},
		"data.image_shape":                  sizeRange(1),
		"optimizer.lr":                      {Min: 0, Max: math.MaxFloat64, MinOpen: true, Name: "learning rate"},
		"optimizer.momentum":                {Min: 0, Max: 1, MaxOpen: true, Name: "momentum"},
		"optimizer.weight_decay":            {Min: 0, Max: math.MaxFloat64, Name: "weight decay"},
		"epochs":                            {Min: 1, Max: MaxEpochs, Integer: true},
		"batch_size":                        sizeRange(1),
		"iterations":                        {Min: 1, Max: MaxUpdates, Integer: true, Zero: "epochs instead"},
		"repeat":                            {Min: 1, Max: MaxRepeat, Integer: true, Zero: "1"},
		"blur":                              fraction,
		"eval.every":                        {Min: 1, Max: MaxUpdates, Integer: true},
		"eval.size":                         sizeRange(1),
		"eval.test_size":                    {Min: 1, Max: MaxSize, Integer: true, Zero: "the whole test split"},
		"eval.validation_fraction":          {Min: 0, Max: 1, MinOpen: true, MaxOpen: true, Zero: "0.05 with eval.subset validation"},
		"strategy_params.mem_size":          {Min: 1, Max: math.MaxInt32, Integer: true},
		"strategy_params.replay_batch_size": {Min: 1, Max: MaxSize, Integer: true, Zero: "the batch size"},
	}
)

// FieldRange returns the range of the numeric configuration field at a
// dotted JSON path (e.g. "optimizer.lr"; a list field's path for its
// elements), and whether the field is a known numeric one. The ranges of
// strategy parameters other than mem_size and replay_batch_size are the
// strategies' own.
func FieldRange(path string) (Range, bool) {
	r, ok := fieldRanges[path]
	return r, ok
}

// validateRanges checks every numeric field against its range (finite
// numbers, integer bounds), before anything derived from them is computed.
func (c *Config) validateRanges() error {
	check := func(path string, v float64) error {
		return fieldRanges[path].Check(path, v)
	}
	checkInt := func(path string, v int) error {
		return fieldRanges[path].CheckInt(path, int64(v))
	}
	checkList := func(path string, vs []float64, text any) error {
		for _, v := range vs {
			if !fieldRanges[path].Contains(v) {
				return invalid("%s %v: every value must be %s", path, text, fieldRanges[path])
			}
		}
		return nil
	}
	checkInts := func(path string, vs []int) error {
		out := make([]float64, len(vs))
		for i, v := range vs {
			out[i] = float64(v)
		}
		return checkList(path, out, vs)
	}
	errs := []error{
		checkInt("experiences", c.Experiences),
		checkInts("class_order", c.ClassOrder),
		checkInts("experience_classes", c.ExperienceClasses),
		checkList("angles", c.Angles, c.Angles),
		checkInts("hidden", c.Hidden),
		checkInt("nf", c.NF),
		check("optimizer.lr", c.Optimizer.LR),
		check("optimizer.momentum", c.Optimizer.Momentum),
		check("optimizer.weight_decay", c.Optimizer.WeightDecay),
		checkInt("epochs", c.Epochs),
		checkInt("batch_size", c.BatchSize),
		checkInt("iterations", c.Iterations),
		checkInt("repeat", c.Repeat),
		check("blur", c.Blur),
		checkInt("eval.every", c.Eval.Every),
		checkInt("eval.size", c.Eval.Size),
		checkInt("eval.test_size", c.Eval.TestSize),
		check("eval.validation_fraction", c.Eval.ValidationFraction),
	}
	if s := c.Synthetic; s != nil {
		errs = append(errs,
			checkInt("synthetic.classes", s.Classes),
			checkInt("synthetic.dim", s.Dim),
			checkInt("synthetic.train_per_class", s.TrainPerClass),
			checkInt("synthetic.test_per_class", s.TestPerClass),
			check("synthetic.noise", s.Noise),
			check("synthetic.separation", s.Separation),
			check("synthetic.task_distance", s.TaskDistance))
	}
	if d := c.Data; d != nil {
		errs = append(errs,
			checkInt("data.num_classes", d.NumClasses),
			check("data.test_fraction", d.TestFraction),
			checkInts("data.shape", d.Shape),
			checkInts("data.image_shape", d.ImageShape))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Saturating arithmetic on counts: a result that would overflow is
// math.MaxInt64, which every limit refuses.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// checkUpdates checks, with arithmetic that cannot overflow, that the run
// makes at most MaxUpdates updates: Iterations, or Epochs × ⌈n/BatchSize⌉,
// times Repeat, summed over the experiences.
func checkUpdates(cfg *Config, s *streams.Stream) error {
	repeat := int64(max(cfg.Repeat, 1))
	var total int64
	for _, e := range s.Experiences {
		var u int64
		if cfg.Iterations > 0 {
			u = int64(cfg.Iterations)
		} else {
			n := int64(e.Train.Len())
			b := int64(cfg.BatchSize)
			u = satMul(satMul(int64(cfg.Epochs), (n+b-1)/b), repeat)
		}
		total = satAdd(total, u)
	}
	if total > MaxUpdates {
		what := fmt.Sprintf("%d", total)
		if total == math.MaxInt64 {
			what = "more than 9223372036854775807"
		}
		return invalid("the run would make %s updates (%d experiences, epochs %d, batch_size %d, iterations %d, repeat %d): at most %d are allowed",
			what, len(s.Experiences), cfg.Epochs, cfg.BatchSize, cfg.Iterations, max(cfg.Repeat, 1), MaxUpdates)
	}
	return nil
}
