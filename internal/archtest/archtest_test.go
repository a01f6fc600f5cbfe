package archtest

import (
	"slices"
	"strings"
	"testing"
)

// TestModuleLayering checks the module as it is: every package in a
// group, every import downwards or within its group, every rule kept.
func TestModuleLayering(t *testing.T) {
	pkgs, err := Load(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Check(pkgs) {
		t.Error(v)
	}
	// The facts the layering exists for, spelled out (they follow from the
	// rules, and the rules are tested below; this guards against the
	// rules being weakened along with the code).
	for _, p := range pkgs {
		for _, root := range []string{"strategies", "examples", "nn"} {
			if p.ImportPath != root && !strings.HasPrefix(p.ImportPath, root+"/") {
				continue
			}
			for _, d := range p.Deps {
				if d == Module+"/harness" || strings.HasPrefix(d, Module+"/harness/") {
					t.Errorf("%s depends on %s", p.ImportPath, d)
				}
			}
		}
		if p.ImportPath == "harness" || strings.HasPrefix(p.ImportPath, "harness/") {
			for _, imp := range p.Imports {
				for _, k := range []string{"gemm", "sparse", "par", "vec"} {
					if imp == Module+"/internal/"+k {
						t.Errorf("%s imports %s", p.ImportPath, imp)
					}
				}
			}
		}
	}
	var names []string
	for _, p := range pkgs {
		names = append(names, p.ImportPath)
	}
	for _, want := range []string{"nn", "strategies", "harness", "harness/sweep", "metrics", "metrics/store", "internal/gemm", "cmd/cleval", "examples/plugin"} {
		if !slices.Contains(names, want) {
			t.Errorf("go list did not list %s (listed %v)", want, names)
		}
	}
}

func TestWellFormed(t *testing.T) {
	if err := WellFormed(); err != nil {
		t.Error(err)
	}
}

func TestGroupOf(t *testing.T) {
	for _, tc := range []struct{ path, group string }{
		{"internal/gemm", "kernels"},
		{"internal/gemm/internal/openblas", "kernels"},
		{"internal/conv", "kernels"}, // a new internal package is a kernel
		{"internal/version", "support"},
		{"internal/archtest", "support"},
		{"datasets", "datasets"},
		{"datasets/tabular", "data adapters"},
		{"metrics", "metrics"},
		{"metrics/store", "metrics adapters"},
		{"metrics/internal/testdb", "metrics adapters"},
		{"nn", "nn"},
		{"strategies/internal/flat", "strategies"},
		{"strategies/strategytest", "strategies"},
		{"harness", "harness"},
		{"harness/sweep", "sweep"},
		{"cmd/cleval", "commands"},
		{"examples/plugin", "examples"},
		{"docs", "docs"},
		{"nnx", ""}, // a prefix of a name is not a parent
		{"tools/gen", ""},
	} {
		g := GroupOf(tc.path)
		got := ""
		if g != nil {
			got = g.Name
		}
		if got != tc.group {
			t.Errorf("GroupOf(%q) = %q, want %q", tc.path, got, tc.group)
		}
	}
}

// TestCheckFindsViolations feeds Check small import graphs, each breaking
// one rule, and checks that exactly the expected violation is reported.
func TestCheckFindsViolations(t *testing.T) {
	m := func(p string) string { return Module + "/" + p }
	for _, tc := range []struct {
		name string
		pkgs []Package
		want []string // substrings, one per expected violation, in order
	}{
		{"clean", []Package{
			{ImportPath: "nn", Imports: []string{m("internal/gemm"), "fmt"}, Deps: []string{m("internal/gemm"), m("internal/par"), "fmt"}},
			{ImportPath: "strategies", Imports: []string{m("nn"), m("streams")}, Deps: []string{m("nn"), m("streams"), m("datasets"), m("internal/gemm")}},
			{ImportPath: "harness", Imports: []string{m("strategies"), m("metrics"), m("internal/version")}},
			{ImportPath: "metrics/report", Imports: []string{m("metrics/plot"), m("metrics")}},
		}, nil},
		{"strategy imports the driver", []Package{
			{ImportPath: "strategies/replay", Imports: []string{m("harness")}, Deps: []string{m("harness")}},
		}, []string{
			"strategies/replay -> " + m("harness") + ": imports what it must not",
			"strategies/replay -> " + m("harness") + ": strategies (layer 3) imports harness of a higher layer (4)",
		}},
		{"model depends on the driver through another package", []Package{
			{ImportPath: "nn", Imports: []string{m("streams")}, Deps: []string{m("streams"), m("harness/sweep")}},
		}, []string{
			"nn -> " + m("harness/sweep") + ": depends on what it must not",
			"nn -> " + m("streams") + ": nn (layer 2) imports streams of another group of the same layer",
		}},
		{"driver imports a kernel", []Package{
			{ImportPath: "harness", Imports: []string{m("internal/sparse")}},
		}, []string{"harness -> " + m("internal/sparse") + ": imports what it must not: the engine's choices"}},
		{"command imports a kernel", []Package{
			{ImportPath: "cmd/cleval", Imports: []string{m("internal/par")}},
		}, []string{"cmd/cleval -> " + m("internal/par") + ": imports what it must not"}},
		{"metric math imports its adapter", []Package{
			{ImportPath: "metrics", Imports: []string{m("metrics/store")}, Deps: []string{m("metrics/store"), "github.com/mattn/go-sqlite3"}},
		}, []string{
			"metrics -> " + m("metrics/store") + ": metrics (layer 1) imports metrics adapters of a higher layer (3)",
			"metrics -> github.com/mattn/go-sqlite3: depends on what it must not: only the adapters need cgo",
		}},
		{"plugin API depends on Arrow", []Package{
			{ImportPath: "streams", Imports: []string{m("datasets")}, Deps: []string{m("datasets"), "github.com/apache/arrow-go/v18/arrow"}},
		}, []string{"streams -> github.com/apache/arrow-go/v18/arrow: depends on what it must not"}},
		{"strategy imports a metrics adapter", []Package{
			{ImportPath: "strategies/strategytest", Imports: []string{m("metrics/store")}},
		}, []string{"strategies/strategytest -> " + m("metrics/store") + ": strategies (layer 3) imports metrics adapters of another group of the same layer"}},
		{"adapters may use Arrow and SQLite", []Package{
			{ImportPath: "datasets/tabular", Imports: []string{m("datasets"), "github.com/apache/arrow-go/v18/arrow"}, Deps: []string{"github.com/apache/arrow-go/v18/arrow"}},
			{ImportPath: "metrics/store", Imports: []string{m("metrics"), "github.com/mattn/go-sqlite3"}, Deps: []string{"github.com/mattn/go-sqlite3"}},
		}, nil},
		{"example imports the driver", []Package{
			{ImportPath: "examples/plugin", Imports: []string{m("harness")}, Deps: []string{m("harness")}},
		}, []string{
			"examples/plugin -> " + m("harness") + ": examples (layer 4) imports harness of another group of the same layer",
			"examples/plugin -> " + m("harness") + ": imports what it must not",
		}},
		{"package outside the layering", []Package{
			{ImportPath: "tools/gen", Imports: []string{m("nn")}},
		}, []string{"tools/gen: in no group of the layering"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(tc.pkgs)
			if len(got) != len(tc.want) {
				t.Fatalf("%d violations, want %d: %v", len(got), len(tc.want), got)
			}
			for i, v := range got {
				if !strings.Contains(v.String(), tc.want[i]) {
					t.Errorf("violation %d = %q, want it to contain %q", i, v, tc.want[i])
				}
			}
		})
	}
}

func TestDecode(t *testing.T) {
	in := `{"ImportPath": "` + Module + `/nn", "Imports": ["fmt"], "Deps": ["fmt", "errors"]}
{"ImportPath": "` + Module + `/metrics"}`
	pkgs, err := decode(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 || pkgs[0].ImportPath != "nn" || len(pkgs[0].Deps) != 2 || pkgs[1].ImportPath != "metrics" {
		t.Errorf("decode = %+v", pkgs)
	}
	if _, err := decode(strings.NewReader(`{"ImportPath": "fmt"}`)); err == nil {
		t.Error("a package outside the module was accepted")
	}
	if _, err := decode(strings.NewReader(``)); err == nil {
		t.Error("an empty listing was accepted")
	}
}
