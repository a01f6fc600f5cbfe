package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/internal/testdb"
	"github.com/cleval/cleval/metrics/store"
)

// fixture: naive and er over seeds 0..2 (er better by 0.05), er seed 1
// stored twice (a duplicate), an interrupted and a diverged er run, an er
// run with another learning rate (its own group, seeds 0 and 5), and a
// one-experience run (NULL metrics).
func fixture(t *testing.T) (*store.DB, *Set) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "runs.db")
	var runs []testdb.Run
	for seed := range uint64(3) {
		runs = append(runs,
			testdb.Run{Preset: "p-naive", Strategy: "naive", Seed: seed, Experiences: 3, ItersPerExp: 8},
			testdb.Run{Preset: "p-er", Strategy: "er", Seed: seed, Experiences: 3, ItersPerExp: 8, Quality: 0.05})
	}
	runs = append(runs,
		testdb.Run{Preset: "p-er", Strategy: "er", Seed: 1, Experiences: 3, ItersPerExp: 8, Quality: 0.05},  // id 7, duplicate of 4
		testdb.Run{Strategy: "er", Seed: 3, Experiences: 3, ItersPerExp: 8, Status: metrics.RunInterrupted}, // 8
		testdb.Run{Strategy: "er", Seed: 4, Experiences: 3, ItersPerExp: 8, Status: metrics.RunDiverged},    // 9
		testdb.Run{Strategy: "er", Seed: 0, Experiences: 3, ItersPerExp: 8, LR: 0.05},                       // 10
		testdb.Run{Strategy: "er", Seed: 5, Experiences: 3, ItersPerExp: 8, LR: 0.05},                       // 11
		testdb.Run{Strategy: "naive", Seed: 7, Experiences: 1, ItersPerExp: 8},                              // 12
	)
	if _, err := testdb.Write(path, runs...); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	set, err := Load(context.Background(), db, store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return db, set
}

