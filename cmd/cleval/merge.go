package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/metrics/store"
)

func mergeCommand() *cli.Command {
	return &cli.Command{
		Name:      "merge",
		Usage:     "combine databases (the shards of a sweep) into one",
		ArgsUsage: "DB...",
		Description: "Copies the finished runs of every DB into the output database (created when missing), in one\n" +
			"transaction. A key stored twice with the same results is kept once; with different results the\n" +
			"merge fails and names the key. Failed runs are kept only for keys without a finished run;\n" +
			"interrupted and running runs are not copied. Merging the same files again changes nothing.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "database to merge into"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing on success"},
		},
		Action: func(c *cli.Context) error {
			if again, err := flagsAfterArgs(c); again {
				return err
			}
			if c.NArg() == 0 {
				return usagef("merge: give the databases to merge, e.g. cleval merge -o all.db shard-*.db")
			}
			if c.String("output") == "" {
				return usagef("merge: -o OUTPUT.db is required, e.g. cleval merge -o all.db shard-*.db")
			}
			for _, p := range c.Args().Slice() {
				if _, err := os.Stat(p); err != nil {
					return usagef("merge: %v", err)
				}
			}
			out, err := store.Open(c.String("output"), store.Options{})
			if err != nil {
				return err
			}
			defer out.Close()
			st, err := out.Merge(context.Background(), c.Args().Slice())
			if err != nil {
				if errors.Is(err, store.ErrSchema) || errors.Is(err, store.ErrNotDatabase) {
					return usageError{err}
				}
				return err
			}
			if !c.Bool("quiet") {
				fmt.Fprintf(c.App.Writer, "merged %d databases into %s: %d runs added, %d already there, %d partial runs replaced; not copied: %d unfinished, %d failed runs of finished keys\n",
					st.Inputs, out.Path(), st.Added, st.Present, st.Replaced, st.Unfinished, st.Superseded)
			}
			return nil
		},
	}
}
