// Command gemmcmp prints, per benchmark, the median GFLOPS of two `go test
// -bench` outputs and their ratio. compare.sh feeds it the native and the
// OpenBLAS runs of BenchmarkSgemm.
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
// BenchmarkSgemm/NN_256x784x400/t1-2  1234  5678 ns/op  92.4 GFLOPS  0 B/op  0 allocs/op
var line = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+.*?([\d.]+) GFLOPS`)

func read(path string) (map[string][]float64, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	vals := map[string][]float64{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			return nil, nil, fmt.Errorf("gemmcmp: %s: %v", path, err)
		}
		name := strings.TrimPrefix(m[1], "BenchmarkSgemm/")
		if _, ok := vals[name]; !ok {
			order = append(order, name)
		}
		vals[name] = append(vals[name], v)
	}
	return vals, order, sc.Err()
}

func median(v []float64) float64 {
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
	fmt.Printf("%-26s %4s %9s %9s %7s\n", "shape (m×k×n)", "thr", "native", "openblas", "ratio")
	for _, name := range order {
		o, t := ours[name], theirs[name]
		if len(t) == 0 {
			continue
		}
		shape, thr, _ := strings.Cut(name, "/")
		mo, mt := median(o), median(t)
		fmt.Printf("%-26s %4s %9.1f %9.1f %7.2f\n", shape, strings.TrimPrefix(thr, "t"), mo, mt, mo/mt)
	}
	fmt.Printf("(median GFLOPS of %d native and %d OpenBLAS runs each)\n", len(ours[order[0]]), len(theirs[order[0]]))
}
