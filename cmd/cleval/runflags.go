package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/harness"
	"github.com/cleval/cleval/harness/sweep"
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// The flags of cleval run and how they become the fields laid over the
// preset (sweep.Field): the stream, data, strategy, optimizer, schedule
// and evaluation flags set configuration fields by their JSON paths; the
// others (seeds, database, threads, ...) say how to run.

// runFlags are the flags of cleval run; those that set a configuration
// field are listed in runFields.
func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "preset", Value: harness.DefaultPreset, Usage: "named experiment to start from (see: cleval presets)"},
		&cli.StringFlag{Name: "benchmark", Usage: "stream: " + strings.Join(harness.Benchmarks, ", "), DefaultText: presetDefault("benchmark", harness.Range{})},
		fieldFlag("experiences", "number of experiences", "experiences"),
		listFlag("class-order", "class order, e.g. 9,8,7,6,5,4,3,2,1,0", mustRange("class_order"), harness.MaxClasses, ""),
		&cli.BoolFlag{Name: "permute-classes", Usage: "seeded random class order"},
		&cli.StringFlag{Name: "scenario", Usage: "class-incremental, task-incremental or domain-incremental (default: the benchmark's)"},
		listFlag("experience-classes", "classes per experience of a class split, e.g. 5,1,1,1,1,1 (default: even split, the first C mod N experiences one more)", mustRange("experience_classes"), harness.MaxExperiences, ""),
		listFlag("angles", "rotation of each experience of rotated-* in degrees, e.g. 0,80,160 (default: (k-1)·180/N)", mustRange("angles"), harness.MaxExperiences, ""),
		&cli.BoolFlag{Name: "identity-first", Usage: "permuted-*: leave experience 1 unpermuted"},
		fieldFlag("task-distance", "gaussian: how far class means move between experiences, 0 (same) to 1 (independent)", "synthetic.task_distance"),
		fieldFlag("iterations", "updates per experience instead of --epochs", "iterations"),
		fieldFlag("repeat", "consecutive updates per mini-batch (online protocol: --epochs 1 --batch-size 10 --repeat 3)", "repeat"),
		&cli.BoolFlag{Name: "hide-boundaries", Usage: "hide experience boundaries from the strategy"},
		fieldFlag("blur", "blurry boundaries: transition width as a fraction of an experience", "blur"),
		fieldFlag("validation-fraction", "hold out this fraction of each experience's training data as the continual-evaluation set (implies --eval-subset validation)", "eval.validation_fraction"),
		&cli.StringFlag{Name: "data", Usage: "your own data: a CSV, Parquet or Arrow table, an IDX directory or a directory of CIFAR binary files (benchmarks split, permuted, rotated, tasks)"},
		&cli.StringFlag{Name: "data-format", Usage: "csv, parquet, arrow, idx, cifar10, cifar100 or cifar100-coarse (default: from the file)"},
		&cli.StringFlag{Name: "label-col", Usage: "label column of --data (default: label)"},
		&cli.StringFlag{Name: "feature-cols", Usage: "comma-separated feature columns of --data (default: every other column, or one list column)"},
		&cli.StringFlag{Name: "split-col", Usage: "column of --data saying train or test (default: hold out --test-fraction)"},
		&cli.StringFlag{Name: "task-col", Usage: "column of --data assigning rows to tasks (benchmark tasks)"},
		fieldFlag("test-fraction", "fraction of each class held out as the test split when --data has no split column", "data.test_fraction"),
		fieldFlag("num-classes", "number of classes of --data", "data.num_classes"),
		listFlag("data-shape", "per-sample shape of --data, e.g. 28,28 (needed to rotate)", mustRange("data.shape"), 8, ""),
		&cli.StringFlag{Name: "image-shape", Usage: "the feature columns of --data are images of CxHxW values, channel by channel (e.g. 3x32x32 for 3072 columns)"},
		&cli.StringFlag{Name: "strategy", Usage: "registered strategy (see: cleval strategies)", DefaultText: presetDefault("strategy", harness.Range{})},
		pluginFlag(),
		&cli.StringSliceFlag{Name: "param", Usage: "strategy parameter `key=value` (repeatable; value as JSON or a string; key.sub=value sets one field of an object parameter)"},
		fieldFlag("epochs", "epochs per experience", "epochs"),
		fieldFlag("batch-size", "new samples per update", "batch_size"),
		fieldFlag("replay-batch-size", "replayed samples per update (strategy parameter replay_batch_size)", "strategy_params.replay_batch_size"),
		fieldFlag("mem-size", "replay memory size (strategy parameter mem_size)", "strategy_params.mem_size"),
		fieldFlag("lr", "SGD learning rate", "optimizer.lr"),
		fieldFlag("momentum", "SGD momentum", "optimizer.momentum"),
		fieldFlag("weight-decay", "SGD weight decay", "optimizer.weight_decay"),
		&cli.StringFlag{Name: "model", Usage: "model architecture: " + strings.Join(modelNames(), ", "), DefaultText: "mlp"},
		listFlag("hidden", "hidden layer sizes of the mlp, e.g. 400,400", mustRange("hidden"), 1000, presetDefault("hidden", harness.Range{})),
		fieldFlag("nf", "width of resnet18r and resnet18r-sta (channels of the first stage); resnet18r-pla: that of the Sta-Net it is paired with", "nf"),
		&cli.StringFlag{Name: "batch-norm", Usage: "batch statistics of an update on new and replayed rows: separate (each its own, as forwarded separately) or joint", DefaultText: "separate"},
		&cli.StringFlag{Name: "augment", Usage: "augmentation of the training rows: " + strings.Join(streams.Augmentations, ", ") + " (default: none)"},
		fieldFlag("eval-every", "evaluation period ρ in iterations", "eval.every"),
		fieldFlag("eval-size", "continual-evaluation samples per experience", "eval.size"),
		fieldFlag("test-size", "samples of each experience's test split the accuracy matrix is evaluated on (a seeded subset)", "eval.test_size"),
		&cli.StringFlag{Name: "eval-subset", Usage: "fixed (drawn once), resampled (every evaluation) or validation", DefaultText: presetDefault("eval.subset", harness.Range{})},
		&cli.StringFlag{Name: "eval-experiences", Usage: "seen or all", DefaultText: presetDefault("eval.experiences", harness.Range{})},
		&cli.StringFlag{Name: "seeds", Value: "0", Usage: fmt.Sprintf("seeds to run: a list and ranges, e.g. 0,1,2 or 0-4 (each from 0 to 2^64-1, each once, at most %d)", sweep.MaxSeeds)},
		&cli.StringFlag{Name: "db", Value: "cleval.db", Usage: "SQLite database to store runs in"},
		&cli.StringFlag{Name: "data-dir", Usage: "directory holding the dataset files (also: CLEVAL_DATA)"},
		&cli.BoolFlag{Name: "download", Usage: "download a missing dataset from its canonical address (SHA-256 checked) into the user cache"},
		numFlag("threads", "threads per run (records do not depend on it)", threadsRange, "all cores divided among the workers"),
		numFlag("workers", "runs (seeds) computed in parallel", workersRange, "1"),
		&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "check everything and list the runs, run nothing and create nothing"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar"},
		&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile (pprof) of the runs to `FILE`"},
	}
}

