package gemm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMicroKernels calls every kernel of every family this CPU runs
// (the portable Go kernel included) directly: each row count, partial
// column masks, beta zero and not, A and B row strides above r and nr. It checks the
// result against float64 and that nothing outside the r×cols tile is
// written.
func TestMicroKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, ks := range availableKernels() {
		for r := 1; r <= ks.mr; r++ {
			for _, k := range []int{1, 3, 4, 5, 37} {
				for _, cols := range []int{1, 7, 15, 16} {
					for _, beta := range []float32{0, 1, -0.5} {
						rsb := nr + rng.IntN(3)*5
						rsa := r + rng.IntN(2)*3
						ldc := nr + 3
						a := randSlice(rng, (k-1)*rsa+r)
						b := randSlice(rng, (k-1)*rsb+nr)
						c := randSlice(rng, (r+1)*ldc)
						c0 := slices.Clone(c)
						alpha := float32(1.5)
						ks.fns[r](k, &a[0], rsa, &b[0], rsb, &c[0], ldc, alpha, beta, cols)
						for idx := range c {
							i, j := idx/ldc, idx%ldc
							if i >= r || j >= cols {
								if c[idx] != c0[idx] {
									t.Fatalf("%s r=%d k=%d cols=%d: wrote outside the tile at (%d,%d)", ks.name, r, k, cols, i, j)
								}
								continue
							}
							var s, sa float64
							for p := 0; p < k; p++ {
								v := float64(a[p*rsa+i]) * float64(b[p*rsb+j])
								s += v
								sa += math.Abs(v)
							}
							want := float64(alpha) * s
							scale := math.Abs(float64(alpha)) * sa
							if beta != 0 {
								want += float64(beta) * float64(c0[idx])
								scale += math.Abs(float64(beta) * float64(c0[idx]))
							}
							if d := math.Abs(float64(c[idx]) - want); d > 1e-5*scale+1e-30 {
								t.Fatalf("%s r=%d k=%d cols=%d beta=%g: C[%d,%d] = %g, want %g", ks.name, r, k, cols, beta, i, j, c[idx], want)
							}
						}
					}
				}
			}
		}
	}
}

// TestMicroKernelRowCountInvariance checks the property determinism rests
// on: a row computed by the r-row kernel has the same bits as the same row
// computed by the 1-row kernel.
func TestMicroKernelRowCountInvariance(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, ks := range availableKernels() {
		const k = 301
		b := randSlice(rng, k*nr)
		for r := 2; r <= ks.mr; r++ {
			a := randSlice(rng, k*r)
			c := randSlice(rng, r*nr)
			want := slices.Clone(c)
			ks.fns[r](k, &a[0], r, &b[0], nr, &c[0], nr, 0.75, 1.25, nr)
			for i := 0; i < r; i++ {
				ai := make([]float32, k)
				for p := range ai {
					ai[p] = a[p*r+i]
				}
				ks.fns[1](k, &ai[0], 1, &b[0], nr, &want[i*nr], nr, 0.75, 1.25, nr)
			}
			for idx := range c {
				if math.Float32bits(c[idx]) != math.Float32bits(want[idx]) {
					t.Fatalf("%s r=%d: element %d: %g vs 1-row kernel %g", ks.name, r, idx, c[idx], want[idx])
				}
			}
		}
	}
}

// TestPackRoutines checks the assembly packing routines against the Go
// loops they replace.
func TestPackRoutines(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, ks := range availableKernels() {
		if ks.packT == nil {
			continue
		}
		for _, rows := range []int{1, 5, 7, 8, 14, 16} {
			if rows > ks.packTRows {
				continue
			}
			for _, kb := range []int{1, 7, 8, 9, 15, 16, 17, 40} {
				ld := kb + rng.IntN(4)
				src := randSlice(rng, (rows-1)*ld+kb)
				// packT into a panel of stride 30 (two calls), as packA does.
				got := make([]float32, kb*30)
				want := make([]float32, kb*30)
				for i := range got {
					got[i], want[i] = -1, -1
				}
				ks.packT(&got[0], 30, &src[0], ld, rows, rows, kb)
				for p := 0; p < kb; p++ {
					for i := 0; i < rows; i++ {
						want[p*30+i] = src[i*ld+p]
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s packT rows=%d kb=%d: mismatch", ks.name, rows, kb)
				}
				// packT into a B panel: lanes past rows are zero.
				w := ks.packTRows
				gotB := make([]float32, kb*nr)
				for i := range gotB {
					gotB[i] = -1
				}
				ks.packT(&gotB[0], nr, &src[0], ld, rows, w, kb)
				for p := 0; p < kb; p++ {
					for i := 0; i < nr; i++ {
						if i >= w {
							if gotB[p*nr+i] != -1 {
								t.Fatalf("%s packT B: wrote lane %d ≥ lanes %d", ks.name, i, w)
							}
							continue
						}
						w := float32(0)
						if i < rows {
							w = src[i*ld+p]
						}
						if gotB[p*nr+i] != w {
							t.Fatalf("%s packT B rows=%d kb=%d: (%d,%d) = %g, want %g", ks.name, rows, kb, p, i, gotB[p*nr+i], w)
						}
					}
				}
				// copyPanel: cols = rows here, into a B panel (zero
				// padded) and into an A panel of stride 30 (lanes = cols).
				srcC := randSlice(rng, (kb-1)*ld+rows)
				gotC := make([]float32, kb*nr)
				for i := range gotC {
					gotC[i] = -1
				}
				ks.copyPanel(&gotC[0], nr, &srcC[0], ld, rows, nr, kb)
				gotA := make([]float32, kb*30)
				for i := range gotA {
					gotA[i] = -1
				}
				ks.copyPanel(&gotA[0], 30, &srcC[0], ld, rows, rows, kb)
				for p := 0; p < kb; p++ {
					for j := 0; j < 30; j++ {
						w := float32(-1)
						if j < rows {
							w = srcC[p*ld+j]
						}
						if gotA[p*30+j] != w {
							t.Fatalf("%s copyPanel A cols=%d kb=%d: (%d,%d) = %g, want %g", ks.name, rows, kb, p, j, gotA[p*30+j], w)
						}
					}
					for j := 0; j < nr; j++ {
						w := float32(0)
						if j < rows {
							w = srcC[p*ld+j]
						}
						if gotC[p*nr+j] != w {
							t.Fatalf("%s copyPanel cols=%d kb=%d: (%d,%d) = %g, want %g", ks.name, rows, kb, p, j, gotC[p*nr+j], w)
						}
					}
				}
			}
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}
