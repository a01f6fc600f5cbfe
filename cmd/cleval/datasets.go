package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/datasets"
	_ "github.com/cleval/cleval/datasets/tabular" // Parquet and Arrow IPC tables
	"github.com/cleval/cleval/harness"
)

// streamFlags are the run flags that shape the stream and the user's data
// (docs/configs.md). withStreamFlags inserts them after --permute-classes.
func streamFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "scenario", Usage: "class-incremental, task-incremental or domain-incremental (default: the benchmark's)"},
		&cli.StringFlag{Name: "experience-classes", Usage: "classes per experience of a class split, e.g. 5,1,1,1,1,1 (default: even split, the first C mod N experiences one more)"},
		&cli.StringFlag{Name: "angles", Usage: "rotation of each experience of rotated-* in degrees, e.g. 0,80,160 (default: (k-1)·180/N)"},
		&cli.BoolFlag{Name: "identity-first", Usage: "permuted-*: leave experience 1 unpermuted"},
		&cli.Float64Flag{Name: "task-distance", Usage: "gaussian: how far class means move between experiences, 0 (same) to 1 (independent)"},
		&cli.IntFlag{Name: "iterations", Usage: "updates per experience instead of --epochs"},
		&cli.IntFlag{Name: "repeat", Usage: "consecutive updates per mini-batch (online protocol: --epochs 1 --batch-size 10 --repeat 3)"},
		&cli.BoolFlag{Name: "hide-boundaries", Usage: "hide experience boundaries from the strategy"},
		&cli.Float64Flag{Name: "blur", Usage: "blurry boundaries: transition width as a fraction of an experience, 0 to 1"},
		&cli.Float64Flag{Name: "validation-fraction", Usage: "hold out this fraction of each experience's training data as the continual-evaluation set (implies --eval-subset validation; default 0.05 with it)"},
		&cli.StringFlag{Name: "data", Usage: "your own data: a CSV, Parquet or Arrow table, an IDX directory or a directory of CIFAR binary files (benchmarks split, permuted, rotated, tasks)"},
		&cli.StringFlag{Name: "data-format", Usage: "csv, parquet, arrow, idx, cifar10, cifar100 or cifar100-coarse (default: from the file)"},
		&cli.StringFlag{Name: "label-col", Usage: "label column of --data (default: label)"},
		&cli.StringFlag{Name: "feature-cols", Usage: "comma-separated feature columns of --data (default: every other column, or one list column)"},
		&cli.StringFlag{Name: "split-col", Usage: "column of --data saying train or test (default: hold out --test-fraction)"},
		&cli.StringFlag{Name: "task-col", Usage: "column of --data assigning rows to tasks (benchmark tasks)"},
		&cli.Float64Flag{Name: "test-fraction", Usage: "fraction of each class held out as the test split when --data has no split column (default 0.2)"},
		&cli.IntFlag{Name: "num-classes", Usage: "number of classes of --data (default: inferred)"},
		&cli.StringFlag{Name: "data-shape", Usage: "per-sample shape of --data, e.g. 28,28 (needed to rotate)"},
		&cli.StringFlag{Name: "image-shape", Usage: "the feature columns of --data are images of CxHxW values, channel by channel (e.g. 3x32x32 for 3072 columns)"},
	}
}

// withStreamFlags inserts streamFlags into the run flags, after
// --permute-classes (at the end when it is missing).
func withStreamFlags(flags []cli.Flag) []cli.Flag {
	at := len(flags)
	for i, f := range flags {
		if slices.Contains(f.Names(), "permute-classes") {
			at = i + 1
		}
	}
	return slices.Insert(flags, at, streamFlags()...)
}

// parseFloats parses "0,80,160".
func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, err := strconv.ParseFloat(part, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", part)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list %q", s)
	}
	return out, nil
}