// runFields maps the run flags that set configuration fields to the
// fields' dotted paths; --param values follow them.
var runFields = []struct{ flag, path string }{
	{"benchmark", "benchmark"}, {"experiences", "experiences"}, {"class-order", "class_order"},
	{"permute-classes", "permute_classes"}, {"scenario", "scenario"}, {"experience-classes", "experience_classes"},
	{"angles", "angles"}, {"identity-first", "identity_first"}, {"task-distance", "synthetic.task_distance"},
	{"iterations", "iterations"}, {"repeat", "repeat"}, {"hide-boundaries", "hide_boundaries"}, {"blur", "blur"},
	{"validation-fraction", "eval.validation_fraction"},
	{"data", "data.path"}, {"data-format", "data.format"}, {"label-col", "data.label_col"},
	{"feature-cols", "data.feature_cols"}, {"split-col", "data.split_col"}, {"task-col", "data.task_col"},
	{"test-fraction", "data.test_fraction"}, {"num-classes", "data.num_classes"}, {"data-shape", "data.shape"},
	{"image-shape", "data.image_shape"},
	{"strategy", "strategy"}, {"replay-batch-size", "strategy_params.replay_batch_size"}, {"mem-size", "strategy_params.mem_size"},
	{"epochs", "epochs"}, {"batch-size", "batch_size"}, {"lr", "optimizer.lr"}, {"momentum", "optimizer.momentum"},
	{"weight-decay", "optimizer.weight_decay"}, {"model", "model"}, {"hidden", "hidden"}, {"nf", "nf"},
	{"batch-norm", "batch_norm"}, {"augment", "augment"}, {"eval-every", "eval.every"}, {"eval-size", "eval.size"},
	{"test-size", "eval.test_size"},
	{"eval-subset", "eval.subset"}, {"eval-experiences", "eval.experiences"},
}

