package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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
			"merge fails and names the key (exit status 1; nothing is changed, and an output database the merge\n" +
			"created is removed). Failed runs are kept only for keys without a finished run; interrupted and\n" +
			"running runs are not copied. Merging the same files again changes nothing. A missing input, one\n" +
			"that is not a cleval database or has an older schema is bad input (exit status 2).",
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
			path := c.String("output")
			_, statErr := os.Stat(path)
			created := errors.Is(statErr, fs.ErrNotExist)
			out, err := openForWriting(path)
			if err != nil {
				return err
			}
			st, err := out.Merge(context.Background(), c.Args().Slice())
			out.Close()
			if err != nil {
				if created {
					// Leave nothing behind: the output did not exist.
					for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
						os.Remove(path + suffix)
					}
				}
				if errors.Is(err, store.ErrSchema) || errors.Is(err, store.ErrNotDatabase) || errors.Is(err, store.ErrPath) || errors.Is(err, fs.ErrNotExist) {
					return usageError{err}
				}
				return err
			}
			if !c.Bool("quiet") {
				fmt.Fprintf(c.App.Writer, "merged %d databases into %s: %d runs added, %d already there, %d partial runs replaced; not copied: %d unfinished, %d failed runs of finished keys\n",
					st.Inputs, path, st.Added, st.Present, st.Replaced, st.Unfinished, st.Superseded)
			}
			return nil
		},
	}
}