func splitNames(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// dataFlags are the flags describing --data.
var dataFlags = []string{"data-format", "label-col", "feature-cols", "split-col", "task-col", "test-fraction", "num-classes", "data-shape", "image-shape"}

// applyStreamFlags applies the stream and data flags that were set to cfg.
func applyStreamFlags(c *cli.Context, cfg *harness.Config) error {
	if c.IsSet("scenario") {
		cfg.Scenario = c.String("scenario")
	}
	if c.IsSet("experience-classes") {
		v, err := parseInts(c.String("experience-classes"), false)
		if err != nil {
			return usagef("--experience-classes: %v", err)
		}
		cfg.ExperienceClasses = v
	}
	if c.IsSet("angles") {
		v, err := parseFloats(c.String("angles"))
		if err != nil {
			return usagef("--angles: %v", err)
		}
		cfg.Angles = v
	}
	if c.IsSet("identity-first") {
		cfg.IdentityFirst = c.Bool("identity-first")
	}
	if c.IsSet("task-distance") {
		if cfg.Synthetic == nil {
			cfg.Synthetic = &harness.SyntheticConfig{}
		} else {
			s := *cfg.Synthetic
			cfg.Synthetic = &s
		}
		cfg.Synthetic.TaskDistance = c.Float64("task-distance")
	}
	if c.IsSet("iterations") {
		cfg.Iterations = c.Int("iterations")
	}
	if c.IsSet("repeat") {
		cfg.Repeat = c.Int("repeat")
	}
	if c.IsSet("hide-boundaries") {
		cfg.HideBoundaries = c.Bool("hide-boundaries")
	}
	if c.IsSet("blur") {
		cfg.Blur = c.Float64("blur")
	}
	if c.IsSet("validation-fraction") {
		cfg.Eval.ValidationFraction = c.Float64("validation-fraction")
		if !c.IsSet("eval-subset") {
			cfg.Eval.Subset = harness.SubsetValidation
		}
	}
	if !c.IsSet("data") {
		for _, f := range dataFlags {
			if c.IsSet(f) && cfg.Data == nil {
				return usagef("--%s describes --data, which is not given", f)
			}
		}
	}
	if c.IsSet("data") || (cfg.Data != nil && slices.ContainsFunc(dataFlags, c.IsSet)) {
		src := datasets.Source{}
		if cfg.Data != nil {
			src = *cfg.Data
			src.FeatureCols = slices.Clone(src.FeatureCols)
			src.Shape = slices.Clone(src.Shape)
			src.ImageShape = slices.Clone(src.ImageShape)
		}
		if c.IsSet("data") {
			src.Path = c.String("data")
		}
		if err := applyTableFlags(c, &src.TableOptions); err != nil {
			return err
		}
		if c.IsSet("data-format") {
			src.Format = c.String("data-format")
		}
		cfg.Data = &src
		// --data on a benchmark bound to a dataset runs its generator on the
		// user's data: split-mnist becomes split.
		if !c.IsSet("benchmark") {
			if alt, ok := harness.DataBenchmark(cfg.Benchmark); ok {
				cfg.Benchmark = alt
			}
		}
	}
	return nil
}

// applyTableFlags applies --label-col and the other table flags to o.
func applyTableFlags(c *cli.Context, o *datasets.TableOptions) error {
	if c.IsSet("label-col") {
		o.LabelCol = c.String("label-col")
	}
	if c.IsSet("feature-cols") {
		o.FeatureCols = splitNames(c.String("feature-cols"))
	}
	if c.IsSet("split-col") {
		o.SplitCol = c.String("split-col")
	}
	if c.IsSet("task-col") {
		o.TaskCol = c.String("task-col")
	}
	if c.IsSet("test-fraction") {
		o.TestFraction = c.Float64("test-fraction")
	}
	if c.IsSet("num-classes") {
		o.NumClasses = c.Int("num-classes")
	}
	if c.IsSet("data-shape") {
		s, err := datasets.ParseShape(c.String("data-shape"))
		if err != nil {
			return usagef("--data-shape: %v", strings.TrimPrefix(err.Error(), "datasets: "))
		}
		o.Shape = s
	}
	if c.IsSet("image-shape") {
		s, err := datasets.ParseShape(c.String("image-shape"))
		if err != nil {
			return usagef("--image-shape: %v", strings.TrimPrefix(err.Error(), "datasets: "))
		}
		if len(s) != 3 {
			return usagef("--image-shape %s: want channels x height x width, e.g. 3x32x32", c.String("image-shape"))
		}
		o.ImageShape = s
	}
	return nil
}

func datasetsCommand() *cli.Command {
	locFlags := []cli.Flag{
		&cli.StringFlag{Name: "data-dir", Usage: "directory holding the dataset files (also: CLEVAL_DATA)"},
		&cli.BoolFlag{Name: "download", Usage: "download a missing dataset from its canonical address (SHA-256 checked) into the user cache"},
	}
	locate := func(c *cli.Context) datasets.LocateOptions {
		return datasets.LocateOptions{Dir: c.String("data-dir"), Download: c.Bool("download")}
	}
	var tableFlags []cli.Flag
	for _, f := range streamFlags() {
		if slices.ContainsFunc(dataFlags, func(n string) bool { return slices.Contains(f.Names(), n) }) {
			tableFlags = append(tableFlags, f)
		}
	}
	// A usage error of a subcommand (an unknown flag) is bad input, exit
	// status 2, as for the top-level commands.
	onUsage := func(c *cli.Context, err error, isSubcommand bool) error { return usageError{err} }
	// Each command gets its own copy of the flags: cli appends --help to
	// a command's flag slice, which would overwrite a shared array.
	return &cli.Command{
		Name:  "datasets",
		Usage: "list the known datasets, where each was found or how to get it; verify and describe them",
		Description: "Without a subcommand: the known datasets, the directory each was found in (or every place looked at\n" +
			"and how to get it), and the benchmarks. See also: cleval datasets verify, cleval datasets info.",
		Flags:  slices.Clone(locFlags[:1]),
		Action: func(c *cli.Context) error { return listDatasets(c.App.Writer, locate(c)) },
		Subcommands: []*cli.Command{
			{
				Name:         "verify",
				Usage:        "check the SHA-256 of the files of MNIST and Fashion-MNIST against the published values; the record counts, sizes and labels of CIFAR-10 and CIFAR-100 (and the MD5 of their archive when it is there)",
				ArgsUsage:    "[mnist|fashion-mnist|cifar10|cifar100 ...] (default: all found)",
				Flags:        slices.Clone(locFlags),
				OnUsageError: onUsage,
				Action: func(c *cli.Context) error {
					return verifyDatasets(c.App.Writer, c.Args().Slice(), locate(c))
				},
			},
			{
				Name:         "info",
				Usage:        "samples, classes, shape and per-class counts of a dataset",
				ArgsUsage:    "NAME|PATH (a known dataset, an IDX or CIFAR directory, or a CSV, Parquet or Arrow table)",
				Flags:        append(slices.Clone(locFlags), tableFlags...),
				OnUsageError: onUsage,
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usagef("datasets info: want one dataset name or path, got %d arguments", c.NArg())
					}
					return datasetInfo(c, c.Args().First(), locate(c))
				},
			},
		},
	}
}

