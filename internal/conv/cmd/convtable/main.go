// Command convtable reads the outputs of BenchmarkLayers from a native
// build and from an openblas build (see compare.sh) and prints, per conv
// shape, product, batch and thread count, the median GFLOPS of the
// direct kernels, of the Winograd passes (where they apply), of im2col +
// cleval's GEMM, of im2col + OpenBLAS and of OpenBLAS's GEMM alone, and
// the ratio of the best of cleval's kernels to im2col + OpenBLAS.
//
// usage: convtable [-metric GFLOPS|cpu-GFLOPS] native.txt openblas.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var line = regexp.MustCompile(`^BenchmarkLayers/(\S+)/impl=(\w+)-\d+\s`)

// read returns metric values by key (shape/op/n/t) and implementation.
func read(path, metric string) (map[string]map[string][]float64, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	out := map[string]map[string][]float64{}
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		fields := strings.Fields(sc.Text())
		for i := 2; i+1 < len(fields); i += 2 {
			if fields[i+1] != metric {
				continue
			}
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %v", path, err)
			}
			if out[m[1]] == nil {
				out[m[1]] = map[string][]float64{}
				keys = append(keys, m[1])
			}
			out[m[1]][m[2]] = append(out[m[1]][m[2]], v)
		}
	}
	return out, keys, sc.Err()
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
	metric := flag.String("metric", "GFLOPS", "the benchmark metric to tabulate (GFLOPS: wall time; cpu-GFLOPS: process CPU time)")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: convtable [-metric GFLOPS|cpu-GFLOPS] native.txt openblas.txt")
		os.Exit(2)
	}
	nat, keys, err := read(flag.Arg(0), *metric)
	if err != nil {
		fmt.Fprintln(os.Stderr, "convtable:", err)
		os.Exit(1)
	}
	ob, _, err := read(flag.Arg(1), *metric)
	if err != nil {
		fmt.Fprintln(os.Stderr, "convtable:", err)
		os.Exit(1)
	}
	fmt.Printf("median %s over %d rounds\n", *metric, len(nat[keys[0]]["direct"]))
	fmt.Printf("%-20s %-11s %5s %3s %7s %7s %8s %9s %7s %6s\n", "shape", "product", "batch", "thr", "direct", "winogr", "i2c+gemm", "i2c+oblas", "oblas", "ratio")
	for _, k := range keys {
		p := strings.Split(k, "/")
		if len(p) != 4 {
			continue
		}
		d := median(nat[k]["direct"])
		wg := median(nat[k]["winograd"])
		ic := median(nat[k]["im2col"])
		io := median(ob[k]["im2col"])
		og := median(ob[k]["gemm"])
		ratio := 0.0
		if io > 0 {
			ratio = max(d, wg) / io
		}
		w := "      -"
		if wg > 0 {
			w = fmt.Sprintf("%7.1f", wg)
		}
		fmt.Printf("%-20s %-11s %5s %3s %7.1f %s %8.1f %9.1f %7.1f %5.2fx\n", p[0], p[1], strings.TrimPrefix(p[2], "n"), strings.TrimPrefix(p[3], "t"), d, w, ic, io, og, ratio)
	}
}
