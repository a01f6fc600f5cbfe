package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadStrategyParamsExitTwo checks that invalid strategy parameters are
// rejected before the run starts: one clear line, exit status 2, no
// database.
func TestBadStrategyParamsExitTwo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"er lambda above 1", []string{"--strategy", "er", "--param", "loss=weighted", "--param", "lambda=1.5"}, "lambda 1.5: must be in [0, 1]"},
		{"er negative memory", []string{"--strategy", "er", "--param", "mem_size=-5"}, "mem_size -5: must be >= 1"},
		{"er bad buffer", []string{"--strategy", "er", "--param", "buffer=fifo"}, `buffer "fifo"`},
		{"ema decay outside [0,1]", []string{"--strategy", "ema", "--param", "decays=[0.99,1.2]"}, "decays[1] = 1.2: must be in [0, 1]"},
		{"ema warm-up negative", []string{"--strategy", "ema", "--param", "warmup_decay=-0.1"}, "warmup_decay -0.1"},
		{"gem gamma negative", []string{"--strategy", "gem", "--param", "gamma=-0.5"}, "gamma -0.5: must be >= 0"},
		{"gem negative memory", []string{"--strategy", "gem", "--param", "memory_per_exp=-1"}, "memory_per_exp -1: must be >= 1"},
		{"agem negative sample", []string{"--strategy", "agem", "--param", "sample_size=-3"}, "sample_size -3"},
		{"er-ace alpha", []string{"--strategy", "er-ace", "--param", "alpha=2"}, "alpha 2: must be in [0, 1]"},
		{"er-ace convention", []string{"--strategy", "er-ace", "--param", "convention=mammoth"}, `convention "mammoth"`},
		{"mask +inf", []string{"--strategy", "mask", "--param", "value=\"inf\""}, "value +Inf"},
		{"ewc gamma", []string{"--strategy", "ewc", "--param", "gamma=1.5"}, "gamma 1.5: must be in [0, 1]"},
		{"lwf temperature", []string{"--strategy", "lwf", "--param", "temperature=0"}, "temperature 0: must be > 0"},
		{"owm alpha lengths", []string{"--strategy", "owm", "--param", "alpha=[1,1]"}, "alpha_decay has 3 values, alpha 2"},
		{"unknown base", []string{"--strategy", "ema", "--param", "base=magic"}, `base "magic"`},
		{"bad base parameter", []string{"--strategy", "agem", "--param", "base=er", "--param", `base_params={"mem_size":-1}`}, "mem_size -1: must be >= 1"},
		{"unknown base parameter", []string{"--strategy", "agem", "--param", "base=er", "--param", `base_params={"memsize":10}`}, `unknown field "memsize"`},
		{"nested wrapper", []string{"--strategy", "ema", "--param", "base=mask", "--param", `base_params={"base":"er","base_params":{"lambda":-1}}`}, "lambda -1"},
		{"cumulative sampling", []string{"--strategy", "cumulative", "--param", "sampling=half"}, `sampling "half"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "x.db")
			cmd := exec.Command(binary, append([]string{"run", "--db", db, "--quiet", "--epochs", "1", "--benchmark", "split-synthetic"}, tc.args...)...)
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
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("the database was created")
			}
		})
	}
}

// TestStrategiesListsEveryStrategy checks the strategies command.
func TestStrategiesListsEveryStrategy(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := cleval(t, "strategies")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"naive", "joint", "cumulative", "er", "er-ace", "mask", "ema", "agem", "gem", "owm", "ewc", "lwf", "si"} {
		if !strings.Contains(stdout, "\n"+name+"\n") && !strings.HasPrefix(stdout, name+"\n") {
			t.Errorf("strategy %s not listed", name)
		}
	}
	for _, p := range []string{"--param decays=…  (default [0.99])", "--param gamma=…  (default 0.5)", "--param base=…  (default naive)", "Composition"} {
		if !strings.Contains(stdout, p) {
			t.Errorf("listing lacks %q", p)
		}
	}
}

func TestJoinParams(t *testing.T) {
	t.Parallel()
	in := []string{"decays=[0.9", "0.99]", "base=er", `base_params={"mem_size":500`, `"loss":"weighted"}`, "name=a", "b"}
	want := []string{"decays=[0.9,0.99]", "base=er", `base_params={"mem_size":500,"loss":"weighted"}`, "name=a,b"}
	got := joinParams(in)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("joinParams = %q, want %q", got, want)
	}
}
