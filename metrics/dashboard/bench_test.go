package dashboard

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

// The benchmarks of the dashboard's speed in a real browser (headless
// chromium) on large databases, made on first use and kept:
//
//	go test ./metrics/dashboard -run - -bench FirstChart -benchtime 5x -benchdir /tmp/cleval-bench
//
// BenchmarkFirstChart/runs-view: the runs view of a 100-run database with
// 10 M evaluation records (100 runs × 5 experiences × 6,667 iterations,
// every seen experience evaluated at every iteration), from an empty page
// to the table drawn; /run-view: a run of it from an empty page to its
// accuracy chart drawn (each time another run, so its records are read
// from SQLite, not the cache); /large-run: a run with 100,000 evaluation
// points per experience (5 experiences: 500,000 points, 1.5 M records),
// from an empty page to its chart drawn.
var benchDir = flag.String("benchdir", "", "directory for the benchmark databases (kept between runs; default: a temporary directory)")

// benchRun writes one synthetic run of T experiences of n iterations each,
// with a stability gap at each boundary and a single-point dip in the
// middle of the last experience.
func benchRun(db *store.DB, id, T, n int) error {
	w := db.NewRun()
	lr := 0.01 * float64(1+id%5)
	info := metrics.RunInfo{
		Key: fmt.Sprintf("bench-%d", id), Preset: "bench", Benchmark: "split-synthetic", Strategy: []string{"naive", "er"}[id%5%2],
		Seed:        uint64(id / 5),
		Config:      []byte(fmt.Sprintf(`{"benchmark":"split-synthetic","strategy":"%s","optimizer":{"lr":%g},"epochs":1,"batch_size":10,"seed":%d}`, []string{"naive", "er"}[id%5%2], lr, id/5)),
		CodeVersion: "bench", NumExperiences: T, EvalSubset: metrics.SubsetFixed, Variants: []string{metrics.VariantLive},
	}
	for k := 1; k <= T; k++ {
		info.Experiences = append(info.Experiences, metrics.ExperienceInfo{ID: k, Classes: []int32{int32(2*k - 2), int32(2*k - 1)}, TrainSize: 10 * n, TestSize: 1000, EvalSize: 1000})
	}
	if err := w.Begin(info); err != nil {
		return err
	}
	acc := func(t, c, k int) float64 {
		start := (k - 1) * n
		if t <= start {
			return 0.1
		}
		a := 0.6 + 0.35*(1-math.Exp(-float64(min(t, k*n)-start)/float64(n/20+1)))
		if c > k {
			since := float64(t - (c-1)*n)
			a -= 0.05*float64(c-k) + 0.4*math.Exp(-since/float64(n/50+1))*since/float64(n/50+1)
		}
		a += 0.01 * math.Sin(float64(t+id)*0.37)
		if t == (T-1)*n+n/2 && k == 1 {
			a = 0.05 // one evaluation point far below the rest
		}
		return math.Min(0.99, math.Max(0.01, a))
	}
	recs := make([]metrics.EvalRecord, 0, T+1)
	for t := 0; t <= T*n; t++ {
		c := max(1, (t+n-1)/n)
		upTo := c
		if t == c*n && c < T {
			upTo = c + 1
		}
		recs = recs[:0]
		for k := 1; k <= upTo; k++ {
			correct := int(math.Round(1000 * acc(t, c, k)))
			recs = append(recs, metrics.EvalRecord{Iteration: t, Training: c, Evaluated: k, Variant: metrics.VariantLive,
				Correct: correct, Total: 1000, LossSum: float64(1000-correct) * 0.9, Subset: metrics.SubsetFixed})
		}
		if err := w.Evaluations(recs); err != nil {
			return err
		}
		if t > 0 && t%n == 0 {
			var row []metrics.MatrixRecord
			for j := 1; j <= T; j++ {
				row = append(row, metrics.MatrixRecord{Row: c, Col: j, Variant: metrics.VariantLive, Correct: int(1000 * acc(t, c, j)), Total: 1000})
			}
			if err := w.Matrix(row); err != nil {
				return err
			}
			if err := w.ExperienceEnd(c, t); err != nil {
				return err
			}
		}
	}
	return w.End(metrics.RunComplete, nil)
}

