#!/usr/bin/env bash
# compare.sh times the two operations of the convolutional workload side by
# side: nn's BenchmarkResNetTrainStep and BenchmarkResNetInfer (resnet18r,
# nf 20, 1×28×28: one update of 32 new + 32 replayed rows in two
# batch-norm groups with SGD; an evaluation forward of 200 rows) and the
# same two operations in PyTorch (resnet_pytorch.py, Debian's torch),
# with 1 and 2 threads, alternating Go and PyTorch round by round, and
# prints the median milliseconds per operation (wall and process CPU) and
# the ratios Go/PyTorch.
#
# usage: nn/testdata/bench/compare.sh [rounds (default 5)]
#        GODEBUG=cpu.avx512f=off ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell nn/testdata/bench/compare.sh
#        (the AVX2 paths of both)
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(cd ../../.. && go test -c -o "$out/nn.test" ./nn)
for ((r = 1; r <= rounds; r++)); do
	"$out/nn.test" -test.run '^$' -test.bench 'BenchmarkResNet(TrainStep|Infer)/t[12]$' -test.benchtime 5x |
		awk '/^BenchmarkResNet/ {
			split($1, a, "/"); op = (a[1] ~ /Train/) ? "train" : "infer"; th = substr(a[2], 2, 1)
			for (i = 3; i < NF; i++) { if ($(i+1) == "ns/op") ms = $i / 1e6; if ($(i+1) == "cpu-ms/op") cpu = $i }
			printf "go %s %s %.1f %.1f\n", op, th, ms, cpu }' >>"$out/all.txt"
	for th in 1 2; do
		OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 resnet_pytorch.py --threads "$th" --reps 5 |
			awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
				printf "torch %s %s %s %s\n", v["op"], v["threads"], v["ms"], v["cpu_ms"] }' >>"$out/all.txt"
	done
	echo "round $r/$rounds done" >&2
done
echo "Go kernels: $("$out/nn.test" -test.run TestConvKernelName -test.v 2>/dev/null | grep -o 'kernel=[a-z0-9]*' || echo '?'); median of $rounds rounds (ms per operation)"
printf "%-9s %10s %10s %10s %10s %8s %8s\n" "op" "go wall" "torch wall" "go cpu" "torch cpu" "wall" "cpu"
awk '
function median(s,   n, arr, i, j, t) {
	n = split(s, arr, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] + 0 < arr[i] + 0) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
	return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
{ k = $2 " t" $3; wall[$1, k] = wall[$1, k] " " $4; cpu[$1, k] = cpu[$1, k] " " $5; keys[k] = 1 }
END {
	for (k in keys) {
		gw = median(wall["go", k]); tw = median(wall["torch", k]); gc = median(cpu["go", k]); tc = median(cpu["torch", k])
		printf "%-9s %10.1f %10.1f %10.1f %10.1f %7.2fx %7.2fx\n", k, gw, tw, gc, tc, gw / tw, gc / tc
	}
}' "$out/all.txt" | sort
