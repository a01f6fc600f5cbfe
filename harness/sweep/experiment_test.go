package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cleval/cleval/harness"
	_ "github.com/cleval/cleval/strategies/all"
)

func mustExpand(t *testing.T, src string) *Plan {
	t.Helper()
	exp, err := Parse("exp.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := exp.Expand()
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func labels(p *Plan) []string {
	var out []string
	for _, r := range p.Runs {
		out = append(out, r.Label)
	}
	return out
}

func TestGridZipSeedsOrder(t *testing.T) {
	plan := mustExpand(t, `
name: order
preset: delange-smnist-er
base: {epochs: 1}
seeds: [0, 1]
grid:
  strategy_params.mem_size: [100, 200]
  hidden: [[10], [20, 20]]
zip:
  optimizer.lr: [0.1, 0.2]
  batch_size: [16, 32]
`)
	if plan.Name != "order" || len(plan.Runs) != 2*2*2*2 {
		t.Fatalf("%q: %d runs, want 16", plan.Name, len(plan.Runs))
	}
	got := labels(plan)
	want := []string{
		"strategy_params.mem_size=100 hidden=[10] optimizer.lr=0.1 batch_size=16 seed=0",
		"strategy_params.mem_size=100 hidden=[10] optimizer.lr=0.1 batch_size=16 seed=1",
		"strategy_params.mem_size=100 hidden=[10] optimizer.lr=0.2 batch_size=32 seed=0",
	}
	if !slices.Equal(got[:3], want) {
		t.Errorf("first labels\n%q\nwant\n%q", got[:3], want)
	}
	last := plan.Runs[15].Config
	if last.Seed != 1 || last.BatchSize != 32 || last.Optimizer.LR != 0.2 || !slices.Equal(last.Hidden, []int{20, 20}) || last.Epochs != 1 {
		t.Errorf("last run %+v", last)
	}
	// Fields not named keep the preset's values.
	if last.Optimizer.Momentum != 0.9 || last.Benchmark != "split-mnist" || last.Preset != "delange-smnist-er" {
		t.Errorf("preset values lost: %+v", last)
	}
	var params map[string]any
	json.Unmarshal(last.StrategyParams, &params)
	if params["mem_size"] != 200.0 || params["lambda"] != 0.3 {
		t.Errorf("strategy params %s", last.StrategyParams)
	}
	for i, r := range plan.Runs {
		if r.Index != i || r.Key != r.Config.Key() {
			t.Errorf("run %d: index %d key %s", i, r.Index, r.Key)
		}
	}
}

func TestPresetAxisAndStrategyChange(t *testing.T) {
	plan := mustExpand(t, `
base: {epochs: 1}
seeds: 3
grid:
  preset: [delange-smnist-er, delange-smnist-naive]
`)
	if len(plan.Runs) != 2 || plan.Runs[0].Config.Strategy != "er" || plan.Runs[1].Config.Strategy != "naive" || plan.Runs[1].Config.Preset != "delange-smnist-naive" {
		t.Fatalf("runs %+v", plan.Runs)
	}
	if plan.Runs[0].Config.Seed != 3 {
		t.Errorf("seed %d", plan.Runs[0].Config.Seed)
	}
	// Another strategy drops the preset's parameters but keeps the file's.
	plan = mustExpand(t, `
preset: delange-smnist-er
seeds: 0
grid:
  strategy: [naive, er]
`)
	if string(plan.Runs[0].Config.StrategyParams) != "{}" {
		t.Errorf("naive params %s", plan.Runs[0].Config.StrategyParams)
	}
	p, _ := harness.LookupPreset("delange-smnist-er")
	if _, err := p.Config.Resolve(); err != nil {
		t.Fatal(err)
	}
	if string(plan.Runs[1].Config.StrategyParams) != string(p.Config.StrategyParams) {
		t.Errorf("er params %s, want the preset's %s", plan.Runs[1].Config.StrategyParams, p.Config.StrategyParams)
	}
}

func TestDefaultSeedsAreThePresets(t *testing.T) {
	plan := mustExpand(t, "preset: delange-smnist-naive\n")
	p, _ := harness.LookupPreset("delange-smnist-naive")
	if len(plan.Runs) != len(p.Seeds) {
		t.Fatalf("%d runs, want the preset's %d seeds", len(plan.Runs), len(p.Seeds))
	}
	plan = mustExpand(t, "seeds: 0-2,7\npreset: delange-smnist-naive\n")
	var seeds []uint64
	for _, r := range plan.Runs {
		seeds = append(seeds, r.Config.Seed)
	}
	if !slices.Equal(seeds, []uint64{0, 1, 2, 7}) {
		t.Errorf("seeds %v", seeds)
	}
}

func TestExperimentsBlocksAndDuplicates(t *testing.T) {
	plan := mustExpand(t, `
base: &b {epochs: 1, benchmark: split-synthetic, hidden: [8]}
seeds: [0, 1]
grid:
  optimizer.lr: [0.1]
experiments:
  - name: fine-tuning
    preset: delange-smnist-naive
  - preset: delange-smnist-er
    base: {<<: *b, strategy_params: {mem_size: 50}}
    grid:
      strategy_params.replay_batch_size: [8, 16]
  - preset: delange-smnist-naive   # the first block again: duplicates
    seeds: [1]
`)
	if len(plan.Runs) != 2+4 || len(plan.Duplicates) != 1 {
		t.Fatalf("%d runs, %d duplicates: %q", len(plan.Runs), len(plan.Duplicates), labels(plan))
	}
	if plan.Duplicates[0].Of != 1 || !strings.Contains(plan.Duplicates[0].Label, "seed=1") {
		t.Errorf("duplicate %+v", plan.Duplicates[0])
	}
	if got := plan.Runs[0].Label; got != "[fine-tuning] optimizer.lr=0.1 seed=0" {
		t.Errorf("label %q", got)
	}
	er := plan.Runs[3].Config
	if er.Benchmark != "split-synthetic" || er.Optimizer.LR != 0.1 || !strings.Contains(string(er.StrategyParams), `"mem_size":50`) || !strings.Contains(string(er.StrategyParams), `"replay_batch_size":8`) {
		t.Errorf("er run %+v %s", er, er.StrategyParams)
	}
}

// TestBadInput: every mistake gives one *Error with the file, line and
// field, wrapping harness.ErrInvalid.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		want      string
	}{
		{"unknown top key", "preset: delange-smnist-er\ngrdi: {a: [1]}\n", 2, `unknown key "grdi" (did you mean "grid"?`},
		{"unknown field", "preset: delange-smnist-er\nbase:\n  epochz: 1\n", 3, `epochz: unknown field "epochz" (did you mean "epochs"?`},
		{"unknown nested field", "preset: delange-smnist-er\nbase:\n  eval:\n    sise: 3\n", 4, `eval.sise: unknown field`},
		{"unknown axis field", "preset: delange-smnist-er\ngrid:\n  optimizer.lrr: [1]\n", 3, `optimizer.lrr: unknown field "lrr"`},
		{"case matters", "preset: delange-smnist-er\nbase: {Epochs: 1}\n", 2, `did you mean "epochs"`},
		{"wrong type", "preset: delange-smnist-er\nbase:\n  epochs: one\n", 3, "epochs: got string, want an integer"},
		{"wrong type in axis", "preset: delange-smnist-er\ngrid:\n  hidden: [[1], oops]\n", 3, "hidden: got string, want a list"},
		{"wrong type nested", "preset: delange-smnist-er\nbase: {optimizer: 3}\n", 2, "optimizer: got number, want a mapping"},
		{"empty axis", "preset: delange-smnist-er\ngrid:\n  optimizer.lr: []\n", 3, "empty list"},
		{"empty grid", "preset: delange-smnist-er\ngrid: {}\n", 2, "empty grid"},
		{"empty seeds", "preset: delange-smnist-er\nseeds: []\n", 2, "empty list"},
		{"empty experiments", "preset: delange-smnist-er\nexperiments: []\n", 2, "empty list"},
		{"axis not a list", "preset: delange-smnist-er\ngrid:\n  epochs: 3\n", 3, "an axis is a list"},
		{"unknown preset", "preset: delange-smnist-err\n", 1, `unknown preset "delange-smnist-err"`},
		{"unknown preset in axis", "grid:\n  preset: [delange-smnist-er, nope]\n", 2, `unknown preset "nope"`},
		{"unknown preset in block", "experiments:\n  - preset: delange-smnist-er\n  - preset: x\n", 3, `unknown preset "x"`},
		{"bad value", "preset: delange-smnist-er\ngrid:\n  optimizer.lr: [0.1, -1]\n", 3, "optimizer.lr -1 (learning rate): must be a finite number > 0 (optimizer.lr=-1 seed=0)"},
		{"bad strategy param", "preset: delange-smnist-er\nbase:\n  strategy_params.mem_size: 0\n", 3, "strategy_params.mem_size"},
		{"unknown strategy param", "preset: delange-smnist-er\nbase:\n  strategy_params: {memsize: 1}\n", 3, `unknown field "memsize"`},
		{"unknown strategy", "preset: delange-smnist-er\nbase:\n  strategy: magic\n", 3, `unknown strategy "magic"`},
		{"zip lengths", "preset: delange-smnist-er\nzip:\n  epochs: [1, 2]\n  batch_size: [1]\n", 4, "equal lengths"},
		{"overlapping axes", "preset: delange-smnist-er\ngrid:\n  optimizer: [{lr: 1}]\nzip:\n  optimizer.lr: [1]\n", 5, "overlaps"},
		{"seed in base", "preset: delange-smnist-er\nbase: {seed: 3}\n", 2, "seeds:"},
		{"seed axis", "preset: delange-smnist-er\ngrid: {seed: [1, 2]}\n", 2, "seeds:"},
		{"bad seed", "preset: delange-smnist-er\nseeds: [1, -2]\n", 2, "seed -2"},
		{"bad seed range", "preset: delange-smnist-er\nseeds: 4-2\n", 2, `seed range "4-2": the end is below the start`},
		{"seed range over the limit", "preset: delange-smnist-er\nseeds: 0-1000000000\n", 2, `seed range "0-1000000000" holds 1000000001 seeds, more than the 100000 allowed`},
		{"seed listed twice", "preset: delange-smnist-er\nseeds: 0-3,2\n", 2, "seed 2 listed twice"},
		{"second document", "preset: delange-smnist-er\n---\npreset: delange-smnist-naive\n", 2, "a second YAML document"},
		{"epochs overflow", "preset: delange-smnist-er\nbase: {epochs: 922337203685477580}\n", 2, "epochs 922337203685477580: must be an integer from 1 to 1000000"},
		{"duplicate key", "preset: delange-smnist-er\nbase:\n  epochs: 1\n  epochs: 2\n", 4, "given twice (first at line 3)"},
		{"not finite", "preset: delange-smnist-er\nbase: {optimizer.lr: .inf}\n", 2, "not a finite number"},
		{"syntax", "preset: [delange-smnist-er\n", 1, "did not find expected"},
		{"no preset", "base:\n  epochs: 1\n", 1, "names no preset"},
		{"not a mapping", "- 1\n- 2\n", 1, "is a mapping"},
		{"empty file", "", 0, "empty experiment file"},
		{"stream", "preset: delange-smnist-er\nbase: {benchmark: split-synthetic, experiences: 11}\n", 2, "experiences"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var plan *Plan
			exp, err := Parse("exp.yaml", []byte(tc.src))
			if err == nil {
				plan, err = exp.Expand()
			}
			if err == nil && tc.name == "stream" {
				err = plan.Prepare(&harness.Data{})
			}
			if err == nil {
				t.Fatalf("no error; %d runs", len(plan.Runs))
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T %v is not an *Error", err, err)
			}
			if !errors.Is(err, harness.ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			if e.Line != tc.line {
				t.Errorf("%v: line %d, want %d", err, e.Line, tc.line)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "exp.yaml:") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not say %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}

func TestShardsPartition(t *testing.T) {
	plan := mustExpand(t, "preset: delange-smnist-naive\nseeds: 0-22\n")
	for _, n := range []int{1, 2, 3, 5, 23, 40} {
		seen := map[string]int{}
		for i := range n {
			s := plan.Shard(Shard{i, n})
			if len(s) < len(plan.Runs)/n || len(s) > len(plan.Runs)/n+1 {
				t.Errorf("n=%d shard %d has %d runs", n, i, len(s))
			}
			for _, r := range s {
				seen[r.Key]++
			}
			// Deterministic: the same file gives the same shard.
			again := mustExpand(t, "preset: delange-smnist-naive\nseeds: 0-22\n").Shard(Shard{i, n})
			if !reflect.DeepEqual(keys(s), keys(again)) {
				t.Errorf("n=%d shard %d differs between expansions", n, i)
			}
		}
		if len(seen) != len(plan.Runs) {
			t.Errorf("n=%d: %d runs covered of %d", n, len(seen), len(plan.Runs))
		}
		for k, c := range seen {
			if c != 1 {
				t.Errorf("n=%d: %s in %d shards", n, k, c)
			}
		}
	}
	for _, bad := range []string{"", "1", "2/2", "-1/2", "a/b", "0/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	if s, err := ParseShard(" 3/4 "); err != nil || s != (Shard{3, 4}) {
		t.Errorf("ParseShard: %v %v", s, err)
	}
}

func keys(runs []Run) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.Key)
	}
	return out
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("preset: delange-smnist-er\nbase: {epochs: 1}\ngrid:\n  optimizer.lr: [0.1, 0.2]\nseeds: 0-2\n"))
	f.Add([]byte("experiments:\n  - preset: delange-smnist-naive\n    zip: [{epochs: [1, 2], batch_size: [3, 4]}]\n"))
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Add([]byte("base: {<<: [{epochs: 1}], optimizer..lr: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		exp, err := Parse("f.yaml", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T is not an *Error: %v", err, err)
			}
			return
		}
		plan, err := exp.Expand()
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T is not an *Error: %v", err, err)
			}
			return
		}
		if len(plan.Runs) == 0 {
			t.Fatal("a plan without runs")
		}
	})
}

func TestAliasBombIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("preset: delange-smnist-er\nbase:\n  strategy_params:\n    l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "    l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	start := time.Now()
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("got %v, want the size limit", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestYAMLRoundTrip: a JSON value written as YAML (as the preset files
// are) reads back as the same JSON, tricky strings and numbers included.
func TestYAMLRoundTrip(t *testing.T) {
	for _, js := range []string{
		`{"a":"yes","b":"1.5","c":"null","d":"","e":"~","f":"0x10","g":"2001-12-14","h":"a: b","i":"#x","j":" lead"}`,
		`{"n":[1,-2,3.25,1e-07,1e+300,0],"t":true,"z":null,"nested":{"x":[[1],[]],"y":{}}}`,
		`{"long":12345678901234567890,"neg":-9223372036854775808}`,
	} {
		v, err := fromJSON([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		out, err := yaml.Marshal(toYAML(v))
		if err != nil {
			t.Fatal(err)
		}
		var n yaml.Node
		if err := yaml.Unmarshal(out, &n); err != nil {
			t.Fatal(err)
		}
		p := &parser{file: "rt"}
		back, err := p.fromYAML(n.Content[0], false)
		if err != nil {
			t.Fatalf("%s: %v\n%s", js, err, out)
		}
		var a, b any
		json.Unmarshal([]byte(js), &a)
		json.Unmarshal(back.json(), &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s\nwrote\n%s\nread %s", js, out, back.json())
		}
	}
}
