package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cleval/cleval/datasets"
)

// writeCIFAR writes a small learnable set of f's files into dir in the exact
// binary format (datasets.CIFARFormat.WriteSynthetic).
func writeCIFAR(t *testing.T, dir string, f datasets.CIFARFormat, perClass int) {
	t.Helper()
	if err := f.WriteSynthetic(dir, perClass); err != nil {
		t.Fatal(err)
	}
}

// clevalEnv runs the binary with the environment env and returns stdout,
// stderr and the exit status.
func clevalEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.String(), stderr.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), 0
}

// emptyEnv is the environment of a machine with no dataset installed
// anywhere cleval looks.
func emptyEnv(t *testing.T) []string {
	empty := t.TempDir()
	return append(os.Environ(), "CLEVAL_DATA="+empty, "GOMODCACHE="+empty, "GOPATH="+empty, "HOME="+empty, "XDG_CACHE_HOME="+empty)
}

func TestDatasetsCIFAR(t *testing.T) {
	t.Parallel()
	// Not there: where to get it.
	stdout, stderr, code := clevalEnv(t, emptyEnv(t), "datasets")
	if code != 0 {
		t.Fatalf("datasets: exit %d: %s", code, stderr)
	}
	for _, w := range []string{
		"cifar10\n", "cifar100\n", "cifar100-coarse\n", "3x32x32, 50000 train + 10000 test samples",
		"to get it (cleval cannot download it): download the binary version of CIFAR-10, https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
		"https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz", "which gives cifar-10-batches-bin/ holding data_batch_1.bin",
		"the files of cifar100", "split-cifar10 ", "split-cifar100 ", "split-cifar100-coarse",
	} {
		if !strings.Contains(stdout, w) {
			t.Errorf("datasets output lacks %q:\n%s", w, stdout)
		}
	}
	_, stderr, code = clevalEnv(t, emptyEnv(t), "datasets", "verify", "--download", "cifar10")
	if code != 2 || !strings.Contains(stderr, "cifar10 not found") || !strings.Contains(stderr, "cannot be downloaded by cleval") {
		t.Errorf("verify of a missing cifar10: exit %d: %s", code, stderr)
	}

	if _, _, code := clevalEnv(t, emptyEnv(t), "datasets", "verify", "--no-such-flag", "cifar10"); code != 2 {
		t.Errorf("verify with an unknown flag: exit %d, want 2", code)
	}

	// Small files: verify reports every file's record count; info reads
	// a CIFAR directory given as a path.
	data := t.TempDir()
	dir := filepath.Join(data, "cifar-10-batches-bin")
	writeCIFAR(t, dir, datasets.CIFAR10, 2)
	os.WriteFile(filepath.Join(data, "cifar-10-binary.tar.gz"), []byte("not it"), 0o644)
	stdout, _, code = clevalEnv(t, emptyEnv(t), "datasets", "verify", "--data-dir", data, "cifar10")
	if code != 2 || strings.Count(stdout, "BAD: ") != 6 ||
		!strings.Contains(stdout, "data_batch_3.bin  61460 bytes  BAD: holds 20 records, want 10000 as published (labels in range, 2 to 2 records per class)") ||
		!strings.Contains(stdout, "archive: MISMATCH") {
		t.Errorf("verify of small files: exit %d\n%s", code, stdout)
	}
	stdout, stderr, code = clevalEnv(t, emptyEnv(t), "datasets", "info", dir)
	if code != 0 || !strings.Contains(stdout, "samples: 100 train, 20 test") || !strings.Contains(stdout, "classes: 10") ||
		!strings.Contains(stdout, "shape:   3x32x32 (3072 values, uint8 pixels)") || !strings.Contains(stdout, "truck     10     2") {
		t.Errorf("info of a CIFAR directory: exit %d\n%s%s", code, stdout, stderr)
	}
	_, stderr, code = clevalEnv(t, emptyEnv(t), "datasets", "info", "--data-dir", data, "cifar10")
	if code != 2 || !strings.Contains(stderr, filepath.Join(dir, "data_batch_1.bin")+": holds 20 records, want 10000") {
		t.Errorf("info cifar10 on small files: exit %d: %s", code, stderr)
	}
}

