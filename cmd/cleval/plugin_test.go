package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goBuildPlugin builds the package in dir (relative to the test's working
// directory or absolute) as a Go plugin into out.
func goBuildPlugin(t *testing.T, dir, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-buildmode=plugin", "-o", out, ".")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building plugin %s: %v\n%s", dir, err, b)
	}
}

// TestExamplePlugin builds examples/plugin, loads it into the freshly built
// cleval and runs its strategy on the synthetic stream.
func TestExamplePlugin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	so := filepath.Join(dir, "l2anchor.so")
	goBuildPlugin(t, filepath.Join("..", "..", "examples", "plugin"), so)

	stdout, stderr, code := cleval(t, "strategies", "--plugin", so)
	if code != 0 || !strings.Contains(stdout, "l2-anchor") || !strings.Contains(stdout, "--param strength=") {
		t.Fatalf("strategies --plugin: exit %d\n%s\n%s", code, stdout, stderr)
	}

	db := filepath.Join(dir, "p.db")
	stdout, stderr, code = cleval(t, "run", "--plugin", so, "--strategy", "l2-anchor", "--param", "strength=0.5",
		"--benchmark", "split-synthetic", "--epochs", "2", "--seeds", "0", "--db", db, "--quiet")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "l2-anchor") || !strings.Contains(stdout, "complete") {
		t.Errorf("summary:\n%s", stdout)
	}
	sdb := openDB(t, db)
	var strategy, config string
	if err := sdb.QueryRow(`SELECT strategy, config FROM runs WHERE status = 'complete'`).Scan(&strategy, &config); err != nil {
		t.Fatal(err)
	}
	if strategy != "l2-anchor" || !strings.Contains(config, `"strength":0.5`) {
		t.Errorf("stored run: strategy %q config %s", strategy, config)
	}
	if n := count(t, sdb, `SELECT count(*) FROM metrics`); n == 0 {
		t.Error("no metrics stored")
	}

	// The plugin's strategy composes with ema.
	stdout, stderr, code = cleval(t, "run", "--plugin", so, "--strategy", "ema", "--param", "base=l2-anchor",
		"--param", `base_params={"strength":0.2}`, "--benchmark", "split-synthetic", "--epochs", "1", "--db", db, "--quiet")
	if code != 0 {
		t.Fatalf("ema over the plugin: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if n := count(t, sdb, `SELECT count(DISTINCT variant) FROM evaluations WHERE run_id = 2`); n != 2 {
		t.Errorf("ema over the plugin: %d variants evaluated, want 2 (live, ema0.99)", n)
	}

	// A truncated copy of the plugin is refused before plugin.Open (which
	// would crash the process with SIGBUS).
	whole, err := os.ReadFile(so)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{100000, len(whole) * 2 / 3} {
		trunc := filepath.Join(dir, fmt.Sprintf("trunc-%d.so", n))
		os.WriteFile(trunc, whole[:n], 0o644)
		_, stderr, code := cleval(t, "strategies", "--plugin", trunc)
		if code != 2 || !strings.Contains(stderr, "truncated") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("plugin cut at %d bytes: exit %d, stderr %q", n, code, stderr)
		}
	}

	// A plugin parameter out of range is rejected before anything is written.
	db2 := filepath.Join(dir, "bad.db")
	_, stderr, code = cleval(t, "run", "--plugin", so, "--strategy", "l2-anchor", "--param", "strength=-1",
		"--benchmark", "split-synthetic", "--db", db2, "--quiet")
	if code != 2 || !strings.Contains(stderr, "strength -1") {
		t.Errorf("bad plugin parameter: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(db2); !os.IsNotExist(err) {
		t.Error("the database was created")
	}
}

// TestBadPlugins checks that a plugin without APIVersion, with another
// API version or that is not a plugin at all is refused with one clear
// error, exit status 2 and nothing written.
func TestBadPlugins(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	build := func(name, src string) string {
		pdir := filepath.Join(dir, name)
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(pdir, "go.mod"), []byte("module example.com/"+name+"\n\ngo 1.26\n"), 0o644)
		os.WriteFile(filepath.Join(pdir, "main.go"), []byte(src), 0o644)
		so := filepath.Join(dir, name+".so")
		goBuildPlugin(t, pdir, so)
		return so
	}
	noSymbol := build("nosymbol", "package main\n\nvar Other = 1\n\nfunc main() {}\n")
	otherAPI := build("otherapi", "package main\n\nvar APIVersion = \"cleval-strategy/0\"\n\nfunc main() {}\n")
	notString := build("notstring", "package main\n\nvar APIVersion = 1\n\nfunc main() {}\n")
	garbage := filepath.Join(dir, "garbage.so")
	os.WriteFile(garbage, []byte("not an ELF file"), 0o644)
	cases := []struct {
		name, path, want string
	}{
		{"missing symbol", noSymbol, "exports no symbol APIVersion"},
		{"other API version", otherAPI, `built against strategy API "cleval-strategy/0"`},
		{"APIVersion not a string", notString, "want a string variable"},
		{"not a plugin", garbage, "garbage.so"},
		{"no such file", filepath.Join(dir, "none.so"), "no such file"},
		{"a Go program", binary, "not a shared object"},
	}
	// A C library (plugin.Open would stop the process with "fatal error:
	// runtime: no plugin module data").
	if libs, _ := filepath.Glob("/lib*/*/libc.so.6"); len(libs) > 0 {
		cases = append(cases, struct{ name, path, want string }{"a C library", libs[0], "not a Go plugin"})
	} else if libs, _ := filepath.Glob("/lib*/libc.so.6"); len(libs) > 0 {
		cases = append(cases, struct{ name, path, want string }{"a C library", libs[0], "not a Go plugin"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "x.db")
			cmd := exec.Command(binary, "run", "--plugin", tc.path, "--strategy", "naive", "--benchmark", "split-synthetic", "--db", db, "--quiet")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want status 2\nstderr: %s", err, stderr.String())
			}
			msg := strings.TrimSpace(stderr.String())
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line:\n%s", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not mention %q", msg, tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty: %q", stdout.String())
			}
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("the database was created")
			}
		})
	}
}

// TestPluginPanicFailsTheRun: a plugin strategy that panics in an update
// fails its run, with the panic's message and stack stored in runs.error;
// the process does not crash and the run is not left running.
func TestPluginPanicFailsTheRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	so := filepath.Join(dir, "panics.so")
	goBuildPlugin(t, filepath.Join("testdata", "panicplugin"), so)
	db := filepath.Join(dir, "p.db")
	_, stderr, code := cleval(t, "run", "--plugin", so, "--strategy", "panics-in-step", "--benchmark", "split-synthetic", "--epochs", "1", "--db", db, "--quiet")
	if code != 1 || !strings.Contains(stderr, "panicked: assignment to entry in nil map") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("exit %d, stderr %q: want 1 and one line with the panic", code, stderr)
	}
	sdb := openDB(t, db)
	var status, msg string
	if err := sdb.QueryRow(`SELECT status, error FROM runs`).Scan(&status, &msg); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || !strings.Contains(msg, "assignment to entry in nil map") || !strings.Contains(msg, "goroutine") || !strings.Contains(msg, "panicplugin") {
		t.Errorf("stored status %q, error %q: want failed with the panic and its stack", status, msg)
	}
}
