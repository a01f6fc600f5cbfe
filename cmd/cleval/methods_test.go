package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

// TestMethodParamsBadInput: bad parameters of sgm, pcr and dualarch are one
// line on stderr, exit status 2, and no database.
func TestMethodParamsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"sgm rank 0", []string{"--preset", "sgm-smnist-er", "--param", "rank=0"}, "rank 0"},
		{"sgm unknown component", []string{"--preset", "sgm-smnist-er", "--param", `components=["init","dropout"]`}, `unknown component "dropout"`},
		{"pcr tau 0", []string{"--preset", "pcr-online-smnist", "--param", "tau=0"}, "tau 0"},
		{"pcr tau negative", []string{"--preset", "pcr-online-smnist", "--param", "tau=-0.09"}, "tau -0.09"},
		{"pcr unknown augmentation", []string{"--preset", "pcr-online-smnist", "--param", `augment=["rotate"]`}, `unknown component "rotate"`},
		{"dualarch zero layer", []string{"--preset", "dualarch-smnist-er", "--param", "plastic_hidden=[64,0,64]"}, "plastic_hidden[1] = 0"},
		{"dualarch no layer", []string{"--preset", "dualarch-smnist-er", "--param", "plastic_depth=0"}, "plastic_depth 0"},
		{"dualarch temperature", []string{"--preset", "dualarch-smnist-er", "--param", "temperature=0"}, "temperature 0"},
		{"joint epochs_over", []string{"--strategy", "joint", "--param", "epochs_over=all"}, `epochs_over "all"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "x.db")
			_, stderr, code := cleval(t, append([]string{"run", "--db", db, "--quiet", "--epochs", "1"}, tc.args...)...)
			msg := strings.TrimSpace(stderr)
			if code != 2 || strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and one line with %q", code, msg, tc.want)
			}
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("the database was created")
			}
		})
	}
}

// TestReportReference: report --reference adds the three gaps of every
// group relative to the reference group's run of the same seed, equal to
// metrics.ReferenceGaps of the stored records; a reference that names no
// group is a usage error.
func TestReportReference(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ref.db")
	for _, s := range []string{"naive", "joint"} {
		_, stderr, code := cleval(t, "run", "--benchmark", "split-synthetic", "--preset", "delange-smnist-naive", "--strategy", s,
			"--epochs", "2", "--batch-size", "32", "--lr", "0.05", "--hidden", "16", "--seeds", "0-1", "--db", path, "--quiet")
		if code != 0 {
			t.Fatalf("run %s: exit %d\n%s", s, code, stderr)
		}
	}
	stdout, stderr, code := cleval(t, "report", "--db", path, "--reference", "joint", "--format", "json",
		"--metrics", "ref_stability_gap,ref_plasticity_gap,ref_ck_gap")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var j struct {
		Groups []struct {
			ID       int     `json:"id"`
			Strategy string  `json:"strategy"`
			Runs     []int64 `json:"runs"`
		} `json:"groups"`
		Stats []struct {
			Group  int     `json:"group"`
			Metric string  `json:"metric"`
			N      int     `json:"n"`
			Mean   float64 `json:"mean"`
		} `json:"stats"`
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var naive, joint []int64
	naiveID := 0
	for _, g := range j.Groups {
		if g.Strategy == "naive" {
			naive, naiveID = g.Runs, g.ID
		} else {
			joint = g.Runs
		}
	}
	if len(naive) != 2 || len(joint) != 2 {
		t.Fatalf("groups %+v", j.Groups)
	}
	var want [3]float64
	for i := range 2 {
		evals, err := db.Evaluations(ctx, naive[i], metrics.VariantLive)
		if err != nil {
			t.Fatal(err)
		}
		m, err := db.Matrix(ctx, joint[i], metrics.VariantLive)
		if err != nil {
			t.Fatal(err)
		}
		g := metrics.ReferenceGaps(evals, m, 5)
		want[0] += g.Stability / 2
		want[1] += g.Plasticity / 2
		want[2] += g.CK / 2
	}
	found := 0
	for _, s := range j.Stats {
		if s.Group != naiveID {
			continue
		}
		for k, name := range metrics.RefGapNames {
			if s.Metric == name {
				found++
				if s.N != 2 || math.Abs(s.Mean-want[k]) > 1e-12 {
					t.Errorf("%s: n %d, mean %v, want 2 and %v", name, s.N, s.Mean, want[k])
				}
			}
		}
	}
	if found != 3 {
		t.Fatalf("%d of the 3 gaps reported for naive:\n%s", found, stdout)
	}
	// Naive forgets: its stability gap against joint is large.
	if want[0] < 0.3 {
		t.Errorf("naive's stability gap %v", want[0])
	}
	stdout, _, _ = cleval(t, "report", "--db", path, "--reference", "joint", "--metrics", "ref_stability_gap")
	if !strings.Contains(stdout, "ref_stability_gap") || !strings.Contains(stdout, "divided by that of [2] joint") {
		t.Errorf("text report:\n%s", stdout)
	}
	_, stderr, code = cleval(t, "report", "--db", path, "--reference", "cumulative")
	if code != 2 || !strings.Contains(stderr, `no group matches "cumulative"`) {
		t.Errorf("unknown reference: exit %d, %q", code, stderr)
	}
}