// benchDB returns the path of a database of runs made by benchRun, made
// when it is not there.
func benchDB(b *testing.B, name string, runs, T, n int) string {
	b.Helper()
	dir := *benchDir
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	start := time.Now()
	tmp := path + ".tmp"
	os.Remove(tmp)
	db, err := store.Open(tmp, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range runs {
		if err := benchRun(db, i, T, n); err != nil {
			b.Fatal(err)
		}
	}
	var recs int
	db.SQL().QueryRow(`SELECT count(*) FROM evaluations`).Scan(&recs)
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("made %s: %d runs, %d evaluation records in %v", path, runs, recs, time.Since(start).Round(time.Second))
	return path
}

// cpuUse adds up the CPU time of a benchmark's first charts: that of this
// process (the server, and the test's side of the browser protocol) and
// that of the browser's processes (its children). Unlike the wall time, it
// hardly depends on what else the machine runs.
type cpuUse struct {
	server, browser time.Duration
}

func (c *cpuUse) report(b *testing.B) {
	b.ReportMetric(c.server.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(c.browser.Seconds()/float64(b.N), "browser-cpu-s/op")
}

// firstChart opens url in a fresh page and waits until cond holds; it
// returns the time taken, and adds the CPU time used to cpu.
func firstChart(b *testing.B, ctx context.Context, url, cond string, cpu *cpuUse) time.Duration {
	b.Helper()
	b.StopTimer()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	server, browser := cpuTime(), childrenCPUTime()
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		b.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(5*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	cpu.server += cpuTime() - server
	cpu.browser += childrenCPUTime() - browser
	if testing.Verbose() {
		b.StopTimer()
		defer b.StartTimer()
		// Where the time went, as the page saw it.
		res, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`performance.getEntriesByType("resource").map(e => e.name.replace(location.origin, "") + " " + Math.round(e.startTime) + "+" + Math.round(e.duration) + "ms").join("; ") + "; now " + Math.round(performance.now())`))
		b.Logf("%v: %s", d.Round(time.Millisecond), res)
	}
	return d
}

func BenchmarkFirstChart(b *testing.B) {
	big := benchDB(b, "bench-100runs-10M.db", 100, 5, 6667)
	large := benchDB(b, "bench-large-run.db", 1, 5, 100000)
	ctx, cancel := browser(b)
	defer cancel()
	serve := func(path string) *httptest.Server {
		db, err := store.Open(path, store.Options{ReadOnly: true, Conns: 4})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		srv := httptest.NewServer(New(db, Options{}))
		b.Cleanup(srv.Close)
		return srv
	}
	chart := `document.querySelector("#acc-chart")?.dataset.ready === "1" && document.querySelectorAll("#acc-chart canvas").length > 0`
	srv := serve(big)
	b.Run("runs-view", func(b *testing.B) {
		var cpu cpuUse
		for range b.N {
			firstChart(b, ctx, srv.URL+"/#/runs", `document.querySelectorAll("#runs-table tbody tr").length === 100`, &cpu)
		}
		cpu.report(b)
	})
	next := 1
	b.Run("run-view", func(b *testing.B) {
		var cpu cpuUse
		for range b.N {
			firstChart(b, ctx, fmt.Sprintf("%s/#/run/%d", srv.URL, next), chart, &cpu)
			next = next%100 + 1
		}
		cpu.report(b)
	})
	lsrv := serve(large)
	b.Run("large-run", func(b *testing.B) {
		var cpu cpuUse
		for range b.N {
			b.StopTimer()
			lsrv.Config.Handler.(*Server).cache = newCache(DefaultCacheBytes) // read from SQLite every time
			b.StartTimer()
			firstChart(b, ctx, lsrv.URL+"/#/run/1", chart, &cpu)
		}
		cpu.report(b)
	})
}

// BenchmarkFirstRead is the server's part of a first chart, without a
// browser: /api/run and /api/series of a run whose records are not cached
// yet (cpu-s/op: the process's CPU time, user and system, which does not
// depend on what else the machine runs).
func BenchmarkFirstRead(b *testing.B) {
	for _, c := range []struct {
		name, file string
		runs, n    int
	}{{"100k-records", "bench-100runs-10M.db", 100, 6667}, {"1.5M-records", "bench-large-run.db", 1, 100000}} {
		path := benchDB(b, c.file, c.runs, 5, c.n)
		db, err := store.Open(path, store.Options{ReadOnly: true, Conns: 4})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			var cpu time.Duration
			id := 0
			for b.Loop() {
				s := New(db, Options{})
				id = id%c.runs + 1
				before := cpuTime()
				for _, q := range []string{fmt.Sprintf("/api/run?id=%d", id), fmt.Sprintf("/api/series?id=%d&width=1400", id)} {
					rec := httptest.NewRecorder()
					s.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1"+q, nil))
					if rec.Code != 200 {
						b.Fatalf("%s: %d %s", q, rec.Code, rec.Body)
					}
				}
				cpu += cpuTime() - before
			}
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		})
		db.Close()
	}
}

// childrenCPUTime is the CPU time (user and system) of the processes
// that descend from this one (the browser's), from /proc.
func childrenCPUTime() time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	parent := map[int]int{}
	ticks := map[int]int64{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime stime: fields 4, 14 and 15; comm
		// may hold spaces, so count from its closing parenthesis.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		parent[pid], ticks[pid] = ppid, ut+st
	}
	self := os.Getpid()
	var sum int64
	for pid, t := range ticks {
		for p := parent[pid]; p != 0 && p != pid; p = parent[p] {
			if p == self {
				sum += t
				break
			}
		}
	}
	return time.Duration(sum) * time.Second / time.Duration(clockTicks)
}

// clockTicks is the unit of the CPU times in /proc/PID/stat (USER_HZ),
// 100 on Linux.
const clockTicks = 100

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
