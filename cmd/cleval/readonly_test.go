package main

import (
	"bytes"
	"database/sql"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// copyFile copies the file src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dst, 0o644)
}

// openUp makes dir and its parents up to the system's temporary directory
// traversable by everyone (t.TempDir makes them private), so that another
// user can reach the database.
func openUp(t *testing.T, dir string) {
	t.Helper()
	tmp := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); strings.HasPrefix(d, tmp+string(filepath.Separator)); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// asUser runs the binary as uid/gid (0: the current user) and returns
// stdout, stderr and the exit status.
func asUser(t *testing.T, uid uint32, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	if uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// TestReadOnlyDatabases: a database on a read-only file system, or in a
// directory the user cannot write, is read by runs, metrics, report,
// export and plot, which say that they read it as an immutable file; a
// command that writes says why it cannot (exit status 2) and changes
// nothing.
func TestReadOnlyDatabases(t *testing.T) {
	t.Parallel()
	src, _, _ := fixture(t)
	check := func(t *testing.T, uid uint32, db, why string) {
		out := t.TempDir()
		if uid != 0 {
			openUp(t, out)
			os.Chmod(out, 0o777)
		}
		for _, args := range [][]string{
			{"runs", "--db", db},
			{"metrics", "--db", db, "--run", "1"},
			{"report", "--db", db},
			{"export", "--db", db, "--out", filepath.Join(out, "export")},
			{"plot", "--db", db, "--out", filepath.Join(out, "plots"), "--kind", "matrix", "--format", "svg"},
		} {
			stdout, stderr, code := asUser(t, uid, args...)
			if code != 0 || stdout == "" {
				t.Errorf("%s: exit %d\n%s", args[0], code, stderr)
				continue
			}
			if !strings.Contains(stderr, "as an immutable file (") || !strings.Contains(stderr, why) {
				t.Errorf("%s: does not say it reads the database immutable because %s: %q", args[0], why, stderr)
			}
		}
		for _, args := range [][]string{
			append([]string{"run", "--db", db}, q...),
			{"runs", "--db", db, "--prune"},
			{"metrics", "--db", db, "--run", "1", "--recompute"},
		} {
			_, stderr, code := asUser(t, uid, args...)
			if code != 2 || !strings.Contains(stderr, why) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("%s %s: exit %d, stderr %q: want 2 and one line saying %q", args[0], args[len(args)-1], code, stderr, why)
			}
		}
		if n := count(t, openImmutable(t, db), `SELECT count(*) FROM runs`); n != 1 {
			t.Errorf("%d runs after the write commands, want the 1 there was", n)
		}
	}

	t.Run("read-only mount", func(t *testing.T) {
		dir := t.TempDir()
		srcDir, mnt := filepath.Join(dir, "src"), filepath.Join(dir, "ro")
		os.MkdirAll(srcDir, 0o755)
		os.MkdirAll(mnt, 0o755)
		copyFile(t, src, filepath.Join(srcDir, "r.db"))
		why := "read-only file system"
		if err := exec.Command("mount", "--bind", srcDir, mnt).Run(); err == nil {
			t.Cleanup(func() { exec.Command("umount", mnt).Run() })
			if out, err := exec.Command("mount", "-o", "remount,bind,ro", mnt).CombinedOutput(); err != nil {
				t.Fatalf("remount read-only: %v: %s", err, out)
			}
		} else if err := exec.Command("chattr", "+i", srcDir).Run(); err == nil {
			// An immutable directory: nothing can be created in it, even
			// by root (the error is a permission error).
			t.Cleanup(func() { exec.Command("chattr", "-i", srcDir).Run() })
			mnt, why = srcDir, "no permission to write the directory"
		} else {
			t.Skip("neither a read-only bind mount nor chattr +i is possible here (needs root and a file system with attributes): the unwritable-directory case covers the same code")
		}
		check(t, 0, filepath.Join(mnt, "r.db"), why)
	})

	t.Run("unwritable directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "locked")
		os.MkdirAll(dir, 0o755)
		copyFile(t, src, filepath.Join(dir, "r.db"))
		os.Chmod(dir, 0o555)
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		uid := uint32(0)
		if os.Geteuid() == 0 {
			// Root writes anywhere: run the commands as nobody.
			uid = 65534
			openUp(t, dir)
		}
		check(t, uid, filepath.Join(dir, "r.db"), "no permission to write the directory")
	})
}

// openImmutable opens a database on a read-only file system.
func openImmutable(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?immutable=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
