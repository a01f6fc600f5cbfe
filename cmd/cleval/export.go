package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/metrics/export"
	"github.com/cleval/cleval/metrics/store"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write the runs as tidy Parquet or Arrow tables for notebooks (polars, pandas, DuckDB)",
		Description: "Writes DIR/runs, experiences, evaluations, accuracy_matrix, metrics and gap_events as .parquet\n" +
			"(zstd) or .arrow (Arrow IPC file, Feather v2), replacing files of the same name. Rows stream from the\n" +
			"database in record batches. Files are written under temporary names and renamed at the end: a failed\n" +
			"export leaves nothing behind. The schema is documented in package metrics/export (go doc).",
		Flags: append(selectionFlags(),
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "parquet", Usage: "parquet or arrow"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "cleval-export", Usage: "output `DIR` (created when missing)"},
			numFlag("batch-rows", "rows per record batch / Parquet row group", batchRowsRange, strconv.Itoa(export.DefaultBatchRows)),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("export takes no arguments, got %q (the output directory is --out DIR)", c.Args().Slice())
			}
			format := export.Format(c.String("format"))
			if format != export.FormatParquet && format != export.FormatArrow {
				return usagef("--format %q: must be parquet or arrow", format)
			}
			f, err := runFilter(c)
			if err != nil {
				return err
			}
			db, err := openResults(c)
			if err != nil {
				return err
			}
			defer db.Close()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			files, err := export.Export(ctx, db, c.String("out"), export.Options{Format: format, Filter: f, BatchRows: int(intOr(c, "batch-rows", export.DefaultBatchRows))})
			switch {
			case errors.Is(err, store.ErrNotFound), errors.Is(err, export.ErrNoRuns), errors.Is(err, export.ErrOutput):
				return usageError{err}
			case ctx.Err() != nil:
				return fmt.Errorf("%w: export stopped, nothing written", errInterrupted)
			case err != nil:
				return err
			}
			for _, f := range files {
				fmt.Fprintf(c.App.Writer, "%-16s %9d rows  %s\n", f.Table, f.Rows, f.Path)
			}
			return nil
		},
	}
}
