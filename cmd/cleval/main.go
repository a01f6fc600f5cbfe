// Command cleval runs continual-learning experiments with continual
// evaluation and stores their records and metrics in SQLite.
//
//	cleval run                      # the reference Split-MNIST ER experiment, seed 0, into ./cleval.db
//	cleval run --preset delange-smnist-naive --seeds 0,1,2 --epochs 1
//	cleval runs --db cleval.db      # list stored runs
//	cleval metrics --db cleval.db --run 1 --format json
//
// Exit status: 0 success, 1 failure while running (a run that failed or
// diverged), 2 bad input (usage, configuration, missing dataset, a path
// that is not a usable database), 130 interrupted.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/harness"
	"github.com/cleval/cleval/internal/version"
	"github.com/cleval/cleval/metrics/store"
	_ "github.com/cleval/cleval/strategies/all"
)

// usageError marks bad input from the user (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// errInterrupted marks a run stopped by a signal (exit status 130).
var errInterrupted = errors.New("interrupted")

func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errInterrupted):
		return 130
	case errors.As(err, &ue), errors.Is(err, harness.ErrInvalid), errors.Is(err, datasets.ErrNotFound), errors.Is(err, datasets.ErrCorrupt),
		errors.Is(err, store.ErrPath), errors.Is(err, store.ErrNotDatabase), errors.Is(err, store.ErrSchema), errors.Is(err, store.ErrReadOnly):
		return 2
	}
	return 1
}

func newApp() *cli.App {
	onUsage := func(c *cli.Context, err error, isSubcommand bool) error {
		return usageError{flagError(err)}
	}
	app := &cli.App{
		Name:                 "cleval",
		Usage:                "continual-learning evaluation harness: train on a stream, evaluate every iteration, store records and metrics",
		Version:              version.Version,
		HideHelpCommand:      true,
		EnableBashCompletion: false,
		OnUsageError:         onUsage,
		Commands:             []*cli.Command{runCommand(), sweepCommand(), mergeCommand(), runsCommand(), metricsCommand(), reportCommand(), ingestCommand(), exportCommand(), plotCommand(), serveCommand(), presetsCommand(), strategiesCommand(), datasetsCommand()},
	}
	var setUsage func([]*cli.Command)
	setUsage = func(cs []*cli.Command) {
		for _, c := range cs {
			c.OnUsageError = onUsage
			setUsage(c.Subcommands)
		}
	}
	setUsage(app.Commands)
	return app
}

func main() {
	err := newApp().Run(os.Args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cleval: %v\n", err)
	}
	os.Exit(exitCode(err))
}
