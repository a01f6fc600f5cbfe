package gemm

import (
	"math/rand/v2"
	"testing"
)

// TestPackRoutinesAllPaths runs the assembly packing routines on every
// row (column) count, lane count, destination stride (equal to the lanes,
// as packA uses them, and wider) and k length around the 8- and 16-column
// chunks, so that every load and store path (plain, masked, overlapping)
// runs. It checks every written element and that nothing outside the
// lanes, nor past the last column, is touched.
func TestPackRoutinesAllPaths(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(31, 32))
	const guard = -7
	for _, ks := range availableKernels() {
		if ks.packT == nil {
			continue
		}
		for _, kb := range []int{1, 2, 7, 8, 9, 15, 16, 17, 24, 33} {
			// packT: dst[p*stride+i] = src[i*ld+p] for i < rows, 0 for rows ≤ i < lanes.
			for rows := 0; rows <= ks.packTRows; rows++ {
				for _, lanes := range []int{rows, ks.packTRows} {
					if lanes == 0 {
						continue
					}
					for _, stride := range []int{lanes, lanes + 3, 16, 30} {
						if stride < lanes {
							continue
						}
						ld := kb + rng.IntN(5)
						src := randSlice(rng, max(rows, 1)*ld)
						dst := make([]float32, kb*stride+40)
						for i := range dst {
							dst[i] = guard
						}
						ks.packT(&dst[0], stride, &src[0], ld, rows, lanes, kb)
						for idx, v := range dst {
							p, i := idx/stride, idx%stride
							want := float32(guard)
							if p < kb && i < lanes {
								want = 0
								if i < rows {
									want = src[i*ld+p]
								}
							}
							if v != want {
								t.Fatalf("%s packT rows=%d lanes=%d stride=%d kb=%d: dst[%d] (p %d, i %d) = %g, want %g", ks.name, rows, lanes, stride, kb, idx, p, i, v, want)
							}
						}
					}
				}
			}
			// copyPanel: dst[p*stride+j] = src[p*ld+j] for j < cols, 0 for cols ≤ j < lanes.
			for cols := 1; cols <= nr; cols++ {
				for _, lanes := range []int{cols, nr} {
					for _, stride := range []int{lanes, lanes + 3, 30} {
						ld := nr + rng.IntN(5)
						src := randSlice(rng, kb*ld)
						dst := make([]float32, kb*stride+40)
						for i := range dst {
							dst[i] = guard
						}
						ks.copyPanel(&dst[0], stride, &src[0], ld, cols, lanes, kb)
						for idx, v := range dst {
							p, j := idx/stride, idx%stride
							want := float32(guard)
							if p < kb && j < lanes {
								want = 0
								if j < cols {
									want = src[p*ld+j]
								}
							}
							if v != want {
								t.Fatalf("%s copyPanel cols=%d lanes=%d stride=%d kb=%d: dst[%d] = %g, want %g", ks.name, cols, lanes, stride, kb, idx, v, want)
							}
						}
					}
				}
			}
		}
	}
}
