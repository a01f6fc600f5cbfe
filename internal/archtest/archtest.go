// Package archtest states the layering of cleval's packages as data and
// checks an import graph against it. Its test lists the module's packages
// with `go list -json` (each package's direct Imports and its transitive
// Deps, what `go list -deps` prints) and fails on any violation, so the
// layering cannot regress; the layer table and the rules of
// docs/architecture.md are generated from Groups and Rules (go test ./docs).
//
// Three kinds of checks:
//
//   - every package of the module belongs to exactly one Group (an unknown
//     top-level directory is an error: place it in Groups);
//   - a package imports only packages of a lower layer or of its own group
//     (no import sideways into another group of the same layer, none
//     upwards);
//   - the Rules: packages that must not depend on some others at all
//     (transitively), or only some groups may import a group.
//
// Only the packages' own imports are checked, not their tests': a test may
// drive the layer above (the strategies' integration tests run whole runs
// through harness.Run).
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
)

// Module is cleval's module path.
const Module = "github.com/cleval/cleval"

// Group is a set of packages at one layer.
type Group struct {
	// Name names the group in rules and messages.
	Name string
	// Layer is the group's rank: a package imports only packages of a
	// lower layer, or of its own group.
	Layer int
	// Patterns are module-relative import paths: "metrics" is that package
	// alone, "nn/..." is nn and every package below it. A package belongs
	// to the group of its most specific matching pattern: an exact path,
	// else the longest "/..." prefix.
	Patterns []string
	// Role says what the group is for (docs/architecture.md).
	Role string
}

// Groups is cleval's layering, lowest layer first.
var Groups = []Group{
	{Name: "kernels", Layer: 0, Patterns: []string{"internal/..."},
		Role: "the engine's compute kernels: float32 matrix products (internal/gemm), sparse-input products (internal/sparse), vectorised element-wise passes (internal/vec), the allocation-free worker pool (internal/par); any new internal package is a kernel unless placed elsewhere"},
	{Name: "support", Layer: 0, Patterns: []string{"internal/version", "internal/progress", "internal/tmpfile", "internal/archtest"},
		Role: "version strings, the terminal progress bar, temporary files of atomic writes, this layering check"},
	{Name: "datasets", Layer: 1, Patterns: []string{"datasets"},
		Role: "labelled data without continual-learning concepts: IDX, CSV tables, synthetic data, dataset location and download; pixels stay uint8"},
	{Name: "metrics", Layer: 1, Patterns: []string{"metrics"},
		Role: "the typed records and the pure metric math over them, seed aggregation; no I/O"},
	{Name: "streams", Layer: 2, Patterns: []string{"streams/..."},
		Role: "experiences, streams, batches, the stream generators and the schedule"},
	{Name: "nn", Layer: 2, Patterns: []string{"nn/..."},
		Role: "models over flat arenas, losses, optimizers; the only user of the kernels"},
	{Name: "data adapters", Layer: 2, Patterns: []string{"datasets/..."},
		Role: "readers that need heavy dependencies (datasets/tabular: Parquet and Arrow IPC), registered into datasets"},
	{Name: "strategies", Layer: 3, Patterns: []string{"strategies/..."},
		Role: "the Strategy API, registry, hooks and wrappers, the built-in strategies and the public test kit (strategies/strategytest)"},
	{Name: "metrics adapters", Layer: 3, Patterns: []string{"metrics/..."},
		Role: "one adapter per external dependency: SQLite (metrics/store), Arrow/Parquet (metrics/export), figures (metrics/plot), reports (metrics/report); they may use the data adapters (reading tables)"},
	{Name: "harness", Layer: 4, Patterns: []string{"harness/..."},
		Role: "the driver Run(ctx, Spec, Recorder): loop, clock, evaluation schedule, seeding; configurations and presets"},
	{Name: "examples", Layer: 4, Patterns: []string{"examples/..."},
		Role: "a strategy built as a Go plugin, written against the plugin API only"},
	{Name: "sweep", Layer: 5, Patterns: []string{"harness/sweep/..."},
		Role: "experiment files, expansion, shards, the worker pool with claims and resume"},
	{Name: "commands", Layer: 6, Patterns: []string{"cmd/..."},
		Role: "the command line: wiring only"},
	{Name: "deployment", Layer: 6, Patterns: []string{"deploy/..."},
		Role: "Slurm and Kubernetes files and their tests"},
	{Name: "docs", Layer: 6, Patterns: []string{"docs/..."},
		Role: "the documentation and the tests that keep its generated parts current"},
}

