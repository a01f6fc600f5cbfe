package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// inProcess runs the command line args (without the program name) in this
// process, as main does, and returns stdout, stderr and the exit status; a
// panic fails the test (status -1).
func inProcess(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	app := newApp()
	var out, errb bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errb
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("cleval %s: panic: %v", strings.Join(args, " "), r)
			stdout, stderr, code = out.String(), errb.String(), -1
		}
	}()
	err := app.Run(append([]string{"cleval"}, args...))
	if err != nil {
		fmt.Fprintf(&errb, "cleval: %v\n", err)
	}
	return out.String(), errb.String(), exitCode(err)
}

// fixtures are a small database with one complete run, a small table and a
// sweep file, made once for the tests that need them.
var fixtures struct {
	once              sync.Once
	dir, db, csv, exp string
	err               error
}

func fixture(t *testing.T) (db, csv, exp string) {
	t.Helper()
	fixtures.once.Do(func() {
		dir, err := os.MkdirTemp("", "cleval-fixture")
		if err != nil {
			fixtures.err = err
			return
		}
		fixtures.dir = dir
		var b strings.Builder
		b.WriteString("a,b,c,d,label\n")
		for i := range 40 {
			fmt.Fprintf(&b, "%d,%d,%d,%d,%d\n", i%7, i%5, i%3, i%2, i%2)
		}
		fixtures.csv = filepath.Join(dir, "tiny.csv")
		fixtures.exp = filepath.Join(dir, "tiny.yaml")
		fixtures.db = filepath.Join(dir, "tiny.db")
		if err := os.WriteFile(fixtures.csv, []byte(b.String()), 0o644); err != nil {
			fixtures.err = err
			return
		}
		if err := os.WriteFile(fixtures.exp, []byte("preset: delange-smnist-naive\nbase: {benchmark: split-synthetic, epochs: 1, hidden: [16], eval: {size: 20}}\nseeds: 0-1\n"), 0o644); err != nil {
			fixtures.err = err
			return
		}
		app := newApp()
		app.Writer, app.ErrWriter = &bytes.Buffer{}, &bytes.Buffer{}
		fixtures.err = app.Run([]string{"cleval", "run", "--benchmark", "split-synthetic", "--epochs", "1", "--hidden", "16",
			"--eval-size", "20", "--quiet", "--db", fixtures.db})
	})
	if fixtures.err != nil {
		t.Fatalf("fixture: %v", fixtures.err)
	}
	return fixtures.db, fixtures.csv, fixtures.exp
}

// numericFlag is a flag of a command whose value is a number or a list of
// numbers.
type numericFlag struct {
	cmd  []string // the command (and subcommand)
	name string
	list bool
}

// numericFlags returns every numeric flag of every command of the app; it
// fails the test when a numeric flag escapes the ranged flag types (an
// IntFlag, say, whose values nothing checks).
func numericFlags(t *testing.T) []numericFlag {
	var out []numericFlag
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string(nil), path...), c.Name)
			for _, f := range c.Flags {
				switch f := f.(type) {
				case *cli.GenericFlag:
					switch f.Value.(type) {
					case *numValue:
						out = append(out, numericFlag{p, f.Name, false})
					case *listValue:
						out = append(out, numericFlag{p, f.Name, true})
					}
				case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag, *cli.Float64Flag, *cli.IntSliceFlag, *cli.Float64SliceFlag:
					t.Errorf("%s --%s is a %T: numeric flags must be ranged (numFlag, listFlag)", strings.Join(p, " "), f.Names()[0], f)
				}
			}
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp().Commands)
	return out
}