func TestLoad(t *testing.T) {
	_, set := fixture(t)
	if len(set.Groups) != 4 {
		for _, g := range set.Groups {
			t.Logf("%s %v", g.Name(), g.RunIDs())
		}
		t.Fatalf("%d groups, want 4", len(set.Groups))
	}
	want := []struct {
		label string
		runs  []int64
	}{
		{"naive experiences=3", []int64{1, 3, 5}},
		{"er lr=0.1", []int64{2, 7, 6}}, // run 7 replaces run 4 (same seed)
		{"er lr=0.05", []int64{10, 11}},
		{"naive experiences=1", []int64{12}},
	}
	for i, w := range want {
		g := set.Groups[i]
		if g.ID != i+1 || g.Label != w.label || !equal(g.RunIDs(), w.runs) {
			t.Errorf("group %d: %s runs %v, want [%d] %s runs %v", i, g.Name(), g.RunIDs(), i+1, w.label, w.runs)
		}
	}
	if len(set.Skipped) != 2 || set.Skipped[0].ID != 8 || set.Skipped[1].ID != 9 ||
		!strings.Contains(set.Skipped[0].Reason, "interrupted") || !strings.Contains(set.Skipped[1].Reason, "diverged") {
		t.Errorf("skipped %+v", set.Skipped)
	}
	if len(set.Duplicates) != 1 || set.Duplicates[0].ID != 4 || !strings.Contains(set.Duplicates[0].Reason, "run 7") {
		t.Errorf("duplicates %+v", set.Duplicates)
	}
	for ref, id := range map[string]int{"1": 1, "[2]": 2, "er lr=0.05": 3, set.Groups[1].Key[:6]: 2, "p-naive": 1} {
		g, err := set.Find(ref)
		if err != nil || g.ID != id {
			t.Errorf("Find(%q) = %v, %v; want group %d", ref, g, err, id)
		}
	}
	for _, ref := range []string{"er", "naive", "9", "zzz"} {
		if _, err := set.Find(ref); err == nil {
			t.Errorf("Find(%q): no error (ambiguous or unknown)", ref)
		}
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func stored(t *testing.T, db *store.DB, id int64, name string) float64 {
	t.Helper()
	ms, err := db.Metrics(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Variant == "live" && m.Name == name && m.K == 0 && m.J == 0 {
			if m.Null {
				return math.NaN()
			}
			return m.Value
		}
	}
	t.Fatalf("run %d has no %s", id, name)
	return 0
}

func TestBuild(t *testing.T) {
	db, set := fixture(t)
	r, err := Build(set, Options{Compare: [][2]string{{"2", "1"}}, Success: []string{"acc >= 80%", "min_acc<0.5"}})
	if err != nil {
		t.Fatal(err)
	}
	stat := func(group int, name string) Stat {
		for _, s := range r.Stats {
			if s.Group.ID == group && s.Name == name && s.K == 0 && s.Variant == "live" {
				return s
			}
		}
		t.Fatalf("no stat %s of group %d", name, group)
		return Stat{}
	}
	// Group 1: the mean and CI of ACC over runs 1, 3, 5, by hand.
	a := []float64{stored(t, db, 1, "acc"), stored(t, db, 3, "acc"), stored(t, db, 5, "acc")}
	mean := (a[0] + a[1] + a[2]) / 3
	sd := math.Sqrt(((a[0]-mean)*(a[0]-mean) + (a[1]-mean)*(a[1]-mean) + (a[2]-mean)*(a[2]-mean)) / 2)
	h := 4.302652729749464 * sd / math.Sqrt(3)
	s := stat(1, "acc")
	if s.N != 3 || math.Abs(s.Mean-mean) > 1e-12 || math.Abs(s.SD-sd) > 1e-12 || math.Abs(s.Low-(mean-h)) > 1e-9 || math.Abs(s.High-(mean+h)) > 1e-9 {
		t.Errorf("group 1 acc = %+v, want mean %v sd %v ± %v", s.Summary, mean, sd, h)
	}
	// Group 4 is one run of one experience: ACC has n = 1 and no
	// interval; min-ACC is NULL.
	if s := stat(4, "acc"); s.N != 1 || !math.IsNaN(s.SD) || !math.IsNaN(s.Low) {
		t.Errorf("group 4 acc = %+v", s.Summary)
	}
	if s := stat(4, "min_acc"); s.N != 0 || s.Nulls != 1 || !math.IsNaN(s.Mean) {
		t.Errorf("group 4 min_acc = %+v, want one NULL", s.Summary)
	}
	// The comparison pairs seeds 0, 1, 2: er (runs 2, 7, 6) - naive (1, 3, 5).
	if len(r.Comparisons) != 1 {
		t.Fatal("no comparison")
	}
	c := r.Comparisons[0]
	if c.A.ID != 2 || c.B.ID != 1 || len(c.Seeds) != 3 || len(c.OnlyA)+len(c.OnlyB) != 0 {
		t.Errorf("comparison %s vs %s seeds %v", c.A.Name(), c.B.Name(), c.Seeds)
	}
	er := []float64{stored(t, db, 2, "acc"), stored(t, db, 7, "acc"), stored(t, db, 6, "acc")}
	want := metrics.PairedT(er, a)
	for _, row := range c.Rows {
		if row.Name == "acc" && row.Variant == "live" {
			if row.PairedTest != want || !(row.MeanDiff > 0) {
				t.Errorf("paired acc = %+v, want %+v (er better)", row.PairedTest, want)
			}
		}
	}
	// Success: every seed of group 1 and 2 has ACC >= 80 %? Count by hand.
	for _, sr := range r.Success {
		if sr.Group.ID != 1 || sr.Criterion.Name != "acc" {
			continue
		}
		k := 0
		for _, v := range a {
			if v >= 0.8 {
				k++
			}
		}
		if sr.Successes != k || sr.N != 3 || sr.Proportion != metrics.Wilson(k, 3) {
			t.Errorf("success %+v, want %d/3", sr, k)
		}
	}
	if len(r.Success) != 2*len(set.Groups) {
		t.Errorf("%d success rows, want %d", len(r.Success), 2*len(set.Groups))
	}
}

func TestBuildErrors(t *testing.T) {
	_, set := fixture(t)
	for _, tc := range []struct {
		opt  Options
		want string
	}{
		{Options{Compare: [][2]string{{"1", "1"}}}, "both name group"},
		{Options{Compare: [][2]string{{"3", "4"}}}, "share no seed"},
		{Options{Compare: [][2]string{{"er", "1"}}}, "matches 2 groups"},
		{Options{Success: []string{"accuracy > 1"}}, "unknown metric"},
		{Options{Success: []string{"acc ~ 1"}}, "want METRIC OP VALUE"},
		{Options{Metrics: []string{"nope"}}, "unknown metric"},
	} {
		if _, err := Build(set, tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.opt, err, tc.want)
		}
	}
}

func TestParseCriterion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Criterion
	}{
		{"min_acc>=0.5", Criterion{MetricKey: MetricKey{"live", "min_acc", 0, 0}, Op: ">=", Threshold: 0.5}},
		{" acc >= 80% ", Criterion{MetricKey: MetricKey{"live", "acc", 0, 0}, Op: ">=", Threshold: 0.8}},
		{"ema0.99:wc_acc<0.6", Criterion{MetricKey: MetricKey{"ema0.99", "wc_acc", 0, 0}, Op: "<", Threshold: 0.6}},
		{"gap_depth[1,2]!=0", Criterion{MetricKey: MetricKey{"live", "gap_depth", 1, 2}, Op: "!=", Threshold: 0}},
	} {
		got, err := ParseCriterion(tc.in)
		tc.want.Text = strings.TrimSpace(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseCriterion(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestFormats(t *testing.T) {
	db, set := fixture(t)
	r, err := Build(set, Options{Compare: [][2]string{{"2", "1"}}, Success: []string{"min_acc>=0.5"}, Detail: true})
	if err != nil {
		t.Fatal(err)
	}
	out := func(format string) string {
		var b bytes.Buffer
		if err := r.Write(&b, format); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	text := out("text")
	for _, s := range []string{"9 complete runs", "skipped 2 runs", "run 8 (seed 3) interrupted", "ignored 1 duplicate", "[1] naive experiences=3",
		"compare [2] er lr=0.1 − [1] naive experiences=3: paired over seeds 0,1,2", "min_acc>=0.5", "gap_depth[1,2]", "min_acc[2]"} {
		if !strings.Contains(text, s) {
			t.Errorf("text lacks %q:\n%s", s, text)
		}
	}
	md := out("markdown")
	if !strings.Contains(md, "| metric ") || !strings.Contains(md, "| :---") || !strings.Contains(md, "### [2] er lr=0.1") {
		t.Errorf("markdown:\n%s", md)
	}
	recs, err := csv.NewReader(strings.NewReader(out("csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, rec := range recs[1:] {
		if len(rec) != len(csvHeader) {
			t.Fatalf("CSV row of %d fields: %v", len(rec), rec)
		}
		kinds[rec[0]]++
	}
	if kinds["summary"] != len(r.Stats) || kinds["compare"] != len(r.Comparisons[0].Rows) || kinds["success"] != len(r.Success) {
		t.Errorf("CSV rows per kind %v", kinds)
	}
	var j struct {
		Groups []struct {
			ID    int      `json:"id"`
			Seeds []uint64 `json:"seeds"`
		} `json:"groups"`
		Stats []struct {
			Metric string   `json:"metric"`
			Mean   *float64 `json:"mean"`
		} `json:"stats"`
		Skipped []Skipped `json:"skipped"`
	}
	if err := json.Unmarshal([]byte(out("json")), &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Groups) != 4 || len(j.Stats) != len(r.Stats) || len(j.Skipped) != 2 {
		t.Errorf("JSON: %d groups, %d stats, %d skipped", len(j.Groups), len(j.Stats), len(j.Skipped))
	}
	nullMean := false
	for _, s := range j.Stats {
		nullMean = nullMean || s.Metric == "min_acc" && s.Mean == nil
	}
	if !nullMean {
		t.Error("JSON: the NULL min_acc of group 4 is not null")
	}
	tex := out("latex")
	for _, s := range []string{`\toprule`, `min-ACC`, `\pm`, `er lr=0.1 ($n=3$)`, `WF$^{10}$`, `min\_acc[2]`} {
		if !strings.Contains(tex, s) {
			t.Errorf("LaTeX lacks %q:\n%s", s, tex)
		}
	}
	if err := r.Write(&bytes.Buffer{}, "xml"); err == nil {
		t.Error("format xml: no error")
	}

	var h bytes.Buffer
	if err := r.WriteHTML(context.Background(), &h, db); err != nil {
		t.Fatal(err)
	}
	page := h.String()
	if n := strings.Count(page, "<svg"); n != 2+3*3+2 { // 2 comparisons, 3 figures for 3 groups, 2 for the one-experience group
		t.Errorf("HTML holds %d SVG figures", n)
	}
	for _, s := range []string{"<table>", "compare-wc_acc", "g1-accuracy", "g4-matrix", "run 8 (seed 3) interrupted"} {
		if !strings.Contains(page, s) {
			t.Errorf("HTML lacks %q", s)
		}
	}
	if strings.Contains(page, "<?xml") || strings.Contains(page, "http://") && !strings.Contains(page, "http://www.w3.org/") {
		t.Error("HTML is not self-contained inline SVG")
	}
}

func TestLoadUnknownRun(t *testing.T) {
	db, _ := fixture(t)
	_, err := Load(context.Background(), db, store.RunFilter{IDs: []int64{1, 99}})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("err = %v", err)
	}
}
