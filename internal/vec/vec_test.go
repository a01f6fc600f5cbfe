package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAddBiasReLUMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct{ rows, n, ld int }{{1, 1, 1}, {3, 7, 9}, {5, 16, 16}, {4, 400, 400}, {3, 37, 40}, {2, 8, 8}, {6, 23, 23}} {
		for _, relu := range []bool{false, true} {
			x := make([]float32, (tc.rows-1)*tc.ld+tc.n)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			x[0] = float32(math.NaN())
			if len(x) > 2 {
				x[1] = float32(math.Copysign(0, -1))
			}
			bias := make([]float32, tc.n)
			for i := range bias {
				bias[i] = float32(rng.NormFloat64())
			}
			bias[0] = 0
			if len(bias) > 1 {
				bias[1] = 0
			}
			want := append([]float32(nil), x...)
			addBiasReLUGo(want, tc.ld, tc.rows, 0, bias, relu)
			AddBiasReLU(x, tc.ld, tc.rows, bias, relu)
			for i := range x {
				if math.Float32bits(x[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%+v relu %v: element %d = %v, want %v", tc, relu, i, x[i], want[i])
				}
			}
			// Padding between rows is untouched.
			for r := 0; r+1 < tc.rows; r++ {
				for c := tc.n; c < tc.ld; c++ {
					if x[r*tc.ld+c] != want[r*tc.ld+c] {
						t.Fatalf("padding changed")
					}
				}
			}
		}
	}
}

func BenchmarkAddBiasReLU(b *testing.B) {
	x := make([]float32, 2048*400)
	bias := make([]float32, 400)
	b.SetBytes(int64(len(x) * 4))
	for b.Loop() {
		AddBiasReLU(x, 400, 2048, bias, true)
	}
}
