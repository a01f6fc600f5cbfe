package tabular

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cleval/cleval/datasets"
)

// TestImageShape: a Parquet or Arrow table declares its features an
// image (C, H, W); a shape of another size is one error naming the file
// and the key.
func TestImageShape(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []spec{{list: true}, {}} {
		rec := s.record(memory.DefaultAllocator)
		pq, arrowPath := filepath.Join(dir, "t.parquet"), filepath.Join(dir, "t.arrow")
		writeParquet(t, pq, rec)
		writeArrow(t, arrowPath, rec, false)
		rec.Release()
		for _, path := range []string{pq, arrowPath} {
			o := datasets.TableOptions{LabelCol: "y", SplitCol: "split", ImageShape: []int{3, 1, 1}}
			p, err := datasets.OpenSource(datasets.Source{Path: path, TableOptions: o})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Train.Shape, []int{3, 1, 1}) {
				t.Errorf("%s: shape %v", path, p.Train.Shape)
			}
			o.ImageShape = []int{1, 2, 2}
			_, err = datasets.OpenSource(datasets.Source{Path: path, TableOptions: o})
			if !errors.Is(err, datasets.ErrCorrupt) || !strings.Contains(err.Error(), path+": image_shape 1x2x2 holds 4 values, but the samples have 3 features") {
				t.Errorf("%s: mismatch: %v", path, err)
			}
		}
	}
}
