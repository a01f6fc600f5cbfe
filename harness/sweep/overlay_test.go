package sweep

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cleval/cleval/harness"
)

func fieldsPlan(t *testing.T, preset string, seeds []uint64, fields ...Field) (*Plan, error) {
	t.Helper()
	exp, err := FromFields("test", preset, fields, seeds)
	if err != nil {
		return nil, err
	}
	return exp.Expand()
}

// paramsOf returns the resolved strategy parameters of a run.
func paramsOf(t *testing.T, r Run) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Config.StrategyParams, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFromFieldsIsThePresetWithTheFields: fields laid over a preset give
// the configuration the preset with those fields set would, and its key.
func TestFromFieldsIsThePresetWithTheFields(t *testing.T) {
	plan, err := fieldsPlan(t, "delange-smnist-er", []uint64{3, 4},
		Field{Path: "epochs", Value: 1}, Field{Path: "optimizer.lr", Value: 0.05}, Field{Path: "strategy_params.mem_size", Value: 500},
		Field{Path: "hidden", Value: []int{100}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := harness.LookupPreset("delange-smnist-er")
	want := p.Config
	want.Epochs, want.Optimizer.LR, want.Hidden, want.Seed = 1, 0.05, []int{100}, 3
	if err := want.SetStrategyParam("mem_size", 500); err != nil {
		t.Fatal(err)
	}
	if _, err := want.Resolve(); err != nil {
		t.Fatal(err)
	}
	if len(plan.Runs) != 2 || plan.Runs[0].Key != want.Key() || !reflect.DeepEqual(plan.Runs[0].Config.JSON(), want.JSON()) {
		t.Errorf("got %s\nwant %s", plan.Runs[0].Config.JSON(), want.JSON())
	}
	if plan.Runs[1].Config.Seed != 4 || plan.Runs[1].Label != "seed=4" {
		t.Errorf("second run: seed %d, label %q", plan.Runs[1].Config.Seed, plan.Runs[1].Label)
	}
}

// TestFromFieldsStrategyStartsFromItsDefaults: another strategy than the
// preset's starts from its own defaults, keeping the parameters the
// fields give; an object given whole replaces the preset's (Replace), one
// given field by field (a dotted path) is merged into it.
func TestFromFieldsStrategyStartsFromItsDefaults(t *testing.T) {
	plan, err := fieldsPlan(t, "delange-smnist-er", nil, Field{Path: "strategy", Value: "ewc"}, Field{Path: "strategy_params.lambda", Value: 5})
	if err != nil {
		t.Fatal(err)
	}
	m := paramsOf(t, plan.Runs[0])
	if m["lambda"] != 5.0 || m["mem_size"] != nil {
		t.Errorf("ewc over the er preset: %v", m)
	}
	whole, err := fieldsPlan(t, "hess-er-agem", []uint64{0}, Field{Path: "strategy_params.base_params", Value: json.RawMessage(`{"mem_size":500}`), Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	merged, err := fieldsPlan(t, "hess-er-agem", []uint64{0}, Field{Path: "strategy_params.base_params.mem_size", Value: 500})
	if err != nil {
		t.Fatal(err)
	}
	w, g := paramsOf(t, whole.Runs[0])["base_params"].(map[string]any), paramsOf(t, merged.Runs[0])["base_params"].(map[string]any)
	if w["mem_size"] != 500.0 || g["mem_size"] != 500.0 || w["loss"] == g["loss"] || g["loss"] != "weighted" {
		t.Errorf("replaced base_params %v, merged %v: want the preset's loss kept only when merged", w, g)
	}
}

// TestFromFieldsErrorsNameTheirSource: an error about a field given by a
// flag starts with the flag (Source), without a file.
func TestFromFieldsErrorsNameTheirSource(t *testing.T) {
	_, err := fieldsPlan(t, "delange-smnist-er", []uint64{0}, Field{Path: "eval.size", Value: 0, From: "--eval-size 0"})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, harness.ErrInvalid) {
		t.Fatalf("%v: want an *Error wrapping ErrInvalid", err)
	}
	if e.Source != "--eval-size 0" || !strings.HasPrefix(err.Error(), "--eval-size 0: eval.size 0: must be an integer from 1 to 16777216") {
		t.Errorf("error %q (source %q)", err, e.Source)
	}
	if _, err := fieldsPlan(t, "delange-smnist-er", nil, Field{Path: "optimizer..lr", Value: 1}); !errors.Is(err, harness.ErrInvalid) {
		t.Errorf("empty path part: %v", err)
	}
	if _, err := fieldsPlan(t, "delange-smnist-er", nil, Field{Path: "seed", Value: 1}); !errors.Is(err, harness.ErrInvalid) {
		t.Errorf("seed as a field: %v", err)
	}
}

func TestParseSeeds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []uint64
		err  string
	}{
		{"0", []uint64{0}, ""},
		{"0-2,7", []uint64{0, 1, 2, 7}, ""},
		{" 3 - 4 ", []uint64{3, 4}, ""},
		{"18446744073709551614-18446744073709551615", []uint64{18446744073709551614, 18446744073709551615}, ""},
		{"0,0", nil, "seed 0 listed twice"},
		{"0-3,2", nil, "seed 2 listed twice"},
		{"0-100000000", nil, `seed range "0-100000000" holds 100000001 seeds, more than the 100000 allowed`},
		{"0-18446744073709551615", nil, "more than the 100000 allowed"},
		{"18446744073709551616", nil, "seeds are integers from 0 to 18446744073709551615"},
		{"-1", nil, "want seeds like"},
		{"4-2", nil, "the end is below the start"},
		{"1,,2", nil, "empty item"},
		{"", nil, "want seeds like"},
	} {
		got, err := ParseSeeds(tc.in)
		switch {
		case tc.err == "" && (err != nil || !reflect.DeepEqual(got, tc.want)):
			t.Errorf("ParseSeeds(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, harness.ErrInvalid)):
			t.Errorf("ParseSeeds(%q): error %v, want %q", tc.in, err, tc.err)
		}
	}
	// 100000 seeds pass; the walk over them does not overflow at the top.
	got, err := ParseSeeds("18446744073709451616-18446744073709551615")
	if err != nil || len(got) != MaxSeeds || got[len(got)-1] != 18446744073709551615 {
		t.Errorf("the last %d seeds: %d seeds, %v", MaxSeeds, len(got), err)
	}
}
