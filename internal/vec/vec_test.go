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

func TestAddColSumsMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, tc := range []struct{ rows, n, ld int }{{1, 1, 1}, {3, 7, 9}, {512, 400, 400}, {5, 16, 16}, {4, 80, 83}, {2, 10, 10}, {7, 65, 65}} {
		x := make([]float32, (tc.rows-1)*tc.ld+tc.n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		dst := make([]float32, tc.n)
		for i := range dst {
			dst[i] = float32(rng.NormFloat64())
		}
		want := append([]float32(nil), dst...)
		addColSumsGo(want, x, tc.ld, tc.rows, 0)
		AddColSums(dst, x, tc.ld, tc.rows)
		for i := range dst {
			if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%+v: column %d = %v, want %v", tc, i, dst[i], want[i])
			}
		}
	}
}

func TestSGDStepMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{1, 15, 16, 17, 100, 1000} {
		for mode := range 16 {
			wd := float32(0)
			if mode&1 != 0 {
				wd = 0.01
			}
			mu := float32(0)
			if mode&2 != 0 {
				mu = 0.9
			}
			first, nesterov := mode&4 != 0, mode&8 != 0 && mu != 0
			mk := func() []float32 {
				s := make([]float32, n)
				for i := range s {
					s[i] = float32(rng.NormFloat64())
				}
				return s
			}
			p, g, v := mk(), mk(), mk()
			p2, v2 := append([]float32(nil), p...), append([]float32(nil), v...)
			sgdStepGo(p2, g, v2, 0.05, mu, wd, first, nesterov, 0)
			SGDStep(p, g, v, 0.05, mu, wd, first, nesterov)
			for i := range p {
				if math.Float32bits(p[i]) != math.Float32bits(p2[i]) || math.Float32bits(v[i]) != math.Float32bits(v2[i]) {
					t.Fatalf("n %d mode %d: element %d: p %v v %v, want %v %v", n, mode, i, p[i], v[i], p2[i], v2[i])
				}
			}
		}
	}
}

func TestReLUBackwardMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{1, 15, 16, 17, 33, 1000} {
		act := make([]float32, n)
		d := make([]float32, n)
		for i := range act {
			act[i] = float32(rng.NormFloat64())
			d[i] = float32(rng.NormFloat64())
			switch i % 7 {
			case 0:
				act[i] = 0
			case 1:
				act[i] = float32(math.Copysign(0, -1))
			case 2:
				act[i] = float32(math.NaN())
			}
		}
		want := append([]float32(nil), d...)
		reluBackwardGo(want, act, 0)
		ReLUBackward(d, act)
		for i := range d {
			if math.Float32bits(d[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n %d: element %d (act %v) = %v, want %v", n, i, act[i], d[i], want[i])
			}
		}
	}
}
