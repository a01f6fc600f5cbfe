package sweep

import (
	"path/filepath"
	"testing"
)

// TestMethodExamplesExpand keeps the reproduction sweeps of the methods
// valid, with the runs their documentation counts; the ER runs of the
// Dual-Arch sweep are those of the SGM sweep (same keys), so one database
// holds both without running them twice.
func TestMethodExamplesExpand(t *testing.T) {
	keys := map[string]map[string]bool{}
	for _, c := range []struct {
		file string
		runs int
	}{{"sgm-smnist.yaml", 35}, {"dualarch-smnist.yaml", 20}, {"pcr-online.yaml", 60}} {
		exp, err := Load(filepath.Join("..", "..", "examples", "methods", c.file))
		if err != nil {
			t.Fatal(err)
		}
		plan, err := exp.Expand()
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Runs) != c.runs {
			t.Errorf("%s: %d runs, want %d", c.file, len(plan.Runs), c.runs)
		}
		keys[c.file] = map[string]bool{}
		for _, r := range plan.Runs {
			keys[c.file][r.Key] = true
		}
	}
	shared := 0
	for k := range keys["dualarch-smnist.yaml"] {
		if keys["sgm-smnist.yaml"][k] {
			shared++
		}
	}
	if shared != 5 {
		t.Errorf("%d runs shared by the SGM and Dual-Arch sweeps, want the 5 ER runs", shared)
	}
}