// Rule forbids some dependencies beyond the layer order.
type Rule struct {
	// From lists the groups the rule applies to; empty means every group
	// but those in Except.
	From, Except []string
	// Groups and Paths are what the packages must not depend on: groups of
	// the module, and import-path prefixes outside it.
	Groups []string
	Paths  []string
	// Transitive extends the rule to every dependency (go list's Deps), not
	// only direct imports.
	Transitive bool
	// Why is printed with a violation and in docs/architecture.md.
	Why string
}

// Rules are the constraints beyond the layer order.
var Rules = []Rule{
	{Except: []string{"kernels", "nn"}, Groups: []string{"kernels"},
		Why: "the engine's choices (threads, GEMM, sparse or dense first layer) stay inside nn: only nn imports the kernels, so no kernel type reaches the driver, a strategy or a command"},
	{From: []string{"nn", "strategies", "examples"}, Groups: []string{"harness", "sweep"}, Transitive: true,
		Why: "the model layer and the plugin API never reach the driver: strategies and plugins are written against nn, streams and strategies only"},
	{From: []string{"datasets", "streams", "nn", "strategies", "metrics", "examples"}, Paths: []string{"github.com/mattn/go-sqlite3", "github.com/apache/arrow-go"}, Transitive: true,
		Why: "only the adapters need cgo (SQLite) or Arrow: the packages a strategy plugin builds against, and the metric math, stay free of both"},
}

// Package is one package of the module as go list describes it.
type Package struct {
	// ImportPath is module-relative ("nn", "metrics/store").
	ImportPath string
	// Imports are the direct imports of the package's own files (not its
	// tests), Deps every transitive dependency; both are full import
	// paths.
	Imports, Deps []string
}

// Violation is one broken rule.
type Violation struct {
	// Package is the module-relative path of the package at fault; Import
	// the (full) import path it must not depend on ("" when the problem is
	// the package itself).
	Package, Import string
	// Reason says which rule and why.
	Reason string
}

func (v Violation) String() string {
	if v.Import == "" {
		return v.Package + ": " + v.Reason
	}
	return v.Package + " -> " + v.Import + ": " + v.Reason
}

// match reports whether the module-relative path p matches pattern, and
// how specific the match is (exact paths beat every prefix).
func match(pattern, p string) (ok bool, rank int) {
	if prefix, wild := strings.CutSuffix(pattern, "/..."); wild {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true, len(prefix)
		}
		return false, 0
	}
	if p == pattern {
		return true, 1 << 20
	}
	return false, 0
}

// GroupOf returns the group of the module-relative path p (nil when none
// matches): the group of the most specific matching pattern.
func GroupOf(p string) *Group {
	var best *Group
	bestRank := -1
	for i := range Groups {
		for _, pat := range Groups[i].Patterns {
			if ok, r := match(pat, p); ok && r > bestRank {
				best, bestRank = &Groups[i], r
			}
		}
	}
	return best
}