// TestCIFARBadInputExitsTwo: truncated CIFAR files, files of the wrong
// size, labels out of range, a missing dataset, an image shape that does
// not fit the features: one line naming the file or the key, exit status
// 2, no database.
func TestCIFARBadInputExitsTwo(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	// mk writes the files of f, spoilt, in DIR/<the archive's directory>
	// and returns DIR, for --data-dir.
	mk := func(name string, f datasets.CIFARFormat, spoil func(dir string)) string {
		dir := filepath.Join(root, name)
		sub := filepath.Join(dir, map[string]string{"cifar10": "cifar-10-batches-bin", "cifar100": "cifar-100-binary"}[f.Name])
		writeCIFAR(t, sub, f, 1)
		spoil(sub)
		return dir
	}
	truncated := mk("truncated", datasets.CIFAR10, func(d string) { os.Truncate(filepath.Join(d, "test_batch.bin"), 5*3073+1000) })
	wrongSize := mk("wrong-size", datasets.CIFAR10, func(string) {})
	badLabel := mk("bad-label", datasets.CIFAR100, func(d string) {
		b, _ := os.ReadFile(filepath.Join(d, "train.bin"))
		b[7*3074+1] = 117 // fine label of record 7
		os.WriteFile(filepath.Join(d, "train.bin"), b, 0o644)
	})
	csv := filepath.Join(root, "t.csv")
	makeTable().csv(csv)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"truncated", []string{"--benchmark", "split-cifar10", "--data-dir", truncated},
			[]string{filepath.Join(truncated, "cifar-10-batches-bin", "test_batch.bin"), "size 16365 bytes is not a whole number of 3073-byte CIFAR-10 records"}},
		{"wrong size", []string{"--benchmark", "split-cifar10", "--data-dir", wrongSize},
			[]string{filepath.Join(wrongSize, "cifar-10-batches-bin", "data_batch_1.bin"), "holds 10 records, want 10000"}},
		{"label out of range", []string{"--benchmark", "split-cifar100", "--data-dir", badLabel},
			[]string{filepath.Join(badLabel, "cifar-100-binary", "train.bin"), "record 7 (byte offset 21519): fine label 117 out of range [0, 100)"}},
		{"label out of range, coarse", []string{"--benchmark", "split-cifar100-coarse", "--data-dir", badLabel},
			[]string{"train.bin", "fine label 117 out of range"}},
		{"not there", []string{"--benchmark", "split-cifar100", "--data-dir", t.TempDir()},
			[]string{"cifar100 not found", "cifar-100-binary.tar.gz"}},
		{"image shape of another size", []string{"--data", csv, "--label-col", "y", "--split-col", "split", "--image-shape", "2x2x3"},
			[]string{csv, "image_shape 2x2x3 holds 12 values, but the samples have 8 features"}},
		{"image shape of two sizes", []string{"--data", csv, "--image-shape", "32x32"}, []string{"--image-shape 32x32: want channels x height x width"}},
		{"image shape not a number", []string{"--data", csv, "--image-shape", "3xAx2"}, []string{"--image-shape", `size "A" is not an integer`}},
		{"image shape on a CIFAR directory", []string{"--data", filepath.Join(wrongSize, "cifar-10-batches-bin"), "--image-shape", "3x16x64"},
			[]string{"image_shape 3x16x64: CIFAR-10 images are 3x32x32"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "x.db")
			args := append([]string{"run", "--db", db, "--epochs", "1", "--seeds", "0", "--quiet"}, tc.args...)
			stdout, stderr, code := clevalEnv(t, emptyEnv(t), args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\nstderr: %s", code, stderr)
			}
			msg := strings.TrimSpace(stderr)
			if strings.Contains(msg, "\n") && tc.name != "not there" { // a missing dataset lists the places looked at
				t.Errorf("error is not one line:\n%s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if stdout != "" {
				t.Errorf("stdout not empty: %q", stdout)
			}
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("the database was created")
			}
		})
	}
}

// TestImageDataEndToEnd runs a CIFAR-format directory and a table
// declared as 2×2×2 images through cleval run.
func TestImageDataEndToEnd(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "mini-cifar")
	writeCIFAR(t, dir, datasets.CIFAR10, 3)
	csv := filepath.Join(t.TempDir(), "t.csv")
	makeTable().csv(csv)
	db := filepath.Join(t.TempDir(), "img.db")
	for _, args := range [][]string{
		{"--data", dir, "--experiences", "5", "--strategy", "naive"},
		{"--benchmark", "permuted", "--data", csv, "--label-col", "y", "--split-col", "split", "--image-shape", "2x2x2", "--experiences", "2", "--strategy", "naive"},
	} {
		args = append([]string{"run", "--db", db, "--epochs", "1", "--batch-size", "8", "--hidden", "8", "--eval-size", "10", "--seeds", "0", "--quiet"}, args...)
		stdout, stderr, code := cleval(t, args...)
		if code != 0 || !strings.Contains(stdout, "complete") {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	d := openDB(t, db)
	var cfg string
	d.QueryRow(`SELECT config FROM runs WHERE id = 2`).Scan(&cfg)
	if !strings.Contains(cfg, `"image_shape":[2,2,2]`) {
		t.Errorf("the image shape is not recorded: %s", cfg)
	}
	// 150 training images of 10 classes in 5 experiences of 30, batches of 8.
	if n := count(t, d, `SELECT max(end_iteration) FROM experiences WHERE run_id = 1`); n != 20 {
		t.Errorf("run 1 ends at %d, want 20", n)
	}
}
