package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cleval/cleval/metrics"
)

// The read-only tests open a real database on a read-only bind mount and
// in a directory the user cannot write. Both need a child process: the
// mount is made in a private mount namespace (so nothing is left mounted
// if the test dies), and "the user" is uid 65534 (nobody), since root may
// write any directory. The child is this test binary, running
// TestReadOnlyChild.

const childEnv = "CLEVAL_STORE_RO_CHILD"

// childResult is what the child reports on stdout.
type childResult struct {
	Immutable bool   `json:"immutable"`
	Runs      int    `json:"runs"`
	Evals     int    `json:"evals"`
	Status    string `json:"status"`
	WriteErr  string `json:"write_err"`
	OpenErr   string `json:"open_err"`
}

// TestReadOnlyChild is the child of the tests below; it does nothing in a
// normal run.
func TestReadOnlyChild(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("child process of TestOpenReadOnlyMount and TestOpenUnwritableDirectory")
	}
	mode, path, _ := strings.Cut(spec, ":")
	if mode == "mount" {
		dir := filepath.Dir(path)
		if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
			t.Fatal(err)
		}
	}
	var res childResult
	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		res.OpenErr = err.Error()
	} else {
		res.Immutable = db.Immutable()
		ctx := context.Background()
		runs, err := db.Runs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res.Runs = len(runs)
		if len(runs) > 0 {
			res.Status = string(runs[0].Status)
			evals, err := db.Evaluations(ctx, runs[0].ID, "")
			if err != nil {
				t.Fatal(err)
			}
			res.Evals = len(evals)
		}
		db.Close()
	}
	if _, err := Open(path, Options{}); err != nil {
		res.WriteErr = err.Error()
	}
	b, _ := json.Marshal(res)
	fmt.Printf("CHILD %s\n", b)
}

// runChild runs TestReadOnlyChild with spec, as uid when uid >= 0, in a
// new mount namespace when newNS.
func runChild(t *testing.T, spec string, uid int, newNS bool) childResult {
	t.Helper()
	if os.Getuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test needs root (CI runs as root): it mounts a directory read-only and drops to uid 65534")
		}
		t.Skip("needs root")
	}
	// A copy of the test binary that uid 65534 can run.
	bin := filepath.Join(mkdirMode(t, 0o755), "store.test")
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	cmd := exec.Command(bin, "-test.run=^TestReadOnlyChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+spec)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if newNS {
		cmd.SysProcAttr.Unshareflags = syscall.CLONE_NEWNS
	}
	if uid >= 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "CHILD "); ok {
			var res childResult
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				t.Fatal(err)
			}
			return res
		}
	}
	t.Fatalf("child printed no result:\n%s", out)
	return childResult{}
}

// mkdirMode makes a new directory with the given mode, under a parent
// that everyone may traverse.
func mkdirMode(t *testing.T, mode os.FileMode) string {
	t.Helper()
	base := t.TempDir()
	for p := base; p != "/" && p != "."; p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o011 != 0o011 {
			// t.TempDir's parents are private: open them for the child.
			if err := os.Chmod(p, st.Mode().Perm()|0o011); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := filepath.Join(base, "d")
	if err := os.Mkdir(dir, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeClosed stores one complete run and closes the database: no -wal
// or -shm file is left.
func writeClosed(t *testing.T, path string) int {
	t.Helper()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewRun()
	evals, _ := fakeRun(t, w, metrics.RunComplete)
	if err := w.End(metrics.RunComplete, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + ext); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s%s is still there after Close: %v", path, ext, err)
		}
	}
	return len(evals)
}

func TestOpenReadOnlyMount(t *testing.T) {
	t.Parallel()
	dir := mkdirMode(t, 0o755)
	path := filepath.Join(dir, "ro.db")
	n := writeClosed(t, path)
	res := runChild(t, "mount:"+path, -1, true)
	if res.OpenErr != "" {
		t.Fatalf("read-only open on a read-only mount: %s", res.OpenErr)
	}
	if !res.Immutable || res.Runs != 1 || res.Evals != n || res.Status != "complete" {
		t.Errorf("got %+v, want immutable, 1 complete run with %d records", res, n)
	}
	if !strings.Contains(res.WriteErr, ErrReadOnly.Error()) && !strings.Contains(res.WriteErr, "cannot open") {
		t.Errorf("opening for writing on a read-only mount: got %q, want a read-only error", res.WriteErr)
	}
	// Nothing was created next to the database.
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the database", len(ents))
	}
}

func TestOpenUnwritableDirectory(t *testing.T) {
	t.Parallel()
	t.Run("closed", func(t *testing.T) {
		t.Parallel()
		dir := mkdirMode(t, 0o755)
		path := filepath.Join(dir, "c.db")
		n := writeClosed(t, path)
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		res := runChild(t, "dir:"+path, 65534, false)
		if res.OpenErr != "" {
			t.Fatalf("read-only open in an unwritable directory: %s", res.OpenErr)
		}
		if !res.Immutable || res.Runs != 1 || res.Evals != n {
			t.Errorf("got %+v, want immutable with 1 run and %d records", res, n)
		}
		if res.WriteErr == "" {
			t.Error("opening for writing in an unwritable directory succeeded")
		}
	})
	t.Run("writer-open", func(t *testing.T) {
		// Another user's process has the database open and has committed
		// records that are in the -wal file only: the reader must see
		// them, so it must not be immutable.
		t.Parallel()
		dir := mkdirMode(t, 0o755)
		path := filepath.Join(dir, "w.db")
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		w := db.NewRun()
		info := metrics.RunInfo{Key: "k", Benchmark: "b", Strategy: "naive", Config: []byte(`{}`), NumExperiences: 1,
			EvalSubset: metrics.SubsetFixed, Variants: []string{"live"}, Experiences: []metrics.ExperienceInfo{{ID: 1, Classes: []int32{0}}}}
		if err := w.Begin(info); err != nil {
			t.Fatal(err)
		}
		for it := range 5 {
			if err := w.Evaluations([]metrics.EvalRecord{{Iteration: it, Training: 1, Evaluated: 1, Variant: "live", Correct: it, Total: 10, Subset: metrics.SubsetFixed}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		for _, ext := range []string{"-wal", "-shm"} {
			if err := os.Chmod(path+ext, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		res := runChild(t, "dir:"+path, 65534, false)
		if res.OpenErr != "" {
			t.Fatalf("read-only open beside a live writer: %s", res.OpenErr)
		}
		if res.Immutable || res.Runs != 1 || res.Evals != 5 || res.Status != "running" {
			t.Errorf("got %+v, want not immutable, 1 running run with the 5 committed records", res)
		}
	})
}

// A read-only open of a writable database is a plain WAL reader: it sees
// what a writer commits after it opened.
func TestReadOnlySeesLaterCommits(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "live.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ro, err := Open(path, Options{ReadOnly: true, Conns: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if ro.Immutable() {
		t.Fatal("a writable database was opened immutable")
	}
	ctx := context.Background()
	if runs, err := ro.Runs(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("runs %v, %v; want none", runs, err)
	}
	w := db.NewRun()
	fakeRun(t, w, metrics.RunComplete)
	if err := w.End(metrics.RunComplete, nil); err != nil {
		t.Fatal(err)
	}
	runs, err := ro.Runs(ctx)
	if err != nil || len(runs) != 1 || runs[0].Status != metrics.RunComplete {
		t.Fatalf("after a commit: runs %v, %v; want the complete run", runs, err)
	}
	if _, err := ro.SQL().ExecContext(ctx, `DELETE FROM runs`); err == nil {
		t.Error("a read-only handle deleted rows")
	}
}