func knownNames() []string {
	var out []string
	for _, k := range datasets.Known() {
		out = append(out, k.Name)
	}
	return out
}

func listDatasets(w io.Writer, opts datasets.LocateOptions) error {
	for _, k := range datasets.Known() {
		fmt.Fprintf(w, "%s\n    %s\n    %d classes, %s, %d train + %d test samples\n", k.Name, k.Description, k.NumClasses, shapeText(k.Shape), k.TrainSize, k.TestSize)
		if k.Of != "" {
			fmt.Fprintf(w, "    the files of %s (see there)\n", k.Of)
			continue
		}
		dir, err := datasets.Locate(k.Name, opts)
		var lerr *datasets.LocateError
		switch {
		case err == nil:
			fmt.Fprintf(w, "    found: %s\n", dir)
		case errors.As(err, &lerr):
			fmt.Fprintf(w, "    not found; looked in:\n")
			for _, p := range lerr.Looked {
				fmt.Fprintf(w, "      %s\n", p)
			}
			if k.Downloadable {
				fmt.Fprintf(w, "    to get it: %s (or --download from %s)\n", k.GetIt, k.URLs[0])
			} else {
				fmt.Fprintf(w, "    to get it (cleval cannot download it): %s\n", k.GetIt)
			}
		default:
			return err
		}
	}
	fmt.Fprintf(w, "synthetic\n    Gaussian blobs generated on the fly (benchmarks split-synthetic, gaussian): nothing to get\n")
	fmt.Fprintf(w, "your own data\n    --data FILE|DIR: a table (%s) or an IDX directory; see: cleval datasets info PATH\n", strings.Join(datasets.TableFormats(), ", "))
	fmt.Fprintf(w, "\nbenchmarks (cleval run --benchmark NAME):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, b := range harness.Benchmarks {
		fmt.Fprintf(tw, "  %s\t%s\n", b, harness.BenchmarkSummary(b))
	}
	return tw.Flush()
}

