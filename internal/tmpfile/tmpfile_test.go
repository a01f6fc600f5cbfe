package tmpfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestCleanRemovesOnlyDeadWriters: a temporary file of a process that has
// exited is removed, one of this (live) process is kept, and files of
// other names are not touched.
func TestCleanRemovesOnlyDeadWriters(t *testing.T) {
	dir := t.TempDir()
	// A process that has exited: its pid is free (reused pids are not
	// removed, which is the safe side).
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true command:", err)
	}
	deadPID := cmd.ProcessState.Pid()
	dead := filepath.Join(dir, ".runs.parquet."+strconv.Itoa(deadPID)+".123.tmp")
	other := filepath.Join(dir, ".metrics.parquet."+strconv.Itoa(deadPID)+".123.tmp")
	for _, p := range []string{dead, other} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mine, err := Create(dir, "runs.parquet")
	if err != nil {
		t.Fatal(err)
	}
	mine.Close()
	got := Clean(dir, "runs.parquet")
	if len(got) != 1 || got[0] != dead {
		t.Fatalf("removed %v, want [%s]", got, dead)
	}
	for _, p := range []string{other, mine.Name()} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}
