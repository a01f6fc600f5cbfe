// Command gemmcmp prints, per benchmark, the median GFLOPS of two `go test
// -bench` outputs and their ratio. compare.sh feeds it the native and the
// OpenBLAS runs of BenchmarkSgemm, which alternate run by run: run i of
// one file was measured next to run i of the other, so the median of the
// per-run ratios (pairs) is also printed, and for one thread the median
// per-run ratio of GFLOPS per CPU second (cpu), which load from other
// processes disturbs less than wall time.
//
//	gemmcmp native.txt openblas.txt
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// result lines look like
// BenchmarkSgemm/NN_256x784x400/t1-2  1234  5678 ns/op  92.4 GFLOPS  95.1 cpuGFLOPS  0 B/op  0 allocs/op
var (
	line    = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+.*?([\d.]+) GFLOPS`)
	cpuLine = regexp.MustCompile(`([\d.]+) cpuGFLOPS`)
)

// run is one benchmark result: wall-time GFLOPS and, if reported, GFLOPS
// per CPU second (0 if not).
type run struct{ wall, cpu float64 }

func read(path string) (map[string][]run, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	vals := map[string][]run{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		var r run
		if r.wall, err = strconv.ParseFloat(m[3], 64); err != nil {
			return nil, nil, fmt.Errorf("gemmcmp: %s: %v", path, err)
		}
		if c := cpuLine.FindStringSubmatch(sc.Text()); c != nil {
			if r.cpu, err = strconv.ParseFloat(c[1], 64); err != nil {
				return nil, nil, fmt.Errorf("gemmcmp: %s: %v", path, err)
			}
		}
		name := strings.TrimPrefix(m[1], "BenchmarkSgemm/")
		if _, ok := vals[name]; !ok {
			order = append(order, name)
		}
		vals[name] = append(vals[name], r)
	}
	return vals, order, sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gemmcmp native.txt openblas.txt")
		os.Exit(2)
	}
	ours, order, err := read(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	theirs, _, err := read(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if len(order) == 0 {
		fmt.Fprintln(os.Stderr, "gemmcmp: no results in", os.Args[1])
		os.Exit(1)
	}
	fmt.Printf("%-26s %4s %9s %9s %7s %7s %7s\n", "shape (m×k×n)", "thr", "native", "openblas", "ratio", "pairs", "cpu")
	for _, name := range order {
		o, t := ours[name], theirs[name]
		if len(t) == 0 {
			continue
		}
		var ow, tw, pairs, cpu []float64
		for i, r := range o {
			ow = append(ow, r.wall)
			if i < len(t) {
				pairs = append(pairs, r.wall/t[i].wall)
				if r.cpu > 0 && t[i].cpu > 0 {
					cpu = append(cpu, r.cpu/t[i].cpu)
				}
			}
		}
		for _, r := range t {
			tw = append(tw, r.wall)
		}
		shape, thr, _ := strings.Cut(name, "/")
		mo, mt := median(ow), median(tw)
		cpuCol := "      -"
		if len(cpu) > 0 {
			cpuCol = fmt.Sprintf("%7.2f", median(cpu))
		}
		fmt.Printf("%-26s %4s %9.1f %9.1f %7.2f %7.2f %s\n", shape, strings.TrimPrefix(thr, "t"), mo, mt, mo/mt, median(pairs), cpuCol)
	}
	fmt.Printf("(median GFLOPS of %d native and %d OpenBLAS runs each; ratio: of the medians; pairs: median of the per-run ratios; cpu: the same per CPU second, one thread)\n", len(ours[order[0]]), len(theirs[order[0]]))
}
