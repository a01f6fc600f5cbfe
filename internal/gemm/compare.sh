#!/usr/bin/env bash
# compare.sh runs BenchmarkSgemm for the native build and for -tags openblas
# (same shapes, same thread counts: the benchmark names carry t1/t2, and
# the openblas backend calls openblas_set_num_threads with the Context's
# thread count) and prints median GFLOPS per shape and the ratio
# native/OpenBLAS. The two builds alternate run by run so that load from
# other processes affects both alike.
#
# usage: internal/gemm/compare.sh [rounds (default 10)] [benchmark filter (default .)]
# e.g.   internal/gemm/compare.sh 5 'NN_5000.*/t1'
# For the AVX2 paths on an AVX-512 machine:
#        GODEBUG=cpu.avx512f=off OPENBLAS_CORETYPE=Haswell internal/gemm/compare.sh
# env:   BENCHTIME (default 1s) per benchmark run; BENCHSTAT=1 also prints
#        benchstat's comparison (fetched through the Go module proxy);
#        KEEP=dir keeps the raw outputs there.
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-10}
filter=${2:-.}
benchtime=${BENCHTIME:-1s}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go test -c -o "$out/native.test" .
go test -tags openblas -c -o "$out/openblas.test" .
# Which kernels run (GODEBUG=cpu.avx512f=off selects the native AVX2
# kernels; OPENBLAS_CORETYPE=Haswell OpenBLAS's AVX2 ones).
for build in native openblas; do
	"$out/$build.test" -test.run '^TestBackend$' -test.v | sed -n "s/.*backend: /$build build: /p"
done
for ((r = 1; r <= rounds; r++)); do
	for build in native openblas; do
		"$out/$build.test" -test.run '^$' -test.bench "BenchmarkSgemm/$filter" \
			-test.benchtime "$benchtime" -test.count 1 >>"$out/$build.txt"
	done
	echo "round $r/$rounds done" >&2
done
go run ./cmd/gemmcmp "$out/native.txt" "$out/openblas.txt"
if [[ -n "${BENCHSTAT:-}" ]]; then
	(cd "$out" && go run golang.org/x/perf/cmd/benchstat@latest openblas=openblas.txt native=native.txt)
fi
if [[ -n "${KEEP:-}" ]]; then
	cp "$out/native.txt" "$out/openblas.txt" "$KEEP"/
fi
