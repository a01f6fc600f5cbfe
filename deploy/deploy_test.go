// Package deploy holds the cluster deployments of cleval sweeps (slurm/,
// k8s/); its tests check the scripts and manifests without a cluster. The
// Slurm integration test is in slurm/ (build tag slurm).
package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestScriptsParse(t *testing.T) {
	files, _ := filepath.Glob("slurm/*.s*")
	more, _ := filepath.Glob("slurm/testing/*.sh")
	for _, f := range append(files, more...) {
		if out, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", f, err, out)
		}
	}
}

// fakeBin writes an executable script name into dir.
func fakeBin(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/usr/bin/env bash\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSbatchScriptArguments runs sweep.sbatch as task 6 of an array 4-7
// with a fake cleval that prints its arguments.
func TestSbatchScriptArguments(t *testing.T) {
	dir := t.TempDir()
	cleval := fakeBin(t, dir, "cleval", `echo "$@"`)
	cmd := exec.Command("bash", "slurm/sweep.sbatch")
	cmd.Env = append(os.Environ(), "EXP=/x/exp.yaml", "OUT="+dir+"/out", "CLEVAL="+cleval,
		"SLURM_ARRAY_TASK_ID=6", "SLURM_ARRAY_TASK_MIN=4", "SLURM_ARRAY_TASK_COUNT=4", "SLURM_CPUS_PER_TASK=4", "WORKERS=2")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := "sweep /x/exp.yaml --shard 2/4 --db " + dir + "/out/shard-2.db --workers 2 --threads 2"
	if !strings.Contains(string(out), want) {
		t.Errorf("cleval got\n%s\nwant %q", out, want)
	}
	// Not an array task: a clear error.
	cmd = exec.Command("bash", "slurm/sweep.sbatch")
	cmd.Env = append(os.Environ(), "EXP=/x/exp.yaml", "CLEVAL="+cleval, "SLURM_ARRAY_TASK_ID=")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "array") {
		t.Errorf("outside an array: %v %s", err, out)
	}
}

// TestSubmitScript runs submit.sh with a fake sbatch that logs its
// arguments.
func TestSubmitScript(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "sbatch.log")
	fakeBin(t, dir, "sbatch", `echo "$@" >> `+log+`; if [ -f `+log+`.n ]; then echo 43; else touch `+log+`.n; echo "42;cluster"; fi`)
	cleval := fakeBin(t, dir, "cleval", `exit 0`)
	exp := filepath.Join(dir, "exp.yaml")
	os.WriteFile(exp, []byte("preset: delange-smnist-er\n"), 0o644)
	cmd := exec.Command("bash", "slurm/submit.sh", exp, "5", filepath.Join(dir, "res"))
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "CLEVAL="+cleval, "SBATCH_ARGS=--time=01:00:00")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if strings.TrimSpace(stdout.String()) != "42 43" {
		t.Errorf("stdout %q, want the two job ids", stdout.String())
	}
	b, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("sbatch called %d times:\n%s", len(lines), b)
	}
	for _, want := range []string{"--array=0-4", "--time=01:00:00", "SHARDS=5", "EXP=" + exp, "sweep.sbatch"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("array submission %q lacks %q", lines[0], want)
		}
	}
	for _, want := range []string{"--dependency=afterany:42", "merge.sbatch"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("merge submission %q lacks %q", lines[1], want)
		}
	}
}

// TestIndexedJob checks the Kubernetes manifest: an Indexed Job whose pods
// run the shard of their completion index, as many shards as completions.
func TestIndexedJob(t *testing.T) {
	b, err := os.ReadFile("k8s/sweep-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type container struct {
		Name    string
		Command []string
		Env     []struct {
			Name      string
			Value     string
			ValueFrom *struct {
				FieldRef struct {
					FieldPath string `yaml:"fieldPath"`
				} `yaml:"fieldRef"`
			} `yaml:"valueFrom"`
		}
	}
	var job *struct {
		Kind string
		Spec struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    int
			Template       struct {
				Spec struct {
					RestartPolicy string `yaml:"restartPolicy"`
					Containers    []container
				}
			}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct{ Kind string }
		var node yaml.Node
		if err := dec.Decode(&node); err != nil {
			break
		}
		node.Decode(&doc)
		if doc.Kind == "Job" {
			node.Decode(&job)
		}
	}
	if job == nil {
		t.Fatal("no Job in sweep-job.yaml")
	}
	if job.Spec.CompletionMode != "Indexed" || job.Spec.Template.Spec.RestartPolicy != "Never" {
		t.Errorf("completionMode %q, restartPolicy %q", job.Spec.CompletionMode, job.Spec.Template.Spec.RestartPolicy)
	}
	c := job.Spec.Template.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.ValueFrom != nil {
			env[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
	}
	if env["SHARD"] != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("SHARD is %q, not the completion index", env["SHARD"])
	}
	if env["SHARDS"] != strconv.Itoa(job.Spec.Completions) {
		t.Errorf("SHARDS %q but %d completions", env["SHARDS"], job.Spec.Completions)
	}
	i := slices.Index(c.Command, "--shard")
	if c.Command[0] != "cleval" || c.Command[1] != "sweep" || i < 0 || c.Command[i+1] != "$(SHARD)/$(SHARDS)" {
		t.Errorf("command %q", c.Command)
	}
	if j := slices.Index(c.Command, "--db"); j < 0 || !strings.Contains(c.Command[j+1], "$(SHARD)") {
		t.Errorf("each shard needs its own database: %q", c.Command)
	}
}