// TestEveryNumericFlagHasARange passes the hostile values 0, -1, NaN,
// ±Inf, 1e400, 2^63-1 and a huge size to every numeric flag of every
// command: a value outside the flag's documented range gives exit status
// 2 and one line naming the flag, the value and the range, creates no
// database, and takes less than a second; a value inside it is taken by
// the flag (any error is not the flag's) without a crash. One valid value
// of each flag is accepted (exit 0).
func TestEveryNumericFlagHasARange(t *testing.T) {
	t.Parallel()
	db, csv, exp := fixture(t)
	// A zero-based evaluation log of two experiences, for ingest.
	evals := filepath.Join(t.TempDir(), "evaluations.csv")
	if err := os.WriteFile(evals, []byte("iteration,training_exp,eval_exp,correct,total\n0,0,0,1,2\n1,0,0,2,2\n1,0,1,0,2\n2,1,0,1,2\n2,1,1,2,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Arguments that make each command do as little as possible, and a
	// value of each flag that must be accepted; {} stands for the
	// database path of the case.
	synth := []string{"--benchmark", "split-synthetic", "--epochs", "1", "--hidden", "16", "--eval-size", "20", "--dry-run", "--db", "{}"}
	base := map[string][]string{
		"run":           synth,
		"sweep":         {exp, "--dry-run", "--db", "{}"},
		"metrics":       {"--db", db},
		"export":        {"--db", db, "--out", "{}.out"},
		"plot":          {"--db", db, "--out", "{}.out", "--kind", "matrix", "--format", "svg"},
		"datasets info": {csv},
		"report":        {"--db", db, "--ci", "bootstrap"},
		"ingest":        {"--db", "{}", "--check", "--meta", "seed=0", "--exp-base", "0", "--evaluations", evals},
	}
	context := map[string][]string{
		"run task-distance":      {"--benchmark", "gaussian"},
		"run angles":             {"--benchmark", "rotated", "--data", csv, "--data-shape", "2,2", "--experiences", "1"},
		"run test-fraction":      {"--benchmark", "split", "--data", csv, "--experiences", "1"},
		"run num-classes":        {"--benchmark", "split", "--data", csv, "--experiences", "1"},
		"run data-shape":         {"--benchmark", "split", "--data", csv, "--experiences", "1"},
		"run experience-classes": {"--experiences", "2"},
		"run test-size":          {"--iterations", "2"},
	}
	// Cases whose base arguments differ from their command's.
	baseOf := map[string][]string{
		"run nf": {"--benchmark", "split-mnist", "--model", "resnet18r", "--epochs", "1", "--eval-size", "20", "--dry-run", "--db", "{}"},
	}
	good := map[string]string{
		"run experiences": "2", "run class-order": "9,8,7,6,5,4,3,2,1,0", "run experience-classes": "5,5", "run angles": "30",
		"run task-distance": "0.5", "run iterations": "3", "run repeat": "2", "run blur": "0.5", "run validation-fraction": "0.1",
		"run test-fraction": "0.5", "run num-classes": "2", "run data-shape": "4", "run epochs": "2", "run batch-size": "8",
		"run replay-batch-size": "4", "run mem-size": "1000000", "run lr": "0.1", "run momentum": "0", "run weight-decay": "0.001",
		"run hidden": "8,8", "run nf": "4", "run test-size": "10", "run eval-every": "2", "run eval-size": "5", "run threads": "1", "run workers": "2",
		"sweep workers": "2", "sweep threads": "1", "metrics run": "1", "export batch-rows": "1", "plot zoom": "3",
		"plot width": "3", "plot height": "2", "plot dpi": "10", "plot font-size": "8",
		"report resamples": "100", "report ci-seed": "3", "ingest exp-base": "0",
		"datasets info test-fraction": "0.5", "datasets info num-classes": "2", "datasets info data-shape": "2,2",
	}
	hostile := []string{"0", "-1", "NaN", "+Inf", "-Inf", "1e400", "9223372036854775807", "99999999999"}
	flags := numericFlags(t)
	if len(flags) < 35 {
		t.Fatalf("only %d numeric flags found", len(flags))
	}
	for _, f := range flags {
		cmd := strings.Join(f.cmd, " ")
		id := cmd + " " + f.name
		args := func(dir, value string) []string {
			a := append([]string(nil), f.cmd...)
			b, ok := base[cmd]
			if o, over := baseOf[id]; over {
				b = o
			}
			if !ok {
				t.Fatalf("no base arguments for %s", cmd)
			}
			for _, x := range append(append([]string(nil), b...), context[id]...) {
				a = append(a, strings.ReplaceAll(x, "{}", filepath.Join(dir, "x.db")))
			}
			a = append(a, "--"+f.name, value)
			if cmd == "datasets info" {
				// The table goes last.
				a = append(a[:2], append(a[3:], csv)...)
			}
			return a
		}
		t.Run(strings.ReplaceAll(id, " ", "_"), func(t *testing.T) {
			t.Parallel()
			app := newApp()
			var r *numValue
			var lr *listValue
			for _, c := range f.cmd {
				for _, cc := range append(app.Commands, subcommands(app.Commands)...) {
					if cc.Name == c {
						for _, fl := range cc.Flags {
							if g, ok := fl.(*cli.GenericFlag); ok && g.Name == f.name {
								r, _ = g.Value.(*numValue)
								lr, _ = g.Value.(*listValue)
							}
						}
					}
				}
			}
			for _, v := range hostile {
				dir := t.TempDir()
				start := time.Now()
				_, stderr, code := inProcess(t, args(dir, v)...)
				took := time.Since(start)
				msg := strings.TrimSpace(stderr)
				inRange := false
				switch {
				case r != nil:
					inRange = r.Set(v) == nil
				case lr != nil:
					inRange = lr.Set(v) == nil
				}
				flagMsg := "--" + f.name + " " + v + ": "
				if !inRange {
					if code != 2 {
						t.Errorf("--%s %s: exit %d, want 2; stderr %q", f.name, v, code, msg)
					}
					if strings.Count(msg, "\n") != 0 || !strings.HasPrefix(msg, "cleval: "+flagMsg) || !strings.Contains(msg, "must be") {
						t.Errorf("--%s %s: message %q does not name the flag, the value and the range on one line", f.name, v, msg)
					}
					if took > time.Second {
						t.Errorf("--%s %s: refused after %v, want less than a second", f.name, v, took)
					}
				} else {
					if code < 0 || code > 2 || strings.Contains(msg, flagMsg+"must be") || strings.Count(msg, "\n") > 0 {
						t.Errorf("--%s %s (in range): exit %d, stderr %q", f.name, v, code, msg)
					}
				}
				if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil && code != 0 {
					t.Errorf("--%s %s: exit %d but a database was created", f.name, v, code)
				}
			}
			v, ok := good[id]
			if !ok {
				t.Fatalf("no valid value listed for %s --%s", cmd, f.name)
			}
			dir := t.TempDir()
			if _, stderr, code := inProcess(t, args(dir, v)...); code != 0 {
				t.Errorf("--%s %s: exit %d, want 0: %s", f.name, v, code, stderr)
			}
		})
	}
}

func subcommands(cmds []*cli.Command) []*cli.Command {
	var out []*cli.Command
	for _, c := range cmds {
		out = append(out, c.Subcommands...)
		out = append(out, subcommands(c.Subcommands)...)
	}
	return out
}
