package ingest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cleval/cleval/metrics/store"
)

// BenchmarkIngest ingests 20 generated runs of 2,000 evaluation points × 5
// experiences (200,000 records) from CSV and JSON Lines in process: the
// inner-loop benchmark of the reader, the checks and the store (the
// command-level scale benchmark is BenchmarkIngestScale in cmd/cleval).
func BenchmarkIngest(b *testing.B) {
	for _, format := range []string{"csv", "jsonl"} {
		b.Run(format, func(b *testing.B) {
			dir := b.TempDir()
			in := filepath.Join(dir, "evaluations."+format)
			f, err := os.Create(in)
			if err != nil {
				b.Fatal(err)
			}
			w := bufio.NewWriter(f)
			if format == "csv" {
				w.WriteString("run,iteration,training_exp,eval_exp,correct,total\n")
			}
			records := 0
			for r := 0; r < 20; r++ {
				for t := 0; t < 2000; t++ {
					c := min(5, t/400+1)
					for k := 1; k <= 5; k++ {
						correct := (7*t+13*k+r)%500 + 400
						if format == "csv" {
							fmt.Fprintf(w, "%d,%d,%d,%d,%d,1000\n", r, t, c, k, correct)
						} else {
							fmt.Fprintf(w, `{"run":%d,"iteration":%d,"training_exp":%d,"eval_exp":%d,"correct":%d,"total":1000}`+"\n", r, t, c, k, correct)
						}
						records++
					}
				}
			}
			w.Flush()
			f.Close()
			b.ReportAllocs()
			for b.Loop() {
				path := filepath.Join(b.TempDir(), "b.db")
				db, err := store.Open(path, store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Ingest(context.Background(), db, Options{Inputs: []Input{{Path: in}}, SeedFromRun: true}); err != nil {
					b.Fatal(err)
				}
				db.Close()
			}
			b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
