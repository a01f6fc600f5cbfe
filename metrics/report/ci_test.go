package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/ingest"
	"github.com/cleval/cleval/metrics/internal/testdb"
	"github.com/cleval/cleval/metrics/store"
)

// TestBootstrapCI: with bootstrap intervals every interval is the
// bootstrap of the group's values (paired differences for comparisons),
// within the values, and the outputs say which intervals they print.
func TestBootstrapCI(t *testing.T) {
	_, set := fixture(t)
	for _, method := range []metrics.BootstrapMethod{metrics.BCa, metrics.Percentile} {
		ci := CI{Bootstrap: true, Options: metrics.BootstrapOptions{Method: method, Seed: 3}}
		r, err := Build(set, Options{Compare: [][2]string{{"2", "1"}}, CI: ci})
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, s := range r.Stats {
			vals := values(s.Group.Runs, s.MetricKey)
			want := metrics.Bootstrap(vals, ci.Options)
			same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
			if !same(s.Low, want.Low) || !same(s.High, want.High) {
				t.Errorf("%s %s: [%v, %v], bootstrap [%v, %v]", s.Group.Name(), s.MetricKey, s.Low, s.High, want.Low, want.High)
			}
			if want := metrics.Summarize(vals); !same(s.Mean, want.Mean) || !same(s.SD, want.SD) {
				t.Errorf("%s %s: mean and sd %v %v, want %v %v", s.Group.Name(), s.MetricKey, s.Mean, s.SD, want.Mean, want.SD)
			}
			if s.N >= 2 {
				var defined []float64
				for _, v := range vals {
					if !math.IsNaN(v) {
						defined = append(defined, v)
					}
				}
				if s.Low < slices.Min(defined) || s.High > slices.Max(defined) {
					t.Errorf("%s %s: [%v, %v] outside the values %v", s.Group.Name(), s.MetricKey, s.Low, s.High, defined)
				}
				checked++
			}
		}
		if checked == 0 {
			t.Fatal("no interval checked")
		}
		c := r.Comparisons[0]
		for _, row := range c.Rows {
			a, b := values(c.A.Runs, row.MetricKey), values(c.B.Runs, row.MetricKey) // the groups share every seed
			d := make([]float64, len(a))
			for i := range a {
				d[i] = a[i] - b[i]
			}
			want := metrics.Bootstrap(d, ci.Options)
			pt := metrics.PairedT(a, b)
			if row.Low != want.Low || row.High != want.High || row.T != pt.T || row.P != pt.P || row.MeanDiff != pt.MeanDiff {
				t.Errorf("compare %s: %+v, want bootstrap [%v, %v] and the t-test's t, p", row.MetricKey, row.PairedTest, want.Low, want.High)
			}
		}
		var text, csvOut, js, tex bytes.Buffer
		r.WriteText(&text)
		r.WriteCSV(&csvOut)
		r.WriteJSON(&js)
		r.WriteLaTeX(&tex)
		if !strings.Contains(text.String(), method.String()+" bootstrap over seeds, exact (every resample) for n <= 8, else 10000 resamples seeded 3") {
			t.Errorf("%s: text preamble:\n%.400s", method, text.String())
		}
		recs, _ := csv.NewReader(&csvOut).ReadAll()
		if recs[0][len(recs[0])-1] != "ci" || recs[1][len(recs[1])-1] != ci.String() {
			t.Errorf("%s: CSV ci column %v %v", method, recs[0], recs[1])
		}
		var j struct{ CI string }
		if json.Unmarshal(js.Bytes(), &j) != nil || j.CI != ci.String() {
			t.Errorf("%s: JSON ci %q", method, j.CI)
		}
		if !strings.Contains(tex.String(), "bootstrap confidence interval") || !strings.Contains(tex.String(), `{\scriptsize[`) {
			t.Errorf("%s: LaTeX:\n%s", method, tex.String())
		}
	}
	// Student t stays the default.
	r, err := Build(set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Stats {
		if want := metrics.Summarize(values(s.Group.Runs, s.MetricKey)); s.Summary != want && !(math.IsNaN(s.Low) && math.IsNaN(want.Low)) {
			t.Errorf("t interval %+v, want %+v", s.Summary, want)
		}
	}
	if r.CI.String() != "t" {
		t.Errorf("default CI %q", r.CI)
	}
}

// TestIngestedGroups: runs stored by cleval ingest are grouped by the
// metadata given, labelled apart from native groups of the same strategy,
// and compared with them paired over seeds.
func TestIngestedGroups(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "runs.db")
	var native []testdb.Run
	for seed := range uint64(3) {
		native = append(native, testdb.Run{Strategy: "er", Seed: seed, Experiences: 2, ItersPerExp: 4})
	}
	if _, err := testdb.Write(path, native...); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("run,iteration,training_exp,eval_exp,correct,total\n")
	for seed := 0; seed < 3; seed++ {
		for it := 0; it <= 8; it++ {
			c := 1 + it/5
			for k := 1; k <= c; k++ {
				fmt.Fprintf(&b, "%d,%d,%d,%d,%d,50\n", seed, it, c, k, 20+it+seed)
			}
		}
	}
	evals := filepath.Join(dir, "evaluations.csv")
	os.WriteFile(evals, []byte(b.String()), 0o644)
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := ingest.Ingest(context.Background(), db, ingest.Options{Inputs: []ingest.Input{{Path: evals}}, SeedFromRun: true,
		Meta: map[string]string{"strategy": "er", "framework": "pytorch"}}); err != nil {
		t.Fatal(err)
	}
	set, err := Load(context.Background(), db, store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Groups) != 2 || set.Groups[0].Label != "er" || set.Groups[0].Ingested ||
		set.Groups[1].Label != "er framework=pytorch" || !set.Groups[1].Ingested || len(set.Groups[1].Runs) != 3 {
		for _, g := range set.Groups {
			t.Logf("%s ingested=%v runs %v", g.Name(), g.Ingested, g.RunIDs())
		}
		t.Fatal("groups")
	}
	r, err := Build(set, Options{Compare: [][2]string{{"er framework=pytorch", "er"}}, Metrics: []string{"min_acc"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Comparisons[0]; len(c.Seeds) != 3 || c.Rows[0].N != 3 {
		t.Errorf("comparison %+v", c)
	}
	var text bytes.Buffer
	r.WriteText(&text)
	if !strings.Contains(text.String(), "[2] er framework=pytorch  (ingested; ") {
		t.Errorf("group header:\n%s", text.String())
	}
}
