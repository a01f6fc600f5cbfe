// The Slurm integration test: it needs a Slurm cluster whose nodes share
// this machine's file system, such as the single-node cluster that
// testing/local-cluster.sh starts (as root on Debian; .ci/run does):
//
//	bash deploy/slurm/testing/local-cluster.sh
//	go test -count=1 ./deploy/slurm
//
// Without a reachable cluster the test is skipped, except in CI (the
// environment variable CI set), where it fails.
package slurm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cleval/cleval/metrics/store"
)

const experiment = `
name: slurm-test
preset: delange-smnist-naive
base:
  benchmark: split-synthetic
  epochs: 2
  batch_size: 16
  hidden: [32]
  eval: {size: 100}
seeds: 0-5
grid:
  strategy: [naive, er]
`

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// digests returns key -> digest of the complete runs of a database.
func digests(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	runs, err := db.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range runs {
		if r.Status != "complete" {
			t.Errorf("%s: run %d is %s", path, r.ID, r.Status)
			continue
		}
		if _, dup := out[r.Key]; dup {
			t.Errorf("%s: key %s stored twice", path, r.Key)
		}
		rd, err := db.ReadRun(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		out[r.Key] = rd.Digest()
	}
	return out
}

// wait waits until the jobs have left the queue.
func wait(t *testing.T, jobs string, timeout time.Duration, out string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		q, err := exec.Command("squeue", "-h", "-j", jobs).CombinedOutput()
		if err == nil && strings.TrimSpace(string(q)) == "" {
			return
		}
		if time.Now().After(deadline) {
			exec.Command("scancel", strings.Split(jobs, ",")...).Run()
			logs, _ := filepath.Glob(filepath.Join(out, "logs", "*"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", l, b)
			}
			t.Fatalf("jobs %s still queued after %v:\n%s", jobs, timeout, q)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// clusterUp reports why no Slurm controller answers, or nil.
func clusterUp() error {
	if _, err := exec.LookPath("sbatch"); err != nil {
		return err
	}
	out, err := exec.Command("scontrol", "ping").CombinedOutput()
	if err != nil {
		return fmt.Errorf("scontrol ping: %v: %s", err, bytes.TrimSpace(out))
	}
	if !bytes.Contains(out, []byte("UP")) {
		return fmt.Errorf("scontrol ping: %s", bytes.TrimSpace(out))
	}
	return nil
}

func TestSlurmArrayEqualsLocalSweep(t *testing.T) {
	start := time.Now()
	if err := clusterUp(); err != nil {
		msg := "no Slurm cluster (" + err.Error() + "): start one with `bash deploy/slurm/testing/local-cluster.sh` (as root, Debian)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "cleval")
	run(t, nil, "go", "build", "-o", bin, "../../cmd/cleval")
	exp := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(exp, []byte(experiment), 0o644); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "local.db")
	run(t, nil, bin, "sweep", exp, "--db", local, "--workers", "2", "--quiet")
	want := digests(t, local)
	if len(want) != 12 {
		t.Fatalf("local sweep: %d runs, want 12", len(want))
	}

	out := filepath.Join(dir, "results")
	env := []string{"CLEVAL=" + bin, "CPUS=1"}
	for attempt := range 2 {
		// The second submission resumes: every shard is complete, and
		// the merge is repeated without change.
		ids := strings.Fields(run(t, env, "bash", "submit.sh", exp, "3", out))
		if len(ids) != 2 {
			t.Fatalf("submit.sh printed %q, want two job ids", ids)
		}
		wait(t, ids[0]+","+ids[1], 5*time.Minute, out)
		mlog, err := os.ReadFile(filepath.Join(out, "logs", "merge.log"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(mlog), "merged 3 databases") {
			t.Fatalf("attempt %d: merge log:\n%s", attempt, mlog)
		}
		got := digests(t, filepath.Join(out, "all.db"))
		if len(got) != len(want) {
			t.Errorf("attempt %d: merged %d runs, want %d", attempt, len(got), len(want))
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("attempt %d: key %s differs from the local sweep", attempt, k)
			}
		}
		sum := 0
		for i := range 3 {
			sum += len(digests(t, filepath.Join(out, "shard-"+string(rune('0'+i))+".db")))
		}
		if sum != 12 {
			t.Errorf("attempt %d: the shards hold %d runs, want 12", attempt, sum)
		}
	}
	t.Logf("Slurm test: %v", time.Since(start).Round(time.Second))
}
