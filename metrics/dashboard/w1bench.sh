#!/usr/bin/env bash
# Wall time of W1 (the 1-epoch reference run, cleval run --epochs 1 --seeds 0
# --quiet) without and with a dashboard open on it, in alternating pairs.
# "With" runs cleval serve on the same database and a client that polls it
# as the page does: the run view's new points every 0.5 s (/api/series
# ?after=), the run's details every 2.5 s, the runs list every 2 s.
#
#   PAIRS=10 bash metrics/dashboard/w1bench.sh      # from the repository root
#
# Prints one line per run (with, for the dashboard runs, the CPU time the
# cleval serve process used meanwhile) and the medians and their ratio.
set -euo pipefail
pairs=${PAIRS:-8}
port=${PORT:-18090}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
go build -o "$dir/cleval" ./cmd/cleval
db="$dir/w1.db"
"$dir/cleval" run --epochs 1 --seeds 0 --quiet --db "$db" >/dev/null # warm-up; creates the database

cat >"$dir/poll.py" <<'PY'
import json, sys, time, urllib.request
base = sys.argv[1]
def get(p):
    with urllib.request.urlopen(base + p) as r:
        return json.load(r)
run, last, t_runs, t_run = None, -1, 0.0, 0.0
while True:
    now = time.monotonic()
    if now >= t_runs:
        runs = get("/api/runs")["runs"]
        t_runs = now + 2
        live = [r["id"] for r in runs if r["status"] == "running"]
        if live and live[-1] != run:
            run, last = live[-1], -1
            get(f"/api/series?id={run}&width=1400")
    if run is not None:
        if now >= t_run:
            get(f"/api/run?id={run}")
            t_run = now + 10
        s = get(f"/api/series?id={run}&after={last}")
        if not s.get("reset") and s["last"]:
            last = max(last, max(s["last"].values()))
    time.sleep(0.5)
PY

for i in $(seq "$pairs"); do
	for mode in plain dashboard; do
		if [ "$mode" = dashboard ]; then
			"$dir/cleval" serve --db "$db" --addr "127.0.0.1:$port" 2>/dev/null &
			srv=$!
			sleep 0.5
			python3 "$dir/poll.py" "http://127.0.0.1:$port" &
			poll=$!
			sleep 0.5
		fi
		t0=$(date +%s.%N)
		"$dir/cleval" run --epochs 1 --seeds 0 --quiet --db "$db" >/dev/null
		t1=$(date +%s.%N)
		cpu=""
		if [ "$mode" = dashboard ]; then
			# utime + stime of cleval serve, in seconds.
			cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$srv/stat")
			kill "$poll" "$srv"
			wait "$poll" "$srv" 2>/dev/null || true
		fi
		echo "$mode $(echo "$t1 - $t0" | bc) $cpu"
	done
done | tee "$dir/times"
python3 - "$dir/times" <<'PY'
import statistics, sys
t = {}
cpu = []
for line in open(sys.argv[1]):
    f = line.split()
    t.setdefault(f[0], []).append(float(f[1]))
    if len(f) > 2:
        cpu.append(float(f[2]))
a, b = statistics.median(t["plain"]), statistics.median(t["dashboard"])
print(f"median plain {a:.3f} s, with dashboard {b:.3f} s, ratio {b / a:.3f} ({len(t['plain'])} pairs)")
d = sorted(y - x for x, y in zip(t["plain"], t["dashboard"]))
print(f"paired differences (dashboard - plain), s: {' '.join(f'{x:+.3f}' for x in d)}")
print(f"CPU time of cleval serve per dashboard run, s: median {statistics.median(cpu):.3f} (max {max(cpu):.3f}), "
      f"{100 * statistics.median(cpu) / b:.2f}% of one core over the run")
PY