// WellFormed checks Groups and Rules: unique names and patterns, layers in
// order, rules naming known groups.
func WellFormed() error {
	var errs []error
	names := map[string]bool{}
	pats := map[string]string{}
	for i, g := range Groups {
		if names[g.Name] {
			errs = append(errs, fmt.Errorf("group %q defined twice", g.Name))
		}
		names[g.Name] = true
		if i > 0 && g.Layer < Groups[i-1].Layer {
			errs = append(errs, fmt.Errorf("group %q (layer %d) listed after layer %d: list groups lowest layer first", g.Name, g.Layer, Groups[i-1].Layer))
		}
		for _, p := range g.Patterns {
			if other, dup := pats[p]; dup {
				errs = append(errs, fmt.Errorf("pattern %q in groups %q and %q", p, other, g.Name))
			}
			pats[p] = g.Name
		}
	}
	for i, r := range Rules {
		for _, n := range slices.Concat(r.From, r.Except, r.Groups) {
			if !names[n] {
				errs = append(errs, fmt.Errorf("rule %d names unknown group %q", i, n))
			}
		}
		if len(r.From) > 0 && len(r.Except) > 0 {
			errs = append(errs, fmt.Errorf("rule %d has both From and Except", i))
		}
	}
	return errors.Join(errs...)
}

// Check returns every violation of the layering in pkgs, sorted.
func Check(pkgs []Package) []Violation {
	var out []Violation
	inModule := func(path string) (string, bool) {
		rel, ok := strings.CutPrefix(path, Module+"/")
		return rel, ok
	}
	for _, p := range pkgs {
		g := GroupOf(p.ImportPath)
		if g == nil {
			out = append(out, Violation{Package: p.ImportPath, Reason: "in no group of the layering: place it in internal/archtest.Groups (and say why in docs/architecture.md)"})
			continue
		}
		for _, imp := range p.Imports {
			rel, ok := inModule(imp)
			if !ok {
				continue
			}
			h := GroupOf(rel)
			switch {
			case h == nil:
				// Reported for the imported package itself.
			case h == g:
			case h.Layer < g.Layer:
			case h.Layer == g.Layer:
				out = append(out, Violation{Package: p.ImportPath, Import: imp,
					Reason: fmt.Sprintf("%s (layer %d) imports %s of another group of the same layer", g.Name, g.Layer, h.Name)})
			default:
				out = append(out, Violation{Package: p.ImportPath, Import: imp,
					Reason: fmt.Sprintf("%s (layer %d) imports %s of a higher layer (%d)", g.Name, g.Layer, h.Name, h.Layer)})
			}
		}
		for _, r := range Rules {
			if !r.applies(g.Name) {
				continue
			}
			deps := p.Imports
			if r.Transitive {
				deps = p.Deps
			}
			for _, d := range deps {
				if r.forbids(d) {
					how := "imports"
					if r.Transitive && !slices.Contains(p.Imports, d) {
						how = "depends on"
					}
					out = append(out, Violation{Package: p.ImportPath, Import: d, Reason: how + " what it must not: " + r.Why})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b Violation) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(out)
}

func (r Rule) applies(group string) bool {
	if len(r.From) > 0 {
		return slices.Contains(r.From, group)
	}
	return !slices.Contains(r.Except, group)
}

func (r Rule) forbids(path string) bool {
	if rel, ok := strings.CutPrefix(path, Module+"/"); ok {
		if g := GroupOf(rel); g != nil && slices.Contains(r.Groups, g.Name) {
			return true
		}
	}
	for _, p := range r.Paths {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// Load lists every package of the module with `go list -json` run in dir
// (any directory of the module), with the go command found on PATH.
func Load(dir string) ([]Package, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("archtest: the go command is not on PATH: %v", err)
	}
	cmd := exec.Command(goCmd, "list", "-json=ImportPath,Imports,Deps", Module+"/...")
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("archtest: go list: %v\n%s", err, stderr.String())
	}
	return decode(&stdout)
}

// decode reads go list's stream of JSON objects.
func decode(r io.Reader) ([]Package, error) {
	dec := json.NewDecoder(r)
	var out []Package
	for {
		var p struct {
			ImportPath    string
			Imports, Deps []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("archtest: go list output: %v", err)
		}
		rel, ok := strings.CutPrefix(p.ImportPath, Module+"/")
		if !ok {
			return nil, fmt.Errorf("archtest: go list listed %s, outside module %s", p.ImportPath, Module)
		}
		out = append(out, Package{ImportPath: rel, Imports: p.Imports, Deps: p.Deps})
	}
	if len(out) == 0 {
		return nil, errors.New("archtest: go list listed no package")
	}
	return out, nil
}