func verifyDatasets(w io.Writer, names []string, opts datasets.LocateOptions) error {
	explicit := len(names) > 0
	if !explicit {
		for _, k := range datasets.Known() {
			if k.Of == "" {
				names = append(names, k.Name)
			}
		}
	}
	var failed, corrupt []string
	for _, name := range names {
		if !slices.Contains(knownNames(), name) {
			return usagef("datasets verify: unknown dataset %q (known: %s)", name, strings.Join(knownNames(), ", "))
		}
		dir, err := datasets.Locate(name, opts)
		if err != nil {
			if explicit {
				return err
			}
			fmt.Fprintf(w, "%s: not found (cleval datasets lists where it was looked for)\n", name)
			continue
		}
		if f, ok := datasets.CIFARFormatOf(name); ok {
			bad, mismatch := verifyCIFAR(w, f, dir)
			if bad {
				corrupt = append(corrupt, name)
			}
			if mismatch {
				failed = append(failed, name)
			}
			continue
		}
		checks, err := datasets.Verify(name, dir)
		fmt.Fprintf(w, "%s: %s\n", name, dir)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, ch := range checks {
			status := "ok (" + ch.Match.String() + " SHA-256 matches)"
			if !ch.OK() {
				status = "MISMATCH: " + ch.Err.Error()
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", ch.File, short(ch.SHA256), status)
		}
		tw.Flush()
		if err != nil {
			failed = append(failed, name)
		}
	}
	if len(corrupt) > 0 {
		return fmt.Errorf("datasets verify: %s: files differ from the published ones: %w", strings.Join(corrupt, ", "), datasets.ErrCorrupt)
	}
	if len(failed) > 0 {
		return fmt.Errorf("datasets verify: %s: files differ from the published ones: %w", strings.Join(failed, ", "), datasets.ErrChecksum)
	}
	return nil
}

// verifyCIFAR prints the checks of the CIFAR files in dir (record counts,
// sizes, label ranges) and of the published archive when it is there;
// corrupt reports a file that failed, mismatch an archive whose MD5
// differs.
func verifyCIFAR(w io.Writer, f datasets.CIFARFormat, dir string) (corrupt, mismatch bool) {
	checks, err := f.VerifyRecords(dir)
	fmt.Fprintf(w, "%s: %s\n", f.Name, dir)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, ch := range checks {
		var status string
		var fe *datasets.FileError
		problem := fmt.Sprint(ch.Err)
		if errors.As(ch.Err, &fe) && fe.Path == ch.Path {
			problem = fe.Msg // the path is on the line already
		}
		switch {
		case ch.OK():
			status = fmt.Sprintf("ok (%d records, labels in range, %d to %d records per class)", ch.Records, slices.Min(ch.Counts), slices.Max(ch.Counts))
		case ch.Counts != nil:
			status = fmt.Sprintf("BAD: %s (labels in range, %d to %d records per class)", problem, slices.Min(ch.Counts), slices.Max(ch.Counts))
		default:
			status = "BAD: " + problem
		}
		fmt.Fprintf(tw, "  %s\t%d bytes\t%s\n", ch.File, max(ch.Size, 0), status)
	}
	tw.Flush()
	ac, aerr := datasets.VerifyArchive(f.Name, dir)
	switch {
	case ac.Path == "" && aerr == nil:
		fmt.Fprintf(w, "  archive: not there (MD5 %s not checked)\n", ac.Want)
	case aerr != nil:
		fmt.Fprintf(w, "  archive: MISMATCH: %v\n", aerr)
	default:
		fmt.Fprintf(w, "  archive: %s: ok (published MD5 %s matches)\n", ac.Path, ac.MD5)
	}
	return err != nil, aerr != nil
}

func short(sum string) string {
	if len(sum) > 16 {
		return sum[:16] + "…"
	}
	return sum
}

func shapeText(s []int) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, "x")
}

func datasetInfo(c *cli.Context, arg string, opts datasets.LocateOptions) error {
	var (
		p   datasets.Pair
		err error
		src string
	)
	if slices.Contains(knownNames(), arg) {
		var dir string
		if dir, err = datasets.Locate(arg, opts); err != nil {
			return err
		}
		if p, err = datasets.Load(arg, opts); err != nil {
			return err
		}
		src = dir
	} else {
		if _, statErr := os.Stat(arg); statErr != nil {
			return usagef("datasets info: %q is neither a known dataset (%s) nor a file or directory", arg, strings.Join(knownNames(), ", "))
		}
		s := datasets.Source{Path: arg, Format: c.String("data-format")}
		if err := applyTableFlags(c, &s.TableOptions); err != nil {
			return err
		}
		if p, err = datasets.OpenSource(s); err != nil {
			return err
		}
		src = arg
	}
	w := c.App.Writer
	kind := "uint8 pixels"
	if p.Train.Features != nil {
		kind = "float32 features"
	}
	fmt.Fprintf(w, "%s (%s)\n  samples: %d train, %d test\n  classes: %d\n  shape:   %s (%d values, %s)\n",
		arg, src, p.Train.Len(), p.Test.Len(), p.Train.NumClasses, shapeText(p.Train.Shape), p.Train.Dim(), kind)
	if nt := p.Train.NumTasks(); nt > 0 {
		fmt.Fprintf(w, "  tasks:   %d (%s)\n", nt, strings.Join(p.Train.TaskNames, ", "))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "class\tname\ttrain\ttest\t")
	train, test := p.Train.ClassCounts(), p.Test.ClassCounts()
	for k := range p.Train.NumClasses {
		name := strconv.Itoa(k)
		if k < len(p.Train.ClassNames) {
			name = p.Train.ClassNames[k]
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t\n", k, name, train[k], test[k])
	}
	return tw.Flush()
}
