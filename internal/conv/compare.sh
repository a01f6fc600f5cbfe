#!/usr/bin/env bash
# compare.sh runs BenchmarkLayers (every conv shape of the reduced
# ResNet-18, nf 20, 1×28×28; forward, data gradient and weight gradient;
# batches 32 and 200; 1 and 2 threads) in the native build (the direct
# and Winograd kernels, and im2col + cleval's GEMM) and in the openblas build (im2col
# + OpenBLAS, and OpenBLAS's GEMM alone), alternating the two builds
# round by round, and prints the table of median GFLOPS (cmd/convtable).
#
# usage: internal/conv/compare.sh [rounds (default 5)] [filter shape/product/batch/threads (default .*/.*/.*/.*)]
# e.g.   internal/conv/compare.sh 3 's4_160to160_4/.*/n200/t1'
#        GODEBUG=cpu.avx512f=off OPENBLAS_CORETYPE=Haswell internal/conv/compare.sh   (the AVX2 path)
# env:   BENCHTIME (default 20x) per benchmark; METRIC=cpu-GFLOPS tabulates
#        GFLOPS over process CPU time (steadier on a shared machine);
#        KEEP=dir keeps the raw outputs there.
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-5}
filter=${2:-.*/.*/.*/.*}
benchtime=${BENCHTIME:-20x}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go test -c -o "$out/native.test" .
go test -tags openblas -c -o "$out/openblas.test" .
for ((r = 1; r <= rounds; r++)); do
	"$out/native.test" -test.run '^$' -test.bench "BenchmarkLayers/$filter/impl=(direct|winograd|im2col)\$" \
		-test.benchtime "$benchtime" -test.count 1 >>"$out/native.txt"
	"$out/openblas.test" -test.run '^$' -test.bench "BenchmarkLayers/$filter/impl=(im2col|gemm)\$" \
		-test.benchtime "$benchtime" -test.count 1 >>"$out/openblas.txt"
	echo "round $r/$rounds done" >&2
done
echo "kernels: $("$out/native.test" -test.run TestKernelName -test.v 2>/dev/null | grep -o 'kernel=[a-z0-9]*' || true)"
go run ./cmd/convtable -metric "${METRIC:-GFLOPS}" "$out/native.txt" "$out/openblas.txt"
if [[ -n "${KEEP:-}" ]]; then
	cp "$out/native.txt" "$out/openblas.txt" "$KEEP"/
fi