func mustRange(path string) harness.Range {
	r, ok := harness.FieldRange(path)
	if !ok {
		panic("cleval: no range for configuration field " + path)
	}
	return r
}

// presetDefault returns the value of the field at path in the default
// preset, for help texts ("" when the preset does not set it; for a
// numeric field with a meaning of 0, that meaning).
func presetDefault(path string, r harness.Range) string {
	p, err := harness.LookupPreset(harness.DefaultPreset)
	if err != nil {
		return ""
	}
	var tree any
	json.Unmarshal(p.Config.JSON(), &tree)
	for _, k := range strings.Split(path, ".") {
		m, ok := tree.(map[string]any)
		if !ok {
			tree = nil
			break
		}
		tree = m[k]
		if raw, ok := tree.(string); ok && k == "strategy_params" {
			json.Unmarshal([]byte(raw), &tree)
		}
	}
	switch v := tree.(type) {
	case nil:
		if _, err := strconv.ParseFloat(r.Zero, 64); err == nil {
			return r.Zero // 0 stands for this value
		}
		if r.Zero != "" {
			return "0, " + r.Zero
		}
		return ""
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, ",") + " in preset " + p.Name
	case map[string]any:
		return ""
	}
	return fmt.Sprint(tree) + " in preset " + p.Name
}

