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

func datasetsCommand() *cli.Command {
	locFlags := []cli.Flag{
		&cli.StringFlag{Name: "data-dir", Usage: "directory holding the dataset files (also: CLEVAL_DATA)"},
		&cli.BoolFlag{Name: "download", Usage: "download a missing dataset from its canonical address (SHA-256 checked) into the user cache"},
	}
	locate := func(c *cli.Context) datasets.LocateOptions {
		return datasets.LocateOptions{Dir: c.String("data-dir"), Download: c.Bool("download")}
	}
	tableFlags := tableFlags()
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