// runFieldsOf turns the flags that were set into the fields laid over the
// preset.
func runFieldsOf(c *cli.Context, preset harness.Preset) ([]sweep.Field, error) {
	var fields []sweep.Field
	add := func(path string, v any, from string, replace bool) {
		fields = append(fields, sweep.Field{Path: path, Value: v, From: from, Replace: replace})
	}
	for _, f := range runFields {
		if !c.IsSet(f.flag) {
			continue
		}
		from := "--" + f.flag
		switch v := c.Generic(f.flag).(type) {
		case *numValue:
			if v.r.Integer {
				add(f.path, v.i, from+" "+v.text, false)
			} else {
				add(f.path, v.f, from+" "+v.text, false)
			}
			continue
		case *listValue:
			if v.r.Integer {
				add(f.path, v.ints, from+" "+v.text, false)
			} else {
				add(f.path, v.floats, from+" "+v.text, false)
			}
			continue
		}
		switch f.flag {
		case "permute-classes", "identity-first", "hide-boundaries":
			add(f.path, c.Bool(f.flag), from, false)
		case "image-shape":
			shape, err := imageShape(c)
			if err != nil {
				return nil, err
			}
			add(f.path, shape, from+" "+c.String(f.flag), false)
		case "feature-cols":
			names := splitNames(c.String(f.flag))
			if len(names) == 0 {
				return nil, usagef("--feature-cols %q: no column names (give them as a,b,c, or leave the flag out for every other column)", c.String(f.flag))
			}
			add(f.path, names, from, false)
		default:
			add(f.path, c.String(f.flag), from+" "+c.String(f.flag), false)
		}
	}
	if c.IsSet("validation-fraction") && !c.IsSet("eval-subset") {
		add("eval.subset", harness.SubsetValidation, "--validation-fraction", false)
	}
	// Data flags describe --data (or the preset's data).
	if !c.IsSet("data") && preset.Config.Data == nil {
		for _, f := range dataFlags {
			if c.IsSet(f) {
				return nil, usagef("--%s describes --data, which is not given", f)
			}
		}
	}
	// --data on a benchmark bound to a dataset runs its generator on the
	// user's data: split-mnist becomes split.
	if c.IsSet("data") && !c.IsSet("benchmark") {
		if alt, ok := harness.DataBenchmark(preset.Config.Benchmark); ok {
			add("benchmark", alt, "--data", false)
		}
	}
	strategy := preset.Config.Strategy
	if c.IsSet("strategy") {
		strategy = c.String("strategy")
	}
	info, err := strategies.Lookup(strategy)
	if err != nil {
		return nil, usageError{err}
	}
	hasParam := func(name, from string) error {
		if !info.Has(name) {
			return usagef("%s: strategy %s has no parameter %s (see: cleval strategies)", from, strategy, name)
		}
		return nil
	}
	for _, flag := range []string{"replay-batch-size", "mem-size"} {
		if c.IsSet(flag) {
			if err := hasParam(strings.ReplaceAll(flag, "-", "_"), "--"+flag); err != nil {
				return nil, err
			}
		}
	}
	for _, kv := range joinParams(c.StringSlice("param")) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--param %q: want key=value", kv)
		}
		from := "--param " + kv
		if err := hasParam(strings.SplitN(k, ".", 2)[0], from); err != nil {
			return nil, err
		}
		var val any = v
		if t := strings.TrimSpace(v); json.Valid([]byte(t)) {
			val = json.RawMessage(t)
		} else if strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") || strings.HasPrefix(t, `"`) {
			return nil, usagef("%s: %q is not valid JSON (an object, a list or a quoted string must be JSON; other values are taken as strings)", from, v)
		}
		add("strategy_params."+k, val, from, true)
	}
	return fields, nil
}

// tableFlags are the flags describing a table (--label-col, ...), for
// cleval datasets info.
func tableFlags() []cli.Flag {
	var out []cli.Flag
	for _, f := range runFlags() {
		if slices.Contains(dataFlags, f.Names()[0]) {
			out = append(out, f)
		}
	}
	return out
}

// applyTableFlags applies the table flags that were set to o.
func applyTableFlags(c *cli.Context, o *datasets.TableOptions) error {
	if c.IsSet("label-col") {
		o.LabelCol = c.String("label-col")
	}
	if c.IsSet("feature-cols") {
		if o.FeatureCols = splitNames(c.String("feature-cols")); len(o.FeatureCols) == 0 {
			return usagef("--feature-cols %q: no column names (give them as a,b,c, or leave the flag out for every other column)", c.String("feature-cols"))
		}
	}
	if c.IsSet("split-col") {
		o.SplitCol = c.String("split-col")
	}
	if c.IsSet("task-col") {
		o.TaskCol = c.String("task-col")
	}
	if c.IsSet("test-fraction") {
		o.TestFraction = floatOf(c, "test-fraction")
	}
	if c.IsSet("num-classes") {
		o.NumClasses = int(intOf(c, "num-classes"))
	}
	if c.IsSet("data-shape") {
		o.Shape = listOf(c, "data-shape").ints
	}
	if c.IsSet("image-shape") {
		shape, err := imageShape(c)
		if err != nil {
			return err
		}
		o.ImageShape = shape
	}
	return nil
}

// imageShape parses --image-shape, CxHxW (or C,H,W).
func imageShape(c *cli.Context) ([]int, error) {
	s, err := datasets.ParseShape(c.String("image-shape"))
	if err != nil {
		return nil, usagef("--image-shape: %v", strings.TrimPrefix(err.Error(), "datasets: "))
	}
	if len(s) != 3 {
		return nil, usagef("--image-shape %s: want channels x height x width, e.g. 3x32x32", c.String("image-shape"))
	}
	return s, nil
}

// dataFlags are the flags describing --data.
var dataFlags = []string{"data-format", "label-col", "feature-cols", "split-col", "task-col", "test-fraction", "num-classes", "data-shape", "image-shape"}

func splitNames(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// modelNames lists the model architectures.
func modelNames() []string {
	var out []string
	for _, a := range nn.Archs() {
		out = append(out, a.Name)
	}
	return out
}
